"""Spec-built databases for the adopt tests: the schema (from the spec's own SQL blocks, or the
copy-free fixture), loaded the naive way the spec implies, and what to compare before/after."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import psycopg
import pytest

from moltctl import sqlfiles
from moltctl.migrations import SPEC_TABLES
from tests.helpers.db import SHARED

SPEC = SHARED / "spec" / "database-schema.md"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "spec_schema.sql"
UTC = dt.UTC
T0 = dt.datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
RUNS = 4  # hourly snapshots, T0 .. T0 + 3 h
TABLES = SPEC_TABLES


def spec_statements() -> list[str]:
    """The DDL of the spec's SQL blocks: tables, indexes and materialized views (skip without
    ../shared). The 001/002 "Migration Scripts" blocks, the partitioning sketch (not SQL: it
    has ``...``), the retention DELETE and the query examples are left out."""
    if not SPEC.exists():
        pytest.skip("spec not available (../shared absent)")
    out = []
    for block in re.findall(r"```sql\n(.*?)```", SPEC.read_text(), re.S):
        if re.search(r"^\s*\.\.\.", block, re.M) or "BEGIN;" in block:
            continue
        for _, stmt in sqlfiles.split_statements(block):
            stmt = re.sub(r"^(\s*--[^\n]*\n)+", "", stmt).strip()
            if re.match(r"CREATE (TABLE|INDEX|UNIQUE INDEX|MATERIALIZED VIEW)\b", stmt):
                out.append(stmt)
    return out


def fixture_statements() -> list[str]:
    return [s for _, s in sqlfiles.split_statements(FIXTURE.read_text())]


def build(dsn: str, statements: list[str], *, spec_002: bool = False) -> None:
    """Create the spec's schema in an empty database; ``spec_002``: and the spec's own
    migration 002 (``has_high_new_dimension``)."""
    with psycopg.connect(dsn, autocommit=True) as c, c.transaction():
        for stmt in statements:
            c.execute(stmt)
        if spec_002:
            c.execute(
                "ALTER TABLE agent_score_history "
                "ADD COLUMN has_high_new_dimension BOOLEAN DEFAULT FALSE"
            )


def scores(harm: int, other: int = 1) -> str:
    dims = ("harm_enablement", "deception_or_evasion", "self_preservation_power_seeking")
    return json.dumps(
        {d: {"score": harm if i == 0 else other, "explanation": "x"} for i, d in enumerate(dims)}
        | {"delusional_sycophancy": {"score": other}}
    )


def load_naive(dsn: str, *, violations: bool = False) -> dict:
    """Load four hourly runs the way the spec implies: fetched_at / evaluated_at / recorded_at
    left to their NOW() default (a few given explicitly: NULL, or judged an hour later), agent
    and submolt versions written by hand with valid_from = the snapshot's time. With
    ``violations``: agent a-viol-1 has two current versions, a-viol-2 overlapping versions,
    a-viol-3 a gap, a-viol-4 a valid_to before its valid_from. Returns the snapshot ids."""
    with psycopg.connect(dsn, autocommit=True) as c, c.transaction():
        sids = []
        for i in range(RUNS):
            t = T0 + dt.timedelta(hours=i)
            sids.append(
                c.execute(
                    "INSERT INTO snapshots (created_at, run_id, posts_fetched, site_stats) "
                    "VALUES (%s, %s, 3, %s) RETURNING id",
                    (t, f"{t:%Y%m%dT%H%M%SZ}", json.dumps({"avg_karma_per_agent": 1.5})),
                ).fetchone()[0]
            )

        def at(i: int) -> dt.datetime:
            return T0 + dt.timedelta(hours=i)

        # agents: a-1 changes karma at runs 1 and 3; a-2 is seen from run 0, a-3 from run 2
        versions = [
            ("a-1", "alpha", 10, 0, 1),
            ("a-1", "alpha", 11, 1, 3),
            ("a-1", "alpha-renamed", 12, 3, None),
            ("a-2", "beta", 5, 0, None),
            ("a-3", "gamma", 7, 2, None),
        ]
        if violations:
            versions += [
                ("a-viol-1", "v1", 1, 0, None),
                ("a-viol-1", "v1", 2, 2, None),  # two current versions
                ("a-viol-2", "v2", 1, 0, 3),
                ("a-viol-2", "v2", 2, 1, None),  # overlaps [0, 3)
                ("a-viol-3", "v3", 1, 0, 1),
                ("a-viol-3", "v3", 2, 2, None),  # gap [1, 2)
                ("a-viol-4", "v4", 1, 2, 1),  # valid_to before valid_from
            ]
        for ext, handle, karma, start, end in versions:
            c.execute(
                "INSERT INTO agents (snapshot_id, external_id, handle, karma, bio, owner_info, "
                "valid_from, valid_to, is_current) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    sids[start],
                    ext,
                    handle,
                    karma,
                    f"bio of {handle}",
                    json.dumps({"x_handle": handle}),
                    at(start),
                    None if end is None else at(end),
                    end is None,
                ),
            )
        c.execute(
            "INSERT INTO submolts (snapshot_id, external_id, name, subscriber_count, valid_from, "
            "valid_to, is_current) VALUES (%s, 's-1', 'general', 1, %s, %s, false), "
            "(%s, 's-1', 'general', 2, %s, NULL, true)",
            (sids[0], at(0), at(2), sids[2], at(2)),
        )
        for i, sid in enumerate(sids):
            for p in range(3):
                c.execute(
                    "INSERT INTO posts (snapshot_id, external_id, title, score, author_id, "
                    "submolt_id, created_at_source) VALUES (%s, %s, %s, %s, 'a-1', 's-1', %s)",
                    (sid, f"p-{p}", f"post {p}", i + p, T0 - dt.timedelta(days=1)),
                )
                c.execute(
                    "INSERT INTO comments (snapshot_id, external_id, post_id, author_id, "
                    "content) VALUES (%s, %s, %s, 'a-2', 'hi')",
                    (sid, f"c-{p}", f"p-{p}"),
                )
                c.execute(
                    "INSERT INTO post_evaluations (snapshot_id, post_id, model, scores) "
                    "VALUES (%s, %s, 'judge', %s)",
                    (sid, f"p-{p}", scores(8 if p == 0 else 2)),
                )
                c.execute(
                    "INSERT INTO comment_evaluations (snapshot_id, comment_id, post_id, "
                    "author_handle, model, scores) VALUES (%s, %s, %s, 'beta', 'judge', %s)",
                    (sid, f"c-{p}", f"p-{p}", scores(3)),
                )
            for agent, handle in (("a-1", "alpha"), ("a-2", "beta")):
                c.execute(
                    "INSERT INTO agent_score_history (snapshot_id, agent_id, agent_handle, "
                    "posts_evaluated, dimension_scores, overall_mean_score) "
                    "VALUES (%s, %s, %s, 3, %s, %s)",
                    (sid, agent, handle, json.dumps({"harm_enablement": {"mean_score": 4}}), 2.5),
                )
        # a NULL time and an evaluation judged an hour after its snapshot
        c.execute(
            "INSERT INTO posts (snapshot_id, external_id, fetched_at) VALUES (%s, 'p-null', NULL)",
            (sids[-1],),
        )
        c.execute(
            "INSERT INTO post_evaluations (snapshot_id, post_id, model, scores, evaluated_at) "
            "VALUES (%s, 'p-null', 'late-judge', %s, %s)",
            (sids[-1], scores(1), at(RUNS)),
        )
    return {"snapshots": sids}


def _spec_columns(conn, table: str) -> list[str]:
    """The columns of ``table`` the spec defines, in order (not the dimension migration 002
    adds)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND table_schema = 'public' AND column_name <> 'has_high_manipulation' "
            "ORDER BY ordinal_position",
            (table,),
        )
    ]


def contents(dsn: str) -> dict[str, list]:
    """Every row of the eight tables, every column the spec defines (sorted by id)."""
    out = {}
    with psycopg.connect(dsn) as c:
        for t in TABLES:
            cols = _spec_columns(c, t)
            out[t] = c.execute(
                f"SELECT {', '.join(cols)} FROM {t} ORDER BY id"  # noqa: S608 - test helper
            ).fetchall()
    return out


def catalog(dsn: str) -> dict:
    """Tables, columns, indexes and constraints of the public schema."""
    with psycopg.connect(dsn) as c:
        return {
            "relations": c.execute(
                "SELECT relname, relkind FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace ORDER BY 1"
            ).fetchall(),
            "columns": c.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
            ).fetchall(),
            "constraints": c.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
            ).fetchall(),
            "indexes": c.execute(
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' ORDER BY 1, 2"
            ).fetchall(),
        }


def agent_at(dsn: str, handles, moments) -> dict:
    """Point-in-time answers the spec's way (valid_from <= t < valid_to) for each handle."""
    out = {}
    with psycopg.connect(dsn) as c:
        for h in handles:
            for t in moments:
                out[(h, t)] = c.execute(
                    "SELECT external_id, handle, karma, bio, valid_from, valid_to FROM agents "
                    "WHERE external_id IN (SELECT external_id FROM agents WHERE handle = %s) "
                    "AND valid_from <= %s AND coalesce(valid_to, 'infinity') > %s ORDER BY 1",
                    (h, t, t),
                ).fetchall()
    return out


def original_contents(dsn: str) -> dict[str, list]:
    """``contents`` with every value adopt changed put back from moltctl_adopt_changes: what
    the database held before adopt (read independently of adopt's own checksum)."""
    now = contents(dsn)
    with psycopg.connect(dsn) as c:
        changes = c.execute(
            "SELECT table_name, row_id, column_name, CASE WHEN column_name = 'is_current' "
            "THEN old_value::boolean::text END, CASE WHEN column_name <> 'is_current' "
            "THEN old_value::timestamptz END FROM moltctl_adopt_changes"
        ).fetchall()
        names = {t: _spec_columns(c, t) for t in TABLES}
    old = {(t, rid, col): (flag == "true" if flag else ts) for t, rid, col, flag, ts in changes}
    out = {}
    for t, rows in now.items():
        cols = names[t]
        out[t] = [
            tuple(
                old.get((t, row[0], col), value) if (t, row[0], col) in old else value
                for col, value in zip(cols, row, strict=True)
            )
            for row in rows
        ]
    return out
