"""docs/cli.md, the command reference, generated from the CLI itself: every command's --help.

    python -m moltctl.cli.docgen > docs/cli.md        # write it again after changing a command
    python -m moltctl.cli.docgen --check docs/cli.md  # exit 1 if it is out of date (CI)

The help is rendered as a 100-column terminal would show it, without colour; queries added by
``MOLTCTL_TEMPLATES`` are left out (the built-in ones only).
"""

from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

WIDTH = 100
HEADER = """\
# moltctl command reference

Every command's `--help`, generated from the CLI itself by `python -m moltctl.cli.docgen >
docs/cli.md`; do not edit by hand. A test and `.ci/run` fail when this file is out of date.
Commands are listed in workflow order; aliases (`init-schema`, `retention-purge`) are left out.
"""
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@contextmanager
def _plain_env():
    """No user templates, a fixed width, no colour: the same text on every machine."""
    keep = {k: os.environ.get(k) for k in ("MOLTCTL_TEMPLATES", "COLUMNS", "NO_COLOR")}
    os.environ.update({"MOLTCTL_TEMPLATES": "", "COLUMNS": str(WIDTH), "NO_COLOR": "1"})
    try:
        yield
    finally:
        for k, v in keep.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def command_paths() -> list[list[str]]:
    """Every visible command and subcommand (query: each built-in query), in listed order."""
    import typer

    from moltctl.cli import app

    root = typer.main.get_command(app)

    def walk(cmd, path: list[str], parent) -> list[list[str]]:
        out = [path]
        if hasattr(cmd, "list_commands"):
            ctx = typer.Context(cmd, info_name=path[-1] if path else "moltctl", parent=parent)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    out += walk(sub, [*path, name], ctx)
        return out

    return walk(root, [], None)


def render() -> str:
    from typer.testing import CliRunner

    from moltctl.cli import app

    runner = CliRunner()
    parts = [HEADER]
    with _plain_env():
        for path in command_paths():
            result = runner.invoke(app, [*path, "--help"], prog_name="moltctl", color=False)
            if result.exit_code != 0:
                raise SystemExit(f"moltctl {' '.join(path)} --help failed: {result.output}")
            text = _ANSI.sub("", result.stdout)
            lines = [line.rstrip() for line in text.splitlines()]
            while lines and not lines[0]:
                lines.pop(0)
            while lines and not lines[-1]:
                lines.pop()
            title = " ".join(["moltctl", *path])
            parts.append(f"## {title}\n\n```text\n" + "\n".join(lines) + "\n```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if argv[:1] == ["--check"] and len(argv) == 2:
        path = Path(argv[1])
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(
                f"{path} is out of date: run python -m moltctl.cli.docgen > {path}",
                file=sys.stderr,
            )
            return 1
        return 0
    if argv:
        print("usage: python -m moltctl.cli.docgen [--check docs/cli.md]", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
