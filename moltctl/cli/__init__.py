"""The Typer command line: each command parses, makes one core call and renders the result."""

from __future__ import annotations

from typing import Annotated

import typer

from moltctl import __version__
from moltctl.cli import helptext
from moltctl.cli.common import MoltGroup, set_quiet, state

helptext.install()

app = typer.Typer(
    cls=MoltGroup,
    name="moltctl",
    help="Administer the Molt Observatory PostgreSQL database.\n\n"
    "Example: moltctl init && moltctl status",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"moltctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn",
            help="Connection string (URL or key=value). Default: MOLTCTL_DSN, DATABASE_URL, "
            "POSTGRES_*, PG*, else the embedded server.",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Nothing on success but the data asked for; errors on stderr. "
            "Also after the command.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    st = state(ctx)
    st.dsn = dsn
    st.quiet = quiet
    set_quiet(quiet)


def _register() -> None:
    # each module adds its commands to `app`; keep imports light (no psycopg/jinja2 here)
    import importlib
    import pkgutil

    import moltctl.cli as pkg

    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        if mod.startswith("cmd_"):
            importlib.import_module(f"moltctl.cli.{mod}").register(app)


_register()


def main() -> None:
    app()
