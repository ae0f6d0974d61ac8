"""Purging 30 of 120 days: partitioned purge vs a plain DELETE of the same rows (by hand).

Run: .venv/bin/python bench/bench_purge.py [--posts 500] [--payload 1800] [--dsn ADMIN]
                                            [--repeat N] [--keep] [--reuse]

Builds two databases with the same generated data (hourly snapshots over 120 days from
2025-11-01, set-based generate_series SQL from tests/helpers/retentiondata.py):
  * "partitioned": moltctl's schema (monthly partitions), purged with `retention.purge`;
  * "unpartitioned": the spec's DDL for the five big tables (ordinary tables, the spec's
    indexes), purged with plain DELETEs of exactly the same rows in one transaction.
Scenario 1 purges the oldest 30 days (November 2025: one whole month of partitions).
Scenario 2 is the nightly steady state afterwards: one more day (a boundary-month delete).
The data is built once into two source databases; each round purges fresh copies of them
(CREATE DATABASE ... TEMPLATE, a file copy), so --repeat N gives N comparable rounds (best of N
reported), and --keep / --reuse (with --dsn) keep the sources for later runs. A single round
with nothing to keep purges the built databases themselves.
Without --dsn a temporary embedded PostgreSQL is started (and deleted at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moltctl import retention, schema  # noqa: E402
from moltctl.connection import resolve  # noqa: E402
from moltctl.sqlrun import run_script  # noqa: E402
from tests.helpers import retentiondata as rd  # noqa: E402
from tests.helpers.db import admin_exec as admin  # noqa: E402
from tests.helpers.db import bench_server, with_db  # noqa: E402

UTC = dt.UTC
START = dt.datetime(2025, 11, 1, tzinfo=UTC)
DAYS = 120
CUT_30 = dt.datetime(2025, 12, 1, tzinfo=UTC)  # 30 days: November
CUT_31 = dt.datetime(2025, 12, 2, tzinfo=UTC)  # then one more day
FIXTURE = ROOT / "tests" / "fixtures" / "spec_high_volume_tables.sql"


def fresh(admin_dsn: str, name: str) -> str:
    admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(admin_dsn, f'CREATE DATABASE "{name}"')
    return with_db(admin_dsn, name)


def build_partitioned(dsn: str, posts: int, payload: int) -> float:
    schema.init(resolve(dsn))
    t = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as c:
        rd.build(
            c, START, 24 * DAYS, agents=400, submolts=20, posts=posts, history=100, payload=payload
        )
        c.execute("VACUUM ANALYZE")
    return time.perf_counter() - t


def build_plain(dsn: str, posts: int, payload: int) -> float:
    schema.migrate(resolve(dsn), upto="002")
    tables = list(rd.CONTENT_TABLES)
    with psycopg.connect(dsn, autocommit=True) as c:
        with c.transaction():
            c.execute("DROP TABLE " + ", ".join(tables) + " CASCADE")
            run_script(c, FIXTURE.read_text())
            c.execute(
                "ALTER TABLE agent_score_history ADD COLUMN has_high_manipulation "
                "BOOLEAN DEFAULT FALSE"
            )
        t = time.perf_counter()
        rd.build(
            c,
            START,
            24 * DAYS,
            agents=400,
            submolts=20,
            posts=posts,
            history=100,
            payload=payload,
            partitioned=False,
        )
        c.execute("VACUUM ANALYZE")
    return time.perf_counter() - t


def purge_partitioned(dsn: str, cutoff) -> tuple[float, dict]:
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("CHECKPOINT")
    t = time.perf_counter()
    result = retention.purge(resolve(dsn), before=cutoff)
    return time.perf_counter() - t, result.removed


def purge_plain(dsn: str, cutoff) -> tuple[float, dict]:
    removed = {}
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("CHECKPOINT")
        t = time.perf_counter()
        with c.transaction():
            for table in rd.CONTENT_TABLES:
                removed[table] = c.execute(
                    f"DELETE FROM {table} WHERE snapshot_id IN "
                    "(SELECT id FROM snapshots WHERE created_at < %(c)s)",
                    {"c": cutoff},
                ).rowcount
            for table in ("agents", "submolts"):
                removed[table] = c.execute(
                    f"DELETE FROM {table} WHERE valid_to <= %(c)s", {"c": cutoff}
                ).rowcount
            removed["snapshots"] = c.execute(
                "DELETE FROM snapshots s WHERE created_at < %(c)s "
                "AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.snapshot_id = s.id) "
                "AND NOT EXISTS (SELECT 1 FROM submolts m WHERE m.snapshot_id = s.id)",
                {"c": cutoff},
            ).rowcount
        return time.perf_counter() - t, removed


def clone(admin_dsn: str, source: str, name: str) -> str:
    admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    # FILE_COPY: a plain copy of the files (the default WAL_LOG writes the whole copy to WAL)
    admin(admin_dsn, f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY')
    return with_db(admin_dsn, name)


def exists(admin_dsn: str, name: str) -> bool:
    with psycopg.connect(admin_dsn) as c:
        return bool(c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone())


def sizes(dsn: str) -> dict:
    with psycopg.connect(dsn) as c:
        return {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in rd.ALL_TABLES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=500, help="posts per hourly snapshot")
    ap.add_argument(
        "--payload", type=int, default=1800, help="bytes of judge explanation per evaluation"
    )
    ap.add_argument("--dsn", help="admin conninfo of a server to use (default: embedded)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds (best of N reported)")
    ap.add_argument("--keep", action="store_true", help="keep the built source databases")
    ap.add_argument(
        "--reuse", action="store_true", help="purge copies of sources kept by an earlier --keep"
    )
    args = ap.parse_args()
    if (args.keep or args.reuse) and not args.dsn:
        ap.error("--keep and --reuse need --dsn (the embedded server is temporary)")
    admin_dsn, stop_server = bench_server(args.dsn)
    src_part, src_plain = "bench_purge_src_partitioned", "bench_purge_src_plain"
    work_part, work_plain = "bench_purge_partitioned", "bench_purge_plain"
    try:
        if args.reuse and exists(admin_dsn, src_part) and exists(admin_dsn, src_plain):
            print("reusing the kept source databases")
        else:
            print(f"building {DAYS} days of hourly snapshots, {args.posts} posts each ...")
            b1 = build_partitioned(fresh(admin_dsn, src_part), args.posts, args.payload)
            b2 = build_plain(fresh(admin_dsn, src_plain), args.posts, args.payload)
            print(f"  built in {b1:.0f} s (partitioned) and {b2:.0f} s (unpartitioned)")
        total = sizes(with_db(admin_dsn, src_part))
        print("  rows: " + ", ".join(f"{t} {n:,}" for t, n in total.items()))
        scenarios = (
            ("30 oldest days (one whole month)", CUT_30),
            ("then 1 more day (boundary month)", CUT_31),
        )
        times: dict[str, dict[str, list[float]]] = {lbl: {"p": [], "u": []} for lbl, _ in scenarios}
        removed: dict[str, tuple[int, bool]] = {}
        # one round with nothing to keep: purge the built databases themselves (no copy, half
        # the disk)
        in_place = args.repeat == 1 and not (args.keep or args.reuse)
        for r in range(args.repeat):
            if in_place:
                part, plain = with_db(admin_dsn, src_part), with_db(admin_dsn, src_plain)
            else:
                part = clone(admin_dsn, src_part, work_part)
                plain = clone(admin_dsn, src_plain, work_plain)
            for label, cutoff in scenarios:
                tp, rp = purge_partitioned(part, cutoff)
                tu, ru = purge_plain(plain, cutoff)
                same = {t: rp[t] for t in rd.CONTENT_TABLES} == {
                    t: ru[t] for t in rd.CONTENT_TABLES
                }
                times[label]["p"].append(tp)
                times[label]["u"].append(tu)
                removed[label] = (sum(rp.values()), same and removed.get(label, (0, True))[1])
                print(f"  round {r + 1}: {label}: {tp:.2f} s vs {tu:.2f} s ({tu / tp:.1f}x)")
        print()
        print("| purge | rows removed | partitioned purge | plain DELETE | speed-up | same rows |")
        print("|---|---:|---:|---:|---:|---|")
        for label, _ in scenarios:
            tp, tu = min(times[label]["p"]), min(times[label]["u"])
            n, same = removed[label]
            print(f"| {label} | {n:,} | {tp:.2f} s | {tu:.2f} s | {tu / tp:.0f}x | {same} |")
        if args.repeat > 1:
            print()
            for label, _ in scenarios:
                p = ", ".join(f"{x:.2f}" for x in times[label]["p"])
                u = ", ".join(f"{x:.2f}" for x in times[label]["u"])
                print(f"all rounds, {label}: purge {p}; DELETE {u}")
    finally:
        names = [work_part, work_plain] + ([] if args.keep else [src_part, src_plain])
        for name in names:
            with contextlib.suppress(psycopg.Error):
                admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        stop_server()


if __name__ == "__main__":
    main()
