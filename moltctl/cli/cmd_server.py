"""server: look after the embedded PostgreSQL."""

from __future__ import annotations

import typer

from moltctl.cli.common import info, state
from moltctl.cli.output import Format, FormatOption, render

server_app = typer.Typer(
    help="The embedded PostgreSQL that moltctl runs when no server is configured.\n\n"
    "Example: moltctl server status; moltctl server stop",
    no_args_is_help=True,
)


@server_app.command("status")
def server_status(fmt: FormatOption = Format.table) -> None:
    """Where the embedded server keeps its data and whether it is running.

    Example: moltctl server status --format json
    """
    from moltctl import embedded

    render([embedded.info()], fmt, title="embedded PostgreSQL")


@server_app.command("start")
def server_start(ctx: typer.Context) -> None:
    """Start the embedded server (commands start it on demand anyway).

    Example: moltctl server start
    """
    from moltctl import embedded

    _uri, where = embedded.ensure_running()
    info(f"embedded PostgreSQL running in {where}", quiet=state(ctx).quiet)


@server_app.command("stop")
def server_stop(ctx: typer.Context) -> None:
    """Stop the embedded server (it keeps running between commands otherwise).

    Example: moltctl server stop
    """
    from moltctl import embedded

    stopped = embedded.stop()
    info("stopped" if stopped else "not running", quiet=state(ctx).quiet)


def register(app: typer.Typer) -> None:
    app.add_typer(server_app, name="server")
