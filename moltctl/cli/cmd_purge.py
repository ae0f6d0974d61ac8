"""purge (alias retention-purge)."""

from __future__ import annotations

from typing import Annotated

import typer

from moltctl.cli.common import info, state, stdin_is_terminal
from moltctl.cli.output import Format, FormatOption, render


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
            help="Explicit cutoff instead of --days (ISO, with a zone).",
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
    lock_timeout: Annotated[
        float,
        typer.Option("--lock-timeout", help="Seconds to wait for an ingest or another purge."),
    ] = 0.0,
    fmt: FormatOption = Format.table,
) -> None:
    """Remove snapshots older than the cutoff and everything that belongs only to them.

    Whole months go as partitions (dropped, or detached with --detach); the boundary month goes
    in small committed steps, so a killed purge leaves a consistent database and a re-run
    finishes it. SCD2 versions reaching into the kept window stay, and so do the snapshots they
    reference. Asks only when stdin is a terminal (--yes skips the question); exit 3 if an
    ingest, purge or create-partition holds the maintenance lock.

    Example: moltctl purge --days 90 --dry-run
    """
    from moltctl import retention

    st = state(ctx)
    cutoff = retention.parse_before(before) if before is not None else None

    def ask(plan) -> bool:
        _show(plan, fmt, title="would remove")
        return typer.confirm(f"remove everything before {plan.cutoff}?", default=False, err=True)

    result = retention.purge(
        st.target(),
        days=days,
        before=cutoff,
        dry_run=dry_run,
        detach=detach,
        batch_size=batch_size,
        lock_timeout=lock_timeout,
        pause=pause,
        confirm=ask if not (yes or dry_run) and stdin_is_terminal() else None,
    )
    if result.cancelled:
        info("cancelled: nothing removed")
        raise typer.Exit(1)
    if result.cutoff is None:
        info(
            f"nothing to purge: no snapshot at or before {result.requested_cutoff}", quiet=st.quiet
        )
        return
    what = "would remove" if dry_run else "removed"
    info(
        f"{what} {result.total} row(s) before {result.cutoff} (the oldest snapshot kept); "
        f"{result.anchors} older snapshot(s) kept as the provenance of retained versions",
        quiet=st.quiet,
    )
    if st.quiet and not dry_run:
        return
    _show(result, fmt, title=what)


def _show(result, fmt, *, title: str) -> None:
    render(result.rows(), fmt, title=title)
    names = [p for parts in result.partitions.values() for p in parts]
    if names and fmt == Format.table:
        verb = "detached" if result.detach else "dropped"
        info(f"partitions {verb}: {', '.join(names)}")
    if names and result.detach and result.citus:
        info(
            "on Citus --detach copies each month into a distributed table archived_<partition> "
            "(shard by shard, on the workers) and drops the partition: a detached partition's "
            "foreign key cannot be dropped there (citusdata/citus#5373)"
        )


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
    app.command(
        "retention-purge", help="Alias of purge.\n\nExample: moltctl retention-purge --days 90"
    )(purge)
