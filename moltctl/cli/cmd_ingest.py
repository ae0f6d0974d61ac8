"""ingest-file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from moltctl.cli.common import LockTimeoutOption, bar_console, info, state, warn
from moltctl.locks import WAIT

_ORDER = (
    "posts",
    "comments",
    "post_evaluations",
    "comment_evaluations",
    "agents",
    "agent_versions",
    "submolts",
    "submolt_versions",
    "agent_score_history",
)


def _counts(rows: dict[str, int]) -> str:
    return ", ".join(f"{k} {rows[k]}" for k in _ORDER if k in rows)


def _summary_line(snap) -> str:
    """One run in about two lines at 80 columns (the total names every table)."""
    if snap.status == "already loaded":
        return f"{snap.run_id}: already loaded (use --replace to reload)"
    r = snap.rows
    extra = " (backfilled into later history)" if snap.backfilled else ""
    if snap.leaderboard is not None and snap.leaderboard.ok:
        extra += " (leaderboard updated)"
    evals = r.get("post_evaluations", 0) + r.get("comment_evaluations", 0)
    return (
        f"{snap.run_id}: {snap.status} in {snap.seconds:.1f}s{extra}: posts {r.get('posts', 0)}, "
        f"comments {r.get('comments', 0)}, evaluations {evals}, agents {r.get('agents', 0)} "
        f"({r.get('agent_versions', 0):+d} versions), submolts {r.get('submolts', 0)} "
        f"({r.get('submolt_versions', 0):+d}), score rows {r.get('agent_score_history', 0)}"
    )


def _span(events: list) -> str:
    """``runs 1-2 (A .. B)`` for consecutive runs."""
    first, last = events[0], events[-1]
    if first is last:
        return f"run {first.run} ({first.run_id})"
    return f"runs {first.run}-{last.run} ({first.run_id} .. {last.run_id})"


# column widths: the bars stay put as the phases change
_LABEL = 30
_DETAIL = 32


class _Display:
    """Follows an ingest through the core's progress events: a live bar on a terminal, a line
    per finished run, and what is loaded and what is not when the ingest stops early."""

    def __init__(self, *, bar: bool, quiet: bool, replace: bool = False):
        self.quiet = quiet
        self.replace = replace
        self.finished: list = []  # "done" events, in order
        self.current = None  # the latest event of the run in progress
        self.replacing = False  # the run in progress replaces a loaded copy
        self.bar = None
        if bar:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
            from rich.table import Column

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=None),
                TextColumn("{task.fields[detail]}"),
                # the clock keeps its width: a long detail narrows the bar, not the time
                TimeElapsedColumn(table_column=Column(min_width=7, no_wrap=True)),
                console=bar_console(),
                transient=True,
                expand=True,
            )
            self.overall = self.bar.add_task("preparing", total=None, detail="")
            self.run_task = None

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, event) -> None:
        new_phase = self.current is None or self.current.phase != event.phase
        if event.phase == "start":
            self.replacing = False
        elif event.phase == "replace":
            self.replacing = True
        self.current = event
        if event.phase == "done":
            self.finished.append(event)
            line = _summary_line(event.result)
            if self.bar is not None:  # above the live bar, not through it
                self.bar.console.print(line, markup=False, highlight=False)
            else:
                info(line, quiet=self.quiet)
        if self.bar is not None:
            self._draw(event, new_phase)

    def _draw(self, e, new_phase: bool) -> None:
        from rich.filesize import decimal

        done = len(self.finished)
        self.bar.update(
            self.overall,
            description=f"run {e.run} of {e.runs}: {e.run_id}".ljust(_LABEL),
            total=e.runs,
            completed=done,
            detail=f"{done}/{e.runs} runs loaded".ljust(_DETAIL),
        )
        reading = e.phase == "read"
        if self.run_task is None:
            self.run_task = self.bar.add_task("", total=None, detail="")
        elif new_phase:  # each phase its own bar and clock; the database phases just pulse
            self.bar.reset(self.run_task, total=None)
        if reading:
            detail = f"{decimal(e.done)} of {decimal(e.total)}, {e.rows:,} rows"
        elif e.rows:
            detail = f"{e.rows:,} rows read"
        else:
            detail = ""
        self.bar.update(
            self.run_task,
            description=f"  {e.label}".ljust(_LABEL),
            total=e.total if reading and e.total else None,
            completed=e.done if reading else 0,
            detail=detail.ljust(_DETAIL),
        )

    def stopped(self) -> list[str]:
        """What is loaded and what is not, after the ingest stopped (an error or Ctrl-C)."""
        e = self.current
        if e is None or e.runs < 2:
            return []
        lines = [f"loaded: {_span(self.finished)}" if self.finished else "loaded: none"]
        if e.phase != "done":  # stopped inside this run: its transaction was rolled back
            kept = "its earlier copy stays" if self.replacing else "nothing of it is loaded"
            lines.append(f"rolled back: run {e.run} of {e.runs} ({e.run_id}; {kept})")
        if e.run < e.runs:
            first = e.run + 1
            which = f"run {first}" if first == e.runs else f"runs {first}-{e.runs}"
            again = "" if self.replace else " (the same command again loads them)"
            lines.append(f"not started: {which} of {e.runs}{again}")
        return lines


def ingest_file(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Run directories (layout A or B), directories of runs, or bundles "
            "(.ndjson / .ndjson.gz). Loaded oldest run first.",
            show_default=False,
        ),
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Reload runs that are already loaded.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Refuse input that would be cleaned (NUL, lone surrogates, NaN, "
            "timestamps without a zone) instead of warning.",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")
    ] = False,
    lock_timeout: LockTimeoutOption = WAIT,
) -> None:
    """Load pipeline runs: one snapshot per run, each in one transaction.

    A run already loaded is skipped (exit 0); --replace reloads it. Older runs loaded after
    newer ones are placed in the agents' and submolts' histories where they belong. Bad input
    stops with one line naming the file, record and field, and loads nothing of that run.
    On a terminal a live display shows each run's phase; after an error or Ctrl-C, stderr says
    which runs are loaded and which was rolled back. Once refresh-views has run, a run that is
    the only change since is also folded into agent_leaderboard in its transaction.

    Example: moltctl ingest-file runs/20260130T170118Z runs/*.ndjson.gz
    """
    from moltctl.ingest import ingest_paths

    st = state(ctx)
    quiet = quiet or st.quiet
    target = st.target()
    display = _Display(bar=not quiet and sys.stderr.isatty(), quiet=quiet, replace=replace)
    try:
        with display:
            result = ingest_paths(
                target,
                paths,
                replace=replace,
                strict=strict,
                progress=display,
                lock_timeout=lock_timeout,
            )
    except BaseException:
        # an error or Ctrl-C: say what is loaded before the error line (even with --quiet)
        for line in display.stopped():
            info(line, quiet=False)
        raise
    for snap in result.snapshots:
        for note in snap.notes:
            warn(note)
    warnings = result.warnings
    for line in warnings.lines():
        warn(line)
    skipped = len(result.snapshots) - len(result.loaded)
    info(
        f"ingest-file: {len(result.loaded)} snapshot(s) loaded, {skipped} already loaded; "
        f"{_counts(result.rows) or 'no rows'}; {warnings.total} warning(s); "
        f"{result.seconds:.2f}s",
        quiet=quiet,
    )


def register(app: typer.Typer) -> None:
    app.command("ingest-file")(ingest_file)
