import shutil
import threading

import psycopg
import pytest

from moltctl import migrations, schema, sqlfiles
from moltctl.connection import resolve
from moltctl.errors import LockedError, MoltError
from moltctl.migrations import checksum, discover
from tests.helpers.db import all_labels, latest_version, public_relations, scalar


def _copy_migrations(tmp_path):
    d = tmp_path / "migrations"
    shutil.copytree(migrations.default_dir(), d)
    return d


def test_checksum_ignores_line_endings_and_trailing_space():
    a = "CREATE TABLE x (a int);\nSELECT 1;\n"
    assert checksum(a) == checksum("CREATE TABLE x (a int);   \r\nSELECT 1;\r\n\r\n")
    assert checksum(a) != checksum("CREATE TABLE x (a bigint);\nSELECT 1;\n")


def test_discover_orders_by_number(tmp_path):
    for name in ("010_ten.sql", "002_two.sql", "001_one.sql", "notes.txt", "x_bad.sql"):
        (tmp_path / name).write_text("SELECT 1;")
    assert [m.label for m in discover(tmp_path)] == ["001_one", "002_two", "010_ten"]


def test_status_and_history_on_fresh_and_migrated(empty_dsn):
    t = resolve(empty_dsn)
    with psycopg.connect(empty_dsn) as c:
        assert {s.state for s in migrations.status(c)} == {"pending"}
    result = schema.migrate(t)
    assert [m.label for m, _ in result.applied] == all_labels()
    with psycopg.connect(empty_dsn) as c:
        rows = c.execute(
            "SELECT version, name, checksum, duration_ms FROM moltctl_migrations ORDER BY 1"
        ).fetchall()
    assert [f"{r[0]}_{r[1]}" for r in rows] == all_labels()
    assert all(len(r[2]) == 64 and r[3] >= 0 for r in rows)
    again = schema.migrate(t)
    assert again.applied == [] and again.current_version == latest_version()


def test_upto_applies_a_prefix(empty_dsn):
    t = resolve(empty_dsn)
    assert schema.migrate(t, upto="001").current_version == "001"
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT count(*) FROM dimensions") == 4
    assert schema.migrate(t).current_version == latest_version()


def test_changed_checksum_is_an_error_never_reapplied(empty_dsn, tmp_path):
    d = _copy_migrations(tmp_path)
    t = resolve(empty_dsn)
    schema.migrate(t, migrations=discover(d))
    f = d / "002_add_manipulation_dimension.sql"
    # whitespace and line endings do not count ...
    f.write_text(f.read_text().replace("\n", "  \r\n"))
    assert schema.migrate(t, migrations=discover(d)).applied == []
    # ... a real edit does
    f.write_text(f.read_text() + "\nSELECT 1;\n")
    with pytest.raises(
        MoltError, match="002_add_manipulation_dimension was edited after it was applied"
    ):
        schema.migrate(t, migrations=discover(d))


def test_failing_migration_rolls_back_whole_and_names_statement(empty_dsn, tmp_path):
    d = _copy_migrations(tmp_path)
    (d / "900_broken.sql").write_text(
        "CREATE TABLE half_done (a int);\nINSERT INTO half_done VALUES (1);\n"
        "ALTER TABLE no_such_table ADD COLUMN b int;\n"
    )
    t = resolve(empty_dsn)
    with pytest.raises(MoltError) as info:
        schema.migrate(t, migrations=discover(d))
    msg = str(info.value)
    assert "900_broken" in msg and "900_broken.sql:3" in msg and "ALTER TABLE no_such_table" in msg
    assert "rolled back" in msg
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT to_regclass('half_done') IS NULL")
        assert scalar(c, "SELECT max(version) FROM moltctl_migrations") == latest_version()
    # no dirty state: fix the file and migrate again
    (d / "900_broken.sql").write_text("CREATE TABLE half_done (a int);\n")
    assert [m.label for m, _ in schema.migrate(t, migrations=discover(d)).applied] == ["900_broken"]


def test_no_transaction_marker_runs_concurrently_index(empty_dsn, tmp_path):
    d = _copy_migrations(tmp_path)
    (d / "900_concurrent_index.sql").write_text(
        "-- moltctl:no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_snapshots_status ON snapshots(status);\n"
    )
    t = resolve(empty_dsn)
    applied = schema.migrate(t, migrations=discover(d)).applied
    assert [(m.label, m.transactional) for m, _ in applied][-1] == ("900_concurrent_index", False)
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT to_regclass('idx_snapshots_status') IS NOT NULL")
        assert (
            scalar(c, "SELECT transactional FROM moltctl_migrations WHERE version = '900'") is False
        )


def test_dry_run_changes_nothing(empty_dsn):
    t = resolve(empty_dsn)
    result = schema.migrate(t, dry_run=True)
    assert [m.label for m in result.pending] == all_labels()
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT to_regclass('moltctl_migrations') IS NULL")
        assert scalar(c, "SELECT to_regclass('snapshots') IS NULL")


def test_two_concurrent_migrates_apply_once(empty_dsn, tmp_path):
    d = _copy_migrations(tmp_path)
    # a slow migration keeps the first run inside the lock while the second starts
    (d / "900_slow.sql").write_text("SELECT pg_sleep(1);\nCREATE TABLE slow_done (a int);\n")
    t1, t2 = resolve(empty_dsn), resolve(empty_dsn)
    results, errors = {}, {}

    def run(key, t):
        try:
            results[key] = schema.migrate(t, migrations=discover(d), lock_timeout=30)
        except Exception as exc:  # noqa: BLE001
            errors[key] = exc

    threads = [threading.Thread(target=run, args=(k, t)) for k, t in (("a", t1), ("b", t2))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    applied = sorted(len(r.applied) for r in results.values())
    assert applied == [0, len(all_labels()) + 1]
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT count(*) FROM moltctl_migrations") == len(all_labels()) + 1


def test_lock_timeout_gives_locked_error(empty_dsn):
    from moltctl import locks

    t = resolve(empty_dsn)
    with (
        locks.advisory_lock(t, locks.MIGRATE, what="migrate"),
        pytest.raises(LockedError, match="another moltctl run holds the migrate lock"),
    ):
        schema.migrate(resolve(empty_dsn), lock_timeout=0.3)


# ---------------------------------------------------------------- require_current (the guard)


def _first_three():
    """001..003: the exact messages below do not change when a migration is added."""
    return [m for m in discover() if int(m.version) <= 3]


def test_require_current_no_schema(empty_dsn):
    with psycopg.connect(empty_dsn) as c:
        with pytest.raises(MoltError) as err:
            migrations.require_current(c)
        assert err.value.message == "the database has no moltctl schema: run moltctl init"
        assert "moltctl status" in err.value.hint
        # the history table without a row in it (a first migration that failed) is no schema
        c.execute(sqlfiles.render("migration_history/create.sql"))
        with pytest.raises(MoltError, match="^the database has no moltctl schema: run moltctl"):
            migrations.require_current(c)
        c.rollback()
    assert public_relations(empty_dsn) == []


def test_require_current_pending_names_version_and_migrations(empty_dsn):
    t = resolve(empty_dsn)
    three = _first_three()
    schema.migrate(t, upto="001", migrations=three)
    with psycopg.connect(empty_dsn) as c, pytest.raises(MoltError) as err:
        migrations.require_current(c, three)
    assert err.value.message == (
        "the schema is at version 001 and 2 migrations are pending "
        "(002_add_manipulation_dimension, 003_partition_legacy_tables): run moltctl migrate"
    )
    assert err.value.hint == "moltctl migrate --dry-run shows the SQL first"
    assert err.value.exit_code == 1
    schema.migrate(t, upto="002", migrations=three)
    with psycopg.connect(empty_dsn) as c, pytest.raises(MoltError) as err:
        migrations.require_current(c, three)
    assert err.value.message == (
        "the schema is at version 002 and 1 migration is pending "
        "(003_partition_legacy_tables): run moltctl migrate"
    )
    schema.migrate(t)
    with psycopg.connect(empty_dsn) as c:
        assert migrations.require_current(c) == latest_version()


def test_require_current_passes_on_the_initialized_template(conn):
    assert migrations.require_current(conn) == latest_version()


def test_require_current_changed_uses_migrates_wording(empty_dsn, tmp_path):
    d = _copy_migrations(tmp_path)
    t = resolve(empty_dsn)
    schema.migrate(t, migrations=discover(d))
    p = d / "002_add_manipulation_dimension.sql"
    p.write_text(p.read_text() + "\nSELECT 1;\n")
    with psycopg.connect(empty_dsn) as c, pytest.raises(MoltError) as guard:
        migrations.require_current(c, discover(d))
    with pytest.raises(MoltError) as migrate:
        schema.migrate(t, migrations=discover(d))
    assert (
        guard.value.message
        == migrate.value.message
        == (
            "migration 002_add_manipulation_dimension was edited after it was applied "
            "(checksum differs)"
        )
    )
    assert guard.value.hint == migrate.value.hint
    assert "new migration" in guard.value.hint


def test_require_current_missing_names_the_unknown_migration(empty_dsn, tmp_path):
    d = _copy_migrations(tmp_path)
    (d / "900_from_a_newer_moltctl.sql").write_text("CREATE TABLE newer (a int);\n")
    schema.migrate(resolve(empty_dsn), migrations=discover(d))
    with psycopg.connect(empty_dsn) as c:
        assert migrations.require_current(c, discover(d)) == "900"
        with pytest.raises(MoltError) as err:
            migrations.require_current(c)  # this moltctl's own migrations: 900 is unknown
    assert err.value.message == (
        "migration 900_from_a_newer_moltctl is applied in the database but unknown to this "
        "moltctl: upgrade moltctl to the version that applied it"
    )
    assert "migrate status" in err.value.hint
