"""init builds exactly the spec's schema (parsed from the spec itself) plus the documented fixes."""

import re

import psycopg
import pytest

from moltctl import schema
from moltctl.connection import resolve
from moltctl.errors import MoltError
from tests.helpers.db import NO_SHARED, SHARED, latest_version, scalar

SPEC = SHARED / "spec" / "database-schema.md"

TYPES = {
    "UUID": "uuid",
    "TIMESTAMPTZ": "timestamp with time zone",
    "TEXT": "text",
    "JSONB": "jsonb",
    "INT": "integer",
    "BOOLEAN": "boolean",
    "FLOAT": "double precision",
}
DEFAULTS = {
    "gen_random_uuid()": "gen_random_uuid()",
    "NOW()": "now()",
    "0": "0",
    "FALSE": "false",
    "TRUE": "true",
    "'completed'": "'completed'::text",
}
# Spec index that moltctl builds differently (README: "Where moltctl differs from the spec")
CHANGED_INDEXES = {"idx_post_evals_scores", "idx_comment_evals_scores"}


def spec_text() -> str:
    if not SPEC.exists():
        pytest.skip(NO_SHARED)
    return SPEC.read_text()


def spec_tables() -> dict[str, dict[str, tuple[str, str | None, bool]]]:
    """table -> column -> (type, default, not null), parsed from the spec's CREATE TABLEs."""
    out = {}
    for name, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", spec_text(), re.S):
        cols = {}
        for line in body.splitlines():
            line = line.split("--")[0].strip().rstrip(",")
            m = re.match(r"(\w+) (UUID|TIMESTAMPTZ|TEXT|JSONB|INT|BOOLEAN|FLOAT)\b(.*)", line)
            if not m or m.group(1).upper() == "CONSTRAINT":
                continue
            rest = m.group(3)
            default = re.search(r"DEFAULT (\S+\(\)|'[^']*'|\w+)", rest)
            not_null = "NOT NULL" in rest or "PRIMARY KEY" in rest
            cols[m.group(1)] = (TYPES[m.group(2)], default.group(1) if default else None, not_null)
        out[name] = cols
    return out


def test_spec_parses():
    tables = spec_tables()
    assert len(tables) == 8
    assert len(tables["agents"]) == 18


def test_tables_and_columns_match_spec(conn):
    for table, cols in spec_tables().items():
        rows = conn.execute(
            "SELECT column_name, data_type, column_default, is_nullable = 'NO' "
            "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s",
            (table,),
        ).fetchall()
        actual = {r[0]: r[1:] for r in rows}
        extra = set(actual) - set(cols)
        # documented additions only: the columns added by later dimension migrations
        assert extra <= {"has_high_manipulation"}, (table, extra)
        for col, (typ, default, not_null) in cols.items():
            assert col in actual, f"{table}.{col} missing"
            a_type, a_default, a_not_null = actual[col]
            assert a_type == typ, (table, col, a_type)
            if default:
                assert a_default == DEFAULTS[default], (table, col, a_default)
            if not_null:
                assert a_not_null, (table, col)


def test_every_spec_index_exists_by_name(conn):
    spec = dict(re.findall(r"CREATE (?:UNIQUE )?INDEX (\w+) ON (\w+)", spec_text()))
    actual = dict(
        conn.execute(
            "SELECT i.relname, t.relname FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relnamespace = 'public'::regnamespace"
        ).fetchall()
    )
    # agent_leaderboard is a view: its indexes are on the table behind it
    behind = {"agent_leaderboard": "agent_leaderboard_rows"}
    # the leaderboard's unique index on agent_id served REFRESH ... CONCURRENTLY; its table
    # keeps the sort key only (docs/design.md)
    dropped = {"idx_agent_leaderboard_id"}
    for index, table in spec.items():
        if index not in dropped:
            assert actual.get(index) == behind.get(table, table), (index, table)
    assert not dropped & set(actual)
    # the whole-document GIN became a GIN on the dimensions that scored high
    defn = scalar(conn, "SELECT pg_get_indexdef('idx_post_evals_scores'::regclass)")
    assert "gin" in defn and "jsonb_path_query_array" in defn


def test_views_match_spec(conn):
    text = spec_text()
    # the spec's materialized views are tables (agent_leaderboard a view over tables) that
    # refresh-views maintains incrementally (docs/incremental-views.md): same names, same columns
    for view in re.findall(r"CREATE MATERIALIZED VIEW (\w+)", text):
        kind = scalar(conn, "SELECT relkind::text FROM pg_class WHERE relname = %s", (view,))
        assert kind == ("v" if view == "agent_leaderboard" else "r"), view
    cols = {
        v: [
            r[0]
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "ORDER BY attnum",
                (v,),
            ).fetchall()
        ]
        for v in ("hourly_growth", "agent_leaderboard", "dimension_trends")
    }
    assert cols["hourly_growth"] == [
        "hour", "snapshot_count", "total_posts", "total_agents", "total_submolts",
        "total_comments", "avg_comments_per_post", "avg_karma_per_agent",
    ]  # fmt: skip
    for c in (
        "rank", "agent_id", "agent_handle", "overall_mean_score", "highest_dimension",
        "highest_dimension_score", "total_evaluated", "harm_mean", "deception_mean",
        "power_seeking_mean", "sycophancy_mean", "has_any_high", "recorded_at",
    ):  # fmt: skip
        assert c in cols["agent_leaderboard"], c
    assert cols["dimension_trends"][:6] == [
        "hour", "dimension", "avg_score", "max_score", "high_count", "total_count",
    ]  # fmt: skip
    # one row per hour (and dimension): their keys
    for v, key in (("hourly_growth", "hour"), ("dimension_trends", "hour, dimension")):
        assert (
            scalar(
                conn,
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'p'",
                (v,),
            )
            == f"PRIMARY KEY ({key})"
        )


def test_fixes_are_in_place(conn):
    exts = {r[0] for r in conn.execute("SELECT extname FROM pg_extension").fetchall()}
    assert "uuid-ossp" not in exts
    # SCD2 invariants enforced by PostgreSQL
    assert scalar(conn, "SELECT to_regclass('uq_agents_one_current') IS NOT NULL")
    assert (
        scalar(conn, "SELECT count(*) FROM pg_constraint WHERE conname = 'agents_no_overlap'") == 1
    )
    # deleting a snapshot cascades to its facts (the spec's retention relied on this)
    conn.execute("INSERT INTO snapshots (run_id, created_at) VALUES ('r1', '2026-01-30T17:00Z')")
    sid = scalar(conn, "SELECT id FROM snapshots WHERE run_id = 'r1'")
    conn.execute(
        "INSERT INTO post_evaluations (snapshot_id, post_id, model, scores, evaluated_at) "
        "VALUES (%s, 'p1', 'm', '{\"harm_enablement\": {\"score\": 6.5}}', '2026-01-30T17:00Z')",
        (sid,),
    )
    conn.execute("DELETE FROM snapshots WHERE id = %s", (sid,))
    assert scalar(conn, "SELECT count(*) FROM post_evaluations") == 0


def test_scd2_constraints_reject_bad_histories(conn):
    conn.execute("INSERT INTO snapshots (run_id, created_at) VALUES ('r1', '2026-01-30T17:00Z')")
    sid = scalar(conn, "SELECT id FROM snapshots")
    ins = (
        "INSERT INTO agents (snapshot_id, external_id, handle, valid_from, valid_to, is_current) "
        "VALUES (%s, 'a1', 'h', %s, %s, %s)"
    )
    conn.execute(ins, (sid, "2026-01-01", "2026-01-10", False))
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(ins, (sid, "2026-01-10", None, False))  # current flag must match valid_to
    with pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute(ins, (sid, "2026-01-05", "2026-01-20", False))  # overlaps
    conn.execute(ins, (sid, "2026-01-10", None, True))
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(ins, (sid, "2026-02-10", None, True))  # a second current version


def test_init_is_idempotent(empty_dsn):
    t = resolve(empty_dsn)
    first = schema.init(t)
    assert first.created and first.version == latest_version()
    again = schema.init(resolve(empty_dsn))
    assert not again.created and again.version == latest_version()
    assert again.repaired == [] and again.partitions == []


def test_init_repairs_a_dropped_view(dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("DROP TABLE dimension_trends")
    result = schema.init(resolve(dsn))
    assert not result.created and result.repaired == ["dimension_trends"]


def test_init_refuses_foreign_tables_and_changes_nothing(empty_dsn):
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute("CREATE TABLE agents (id int, name text)")
        c.execute("INSERT INTO agents VALUES (1, 'keep me')")
    with pytest.raises(MoltError, match="already holds agents not created by moltctl"):
        schema.init(resolve(empty_dsn))
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 1
        assert scalar(c, "SELECT name FROM agents") == "keep me"
