import json

import psycopg

from moltctl.cli import app
from tests.conftest import latest_version


def test_status_json_on_initialized_db(cli, dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(
            "INSERT INTO snapshots (run_id, created_at, status) "
            "VALUES ('20260130T170118Z', '2026-01-30T17:01:18Z', 'completed')"
        )
    r = cli("status", "--format", "json")
    assert r.exit_code == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["schema_version"] == latest_version() and info["pending"] == []
    assert info["server_version"]
    counts = {t["table"]: t["rows"] for t in info["tables"]}
    assert counts["snapshots"] == 1 and counts["agents"] == 0 and len(counts) == 8
    assert info["latest_snapshot"]["run_id"] == "20260130T170118Z"
    assert {v["view"] for v in info["views"]} == {
        "hourly_growth",
        "agent_leaderboard",
        "dimension_trends",
    }


def test_status_table_on_uninitialized_db(runner, empty_dsn):
    r = runner.invoke(app, ["--dsn", empty_dsn, "status"])
    assert r.exit_code == 0
    assert "not initialized" in r.stdout
    assert "run moltctl init" in r.stderr


def test_status_redacts_password(runner, dsn):
    # the test server trusts local connections, so the password is accepted and ignored
    secret = "Sup3r-secret-pw"
    r = runner.invoke(app, ["--dsn", f"{dsn} password={secret}", "status", "-f", "json"])
    assert r.exit_code == 0, r.stderr
    assert secret not in r.output
    assert "password=***" in json.loads(r.stdout)["connection"]
