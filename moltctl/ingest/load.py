"""Load snapshots: COPY into per-transaction staging tables, then set-based SQL.

One transaction per snapshot; the run is claimed by its unique run_id at the start, so a
concurrent ingest of the same run waits and then finds it loaded. SCD2 work (agents,
submolts) is serialized across ingests by a transaction-level advisory lock, taken after the
bulk COPY so that ingests of different runs overlap in their parsing and COPY phases.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psycopg

from moltctl import locks, partitions, sqlfiles, viewlog, views
from moltctl.connection import connect
from moltctl.errors import MoltError, database_hint, first_line
from moltctl.ingest import records as rec
from moltctl.ingest.direct import DIRECT as ROUTE_DIRECT
from moltctl.ingest.direct import STAGE, Router
from moltctl.ingest.errors import InputError, Warnings
from moltctl.ingest.history import History
from moltctl.ingest.progress import Progress, ProgressFn, Reporter
from moltctl.ingest.readers import Source, discover
from moltctl.ingest.staging import (
    DIRECT,
    ENTITIES,
    OF_SNAPSHOT,
    RANKED,
    TARGETS,
    AgentRow,
    CommentRow,
    EvalScoresRow,
    PostRow,
    SubmoltRow,
)
from moltctl.rows import dicts
from moltctl.session import session
from moltctl.sqlrun import ScriptError, run_script

# transaction-level lock serializing the SCD2 step of concurrent ingests
SCD2_LOCK = 0x6D6F6C74_0010
BATCH_ROWS = 5000

# every kind of record a reader yields -> the handler that turns it into staging rows
DISPATCH = {**rec.HANDLERS, rec.POST_DETAIL_KIND: rec.post_detail}


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
    # comments that took the per-field merge (the others went straight into comments; None:
    # all of them, CopySink.DIRECT off)
    comments_merged: int | None = None
    # agent_leaderboard folded in at ingest (views.fold_at_ingest; None: left to refresh-views)
    leaderboard: views.Refreshed | None = None


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


class CopySink:
    """Buffers rows per table and COPies them in batches (bounded memory, few round trips).

    A writer thread runs the COPYs while the caller goes on parsing, so the server's work
    (parsing jsonb, maintaining indexes) overlaps with Python's; at most ``QUEUED`` batches
    wait in between, which keeps memory bounded whatever the input's size.
    """

    QUEUED = 8
    THREADED = True  # False: COPY in the caller's thread (to time each COPY alone)
    DIRECT = True  # False: every comment takes the merge (tests compare both ways)
    # agent_score_history computed in Python as the rows stream (moltctl.ingest.history);
    # False: the evaluations' scores are staged and aggregated in SQL (tests compare both)
    HISTORY = True

    def __init__(self, conn, sid, t: dt.datetime, batch: int = BATCH_ROWS):
        import queue
        import threading

        self.conn = conn
        self.prefix = (sid, t)
        self.batch = batch
        targets = [*TARGETS.values(), *DIRECT.values()]
        self.buffers: dict[tuple, list] = {target: [] for target in targets}
        self.counts: dict[str, int] = {target.key: 0 for target in targets}
        self.seq = 0
        self.seen: dict[type, set] = {AgentRow: set(), SubmoltRow: set()}
        self.dims: dict[str, int] = {}  # the run's score dimensions -> their stg_dims idx
        self.history = History() if self.HISTORY else None
        h = self.history
        self.watch = {PostRow: h.post, CommentRow: h.comment, AgentRow: h.agent} if h else {}
        # which observations of a comment go straight into comments (moltctl.ingest.direct)
        self.routers = {row: Router(row._fields) for row in DIRECT} if self.DIRECT else {}
        self.sql = {
            t: sqlfiles.render("ingest/copy.sql.j2", table=t.table, columns=t.columns)
            for t in targets
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

    def _copy(self, target: tuple, rows: list) -> None:
        try:
            with self.conn.cursor() as cur, cur.copy(self.sql[target]) as copy:
                for row in rows:
                    copy.write_row(row)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self.error = exc

    def add(self, rank: int, row: tuple) -> None:
        """Stage ``row`` (a ``moltctl.ingest.staging`` row: its type names the table)."""
        kind = type(row)
        seen = self.seen.get(kind)
        if seen is not None:
            # an observation identical to one already staged changes no field of the merge
            # (authors repeat in every post and comment they write): stage it once
            if row in seen:
                return
            seen.add(row)
        if kind is EvalScoresRow:
            if self.history is not None:
                self.history.evaluation(row)
                return
            row = row._replace(scores=self._positional(row.scores))
        else:
            watch = self.watch.get(kind)
            if watch is not None:
                watch(rank, row)
        target = TARGETS[kind]
        router = self.routers.get(kind)
        if router is not None:
            self.seq += 1
            way, row = router.route(self.seq, rank, row)
            if way == ROUTE_DIRECT:
                self._append(DIRECT[kind], self.prefix + row)
            elif way == STAGE:
                self._append(target, (self.seq, rank, *row))
            return
        if target.prefix is RANKED:
            self.seq += 1
            self._append(target, (self.seq, rank, *row))
        elif target.prefix is OF_SNAPSHOT:
            self._append(target, self.prefix + row)
        else:
            self._append(target, row)

    def _positional(self, scores: dict) -> str:
        """An array literal: the score of the run's i-th dimension at i (NULL: none)."""
        at = {self.dims.setdefault(dim, len(self.dims) + 1): v for dim, v in scores.items()}
        values = (repr(at[i]) if i in at else "NULL" for i in range(1, max(at, default=0) + 1))
        return "{" + ",".join(values) + "}"

    def _append(self, target: tuple, row: tuple) -> None:
        buf = self.buffers[target]
        buf.append(row)
        if len(buf) >= self.batch:
            self.flush(target)

    def flush(self, target: tuple) -> None:
        if self.error is not None:
            raise self.error
        rows = self.buffers[target]
        if not rows:
            return
        self.buffers[target] = []
        self.counts[target.key] += len(rows)
        if self.THREADED:
            self.queue.put((target, rows))
        else:  # in the caller's thread (for measurements)
            self._copy(target, rows)

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
        for target in self.buffers:
            self.flush(target)
        self.close()
        if self.error is not None:
            raise self.error


def _rebuild(conn, e: dict, t: dt.datetime, *, sid=None, removed=None) -> int:
    """Rebuild the timelines of rc_ids from ``t`` (up to the horizon of snapshot ``sid``'s
    observations when given); return the net change in version rows."""
    counted = run_script(
        conn,
        "ingest/scd2_rebuild.sql.j2",
        {"t": t, "removed": removed, "sid": sid},
        e=e,
        horizon=sid is not None,
    )
    return counted["added"] - counted["deleted"]


def _remove_snapshot(conn, sid, t: dt.datetime) -> None:
    """Take a loaded snapshot out: rebuild the timelines it touched without it, then delete
    it (its posts, comments, evaluations, history and observations cascade)."""
    run_script(conn, "ingest/xact_lock.sql", {"key": SCD2_LOCK})
    for e in ENTITIES:
        run_script(conn, "ingest/rc_ids_snapshot.sql.j2", {"sid": sid}, e=e)
        run_script(conn, "ingest/observations_delete.sql.j2", {"sid": sid}, e=e)
        _rebuild(conn, e, t, removed=sid)
        run_script(conn, "ingest/rc_ids_drop.sql")
    run_script(conn, "ingest/snapshot_delete.sql", {"sid": sid})


# --- the steps of one snapshot's load, in order, in one transaction ------------------------


def _claim(conn, src: Source, replace: bool, res: SnapshotResult, report: Reporter):
    """Claim the run (a copy loaded before goes, with ``replace``); its snapshot id, or None
    when there is nothing to load (``res.status`` says why)."""
    # on Citus: multi-shard writes, then writes of the reference table snapshots
    run_script(conn, "citus/sequential.sql", {"local": True})
    found = run_script(conn, "ingest/snapshot_find.sql", {"run_id": src.run_id})
    if found:
        status = found["status"]
        if status == "completed" and not replace:
            res.status = "already loaded"
            return None
        if status == "completed":  # a loaded copy goes (a failed run's row: nothing to say)
            report.phase("replace")
        _remove_snapshot(conn, found["id"], found["created_at"])
        viewlog.snapshot(
            conn,
            found["id"],
            found["created_at"],
            "replaced" if status == "completed" else "removed",
        )
        if status == "completed":
            res.status = "replaced"
    claimed = run_script(
        conn, "ingest/snapshot_claim.sql", {"run_id": src.run_id, "created_at": src.created_at}
    )
    if not claimed:  # a concurrent ingest of the same run committed it first
        res.status = "already loaded"
        return None
    run_script(conn, "ingest/staging.sql")
    return claimed["id"]


def _copy(conn, src: Source, sid, warns: Warnings, report: Reporter) -> CopySink:
    """Read the records, dispatch each to its handler, COPY the rows; the sink (its rows per
    table, the comments that need the merge)."""
    sink = CopySink(conn, sid, src.created_at)
    report.count_rows = lambda: sink.rows
    try:
        if sink.history is not None:
            sink.history.prepare(conn)  # nothing queued yet: the connection is free
        with closing(src.records(warns, report.read if report.fn else None)) as records:
            for kind, where, value in records:
                for rank, row in DISPATCH[kind](value, where, warns):
                    sink.add(rank, row)
        if sink.history is not None:
            sink.history.aggregate()  # while the server works through the queued batches
        sink.finish()
    finally:
        sink.close(abort=True)  # after finish() a no-op; after an error: skip queued batches
    _copy_rows(conn, "stg_dims", ("idx", "name"), [(i, d) for d, i in sink.dims.items()])
    if sink.routers:
        _copy_dirty(conn, sink.routers[CommentRow])
    run_script(conn, "ingest/staging_analyze.sql")
    return sink


def _copy_rows(conn, table: str, columns: tuple[str, ...], rows) -> None:
    sql = sqlfiles.render("ingest/copy.sql.j2", table=table, columns=columns)
    with conn.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _copy_dirty(conn, router: Router) -> None:
    """The comments loaded straight into comments that a later observation changes."""
    if router.dirty:
        columns = ("external_id", "seq", "rank", "score_null", "score_seq", "score_rank")
        _copy_rows(conn, "stg_dirty", columns, router.dirty_rows())


def _merge(conn, params: dict, sink: CopySink) -> dict[str, int]:
    """Posts and comments of the snapshot, each merged per field from its observations; the
    comments loaded straight from COPY need it only where a later observation changes them."""
    posts = run_script(
        conn,
        "ingest/posts_insert.sql.j2",
        params,
        cols=PostRow._fields[1:],
        real_below=rec.POST_EVAL,
    )
    router = sink.routers.get(CommentRow)
    comments = sink.counts[DIRECT[CommentRow].key]
    if router is not None and router.dirty:
        unload = run_script(conn, "ingest/direct_unload.sql.j2", params, cols=CommentRow._fields)
        comments -= unload["deleted"]
    if sink.counts[TARGETS[CommentRow].key]:  # observations staged
        comments += run_script(
            conn, "ingest/comments_insert.sql.j2", params, cols=CommentRow._fields[1:]
        )["comments"]
    return {**posts, "comments": comments}


def _scd2(conn, params: dict, res: SnapshotResult) -> dict[str, int]:
    """Agents' and submolts' versions: forward, or rebuilt where a later snapshot knows them.
    One ingest at a time from here to commit."""
    run_script(conn, "ingest/xact_lock.sql", {"key": SCD2_LOCK})
    later = run_script(conn, "ingest/later_snapshot_exists.sql", params)["later"]
    rows = {}
    for e in ENTITIES:
        table = e["table"]
        rows[table] = run_script(conn, "ingest/scd2_observe.sql.j2", params, e=e)["observed"]
        backfill = 0
        if later:
            backfill = run_script(conn, "ingest/scd2_classify.sql.j2", params, e=e)["backfill"]
        versions = run_script(conn, "ingest/scd2_forward.sql.j2", params, e=e)["versions"]
        if backfill:
            res.backfilled = True
            run_script(conn, "ingest/rc_ids_backfill.sql.j2", e=e)
            versions += _rebuild(conn, e, params["t"], sid=params["sid"])
            run_script(conn, "ingest/rc_ids_drop.sql")
        rows[f"{table[:-1]}_versions"] = versions
    return rows


def _score_history(conn, params: dict, sink: CopySink) -> int:
    if sink.history is not None:  # computed while parsing: COPY the rows
        columns, rows = sink.history.rows(conn, params["sid"], params["t"])
        _copy_rows(conn, "agent_score_history", tuple(columns), rows)
        return len(rows)
    # the registered dimensions that have their has_high_<short_name> column
    dims = [
        d for d in dicts(conn.execute(sqlfiles.render("ingest/score_columns.sql"))) if d["flag"]
    ]
    return run_script(conn, "ingest/score_history.sql.j2", params, dims=dims)["history"]


def _complete(conn, src: Source, sid, rows: dict[str, int]) -> None:
    # computed first: on Citus an UPDATE of a reference table may neither call a volatile
    # function nor read a temp table
    finish = run_script(conn, "ingest/snapshot_finish_values.sql")
    run_script(
        conn,
        "ingest/snapshot_complete.sql",
        {
            "completed_at": finish["completed_at"],
            "avg_karma": finish["avg_karma"],
            "sid": sid,
            "posts": rows["posts"],
            "comments": rows["comments"],
            "agents": rows["agents"],
            "submolts": rows["submolts"],
            "site_stats": orjson.dumps(src.site_stats).decode(),
        },
    )
    viewlog.snapshot(conn, sid, src.created_at, "loaded")


def _timed(res: SnapshotResult, name: str, step, *args):
    """Run one step; its seconds go to ``res.timings[name]`` (the benchmarks' phases)."""
    clock = time.perf_counter()
    try:
        return step(*args)
    finally:
        res.timings[name] = res.timings.get(name, 0.0) + time.perf_counter() - clock


def _load(conn, src: Source, replace: bool, warns: Warnings, report: Reporter) -> SnapshotResult:
    res = SnapshotResult(src.run_id, str(src.path), src.created_at, "loaded", warnings=warns)
    sid = _claim(conn, src, replace, res, report)
    if sid is None:
        return res
    params = {"sid": sid, "t": src.created_at}
    report.phase("read")
    sink = _timed(res, "parse_copy", _copy, conn, src, sid, warns, report)
    copied = sink.counts
    router = sink.routers.get(CommentRow)
    res.comments_merged = router.dirty if router else None
    report.phase("posts_comments")
    merged = _timed(res, "posts_comments", _merge, conn, params, sink)
    report.phase("scd2")
    versioned = _timed(res, "scd2", _scd2, conn, params, res)
    report.phase("score_history")
    history = _timed(res, "score_history", _score_history, conn, params, sink)
    _complete(conn, src, sid, {**merged, **versioned})
    report.phase("leaderboard")
    res.leaderboard = _timed(res, "leaderboard", views.fold_at_ingest, conn, sid)
    report.phase("commit")
    res.rows = {
        "posts": merged["posts"],
        "comments": merged["comments"],
        "post_evaluations": copied["post_evaluations"],
        "comment_evaluations": copied["comment_evaluations"],
        "agents": versioned["agents"],
        "agent_versions": versioned["agent_versions"],
        "submolts": versioned["submolts"],
        "submolt_versions": versioned["submolt_versions"],
        "agent_score_history": history,
    }
    return res


def _record_failure(target, src: Source, error: str, started: dt.datetime) -> None:
    try:
        with connect(target, autocommit=True, application_name="moltctl ingest") as conn:
            run_script(
                conn,
                "ingest/snapshot_failed.sql",
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
    lock_timeout: float = locks.WAIT,
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
        except (psycopg.Error, ScriptError) as exc:
            cause = exc.cause if isinstance(exc, ScriptError) else exc  # a step's statement
            message = f"{src.path}: run {src.run_id}: database error: {first_line(cause)}"
            _record_failure(target, src, message, started)
            raise MoltError(message, hint=database_hint(message)) from None
        except MoltError as exc:
            _record_failure(target, src, exc.message, started)
            raise
    res.seconds = time.perf_counter() - clock
    if res.leaderboard is not None and not res.leaderboard.ok:
        notes.append(f"{src.run_id}: agent_leaderboard was not updated at ingest "
                     f"({res.leaderboard.error}); refresh-views will fold the run in")  # fmt: skip
    res.notes = notes
    return res


def ingest_paths(
    target,
    paths: list[str | Path],
    *,
    replace: bool = False,
    strict: bool = False,
    progress: ProgressFn | None = None,
    lock_timeout: float = locks.WAIT,
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
    # the schema is checked once, before anything is written; each snapshot has a connection
    # of its own (load_source)
    with session(
        target,
        locks.MAINTENANCE,
        shared=True,
        lock_timeout=lock_timeout,
        application_name="moltctl ingest",
    ):
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
