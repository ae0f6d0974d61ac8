"""create-partition."""

from __future__ import annotations

from typing import Annotated

import typer

from moltctl.cli.common import LockTimeoutOption, info, state
from moltctl.cli.output import Format, FormatOption, render
from moltctl.locks import NO_WAIT


def create_partition(
    ctx: typer.Context,
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            "-t",
            help="A partitioned table (repeatable). Default: all of them.",
            show_default=False,
        ),
    ] = None,
    months_ahead: Annotated[
        int | None,
        typer.Option(
            "--months-ahead",
            help="Months after the first one to create. Default: 3, or 0 with --month.",
            show_default=False,
        ),
    ] = None,
    month: Annotated[
        str | None,
        typer.Option(
            "--month",
            help="First month to create, YYYY-MM (default: the current month).",
            show_default=False,
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Create nothing; drop the empty monthly partitions after the current month "
            "and --months-ahead (default 3). Partitions holding rows are kept.",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Allow --months-ahead above 36.")] = False,
    lock_timeout: LockTimeoutOption = NO_WAIT,
    fmt: FormatOption = Format.table,
) -> None:
    """Create missing monthly partitions (idempotent); move matching rows out of the default one.

    Each new partition gets the parent's indexes. If the default partition already holds rows
    of the new month, they are moved into it in the same transaction. --months-ahead is at
    most 36 unless --force; --prune drops empty future partitions instead. Takes the
    maintenance lock exclusively (exit 3 if an ingest or purge holds it).

    Example: moltctl create-partition --months-ahead 6
    """
    from moltctl import partitions

    st = state(ctx)
    # usage errors before any connection (or embedded server start)
    partitions.check_request(
        tables=table, months_ahead=months_ahead, month=month, prune=prune, force=force
    )
    changes = partitions.create_partitions(
        st.target(),
        tables=table,
        months_ahead=months_ahead,
        month=month,
        lock_timeout=lock_timeout,
        force=force,
        prune=prune,
    )
    if prune:
        _show_prune(changes, fmt, quiet=st.quiet)
        return
    made = [c for c in changes if c.action in ("created", "moved")]
    moved = sum(c.moved_rows for c in changes)
    info(
        f"created {len(made)} partition(s)"
        + (f", moved {moved} row(s) out of default partitions" if moved else "")
        + f"; {len(changes) - len(made)} already there",
        quiet=st.quiet,
    )
    if st.quiet:
        return
    render(_rows(changes), fmt, title="partitions")


def _rows(changes) -> list[dict]:
    return [
        {
            "table": c.table,
            "partition": c.partition,
            "range": f"[{c.lower:%Y-%m-%d}, {c.upper:%Y-%m-%d})",
            "action": c.action,
            "moved_rows": c.moved_rows,
        }
        for c in changes
    ]


def _show_prune(changes, fmt, *, quiet: bool) -> None:
    dropped = [c for c in changes if c.action == "dropped"]
    kept = [c for c in changes if c.action != "dropped"]
    info(
        f"dropped {len(dropped)} empty partition(s)"
        + (
            f"; kept {len(kept)} partition(s) holding rows: {', '.join(c.partition for c in kept)}"
            if kept
            else ""
        ),
        quiet=quiet,
    )
    if changes and not quiet:
        render(_rows(changes), fmt, title="partitions")


def register(app: typer.Typer) -> None:
    app.command("create-partition")(create_partition)
