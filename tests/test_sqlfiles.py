import datetime as dt

import pytest

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
    assert "moltctl_migrations" in render("core/migrations_table.sql")
