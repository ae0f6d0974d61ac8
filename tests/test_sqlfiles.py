import datetime as dt
import re
from pathlib import Path

import pytest

from moltctl.paths import templates_dir
from moltctl.sqlfiles import ident, literal, render, split_statements, ts_literal


def test_split_respects_quotes_comments_and_dollar_quotes():
    sql = """-- a comment; not a split
CREATE TABLE a (x text DEFAULT 'semi;colon');
/* block ; comment */
DO $$ BEGIN PERFORM 1; END $$;
CREATE TABLE "we;ird" (y int);
SELECT $tag$ ; $tag$;
-- trailing comment only
"""
    stmts = split_statements(sql)
    assert len(stmts) == 4
    assert stmts[0][1].endswith("DEFAULT 'semi;colon')")
    assert stmts[1][1].startswith("/* block ; comment */\nDO $$")
    assert stmts[2][1] == 'CREATE TABLE "we;ird" (y int)'
    assert stmts[0][0] == 1 and stmts[3][0] == 6


def test_ident_and_literal_guards():
    assert ident('we"ird') == '"we""ird"'
    assert literal("harm_enablement") == "'harm_enablement'"
    with pytest.raises(ValueError):
        literal("x'; DROP TABLE snapshots; --")
    with pytest.raises(ValueError):
        ts_literal(dt.datetime(2026, 1, 1))  # naive
    assert ts_literal(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == "'2026-01-01T00:00:00+00:00'"


def test_render_plain_file():
    assert "moltctl_migrations" in render("migration_history/create.sql")


# the splitter serves only `-- moltctl:no-transaction` migrations (and naming the statement a
# script failed in); it must agree with a maintained one on what moltctl feeds it
TRICKY = """-- a comment; not a split
CREATE TABLE a (x text DEFAULT 'semi;colon');
/* block ; comment */
DO $$ BEGIN PERFORM 1; END $$;
CREATE TABLE "we;ird" (y int);
SELECT $tag$ ; $tag$;
SELECT E'it''s; fine';
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
-- trailing comment only
"""


def _sqlparse_statements(sql: str) -> list[str]:
    import re

    import sqlparse

    out = []
    for stmt in sqlparse.split(sql):
        stmt = stmt.strip().rstrip(";").strip()
        code = re.sub(r"/\*.*?\*/", "", re.sub(r"--[^\n]*", "", stmt), flags=re.S)
        if code.strip():
            out.append(stmt)
    return out


@pytest.mark.parametrize(
    "name",
    ["tricky", *sorted(p.name for p in (templates_dir() / "migrations").glob("*.sql"))],
)
def test_split_agrees_with_sqlparse(name):
    sql = TRICKY if name == "tricky" else (templates_dir() / "migrations" / name).read_text()
    assert [s for _, s in split_statements(sql)] == _sqlparse_statements(sql)


def test_split_knows_nested_comments_where_sqlparse_does_not():
    # PostgreSQL nests block comments; sqlparse splits inside one
    sql = "/* outer /* inner ; */ still comment ; */ SELECT 2;"
    assert [s for _, s in split_statements(sql)] == [sql[:-1]]


def test_every_template_the_code_names_exists():
    # templates live next to their module's name (locks/, status/, ...): a path left behind by
    # a move, or by a branch merged after it, fails here instead of at run time
    root = Path(__file__).resolve().parents[1]
    named = set()
    for path in [*(root / "moltctl").rglob("*.py"), *(root / "bench").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        named.update(re.findall(r"""["']([a-z_]+/[\w.-]+\.sql(?:\.j2)?)["']""", text))
    assert len(named) > 50
    missing = sorted(n for n in named if not (root / "sql_templates" / n).is_file())
    assert missing == []
