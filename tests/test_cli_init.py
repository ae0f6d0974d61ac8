import psycopg

from moltctl.cli import app
from tests.helpers.db import latest_version, scalar


def test_init_fresh_then_noop(runner, empty_dsn):
    first = runner.invoke(app, ["--dsn", empty_dsn, "init"])
    assert first.exit_code == 0, first.stderr
    assert f"initialized schema version {latest_version()}" in first.stderr
    assert first.stdout == ""
    again = runner.invoke(app, ["--dsn", empty_dsn, "init-schema"])
    assert again.exit_code == 0
    assert f"already initialized (schema version {latest_version()}); nothing to do" in again.stderr


def test_init_refuses_with_one_line_and_exit_1(runner, empty_dsn):
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute("CREATE TABLE snapshots (x int)")
    result = runner.invoke(app, ["--dsn", empty_dsn, "init"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert (
        lines[0]
        == "error: database already holds snapshots not created by moltctl; refusing to initialize"
    )
    assert lines[1].startswith("hint:")
    assert "Traceback" not in result.output
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT to_regclass('moltctl_migrations') IS NULL")


def test_quiet_init(runner, empty_dsn):
    result = runner.invoke(app, ["--dsn", empty_dsn, "-q", "init"])
    assert result.exit_code == 0 and result.stderr == ""


def test_unreachable_server_is_one_line_without_password(runner):
    dsn = "postgresql://molt:hunter2secret@127.0.0.1:1/x?connect_timeout=2"
    result = runner.invoke(app, ["--dsn", dsn, "status"])
    assert result.exit_code == 1
    assert "hunter2secret" not in result.output
    assert result.stderr.startswith("error: cannot connect to postgresql://molt:***@127.0.0.1:1/x")
