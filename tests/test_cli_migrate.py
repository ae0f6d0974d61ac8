import json

from moltctl.cli import app


def test_migrate_dry_run_prints_sql_changes_nothing(runner, empty_dsn):
    result = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "-- 001_initial_schema" in result.stdout
    assert "CREATE TABLE snapshots" in result.stdout
    assert "-- 002_add_manipulation_dimension" in result.stdout
    status = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "status", "--format", "json"])
    assert [r["state"] for r in json.loads(status.stdout)] == ["pending", "pending"]


def test_migrate_to_then_rest_then_nothing(runner, empty_dsn):
    r = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--to", "001"])
    assert r.exit_code == 0, r.stderr
    assert "applied 001_initial_schema" in r.stderr and "002" not in r.stderr.split("schema")[0]
    r = runner.invoke(app, ["--dsn", empty_dsn, "migrate"])
    assert "applied 002_add_manipulation_dimension" in r.stderr
    r = runner.invoke(app, ["--dsn", empty_dsn, "migrate"])
    assert r.exit_code == 0 and "nothing to apply: schema version 002" in r.stderr
    rows = json.loads(
        runner.invoke(app, ["--dsn", empty_dsn, "migrate", "status", "-f", "json"]).stdout
    )
    assert [(r["version"], r["state"]) for r in rows] == [("001", "applied"), ("002", "applied")]
    assert all(r["applied_at"] and r["duration_ms"] is not None for r in rows)


def test_migrate_lock_held_exits_3(runner, empty_dsn):
    from moltctl import locks
    from moltctl.connection import resolve

    with locks.advisory_lock(resolve(empty_dsn), locks.MIGRATE, what="migrate"):
        r = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--lock-timeout", "0.2"])
    assert r.exit_code == 3
    assert "another moltctl run holds the migrate lock" in r.stderr
