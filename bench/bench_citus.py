"""One server vs a 3-node Citus cluster on this machine: ingest of generated runs, refresh-views
and the latency of every built-in query.

Run by hand (not part of the test suite; needs PostgreSQL 15 with Citus, see .ci/citus-setup):

    .venv/bin/python bench/bench_citus.py                 # default size (a few minutes)
    .venv/bin/python bench/bench_citus.py --posts 200     # smoke run

Both sides run the same PostgreSQL 15 binaries on the same machine, started here
(tests/citus_cluster.py): "single" is a database on the coordinator without the citus
extension (Citus stays inactive there), "citus" a database with the extension, the two workers
registered and ``moltctl init --shard-count N``. On one machine the cluster can only show its
overhead (every node shares the same cores and disk); the gain of a real cluster comes from
nodes with their own cores, memory and disks (docs/citus.md).

Measured: ``ingest_paths`` of ``--runs`` generated runs (the first one loads everything, later
ones mostly unchanged entities: SCD2 forward), one backfilled run (loaded out of order),
``refresh-views``, then the median of ``--repeat`` calls of ``queries.run`` per built-in query.
Results are a markdown table on stdout (``--out`` writes it to a file as well).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

QUERIES = (
    "latest-snapshot",
    "leaderboard",
    "growth",
    "dimension-trends",
    "high-risk",
    "submolt-activity",
    "delta",
    "agent-at",
    "agent-history",
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def measure(dsn: str, runs: list[Path], backfill: Path, shard_count: int | None, repeat: int):
    import psycopg

    from moltctl import queries, schema, views
    from moltctl.connection import resolve
    from moltctl.ingest import load

    target = resolve(dsn)
    res: dict[str, float] = {}
    res["init"], _ = timed(lambda: schema.init(target, shard_count=shard_count))
    res["ingest first run"], first = timed(lambda: load.ingest_paths(target, runs[:1]))
    res["rows"] = sum(first.rows.values())
    res["ingest later runs (each)"], _ = timed(lambda: load.ingest_paths(target, runs[1:]))
    res["ingest later runs (each)"] /= max(1, len(runs) - 1)
    res["ingest backfilled run"], _ = timed(lambda: load.ingest_paths(target, [backfill]))
    res["refresh-views"], _ = timed(lambda: views.refresh(target))
    with psycopg.connect(dsn) as c:
        handle, at = c.execute(
            "SELECT handle, valid_from FROM agents WHERE is_current "
            "ORDER BY karma DESC, external_id LIMIT 1"
        ).fetchone()
    args = {"agent-at": {"agent": handle, "at": at.isoformat()}, "agent-history": {"agent": handle}}
    for name in QUERIES:
        raw = args.get(name, {})
        times = []
        for _ in range(repeat):
            t, _out = timed(lambda name=name, raw=raw: queries.run(target, name, dict(raw)))
            times.append(t)
        res[f"query {name}"] = statistics.median(times)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs loaded in order (default 3)")
    ap.add_argument("--posts", type=int, default=2000, help="posts per run (default 2000)")
    ap.add_argument("--agents", type=int, default=4000, help="agents (default 4000)")
    ap.add_argument("--comments-per-post", type=int, default=10)
    ap.add_argument("--shard-count", type=int, default=8, help="shards per table (default 8)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per query (median)")
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    opts = ap.parse_args()

    from tests import citus_cluster as cc

    reason = cc.missing_reason()
    if reason:
        sys.exit(f"bench_citus: {reason}")
    work = Path(tempfile.mkdtemp(prefix="moltctl-bench-citus-"))
    try:
        single, dist = run_both(opts, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(opts, single, dist)


def run_both(opts, work: Path) -> tuple[dict, dict]:
    from moltctl.synth import generate_runs
    from tests import citus_cluster as cc

    log(f"generating {opts.runs + 1} runs of {opts.posts} posts")
    paths = generate_runs(
        work / "runs",
        runs=opts.runs + 1,
        posts=opts.posts,
        agents=opts.agents,
        comments_per_post=opts.comments_per_post,
        seed=7,
        start=dt.datetime(2026, 1, 30, 17, tzinfo=dt.UTC),
        fmt="bundle",
    )
    # the second-newest run is held back and loaded last: a backfill
    in_order, backfill = paths[:-2] + paths[-1:], paths[-2]
    log("starting a coordinator and 2 workers (PostgreSQL 15 + Citus)")
    cluster = cc.start(workers=2)
    try:
        single_dsn = cluster.create_database("bench_single", citus=False)
        citus_dsn = cluster.create_database("bench_citus")
        log("single server")
        single = measure(single_dsn, in_order, backfill, None, opts.repeat)
        log(f"Citus, 3 nodes, {opts.shard_count} shards per table")
        dist = measure(citus_dsn, in_order, backfill, opts.shard_count, opts.repeat)
    finally:
        cluster.stop()
    return single, dist


def report(opts, single: dict, dist: dict) -> None:
    lines = [
        f"bench_citus: {opts.runs} runs + 1 backfill, {opts.posts} posts/run, "
        f"{opts.agents} agents, {opts.comments_per_post} comments/post; "
        f"{single['rows']:.0f} rows in the first run; {platform.machine()}, "
        f"PostgreSQL 15, Citus, {opts.shard_count} shards per table, all nodes on this machine",
        "",
        "| step | single server (s) | Citus 3 nodes (s) | ratio |",
        "|---|---:|---:|---:|",
    ]
    for key in single:
        if key == "rows":
            continue
        a, b = single[key], dist[key]
        lines.append(f"| {key} | {a:.3f} | {b:.3f} | {b / a if a else float('nan'):.1f}x |")
    text = "\n".join(lines)
    print(text)
    if opts.out:
        opts.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
