"""Monthly partitions: ahead after init, default-partition rows moved, the conversion migration."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import psycopg
import pytest

from moltctl import migrations, partitions, retention, schema, sqlfiles
from moltctl.connection import resolve
from moltctl.errors import UsageError
from tests import legacyviews
from tests.helpers import retentiondata as rd
from tests.helpers.db import scalar

FIXTURE = Path(__file__).parent / "fixtures" / "spec_high_volume_tables.sql"
TABLES = list(partitions.PARTITIONED)
UTC = dt.UTC


def month_names(conn, table):
    return [p.partition for p in partitions.bounds(conn, [table]) if not p.is_default]


def test_partitions_ahead_after_init(conn):
    now = scalar(conn, "SELECT now()")
    start = partitions.month_start(now)
    parts = {(p.table, p.partition) for p in partitions.bounds(conn)}
    for table in TABLES:
        assert (table, f"{table}_default") in parts
        for i in range(4):
            assert (
                table,
                partitions.partition_name(table, partitions.add_months(start, i)),
            ) in parts


def test_partitions_have_parent_indexes(conn):
    name = partitions.partition_name("posts", partitions.month_start(scalar(conn, "SELECT now()")))
    n_parent = scalar(conn, "SELECT count(*) FROM pg_indexes WHERE tablename = 'posts'")
    n_part = scalar(conn, "SELECT count(*) FROM pg_indexes WHERE tablename = %s", (name,))
    assert n_part == n_parent > 5


def test_create_month_is_idempotent(conn):
    month = dt.datetime(2024, 5, 1, tzinfo=UTC)
    with conn.transaction():
        first = partitions.create_month(conn, "posts", month)
        again = partitions.create_month(conn, "posts", month + dt.timedelta(days=3))
    assert (first.action, again.action) == ("created", "exists")
    assert first.partition == again.partition == "posts_p2024_05"


def test_default_rows_are_moved_none_lost(conn):
    """Rows that landed in the default partition move into the month created for them."""
    start = dt.datetime(2025, 6, 3, tzinfo=UTC)
    rd.build(conn, start, 48, partitioned=False)  # no June partitions: all in the defaults
    before = rd.fingerprint(conn)
    for table in TABLES:
        assert scalar(conn, f"SELECT count(*) FROM {table}_default") > 0
    info: dict = {}
    partitions.status_section(conn, info)
    assert len(info["warnings"]) == len(TABLES)
    assert "2025-06" in info["warnings"][0]

    with conn.transaction():
        changes = [partitions.create_month(conn, t, start) for t in TABLES]
    assert {c.action for c in changes} == {"moved"}
    assert rd.fingerprint(conn) == before
    for c in changes:
        assert c.moved_rows == before[c.table][0]
        assert scalar(conn, f"SELECT count(*) FROM {c.table}_default") == 0
        assert scalar(conn, f"SELECT count(*) FROM {c.partition}") == c.moved_rows
        # the moved-into partition got the parent's indexes and foreign key
        assert scalar(
            conn, "SELECT count(*) FROM pg_indexes WHERE tablename = %s", (c.partition,)
        ) == scalar(conn, "SELECT count(*) FROM pg_indexes WHERE tablename = %s", (c.table,))
    info = {}
    partitions.status_section(conn, info)
    assert "warnings" not in info
    # and the foreign key cascade still reaches the moved rows
    conn.execute("DELETE FROM agents")
    conn.execute("DELETE FROM submolts")
    conn.execute("DELETE FROM snapshots")
    assert all(scalar(conn, f"SELECT count(*) FROM {t}") == 0 for t in TABLES)


def test_ensure_for_time_moves_default_rows(conn):
    """Ingest's call never fails because rows of the month already sit in the default."""
    start = dt.datetime(2025, 8, 10, tzinfo=UTC)
    rd.build(conn, start, 5, partitioned=False)
    before = rd.fingerprint(conn)
    with conn.transaction():
        names = partitions.ensure_for_time(conn, start)
    assert names == [f"{t}_p2025_08" for t in TABLES]
    assert rd.fingerprint(conn) == before
    assert scalar(conn, "SELECT count(*) FROM posts_default") == 0


def test_check_tables_and_month():
    assert partitions.check_tables(None) == TABLES
    with pytest.raises(UsageError, match="not a partitioned table"):
        partitions.check_tables(["agents"])
    for bad in ("2026-13", "2026-1", "26-01", "2026/01", "x"):
        with pytest.raises(UsageError, match="YYYY-MM"):
            partitions.parse_month(bad)
    assert partitions.parse_month("2026-02") == dt.datetime(2026, 2, 1, tzinfo=UTC)


# --- the conversion migration -------------------------------------------------------------


def _spec_installation(dsn: str) -> None:
    """An installation whose five big tables come from the spec's DDL, 001/002 recorded."""
    target = resolve(dsn)
    schema.migrate(target)  # 001..003 on an empty db: partitioned from the start
    with psycopg.connect(dsn, autocommit=True) as c:
        with c.transaction():
            c.execute("DROP TABLE " + ", ".join(TABLES) + " CASCADE")  # and the views on them
            for _, stmt in sqlfiles.split_statements(FIXTURE.read_text()):
                c.execute(stmt)
            # what 002 did to the (then unpartitioned) table
            c.execute(
                "ALTER TABLE agent_score_history ADD COLUMN has_high_manipulation "
                "BOOLEAN DEFAULT FALSE"
            )
            legacyviews.create(c)  # the views of that time read the unpartitioned tables
            # the history claims 001/002 only: 003 and later are pending, as on a real
            # installation of that time
            c.execute("DELETE FROM moltctl_migrations WHERE version >= '003'")
            c.execute("ALTER TABLE snapshots DROP CONSTRAINT snapshots_id_created_at_key")
            # and what 005 added
            c.execute("DROP TABLE moltctl_view_changes")
            c.execute("ALTER TABLE moltctl_view_refreshes DROP COLUMN method, DROP COLUMN changes")
        for t in TABLES:
            assert scalar(c, "SELECT relkind FROM pg_class WHERE relname = %s", (t,)) == "r"


def _schema_of(c) -> dict:
    tables = list(TABLES)
    return {
        "columns": c.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_name = ANY(%s) "
            "ORDER BY 1, ordinal_position",
            (tables,),
        ).fetchall(),
        "indexes": sorted(
            c.execute(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
                (tables,),
            ).fetchall()
        ),
        "constraints": sorted(
            c.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint "
                "WHERE conrelid = ANY(SELECT to_regclass(x) FROM unnest(%s::text[]) x)",
                (tables,),
            ).fetchall()
        ),
    }


def test_conversion_migration(empty_dsn, conn, cli):
    _spec_installation(empty_dsn)
    start = dt.datetime(2026, 1, 20, tzinfo=UTC)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        rd.build(c, start, 24 * 40, partitioned=False)
        # the spec's keys are nullable: one row without one
        c.execute(
            "INSERT INTO posts (snapshot_id, external_id, fetched_at) "
            "SELECT id, 'post-null-key', NULL FROM snapshots ORDER BY created_at DESC LIMIT 1"
        )
        null_key = "external_id = 'post-null-key'"
        before = {
            t: rd.contents(c, t, f"NOT ({null_key})" if t == "posts" else "true")
            for t in rd.ALL_TABLES
        }
        latest = scalar(c, "SELECT max(created_at) FROM snapshots")

    r = cli("migrate", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    assert "applied 003_partition_legacy_tables" in r.stderr

    with psycopg.connect(empty_dsn, autocommit=True) as c:
        for t in TABLES:
            assert scalar(c, "SELECT relkind FROM pg_class WHERE relname = %s", (t,)) == "p"
        after = {
            t: rd.contents(c, t, f"NOT ({null_key})" if t == "posts" else "true")
            for t in rd.ALL_TABLES
        }
        assert after == before  # every row, every value
        assert scalar(c, f"SELECT fetched_at FROM posts WHERE {null_key}") == latest
        # the old table is the one legacy partition over its months; nothing in the default
        legacy = {p.table: p for p in partitions.bounds(c) if p.partition.endswith("_legacy")}
        assert set(legacy) == set(TABLES)
        assert legacy["posts"].lower == dt.datetime(2026, 1, 1, tzinfo=UTC)
        assert legacy["posts"].upper == dt.datetime(2026, 3, 1, tzinfo=UTC)
        for t in TABLES:
            assert scalar(c, f"SELECT count(*) FROM {t}_default") == 0
        # same columns, keys, indexes (names and definitions) as a fresh moltctl init
        assert _schema_of(c) == _schema_of(conn)
        # the views were regenerated over the partitioned tables
        assert scalar(c, "SELECT count(*) FROM hourly_growth") > 0
        # a month inside the legacy range is covered, not created again (ingest's call)
        with c.transaction():
            names = partitions.ensure_for_time(c, dt.datetime(2026, 2, 14, tzinfo=UTC))
        assert names == [f"{t}_legacy" for t in TABLES]
        # new months go next to it; purge trims the legacy range and finally drops it
        with c.transaction():
            partitions.ensure_for_time(c, dt.datetime(2026, 3, 1, tzinfo=UTC))
    target = resolve(empty_dsn)
    res = retention.purge(target, before=dt.datetime(2026, 2, 10, tzinfo=UTC))
    assert res.partitions == {}
    assert res.removed["posts"] > 0
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        assert scalar(c, "SELECT min(fetched_at) FROM posts") == dt.datetime(
            2026, 2, 10, tzinfo=UTC
        )
        c.execute("INSERT INTO snapshots (created_at, run_id) VALUES ('2026-03-02Z', 'r-march')")
    res = retention.purge(target, before=dt.datetime(2026, 3, 2, tzinfo=UTC))
    assert res.partitions["posts"] == ["posts_legacy"]


def test_conversion_is_a_noop_on_partitioned_installations(conn):
    before = sorted(partitions.existing(conn))
    text = (migrations.default_dir() / "003_partition_legacy_tables.sql").read_text()
    conn.execute(text)
    assert sorted(partitions.existing(conn)) == before


def test_conversion_of_empty_tables(empty_dsn, cli):
    _spec_installation(empty_dsn)
    r = cli("migrate", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        for t in TABLES:
            assert scalar(c, "SELECT relkind FROM pg_class WHERE relname = %s", (t,)) == "p"
            assert month_names(c, t) == []
            assert scalar(c, "SELECT to_regclass(%s) IS NOT NULL", (f"{t}_default",))


def _snapshot_fks(c) -> dict[str, str]:
    return dict(
        c.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = 'snapshots'::regclass AND conparentid = 0 "
            "AND conrelid::regclass::text = ANY(%s)",
            (list(TABLES),),
        ).fetchall()
    )


def test_rows_reference_their_snapshot_by_id_and_time(conn):
    fks = _snapshot_fks(conn)
    for t, key in partitions.PARTITIONED.items():
        assert fks[t] == (
            f"FOREIGN KEY (snapshot_id, {key}) REFERENCES snapshots(id, created_at) "
            "ON DELETE CASCADE"
        )
    conn.execute("INSERT INTO snapshots (created_at, run_id) VALUES ('2026-01-05Z', 'r1')")
    conn.commit()
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        # a row whose partition key is not its snapshot's time
        conn.execute(
            "INSERT INTO posts (snapshot_id, external_id, fetched_at) "
            "SELECT id, 'p1', created_at + interval '1 minute' FROM snapshots"
        )
    conn.rollback()
    conn.execute(
        "INSERT INTO posts (snapshot_id, external_id, fetched_at) "
        "SELECT id, 'p1', created_at FROM snapshots"
    )
    # deleting the snapshot cascades through the pruned key: the row goes
    conn.execute("DELETE FROM snapshots")
    assert scalar(conn, "SELECT count(*) FROM posts") == 0


def test_conversion_keeps_the_old_key_where_rows_do_not_match(empty_dsn, cli):
    """Spec-era rows whose fetched_at is the insert time, not the snapshot's: posts keeps the
    snapshot_id key (004 rolls back for that table alone), the other tables get the new one."""
    _spec_installation(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        rd.build(c, dt.datetime(2026, 1, 20, tzinfo=UTC), 48, partitioned=False)
        c.execute("UPDATE posts SET fetched_at = fetched_at + interval '90 seconds'")
        before = rd.fingerprint(c)
    r = cli("migrate", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    assert "applied 004_snapshot_time_foreign_keys" in r.stderr
    assert "004_snapshot_time_foreign_keys: posts keeps its snapshot_id foreign key" in r.stderr
    assert "converting comments to a partitioned table" in r.stderr  # 003's notices, too
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        fks = _snapshot_fks(c)
        kept = "FOREIGN KEY (snapshot_id) REFERENCES snapshots(id) ON DELETE CASCADE"
        assert fks["posts"] == kept
        assert fks["comments"].startswith("FOREIGN KEY (snapshot_id, fetched_at)")
        assert rd.fingerprint(c) == before
    # purge still removes exactly the old rows through the kept key
    res = retention.purge(resolve(empty_dsn), before=dt.datetime(2026, 1, 21, tzinfo=UTC))
    assert res.removed["posts"] == 24 * 3
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        assert scalar(c, "SELECT count(*) FROM posts") == 24 * 3


def test_conversion_refuses_a_foreign_view(empty_dsn, cli):
    _spec_installation(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute("CREATE VIEW my_posts AS SELECT external_id FROM posts")
    r = cli("migrate", dsn_override=empty_dsn)
    assert r.exit_code == 1
    assert "view my_posts reads posts" in r.stderr and "rolled back" in r.stderr
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        assert scalar(c, "SELECT relkind FROM pg_class WHERE relname = 'posts'") == "r"
        assert scalar(c, "SELECT count(*) FROM moltctl_migrations WHERE version = '003'") == 0


def test_concurrent_ingests_create_a_month_once(conn, dsn):
    """Two ingests loading the first snapshot of a new month at the same time: no error."""
    import threading

    month = dt.datetime(2024, 9, 15, tzinfo=UTC)
    errors, names = [], []
    with psycopg.connect(dsn) as a, psycopg.connect(dsn) as b:
        partitions.ensure_for_time(a, month)  # a's transaction stays open, holding the lock

        def other():
            try:
                with b.transaction():
                    names.append(partitions.ensure_for_time(b, month))
            except Exception as exc:  # pragma: no cover - the failure this test is about
                errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join(0.5)
        assert t.is_alive()  # waiting for a's transaction
        a.commit()
        t.join(10)
    assert errors == [] and names == [[f"{t}_p2024_09" for t in TABLES]]


def _new_month_bundle(tmp_path, run_id="20250301T120000Z"):
    from tests.helpers.ingest import agent, post, write_bundle

    return write_bundle(tmp_path / "m.ndjson", run_id, [agent("a1", name="x"), post("p1", "a1")])


def _one_warning(result) -> str:
    assert result.exit_code == 0, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_ingest_creates_its_month_between_loads_and_bounds_the_wait(tmp_path, cli, conn, dsn):
    """A load's data transaction holds CREATE_LOCK shared: a run needing a new month waits for
    it at most --lock-timeout, then loads into the default partitions, saying so in one line."""
    path = _new_month_bundle(tmp_path)
    with psycopg.connect(dsn) as other:
        partitions.lock_for_load(other)  # as a concurrent load's data transaction does
        started = time.monotonic()
        r = cli("ingest-file", "--lock-timeout", "0.5", str(path))
        assert time.monotonic() - started < 10
        other.rollback()
    line = _one_warning(r)
    assert line == (
        "warning: 20250301T120000Z: the partitions of 2025-03 were not created: waited for the "
        "data transactions of concurrent loads (0.5s); its rows go to the default partitions "
        "(moltctl status says how to move them)"
    )
    assert scalar(conn, "SELECT count(*) FROM posts_default") == 1
    assert "posts_p2025_03" not in partitions.existing(conn)
    # the next run of that month creates it and moves the rows out of the default partition
    r = cli("ingest-file", str(_new_month_bundle(tmp_path, "20250301T130000Z")))
    assert r.exit_code == 0 and "warning:" not in r.stderr, r.stderr
    assert scalar(conn, "SELECT count(*) FROM posts_p2025_03") == 2
    assert scalar(conn, "SELECT count(*) FROM posts_default") == 0


def test_a_long_reader_does_not_make_ingest_wait_forever(tmp_path, cli, conn, dsn):
    """Creating a partition needs the default partition exclusively, and readers queue behind
    a waiting DDL: the wait is bounded (by --lock-timeout, at most partitions.DDL_WAIT)."""
    path = _new_month_bundle(tmp_path)
    with psycopg.connect(dsn) as reader:
        reader.execute("SELECT count(*) FROM posts").fetchone()  # its transaction stays open
        started = time.monotonic()
        r = cli("ingest-file", "--lock-timeout", "1", str(path))
        waited = time.monotonic() - started
        reader.rollback()
    line = _one_warning(r)
    assert "the partitions of 2025-03 were not created: waited for a table lock held by " in line
    assert "another session, e.g. a long query (1s)" in line
    assert 0.9 < waited < 10
    assert scalar(conn, "SELECT count(*) FROM posts_default") == 1
