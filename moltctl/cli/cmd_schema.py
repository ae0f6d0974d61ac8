"""init / init-schema and migrate."""

from __future__ import annotations

from typing import Annotated

import typer

from moltctl.cli.common import LockTimeoutOption, info, state
from moltctl.cli.output import Format, FormatOption, render
from moltctl.locks import WAIT

ShardCount = Annotated[
    int | None,
    typer.Option(
        "--shard-count",
        min=1,
        help="Citus only: shards per distributed table when they are first distributed "
        "(default: the cluster's citus.shard_count, 32).",
    ),
]


def _say_citus(laid_out, quiet: bool) -> None:
    """One line on what was laid out on Citus (nothing on a plain PostgreSQL)."""
    if laid_out is None or laid_out.citus_version is None:
        return
    if not laid_out.laid_out:
        info(f"Citus {laid_out.citus_version}: tables already distributed", quiet=quiet)
        return
    moved = sum(laid_out.moved_rows.values())
    info(
        f"Citus {laid_out.citus_version}: distributed {len(laid_out.laid_out)} tables "
        f"({laid_out.shard_count} shards each)"
        + (f", {moved} rows moved into shards and counted" if moved else ""),
        quiet=quiet,
    )


def init(
    ctx: typer.Context,
    lock_timeout: LockTimeoutOption = WAIT,
    months_ahead: Annotated[
        int, typer.Option("--months-ahead", min=0, help="Monthly partitions to create ahead.")
    ] = 3,
    shard_count: ShardCount = None,
) -> None:
    """Create the whole schema on a fresh database (no-op if it is already there).

    Where the citus extension is installed, the tables are distributed over the cluster
    (docs/citus.md).

    Example: moltctl init
    """
    from moltctl import schema

    st = state(ctx)
    result = schema.init(
        st.target(), lock_timeout=lock_timeout, months_ahead=months_ahead, shard_count=shard_count
    )
    _say_citus(result.citus, st.quiet)
    if not result.created:
        fixed = result.repaired + result.partitions
        msg = f"already initialized (schema version {result.version}); " + (
            f"recreated {', '.join(fixed)}" if fixed else "nothing to do"
        )
        if result.pending:
            msg += f"; {len(result.pending)} migration(s) pending: run moltctl migrate"
        info(msg, quiet=st.quiet)
        return
    info(
        f"initialized schema version {result.version} "
        f"({len(result.applied)} migrations, {len(result.partitions)} partitions)",
        quiet=st.quiet,
    )


migrate_app = typer.Typer(
    help="Apply pending migrations from sql_templates/migrations/.\n\n"
    "Example: moltctl migrate --dry-run; moltctl migrate; moltctl migrate status",
    invoke_without_command=True,
    no_args_is_help=False,
)


@migrate_app.callback()
def migrate(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the SQL that would run; change nothing.")
    ] = False,
    to: Annotated[
        str | None, typer.Option("--to", help="Apply up to and including this version only.")
    ] = None,
    lock_timeout: LockTimeoutOption = WAIT,
    shard_count: ShardCount = None,
) -> None:
    """Apply pending migrations (see also: moltctl migrate status).

    Where the citus extension is installed, the tables are then distributed over the
    cluster, their rows moved by Citus (docs/citus.md).

    Example: moltctl migrate --dry-run
    """
    if ctx.invoked_subcommand is not None:
        return
    from moltctl import schema

    st = state(ctx)

    def applied(m, ms: float, notices: list[str]) -> None:
        info(f"applied {m.label} ({ms:.0f} ms)", quiet=st.quiet)
        for text in notices:
            info(f"  {m.label}: {text}", quiet=st.quiet)

    result = schema.migrate(
        st.target(),
        dry_run=dry_run,
        upto=to,
        lock_timeout=lock_timeout,
        on_applied=applied,
        shard_count=shard_count,
    )
    _say_citus(result.citus, st.quiet)
    if dry_run:
        if not result.pending:
            info("nothing to apply: the schema is up to date", quiet=st.quiet)
        for m in result.pending:
            tx = "" if m.transactional else " (outside a transaction)"
            typer.echo(f"-- {m.label}{tx}\n{m.text.rstrip()}\n")
        return
    if not result.applied:
        info(f"nothing to apply: schema version {result.current_version}", quiet=st.quiet)
    else:
        info(f"schema version {result.current_version}", quiet=st.quiet)


@migrate_app.command("status")
def migrate_status(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """List applied and pending migrations.

    Example: moltctl migrate status --format json
    """
    from moltctl import schema

    render(schema.migration_status(state(ctx).target()), fmt, title="migrations")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("init-schema", hidden=True, help="Alias of init.\n\nExample: moltctl init-schema")(
        init
    )
    app.add_typer(migrate_app, name="migrate")
