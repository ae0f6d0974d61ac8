import json

import psycopg

from moltctl.cli import app
from tests.helpers.db import latest_version


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


def test_status_lists_failed_runs_and_how_to_retry(cli, conn, tmp_path):
    from tests.helpers.ingest import agent, write_bundle

    good = write_bundle(tmp_path / "a.ndjson", "20260130T100000Z", [agent("a1", name="x")])
    bad = write_bundle(tmp_path / "b.ndjson", "20260130T110000Z", [agent("a1", name="x")])
    bad.write_text(bad.read_text() + "{not json\n")
    assert cli("ingest-file", str(good)).exit_code == 0
    assert cli("ingest-file", str(bad)).exit_code == 1

    data = json.loads(cli("status", "--format", "json").stdout)
    (failed,) = data["failed_runs"]
    assert failed["run_id"] == "20260130T110000Z"
    assert failed["created_at"].startswith("2026-01-30T11:00:00")
    assert failed["failed_at"] and "\n" not in failed["error"]
    assert failed["error"].startswith(f"{bad}: line 3") and "not valid JSON" in failed["error"]

    r = cli("status")
    assert r.exit_code == 0, r.stderr
    assert "failed runs" in r.stdout and "20260130T110000Z" in r.stdout
    assert "1 run(s) failed to load (listed above)" in r.stderr
    assert "moltctl ingest-file --replace PATH" in r.stderr

    # retried and loaded: no longer listed
    bad.write_text(good.read_text().replace("20260130T100000Z", "20260130T110000Z"))
    assert cli("ingest-file", "--replace", str(bad)).exit_code == 0
    assert json.loads(cli("status", "--format", "json").stdout)["failed_runs"] == []
    assert "failed" not in cli("status").stderr
