"""What every command shares: the resolved target, messages on stderr, the error boundary."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from moltctl.errors import EXIT_ERROR, MoltError, database_hint, first_line
from moltctl.textsafe import visible

# the one --lock-timeout; each command's default is locks.WAIT or locks.NO_WAIT (see there why)
LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        help="Seconds to wait for another moltctl run holding the lock this command needs; "
        "then exit 3.",
    ),
]


@dataclass
class State:
    dsn: str | None = None
    quiet: bool = False
    _target: object = None

    def target(self):
        """Resolve (and for the embedded server, start) the database; announce the embedded one."""
        if self._target is None:
            from moltctl.connection import ensure_started, resolve

            target = ensure_started(resolve(self.dsn))
            if target.announce:  # only when this run started the server
                info(target.announce, quiet=self.quiet)
            self._target = target
        return self._target


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = State()
    return root.obj


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


# --quiet of the running invocation (set by the root callback, which every invocation runs)
_QUIET = [False]


def set_quiet(quiet: bool) -> None:
    _QUIET[0] = quiet


def _quiet() -> bool:
    return _QUIET[0]


def bar_console():
    """A console for a live progress bar on stderr, two columns short of the terminal: after a
    full-width line the "^C" the terminal echoes wraps, and the cleared bar leaves a line."""
    width = _stderr_console().width
    from rich.console import Console

    return Console(stderr=True, width=max(40, width - 2))


def info(message: str, *, quiet: bool | None = None) -> None:
    """A message for people: stderr, coloured only on a terminal; none under --quiet unless
    ``quiet=False`` says it must be seen."""
    if not (_quiet() if quiet is None else quiet):
        _stderr_console().print(visible(message, keep_newlines=True), markup=False)


def warn(message: str) -> None:
    """A warning on stderr; --quiet (cron) keeps it out: it prints only errors."""
    if not _quiet():
        _stderr_console().print(f"warning: {visible(message)}", style="yellow", markup=False)


def error_line(message: str, hint: str | None = None) -> None:
    console = _stderr_console()
    console.print(f"error: {visible(message)}", style="bold red", markup=False)
    if hint:
        console.print(f"hint: {visible(hint)}", style="dim", markup=False)


def _scrub(ctx_obj, text: str) -> str:
    target = getattr(ctx_obj, "_target", None)
    if target is not None:
        return target.scrub(text)
    from moltctl.connection import scrub

    return scrub(text, [])


QUIET = ("-q", "--quiet")


class MoltGroup(TyperGroup):
    """Turns expected failures into one line on stderr and an exit code, in one place; lists
    the commands in workflow order; takes -q/--quiet after the command too."""

    def list_commands(self, ctx) -> list[str]:
        from moltctl.cli.helptext import ordered

        return ordered(super().list_commands(ctx))

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        set_quiet(False)  # until the root callback says otherwise: one invocation's setting
        # -q is global: `moltctl status -q` means `moltctl -q status` (up to a `--`)
        end = args.index("--") if "--" in args else len(args)
        head = [a for a in args[:end] if a not in QUIET]
        if len(head) < end:
            args = ["--quiet", *head, *args[end:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MoltError as exc:
            error_line(_scrub(ctx.obj, exc.message), exc.hint)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            error_line("interrupted")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise  # typer's own: exits, usage errors
        except BrokenPipeError:
            # the reader went away (`moltctl query ... | head`): click's main exits 1 quietly
            raise
        except Exception as exc:
            # database errors that no command anticipated are still one line, not a traceback
            if type(exc).__module__.startswith("psycopg"):
                first = first_line(exc)
                error_line(_scrub(ctx.obj, f"database error: {first}"), database_hint(first))
                raise typer.Exit(EXIT_ERROR) from None
            # anything else is a bug: one line, and the traceback on demand
            if os.environ.get("MOLTCTL_DEBUG"):
                raise
            what = f"{type(exc).__name__}: {first_line(exc)}"
            error_line(
                _scrub(ctx.obj, f"internal error: {what}")
                + " (run with MOLTCTL_DEBUG=1 for the traceback)"
            )
            raise typer.Exit(EXIT_ERROR) from None


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()
