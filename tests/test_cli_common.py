"""The CLI boundary: any unexpected exception is one line and exit 1, never a traceback;
MOLTCTL_DEBUG=1 shows the traceback (issue 9 item 4)."""

from __future__ import annotations

import pytest

from moltctl.cli import app

SECRET = "Zq9xSECRET"


@pytest.fixture
def broken(monkeypatch):
    """A core function failing in a way no command anticipated (a bug, not bad input)."""
    from moltctl import connection

    def resolve(*_a, **_k):
        raise ValueError(f"boom at postgresql://u:{SECRET}@h/db\nsecond line\x1b[2J")

    monkeypatch.setattr(connection, "resolve", resolve)
    monkeypatch.delenv("MOLTCTL_DEBUG", raising=False)


def test_unexpected_exception_is_one_line(runner, broken):
    r = runner.invoke(app, ["status"])
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        "error: internal error: ValueError: boom at postgresql://u:***@h/db "
        "(run with MOLTCTL_DEBUG=1 for the traceback)"
    ]
    assert isinstance(r.exception, SystemExit)


def test_debug_shows_the_traceback(runner, broken, monkeypatch):
    monkeypatch.setenv("MOLTCTL_DEBUG", "1")
    r = runner.invoke(app, ["status"])
    assert r.exit_code == 1
    assert isinstance(r.exception, ValueError) and "boom" in str(r.exception)


def test_usage_errors_and_exits_pass_through(runner):
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
    assert runner.invoke(app, ["--help"]).exit_code == 0
