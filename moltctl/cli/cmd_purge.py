"""purge (alias retention-purge)."""

from __future__ import annotations

from typing import Annotated

import typer

from moltctl.cli.common import LockTimeoutOption, info, state, stdin_is_terminal
from moltctl.cli.output import Format, FormatOption, render
from moltctl.errors import MoltError, UsageError
from moltctl.locks import NO_WAIT


def purge(
    ctx: typer.Context,
    days: Annotated[
        float | None,
        typer.Option(
            "--days",
            help="Keep this many days (cutoff: the server's now - N days).",
            show_default=False,
        ),
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            "--before",
            help="Explicit cutoff instead of --days (ISO; UTC if no zone).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would go; change nothing.")
    ] = False,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach",
            help="Keep whole old months as tables archived_<partition> (on Citus: copied).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (on a terminal).")] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows per boundary-month step.")
    ] = 10_000,
    pause: Annotated[
        float, typer.Option("--pause", min=0, help="Seconds to sleep between boundary steps.")
    ] = 0.0,
    lock_timeout: LockTimeoutOption = NO_WAIT,
    fmt: FormatOption = Format.table,
) -> None:
    """Remove snapshots older than the cutoff and everything that belongs only to them.

    Whole months go as partitions (dropped, or detached with --detach); the boundary month goes
    in small committed steps, so a killed purge leaves a consistent database and a re-run
    finishes it. SCD2 versions reaching into the kept window stay, and so do the snapshots they
    reference. The kept window starts at the last completed snapshot at or before the cutoff.
    Asks only when stdin is a terminal (--yes skips the question); --days 0 needs --yes when
    it cannot ask; exit 3 if an ingest, purge or create-partition holds the maintenance lock.

    Example: moltctl purge --days 90 --dry-run
    """
    from moltctl import retention

    st = state(ctx)
    cutoff = retention.parse_before(before) if before is not None else None
    retention.check_cutoff(days, cutoff)  # usage errors before any server starts
    ask_first = not (yes or dry_run)
    terminal = stdin_is_terminal()
    if days == 0 and ask_first and not terminal:
        raise UsageError(
            "--days 0 removes every snapshot but the latest completed one: add --yes to do "
            "that without a terminal to ask on"
        )

    def ask(plan) -> bool:
        _show(plan, fmt, title="would remove")
        info(_summary(plan, "would remove"))
        try:
            return typer.confirm(
                f"remove everything before the kept window ({plan.cutoff})?",
                default=False,
                err=True,
            )
        except typer.Abort:  # Ctrl-C or Ctrl-D at the question: exit 130, as shells expect
            raise MoltError("interrupted at the question: nothing removed", exit_code=130) from None

    result = retention.purge(
        st.target(),
        days=days,
        before=cutoff,
        dry_run=dry_run,
        detach=detach,
        batch_size=batch_size,
        lock_timeout=lock_timeout,
        pause=pause,
        confirm=ask if ask_first and terminal else None,
    )
    if result.cancelled:
        info("cancelled: nothing removed")
        raise typer.Exit(1)
    if result.cutoff is None:
        info(
            f"nothing to purge: no completed snapshot at or before the cutoff "
            f"{result.requested_cutoff}",
            quiet=st.quiet,
        )
        return
    what = "would remove" if dry_run else "removed"
    info(_summary(result, what), quiet=st.quiet)
    if st.quiet and not dry_run:
        return
    _show(result, fmt, title=what)


def _summary(result, what: str) -> str:
    """The cutoff asked for and the snapshot the kept window starts at, told apart."""
    return (
        f"{what} {result.total} row(s) before the cutoff {result.requested_cutoff}; "
        f"the kept window starts at snapshot {result.window_run_id} ({result.cutoff}); "
        f"{result.anchors} older snapshot(s) kept as the provenance of retained versions"
    )


def _show(result, fmt, *, title: str) -> None:
    render(result.rows(), fmt, title=title)
    names = [p for parts in result.partitions.values() for p in parts]
    if names and fmt == Format.table:
        if result.dry_run:  # a preview: nothing is dropped yet
            said = "partitions to detach" if result.detach else "partitions to drop"
        else:
            said = "partitions detached" if result.detach else "partitions dropped"
        info(f"{said}: {', '.join(names)}")
    if names and result.detach and result.citus:
        info(
            "on Citus --detach copies each month into a distributed table archived_<partition> "
            "(shard by shard, on the workers) and drops the partition: a detached partition's "
            "foreign key cannot be dropped there (citusdata/citus#5373)"
        )


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
    app.command(
        "retention-purge",
        hidden=True,
        help="Alias of purge.\n\nExample: moltctl retention-purge --days 90",
    )(purge)
