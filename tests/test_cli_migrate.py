import json

from moltctl.cli import app
from tests.helpers.db import all_labels, latest_version
from tests.helpers.refusals import assert_refused_at_002


def test_migrate_dry_run_prints_sql_changes_nothing(runner, empty_dsn):
    result = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "-- 001_initial_schema" in result.stdout
    assert "CREATE TABLE snapshots" in result.stdout
    assert all(f"-- {label}" in result.stdout for label in all_labels())
    status = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "status", "--format", "json"])
    assert {r["state"] for r in json.loads(status.stdout)} == {"pending"}


def test_migrate_to_then_rest_then_nothing(runner, empty_dsn):
    r = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--to", "001"])
    assert r.exit_code == 0, r.stderr
    assert "applied 001_initial_schema" in r.stderr and "002" not in r.stderr.split("schema")[0]
    r = runner.invoke(app, ["--dsn", empty_dsn, "migrate"])
    assert all(f"applied {label}" in r.stderr for label in all_labels()[1:])
    r = runner.invoke(app, ["--dsn", empty_dsn, "migrate"])
    assert r.exit_code == 0 and f"nothing to apply: schema version {latest_version()}" in r.stderr
    rows = json.loads(
        runner.invoke(app, ["--dsn", empty_dsn, "migrate", "status", "-f", "json"]).stdout
    )
    assert [(r["version"], r["state"]) for r in rows] == [
        (label[:3], "applied") for label in all_labels()
    ]
    assert all(r["applied_at"] and r["duration_ms"] is not None for r in rows)


def test_migrate_to_an_unknown_version_is_a_usage_error(runner, empty_dsn):
    for bad in ("999", "abc", "", "0x2"):
        r = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--to", bad])
        assert r.exit_code == 2, (bad, r.stderr)
        assert r.stderr.startswith(f"error: --to {bad!r}: no such migration (the versions are 001")
        assert "Traceback" not in r.stderr
    status = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "status", "--format", "json"])
    assert {r["state"] for r in json.loads(status.stdout)} == {"pending"}  # nothing applied
    # a version as 1 or 002, or a migration's label
    for good in ("1", "002", "002_add_manipulation_dimension"):
        r = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--to", good, "--dry-run"])
        assert r.exit_code == 0, r.stderr
    r = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--to", "2", "--dry-run"])
    assert "-- 002_add_manipulation_dimension" in r.stdout and "-- 003" not in r.stdout


def test_migrate_lock_held_exits_3(runner, empty_dsn):
    from moltctl import locks
    from moltctl.connection import resolve

    with locks.advisory_lock(resolve(empty_dsn), locks.MIGRATE, what="migrate"):
        r = runner.invoke(app, ["--dsn", empty_dsn, "migrate", "--lock-timeout", "0.2"])
    assert r.exit_code == 3
    assert "another moltctl run holds the migrate lock" in r.stderr


def test_status_init_migrate_are_not_guarded(runner, empty_dsn):
    """At 002 the data commands refuse; status, init and migrate work and migrate unblocks."""

    def run(*args):
        return runner.invoke(app, ["--dsn", empty_dsn, *args])

    assert run("status").exit_code == 0
    assert run("migrate", "--to", "002").exit_code == 0
    status = run("status", "--format", "json")
    assert status.exit_code == 0, status.stderr
    pending = json.loads(status.stdout)["pending"]
    assert pending[0] == "003_partition_legacy_tables"
    init = run("init")
    assert init.exit_code == 0, init.stderr
    assert f"{len(pending)} migration(s) pending: run moltctl migrate" in init.stderr
    assert_refused_at_002(run("refresh-views"))
    assert run("migrate").exit_code == 0
    r = run("refresh-views")
    assert r.exit_code == 0, r.stderr
