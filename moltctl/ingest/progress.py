"""What a running ingest reports: one ``Progress`` event per phase of each run, and the
bytes and rows read while reading it, for a progress display or a log.

``ingest_paths(target, paths, progress=fn)`` calls ``fn(event)``; the phases of one run, in
order (``replace`` only when a loaded run is reloaded, ``rolled_back`` instead of ``done``
when the run fails or is interrupted)::

    start, replace, read, posts_comments, scd2, score_history, leaderboard, commit,
    done | rolled_back
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PHASES = (
    "start",
    "replace",
    "read",
    "posts_comments",
    "scd2",
    "score_history",
    "leaderboard",
    "commit",
    "done",
    "rolled_back",
)
# what each phase is, for people
LABELS = {
    "start": "starting",
    "replace": "removing the loaded copy",
    "read": "reading and copying",
    "posts_comments": "merging posts and comments",
    "scd2": "agent/submolt history (SCD2)",
    "score_history": "score history",
    "leaderboard": "agent_leaderboard",
    "commit": "committing",
    "done": "done",
    "rolled_back": "rolled back",
}
# at most this often while reading (seconds): a display needs no more, and each event costs
READ_INTERVAL = 0.1


@dataclass(frozen=True)
class Progress:
    """One step of an ingest: run ``run`` of ``runs`` is in ``phase``."""

    run_id: str
    run: int  # 1-based position of this run in the ingest
    runs: int  # runs in this ingest
    phase: str  # one of PHASES
    done: int = 0  # input bytes read so far (uncompressed), during and after "read"
    total: int = 0  # input bytes of the run (an estimate for gzip bundles; never below done)
    rows: int = 0  # rows read and staged so far
    result: Any = None  # the SnapshotResult, with "done"

    @property
    def label(self) -> str:
        return LABELS.get(self.phase, self.phase)


ProgressFn = Callable[[Progress], None]


class Reporter:
    """Sends one run's events to ``fn`` (a no-op without one), throttling the reading ones."""

    def __init__(self, fn: ProgressFn | None, run_id: str, run: int, runs: int, total: int):
        self.fn = fn
        self.run_id, self.run, self.runs = run_id, run, runs
        self.done, self.total, self.rows = 0, total, 0
        self.last = 0.0
        self.full = False  # a "read" event with everything read was sent
        self.count_rows: Callable[[], int] | None = None  # rows staged so far

    def phase(self, name: str, result: Any = None) -> None:
        if self.fn is None:
            return
        if self.count_rows is not None:
            self.rows = self.count_rows()
        self.fn(
            Progress(
                self.run_id,
                self.run,
                self.runs,
                name,
                self.done,
                max(self.total, self.done),
                self.rows,
                result,
            )
        )

    def read(self, nbytes: int) -> None:
        """``nbytes`` more input read (called often: cheap unless an event is due)."""
        self.done += nbytes
        now = time.monotonic()
        if now - self.last >= READ_INTERVAL or (self.done >= self.total and not self.full):
            self.full = self.done >= self.total
            self.last = now
            self.phase("read")
