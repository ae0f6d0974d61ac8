"""ingest-file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from moltctl.cli.common import info, state, warn

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


def _progress_bar(enabled: bool):
    """A rich progress bar on stderr (only on a terminal); returns (callback, context)."""
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, int] = {}

    def callback(advance: int, total: int, label: str) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total or None)
        bar.update(tasks[label], advance=advance)

    return callback, bar


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
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            help="Seconds to wait while a purge or create-partition runs (and for concurrent "
            "loads when a run needs a new month's partitions).",
        ),
    ] = 60.0,
) -> None:
    """Load pipeline runs into the database, one snapshot per run, each in one transaction.

    A run already loaded is skipped (exit 0); --replace reloads it. Older runs loaded after
    newer ones are placed in the agents' and submolts' histories where they belong. Bad input
    stops with one line naming the file, record and field, and loads nothing of that run.

    Example: moltctl ingest-file runs/20260130T170118Z runs/20260130T180120Z.ndjson.gz
    """
    from moltctl.ingest import ingest_paths

    st = state(ctx)
    quiet = quiet or st.quiet
    callback, bar = _progress_bar(not quiet and sys.stderr.isatty())
    target = st.target()
    if bar is not None:
        with bar:
            result = ingest_paths(
                target,
                paths,
                replace=replace,
                strict=strict,
                progress=callback,
                lock_timeout=lock_timeout,
            )
    else:
        result = ingest_paths(
            target, paths, replace=replace, strict=strict, lock_timeout=lock_timeout
        )

    for snap in result.snapshots:
        if snap.status == "already loaded":
            info(f"{snap.run_id}: already loaded (use --replace to reload)", quiet=quiet)
        else:
            extra = " (backfilled into later history)" if snap.backfilled else ""
            info(
                f"{snap.run_id}: {snap.status}{extra} in {snap.seconds:.2f}s: {_counts(snap.rows)}",
                quiet=quiet,
            )
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
