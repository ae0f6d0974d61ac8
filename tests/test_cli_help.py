"""Every command has help text with an example and appears in README; --version works."""

import re
from pathlib import Path

import pytest
import typer

from moltctl import __version__
from moltctl.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands(group, prefix: str = "") -> list:
    out = []
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        full = f"{prefix}{name}"
        out.append((full, cmd))
        if hasattr(cmd, "list_commands") and name != "query":
            out.extend(_commands(cmd, full + " "))
    return out


COMMANDS = _commands(typer.main.get_command(app))


def test_there_are_commands():
    names = {n for n, _ in COMMANDS}
    assert {"init", "init-schema", "migrate", "migrate status", "status"} <= names


@pytest.mark.parametrize("name,cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_with_example(name, cmd, runner):
    result = runner.invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert (cmd.help or "").strip(), f"{name} has no help"
    if not (cmd.help or "").startswith("Alias of"):
        assert "Example:" in cmd.help, f"{name} help has no example"


@pytest.mark.parametrize("name", [n for n, _ in COMMANDS])
def test_command_in_readme(name):
    assert re.search(rf"moltctl {re.escape(name)}\b", README.read_text()), name


def test_version(runner):
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.strip() == f"moltctl {__version__}"


def test_usage_error_exits_2(runner):
    r = runner.invoke(app, ["no-such-command"])
    assert r.exit_code == 2
