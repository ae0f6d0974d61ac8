"""generate: synthetic pipeline runs (directories or bundles) for tests, benchmarks, demos."""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from moltctl.cli.common import bar_console, info, state
from moltctl.errors import UsageError
from moltctl.timestamps import parse_utc


class GenFormat(enum.StrEnum):
    dir = "dir"
    bundle = "bundle"


class Dialect(enum.StrEnum):
    api = "api"
    extracted = "extracted"
    mixed = "mixed"


class Layout(enum.StrEnum):
    A = "A"
    B = "B"


def _parse_start(value: str) -> dt.datetime:
    try:
        return parse_utc(value)  # a run id (20260130T170000Z) is ISO 8601's basic format
    except ValueError:
        raise UsageError(
            f"--start {value!r} is not a time", hint="e.g. --start 2026-01-30T17:00:00Z"
        ) from None


def generate(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the runs into.")],
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="Consecutive pulls.")] = 3,
    agents: Annotated[int, typer.Option("--agents", min=1, help="Agents in the first run.")] = 200,
    posts: Annotated[int, typer.Option("--posts", min=0, help="Posts observed per run.")] = 50,
    comments_per_post: Annotated[
        int, typer.Option("--comments-per-post", min=0, help="Mean comments per post.")
    ] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 0,
    start: Annotated[
        str, typer.Option("--start", help="Time of the first run (UTC if no zone).")
    ] = "2026-01-30T17:00:00Z",
    interval_hours: Annotated[
        float, typer.Option("--interval-hours", min=0.001, help="Hours between runs.")
    ] = 1.0,
    fmt: Annotated[
        GenFormat,
        typer.Option("--format", "-f", help="dir: run directories; bundle: one NDJSON per run."),
    ] = GenFormat.dir,
    gzip: Annotated[bool, typer.Option("--gzip", help="Gzip the bundles (.ndjson.gz).")] = False,
    dialect: Annotated[
        Dialect,
        typer.Option("--dialect", help="Record shapes: api, extracted or mixed."),
    ] = Dialect.api,
    layout: Annotated[
        Layout, typer.Option("--layout", help="Run directory layout (dir format).")
    ] = Layout.B,
    new_posts: Annotated[
        int | None,
        typer.Option("--new-posts", min=1, help="New posts per run (default: posts/4)."),
    ] = None,
    new_agents: Annotated[
        int | None,
        typer.Option("--new-agents", min=0, help="Agents joining per run (default: agents/100)."),
    ] = None,
    submolts: Annotated[
        int | None, typer.Option("--submolts", min=1, help="Submolts (default: agents/250).")
    ] = None,
    hazards: Annotated[
        str,
        typer.Option(
            "--hazards",
            help="Comma list of realism hazards to inject: "
            "nul, surrogate, emoji, nan, naive_ts, long (or 'all').",
        ),
    ] = "",
    hazard_rate: Annotated[
        float, typer.Option("--hazard-rate", min=0, max=1, help="Fraction of records hit.")
    ] = 0.01,
) -> None:
    """Write realistic synthetic pipeline runs (no database needed).

    Zipf-distributed authors, comment trees, profiles that drift between runs; the same seed
    and options write the same bytes. Prints the written paths on stdout, oldest first (pipe
    them into ingest-file); on a terminal, a bar shows the posts written.

    Example: moltctl generate /tmp/runs --runs 3 --posts 100 --seed 1 --format bundle --gzip
    """
    from moltctl import synth

    st = state(ctx)
    names = [h.strip() for h in hazards.split(",") if h.strip()]
    if names == ["all"]:
        names = list(synth.HAZARDS)

    bar = _Bar() if not st.quiet and sys.stderr.isatty() else None

    def written(run: synth.RunInfo) -> None:
        extra = ""
        if run.hazards:
            extra = ", hazards " + ", ".join(f"{k}={v}" for k, v in sorted(run.hazards.items()))
        line = (
            f"{run.run_id}: {run.posts} posts, {run.comments} comments, {run.agents} agents, "
            f"{run.post_evaluations + run.comment_evaluations} evaluations{extra}"
        )
        if bar is not None:
            bar.print(line)
        else:
            info(line)

    with bar or contextlib.nullcontext():
        paths = synth.generate_runs(
            out_dir,
            runs=runs,
            agents=agents,
            posts=posts,
            comments_per_post=comments_per_post,
            seed=seed,
            start=_parse_start(start),
            interval=dt.timedelta(hours=interval_hours),
            fmt=fmt.value,
            gzip=gzip,
            dialect=dialect.value,
            layout=layout.value,
            new_posts_per_run=new_posts,
            new_agents_per_run=new_agents,
            submolts=submolts,
            hazards=names,
            hazard_rate=hazard_rate,
            on_run=written,
            on_progress=bar.update if bar is not None else None,
        )
    for path in paths:
        typer.echo(str(path))


class _Bar:
    """A live bar on stderr while a run's posts are written (a big run takes minutes)."""

    def __init__(self):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TextColumn("posts"),
            TimeElapsedColumn(),
            console=bar_console(),
            transient=True,
            expand=True,
        )
        self.task = self.progress.add_task("preparing", total=None)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, run: int, runs: int, done: int, total: int) -> None:
        self.progress.update(
            self.task, description=f"writing run {run} of {runs}", completed=done, total=total
        )

    def print(self, line: str) -> None:
        self.progress.console.print(line, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
