"""Load snapshots: COPY into per-transaction staging tables, then set-based SQL.

One transaction per snapshot; the run is claimed by its unique run_id at the start, so a
concurrent ingest of the same run waits and then finds it loaded. SCD2 work (agents,
submolts) is serialized across ingests by a transaction-level advisory lock, taken after the
bulk COPY so that ingests of different runs overlap in their parsing and COPY phases.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from moltctl import locks, migrations, partitions, sqlfiles, viewlog
from moltctl.errors import MoltError, database_hint, first_line
from moltctl.ingest import records as rec
from moltctl.ingest.clean import InputError, Warnings
from moltctl.ingest.progress import Progress, ProgressFn, Reporter
from moltctl.ingest.readers import Source, discover

# transaction-level lock serializing the SCD2 step of concurrent ingests
SCD2_LOCK = 0x6D6F6C74_0010
BATCH_ROWS = 5000

ENTITIES = (
    {
        "table": "agents",
        "log": "agent_observations",
        "stage": "stg_agents",
        "merged": "m_agents",
        "attrs": rec.AGENT_COLS[1:],
        "required": "handle",
    },
    {
        "table": "submolts",
        "log": "submolt_observations",
        "stage": "stg_submolts",
        "merged": "m_submolts",
        "attrs": rec.SUBMOLT_COLS[1:],
        "required": "name",
    },
)
# staged tables get (seq, rank) in front; the others are COPied straight into the final table
COPY_TARGETS = {
    "agents": ("stg_agents", ("seq", "rank", *rec.AGENT_COLS)),
    "submolts": ("stg_submolts", ("seq", "rank", *rec.SUBMOLT_COLS)),
    "posts": ("stg_posts", ("seq", "rank", *rec.POST_COLS)),
    "comments": ("stg_comments", ("seq", "rank", *rec.COMMENT_COLS)),
    "post_evaluations": (
        "post_evaluations",
        ("snapshot_id", "evaluated_at", *rec.POST_EVAL_COLS),
    ),
    "comment_evaluations": (
        "comment_evaluations",
        ("snapshot_id", "evaluated_at", *rec.COMMENT_EVAL_COLS),
    ),
    "evals": ("stg_evals", ("is_post", "item_id", "author_handle", "scores")),
}
STAGED = {"agents", "submolts", "posts", "comments"}


@dataclass
class SnapshotResult:
    run_id: str
    path: str
    created_at: dt.datetime
    status: str  # "loaded" | "replaced" | "already loaded"
    rows: dict[str, int] = field(default_factory=dict)
    warnings: Warnings = field(default_factory=Warnings)
    seconds: float = 0.0
    backfilled: bool = False
    # seconds per phase (parse+copy, posts, comments, scd2, history, ...): for benchmarks
    timings: dict[str, float] = field(default_factory=dict)
    # what the operator should know though the run loaded (e.g. rows in a default partition)
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    snapshots: list[SnapshotResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for s in self.snapshots:
            for k, v in s.rows.items():
                total[k] = total.get(k, 0) + v
        return total

    @property
    def warnings(self) -> Warnings:
        w = Warnings()
        for s in self.snapshots:
            w.merge(s.warnings)
        return w

    @property
    def loaded(self) -> list[SnapshotResult]:
        return [s for s in self.snapshots if s.status != "already loaded"]


def _exec(conn, sql: str, params: dict | None = None):
    """Client-side binding: parameters also work in CREATE TABLE AS and other utility SQL."""
    import psycopg

    cur = psycopg.ClientCursor(conn)
    cur.execute(sql, params or None)
    return cur


def _script(conn, template: str, params: dict | None = None, **ctx) -> list[int]:
    """Run a rendered multi-statement template in one round trip; return each row count."""
    cur = _exec(conn, sqlfiles.render(template, **ctx), params)
    counts = [cur.rowcount]
    while cur.nextset():
        counts.append(cur.rowcount)
    return counts


class CopySink(rec.Sink):
    """Buffers rows per table and COPies them in batches (bounded memory, few round trips).

    A writer thread runs the COPYs while the caller goes on parsing, so the server's work
    (parsing jsonb, maintaining indexes) overlaps with Python's; at most ``QUEUED`` batches
    wait in between, which keeps memory bounded whatever the input's size.
    """

    QUEUED = 4
    THREADED = True  # False: COPY in the caller's thread (to time each COPY alone)

    def __init__(self, conn, sid, t: dt.datetime, batch: int = BATCH_ROWS):
        import queue
        import threading

        self.conn = conn
        self.prefix = (sid, t)
        self.batch = batch
        self.buffers: dict[str, list] = {k: [] for k in COPY_TARGETS}
        self.counts: dict[str, int] = dict.fromkeys(COPY_TARGETS, 0)
        self.seq = 0
        self.seen: dict[str, set] = {"agents": set(), "submolts": set()}
        self.sql = {
            k: sqlfiles.render("ingest/copy.sql.j2", table=table, columns=cols)
            for k, (table, cols) in COPY_TARGETS.items()
        }
        self.error: BaseException | None = None
        self.aborted = False
        self.queue: queue.Queue = queue.Queue(maxsize=self.QUEUED)
        self.thread = threading.Thread(target=self._writer, name="moltctl-copy", daemon=True)
        if self.THREADED:
            self.thread.start()

    def _writer(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None or self.aborted:
                continue  # drain after a failure; the caller raises it
            self._copy(*item)

    def _copy(self, table: str, rows: list) -> None:
        try:
            with self.conn.cursor() as cur, cur.copy(self.sql[table]) as copy:
                for row in rows:
                    copy.write_row(row)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self.error = exc

    def add(self, table: str, rank: int, row: tuple) -> None:
        seen = self.seen.get(table)
        if seen is not None:
            # an observation identical to one already staged changes no field of the merge
            # (authors repeat in every post and comment they write): stage it once
            if row in seen:
                return
            seen.add(row)
        buf = self.buffers[table]
        if table in STAGED:
            self.seq += 1
            buf.append((self.seq, rank, *row))
        else:
            buf.append(self.prefix + row)
        if len(buf) >= self.batch:
            self.flush(table)

    def scores(self, is_post: bool, item_id: str, author_handle, scores: str) -> None:
        evals = self.buffers["evals"]
        evals.append((is_post, item_id, author_handle, scores))
        if len(evals) >= self.batch:
            self.flush("evals")

    def flush(self, table: str) -> None:
        if self.error is not None:
            raise self.error
        rows = self.buffers[table]
        if not rows:
            return
        self.buffers[table] = []
        self.counts[table] += len(rows)
        if self.THREADED:
            self.queue.put((table, rows))
        else:  # in the caller's thread (for measurements)
            self._copy(table, rows)

    def close(self, abort: bool = False) -> None:
        """Stop the writer (after what is queued, unless ``abort``); the connection is the
        caller's again."""
        self.aborted = self.aborted or abort
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()

    @property
    def rows(self) -> int:
        """Rows staged so far (copied or waiting in a buffer)."""
        return sum(self.counts.values()) + sum(len(b) for b in self.buffers.values())

    def finish(self) -> None:
        """Flush everything, wait for the writer, raise its error if it had one."""
        for table in self.buffers:
            self.flush(table)
        self.close()
        if self.error is not None:
            raise self.error


def _score_dims(conn) -> list[dict]:
    cur = _exec(conn, sqlfiles.render("ingest/score_columns.sql"))
    return [{"name": name, "flag": flag} for name, flag in cur.fetchall()]


def _rebuild(conn, e: dict, t: dt.datetime, *, sid=None, removed=None) -> int:
    """Rebuild the timelines of rc_ids from ``t`` (up to the horizon of snapshot ``sid``'s
    observations when given); return the net change in version rows."""
    counts = _script(
        conn,
        "ingest/scd2_rebuild.sql.j2",
        {"t": t, "removed": removed, "sid": sid},
        e=e,
        horizon=sid is not None,
    )
    # statements: rc_prev, rc_h, rc_obs, rc_new, DELETE, INSERT, DROP
    return counts[5] - counts[4]


def _remove_snapshot(conn, sid, t: dt.datetime) -> None:
    """Take a loaded snapshot out: rebuild the timelines it touched without it, then delete
    it (its posts, comments, evaluations, history and observations cascade)."""
    _exec(conn, sqlfiles.render("ingest/xact_lock.sql"), {"key": SCD2_LOCK})
    for e in ENTITIES:
        _exec(conn, sqlfiles.render("ingest/rc_ids_snapshot.sql.j2", e=e), {"sid": sid})
        _exec(conn, sqlfiles.render("ingest/observations_delete.sql.j2", e=e), {"sid": sid})
        _rebuild(conn, e, t, removed=sid)
        _exec(conn, sqlfiles.render("ingest/rc_ids_drop.sql"))
    _exec(conn, sqlfiles.render("ingest/snapshot_delete.sql"), {"sid": sid})


def _load(conn, src: Source, replace: bool, warns: Warnings, report: Reporter) -> SnapshotResult:
    t = src.created_at
    res = SnapshotResult(src.run_id, str(src.path), t, "loaded", warnings=warns)
    _exec(conn, sqlfiles.render("citus/sequential.sql"), {"local": True})
    row = _exec(conn, sqlfiles.render("ingest/snapshot_find.sql"), {"run_id": src.run_id})
    found = row.fetchone()
    if found is not None:
        old_id, status, old_t = found
        if status == "completed" and not replace:
            res.status = "already loaded"
            return res
        if status == "completed":  # a loaded copy goes (a failed run's row: nothing to say)
            report.phase("replace")
        _remove_snapshot(conn, old_id, old_t)
        viewlog.snapshot(conn, old_id, old_t, "replaced" if status == "completed" else "removed")
        if status == "completed":
            res.status = "replaced"
    claimed = _exec(
        conn,
        sqlfiles.render("ingest/snapshot_claim.sql"),
        {"run_id": src.run_id, "created_at": t},
    ).fetchone()
    if claimed is None:  # a concurrent ingest of the same run committed it first
        res.status = "already loaded"
        return res
    sid = claimed[0]
    _script(conn, "ingest/staging.sql")

    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        res.timings[name] = res.timings.get(name, 0.0) + now - clock
        clock = now

    sink = CopySink(conn, sid, t)
    report.count_rows = lambda: sink.rows
    report.phase("read")
    try:
        src.feed(sink, warns, report.read if report.fn else None)
        sink.finish()
    finally:
        sink.close(abort=True)  # after finish() a no-op; after an error: skip queued batches
    _exec(conn, sqlfiles.render("ingest/staging_analyze.sql"))
    lap("parse_copy")
    report.phase("posts_comments")

    params = {"sid": sid, "t": t}
    posts = _exec(
        conn,
        sqlfiles.render(
            "ingest/posts_insert.sql.j2", cols=rec.POST_COLS[1:], real_below=rec.POST_EVAL
        ),
        params,
    ).rowcount
    comments = _exec(
        conn,
        sqlfiles.render("ingest/comments_insert.sql.j2", cols=rec.COMMENT_COLS[1:]),
        params,
    ).rowcount
    lap("posts_comments")
    report.phase("scd2")

    # SCD2: one ingest at a time from here to commit
    _exec(conn, sqlfiles.render("ingest/xact_lock.sql"), {"key": SCD2_LOCK})
    later = _exec(conn, sqlfiles.render("ingest/later_snapshot_exists.sql"), params).fetchone()[0]
    observed = {}
    versions = {}
    for e in ENTITIES:
        observed[e["table"]] = _script(conn, "ingest/scd2_observe.sql.j2", params, e=e)[0]
        backfill = 0
        if later:
            backfill = _script(conn, "ingest/scd2_classify.sql.j2", params, e=e)[0]
        counts = _script(conn, "ingest/scd2_forward.sql.j2", params, e=e)
        versions[e["table"]] = counts[-1]
        if backfill:
            res.backfilled = True
            _exec(conn, sqlfiles.render("ingest/rc_ids_backfill.sql.j2", e=e))
            versions[e["table"]] += _rebuild(conn, e, t, sid=sid)
            _exec(conn, sqlfiles.render("ingest/rc_ids_drop.sql"))
    lap("scd2")
    report.phase("score_history")

    history = _exec(
        conn, sqlfiles.render("ingest/score_history.sql.j2", dims=_score_dims(conn)), params
    ).rowcount
    lap("score_history")
    finish = _exec(conn, sqlfiles.render("ingest/snapshot_finish_values.sql")).fetchone()
    report.phase("commit")
    _exec(
        conn,
        sqlfiles.render("ingest/snapshot_complete.sql"),
        {
            "completed_at": finish[0],
            "avg_karma": finish[1],
            "sid": sid,
            "posts": posts,
            "comments": comments,
            "agents": observed["agents"],
            "submolts": observed["submolts"],
            "site_stats": orjson.dumps(src.site_stats).decode(),
        },
    )
    viewlog.snapshot(conn, sid, t, "loaded")
    res.rows = {
        "posts": posts,
        "comments": comments,
        "post_evaluations": sink.counts["post_evaluations"],
        "comment_evaluations": sink.counts["comment_evaluations"],
        "agents": observed["agents"],
        "agent_versions": versions["agents"],
        "submolts": observed["submolts"],
        "submolt_versions": versions["submolts"],
        "agent_score_history": history,
    }
    return res


def _record_failure(target, src: Source, error: str, started: dt.datetime) -> None:
    from moltctl.connection import connect

    try:
        with connect(target, autocommit=True, application_name="moltctl ingest") as conn:
            _exec(
                conn,
                sqlfiles.render("ingest/snapshot_failed.sql"),
                {
                    "run_id": src.run_id,
                    "created_at": src.created_at,
                    "error": error,
                    "started_at": started,
                },
            )
    except Exception:  # noqa: BLE001 - the original error is what the user needs to see
        pass


def load_source(
    target,
    src: Source,
    *,
    replace: bool = False,
    strict: bool = False,
    progress: ProgressFn | None = None,
    run: int = 1,
    runs: int = 1,
    lock_timeout: float = 60.0,
) -> SnapshotResult:
    """Load one snapshot in one transaction (the caller holds the MAINTENANCE lock).

    Its month's partitions are created first, in a short transaction of their own, waiting at
    most ``lock_timeout`` seconds for concurrent loads; if they cannot be, the rows go to the
    default partitions and the result carries a note saying so. ``progress`` gets a
    ``Progress`` event per phase (run ``run`` of ``runs``); the last is "done" (with the
    result) or "rolled_back" (then the error propagates).
    """
    report = Reporter(progress, src.run_id, run, runs, src.size)
    report.phase("start")
    try:
        res = _load_source(target, src, replace, strict, report, lock_timeout)
    except BaseException:  # an interrupt too: the transaction was rolled back
        report.phase("rolled_back")
        raise
    report.phase("done", res)
    return res


def _load_source(
    target, src: Source, replace: bool, strict: bool, report, lock_timeout: float
) -> SnapshotResult:
    import psycopg

    from moltctl.connection import connect

    warns = Warnings(strict=strict)
    warns.merge(src.header_warnings)
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    notes = []
    with connect(target, autocommit=True, application_name="moltctl ingest") as conn:
        # a missing monthly partition is not fatal: the default one takes the rows
        fallback = "its rows go to the default partitions (moltctl status says how to move them)"
        try:
            partitions.prepare_load(conn, [src.created_at], wait=lock_timeout)
        except partitions.PartitionWait as exc:
            notes.append(f"{src.run_id}: {exc.message}; {fallback}")
        except psycopg.Error as exc:
            notes.append(f"{src.run_id}: creating its month's partitions failed: "
                         f"{first_line(exc)}; {fallback}")  # fmt: skip
        try:
            with conn.transaction():
                partitions.lock_for_load(conn)
                res = _load(conn, src, replace, warns, report)
        except MoltError as exc:
            _record_failure(target, src, exc.message, started)
            raise
        except psycopg.Error as exc:
            message = f"{src.path}: run {src.run_id}: database error: {first_line(exc)}"
            _record_failure(target, src, message, started)
            raise MoltError(message, hint=database_hint(message)) from None
    res.seconds = time.perf_counter() - clock
    res.notes = notes
    return res


def ingest_paths(
    target,
    paths: list[str | Path],
    *,
    replace: bool = False,
    strict: bool = False,
    progress: ProgressFn | None = None,
    lock_timeout: float = 60.0,
) -> IngestResult:
    """Load every snapshot found in ``paths`` (run dirs, dirs of runs, bundles), oldest first.

    Holds the MAINTENANCE lock in shared mode (ingests run side by side; purge and
    create-partition wait). Raises MoltError before loading anything unless the schema is
    current (``migrations.require_current``); InputError (bad input, nothing of that snapshot
    loaded) or MoltError; snapshots before the failing one stay loaded. ``progress`` gets a
    ``Progress`` event per run and phase (``moltctl.ingest.progress``).
    """
    clock = time.perf_counter()
    sources = discover(paths, strict=strict)
    result = IngestResult()
    with locks.advisory_lock(
        target, locks.MAINTENANCE, what="maintenance", timeout=lock_timeout, shared=True
    ) as lock_conn:
        migrations.require_current(lock_conn)  # once, before anything is written
        for run, src in enumerate(sources, 1):
            result.snapshots.append(
                load_source(
                    target,
                    src,
                    replace=replace,
                    strict=strict,
                    progress=progress,
                    run=run,
                    runs=len(sources),
                    lock_timeout=lock_timeout,
                )
            )
    result.seconds = time.perf_counter() - clock
    return result


__all__ = [
    "IngestResult",
    "InputError",
    "Progress",
    "SnapshotResult",
    "ingest_paths",
    "load_source",
]
