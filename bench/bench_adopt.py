"""Adopting a spec-built database of over a million rows: time, rows rewritten vs attached.

Run: .venv/bin/python bench/bench_adopt.py [--hours 720] [--posts 240] [--payload 200] [--dsn ADMIN]

Builds once a database from the spec's DDL (tests/fixtures/spec_schema.sql: ordinary tables,
the spec's indexes and views) holding ``hours`` hourly snapshots (set-based generate_series
SQL from tests/helpers/retentiondata.py: posts, twice as many comments, their evaluations, score
history, SCD2 agents and submolts), then adopts two copies of it (CREATE DATABASE ... TEMPLATE)
side by side on one server:
  * "times as the snapshot's": a loader that wrote each row's fetched_at / evaluated_at /
    recorded_at as its snapshot's time: adopt rewrites no row, it attaches them all;
  * "naive NOW() times": the spec's defaults, every time the load's clock (the build shifts
    them by a few seconds): adopt aligns every row (an UPDATE, originals kept), then attaches.
Without --dsn a temporary embedded PostgreSQL is started (and deleted at the end).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moltctl import adopt  # noqa: E402
from moltctl.connection import resolve  # noqa: E402
from tests.helpers import adoptdata as ad  # noqa: E402
from tests.helpers import retentiondata as rd  # noqa: E402
from tests.helpers.db import admin_exec as admin  # noqa: E402
from tests.helpers.db import bench_server, with_db  # noqa: E402

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def build(admin_dsn: str, name: str, hours: int, posts: int, payload: int) -> tuple[str, float]:
    admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(admin_dsn, f'CREATE DATABASE "{name}"')
    dsn = with_db(admin_dsn, name)
    t = time.perf_counter()
    ad.build(dsn, ad.fixture_statements())
    with psycopg.connect(dsn, autocommit=True) as c:
        rd.build(
            c,
            START,
            hours,
            agents=400,
            submolts=20,
            posts=posts,
            history=100,
            payload=payload,
            partitioned=False,
        )
        c.execute("VACUUM ANALYZE")
    return dsn, time.perf_counter() - t


def naive_times(dsn: str) -> None:
    """What the spec's NOW() defaults leave: each row's time a few seconds after its run's."""
    with psycopg.connect(dsn, autocommit=True) as c:
        for table, key in adopt.BIG.items():
            c.execute(f"UPDATE {table} SET {key} = {key} + interval '17 seconds'")
        c.execute("VACUUM ANALYZE")


def clone(admin_dsn: str, source: str, name: str) -> str:
    admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(admin_dsn, f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY')
    return with_db(admin_dsn, name)


def run_adopt(dsn: str) -> dict:
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("CHECKPOINT")
    t = time.perf_counter()
    res = adopt.adopt(resolve(dsn))
    seconds = time.perf_counter() - t
    assert all(c.ok for c in res.checks)
    steps = {c.table: c.seconds for c in res.checks}
    return {
        "seconds": seconds,
        "rewritten": res.plan.rewrite_rows,
        "attached": res.plan.attach_rows,
        "rows": sum(c.rows_after for c in res.checks),
        "steps": steps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=int, default=720, help="hourly snapshots (720 = 30 days)")
    ap.add_argument("--posts", type=int, default=240, help="posts per snapshot")
    ap.add_argument("--payload", type=int, default=200, help="bytes of judge explanation")
    ap.add_argument("--dsn", help="admin conninfo of a server to use (default: embedded)")
    args = ap.parse_args()
    admin_dsn, stop_server = bench_server(args.dsn)
    names = []
    try:
        print(f"building {args.hours} hourly snapshots, {args.posts} posts each ...", flush=True)
        _, built = build(admin_dsn, "bench_adopt_src", args.hours, args.posts, args.payload)
        names.append("bench_adopt_src")
        print(f"  built in {built:.0f} s", flush=True)
        _, built = build(admin_dsn, "bench_adopt_src_naive", args.hours, args.posts, args.payload)
        naive_times(with_db(admin_dsn, "bench_adopt_src_naive"))
        names.append("bench_adopt_src_naive")
        results = {}
        for label, source in (
            ("times as the snapshot's", "bench_adopt_src"),
            ("naive NOW() times", "bench_adopt_src_naive"),
        ):
            name = source.replace("_src", "")
            names.append(name)
            dsn = clone(admin_dsn, source, name)
            results[label] = run_adopt(dsn)
            r = results[label]
            print(
                f"{label}: {r['seconds']:.1f} s for {r['rows']:,} rows; rewritten "
                f"{r['rewritten']:,}, attached {r['attached']:,}",
                flush=True,
            )
            print(
                "  per step: " + ", ".join(f"{t} {s:.1f} s" for t, s in r["steps"].items()),
                flush=True,
            )
        print()
        print("| database | rows | adopt | rows rewritten | rows attached (not copied) |")
        print("|---|---|---|---|---|")
        for label, r in results.items():
            print(
                f"| {label} | {r['rows']:,} | {r['seconds']:.1f} s | {r['rewritten']:,} "
                f"| {r['attached']:,} |"
            )
    finally:
        for name in names:
            admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        stop_server()


if __name__ == "__main__":
    main()
