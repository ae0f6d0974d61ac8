"""Every command has help text with an example and appears in README; help reads like a
CLI's (no Python types, commands in workflow order, aliases hidden); --version / -V work."""

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
    assert {"init", "migrate", "migrate status", "status"} <= names


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


def _help(runner, *args: str) -> str:
    r = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.mark.parametrize("name", [""] + [n for n, _ in COMMANDS])
def test_help_shows_no_python_types(name, runner):
    text = _help(runner, *name.split())
    for internal in ("<bool>", "<str>", "<int>", "<float>", "<list[", "<Path>", "{", "[["):
        assert internal not in text, (name, internal)
    if not name:  # a flag takes no value, so it shows none
        assert re.search(r"--quiet\s+-q\s+Nothing on success", text), text


def test_arguments_are_named_in_capitals(runner):
    text = _help(runner, "ingest-file")
    assert "Usage: moltctl ingest-file [OPTIONS] PATHS..." in text
    assert "Usage: moltctl generate [OPTIONS] OUT_DIR" in _help(runner, "generate")
    assert "Usage: moltctl refresh-views [OPTIONS] [NAME]..." in _help(runner, "refresh-views")


def test_commands_in_workflow_order(runner):
    from moltctl.cli.helptext import COMMAND_ORDER

    text = _help(runner)
    listed = re.findall(r"^│ ([a-z][a-z-]+) ", text.split("Commands")[1], re.M)
    expected = [n for n in COMMAND_ORDER if n in listed]
    assert listed[: len(expected)] == expected
    assert listed[:10] == [
        "init", "migrate", "status", "ingest-file", "refresh-views", "query", "purge",
        "create-partition", "generate", "server",
    ]  # fmt: skip


def test_unknown_commands_go_last():
    from moltctl.cli.helptext import ordered

    assert ordered(["zz-new", "generate", "init", "adopt", "status"]) == [
        "init", "status", "generate", "adopt", "zz-new",
    ]  # fmt: skip


def test_aliases_are_hidden_but_work(runner):
    text = _help(runner)
    assert "init-schema" not in text and "retention-purge" not in text
    for alias, of in (("init-schema", "init"), ("retention-purge", "purge")):
        assert f"Alias of {of}" in _help(runner, alias)


def test_short_version(runner):
    r = runner.invoke(app, ["-V"])
    assert r.exit_code == 0 and r.stdout.strip() == f"moltctl {__version__}"


def test_paragraphs_are_reflowed_to_the_terminal(runner):
    # a docstring's line breaks are not kept: at 200 columns a paragraph is one line
    text = _help(runner, "purge")
    assert "(dropped, or detached with --detach); the boundary month goes in small" in text
    narrow = runner.invoke(app, ["purge", "--help"], env={"COLUMNS": "80"}).stdout
    assert max(len(line) for line in narrow.splitlines()) <= 80


def test_docs_cli_reference_is_in_sync():
    """docs/cli.md is generated from --help: regenerate it with python -m moltctl.cli.docgen."""
    from moltctl.cli import docgen

    path = README.parent / "docs" / "cli.md"
    assert path.read_text(encoding="utf-8") == docgen.render(), (
        "docs/cli.md is out of date: run python -m moltctl.cli.docgen > docs/cli.md"
    )
    for name, _cmd in COMMANDS:
        assert f"## moltctl {name}\n" in path.read_text(encoding="utf-8"), name
