"""The fault suite: moltctl's data-changing commands killed (kill -9) at several moments and run
side by side, in real processes against a real server. Afterwards the invariants hold
(tests/faults.py) and re-running the command finishes the job. Heavier variants are slow-marked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time

import psycopg
import pytest

from tests.helpers import faults
from tests.helpers import retentiondata as rd
from tests.helpers.db import latest_version, migrate_to

UTC = dt.UTC


@pytest.fixture(scope="module")
def jan_feb(tmp_path_factory):
    """A large January run and a small February one (neither month has partitions yet)."""
    out = tmp_path_factory.mktemp("jan_feb")
    (jan,) = faults.generate(
        out / "jan", "--runs", "1", "--agents", "1500", "--posts", "600",
        "--comments-per-post", "10", "--seed", "3", "--start", "2026-01-31T12:00:00Z",
    )  # fmt: skip
    (feb,) = faults.generate(
        out / "feb", "--runs", "1", "--agents", "50", "--posts", "10",
        "--comments-per-post", "2", "--seed", "4", "--start", "2026-02-01T06:00:00Z",
    )  # fmt: skip
    return jan, feb


# ---------------------------------------------------------------- concurrent commands


@pytest.mark.parametrize("delay", [0.3, 1.0, pytest.param(2.0, marks=pytest.mark.slow)])
def test_concurrent_ingests_needing_new_months_do_not_deadlock(dsn, jan_feb, delay):
    """Issue 9 item 2: ``ingest-file jan & sleep N; ingest-file feb`` on a fresh database:
    the February load creates its month while the January load is in its data transaction."""
    jan, feb = jan_feb
    first = faults.spawn(dsn, "ingest-file", jan)
    time.sleep(delay)
    second = faults.spawn(dsn, "ingest-file", feb)
    results = [faults.finish(first), faults.finish(second)]
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    for _code, _out, err in results:
        assert "deadlock" not in err and "Traceback" not in err
    c = faults.counts(dsn)
    assert [s for _r, s in c["runs"]] == ["completed", "completed"]
    assert c["posts"] == 610
    faults.assert_invariants(dsn)


# ---------------------------------------------------------------- kill -9


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three medium runs, an hour apart (a load takes long enough to be killed mid-way)."""
    return faults.generate(
        tmp_path_factory.mktemp("runs"), "--runs", "3", "--agents", "400", "--posts", "150",
        "--comments-per-post", "6", "--seed", "7", "--start", "2026-01-30T10:00:00Z",
    )  # fmt: skip


def _kill_after(dsn: str, delay: float, *args: str) -> bool:
    """Start ``moltctl ARGS``, kill -9 it after ``delay`` s; True if it was still running."""
    proc = faults.spawn(dsn, *args)
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    with psycopg.connect(dsn, autocommit=True) as c:
        faults.wait_sessions_gone(c)
    return alive


def _ok(dsn: str, *args: str) -> str:
    code, out, err = faults.finish(faults.spawn(dsn, *args))
    assert code == 0, err
    return out


KILL_DELAYS = [pytest.param(0.8, id="early"), pytest.param(2.0, id="late")]
SLOW_DELAYS = [pytest.param(d, id=f"{d}s", marks=pytest.mark.slow) for d in (0.5, 1.2, 1.6, 3.0)]


@pytest.mark.parametrize("delay", KILL_DELAYS + SLOW_DELAYS)
def test_kill_9_ingest(dsn, runs, delay):
    _kill_after(dsn, delay, "ingest-file", *runs)
    faults.assert_invariants(dsn)
    # the runs before the killed one are complete, the killed one left nothing (or failed)
    _ok(dsn, "ingest-file", *runs)
    c = faults.counts(dsn)
    assert [s for _r, s in c["runs"]] == ["completed"] * 3
    faults.assert_invariants(dsn)
    with psycopg.connect(dsn) as conn:
        posted = conn.execute("SELECT sum(posts_fetched) FROM snapshots").fetchone()[0]
    assert c["posts"] == posted > 0


# February (a whole month: dropped) and March 1-3 (the boundary: whole snapshots per step)
PURGE_START, PURGE_HOURS = dt.datetime(2026, 2, 25, tzinfo=UTC), 24 * 9
PURGE_CUTOFF = dt.datetime(2026, 3, 3, tzinfo=UTC)
PURGE_ONLY = list(range(0, PURGE_HOURS, 2))


@pytest.mark.parametrize("delay", KILL_DELAYS + SLOW_DELAYS)
def test_kill_9_purge(dsn, delay):
    cutoff = PURGE_CUTOFF
    with psycopg.connect(dsn, autocommit=True) as c:
        rd.build(c, PURGE_START, PURGE_HOURS, only=PURGE_ONLY)
        kept = rd.kept_fingerprint(c, cutoff)
    args = ("purge", "--before", cutoff.isoformat(), "--yes", "--batch-size", "20")
    _kill_after(dsn, delay, *args, "--pause", "0.1")
    faults.assert_invariants(dsn)
    with psycopg.connect(dsn) as c:
        assert rd.kept_fingerprint(c, cutoff) == kept
    _ok(dsn, *args)
    with psycopg.connect(dsn) as c:
        assert rd.kept_fingerprint(c, cutoff) == kept
        assert c.execute("SELECT min(fetched_at) FROM posts").fetchone()[0] == cutoff
        old = "SELECT count(*) FROM posts WHERE fetched_at < %s"
        assert c.execute(old, (cutoff,)).fetchone()[0] == 0
    faults.assert_invariants(dsn)


@pytest.mark.parametrize("delay", KILL_DELAYS + SLOW_DELAYS)
def test_kill_9_create_partition(dsn, delay):
    """Rows of past months wait in the default partitions: create-partition moves them, one
    transaction per table and month; killed, none is lost, and a re-run finishes the move."""
    with psycopg.connect(dsn, autocommit=True) as c:
        rd.build(
            c, dt.datetime(2025, 6, 1, tzinfo=UTC), 24 * 91, partitioned=False,
            only=list(range(0, 24 * 91, 12)),
        )  # fmt: skip
        before = rd.fingerprint(c)
    args = ("create-partition", "--month", "2025-06", "--months-ahead", "2")
    _kill_after(dsn, delay, *args)
    with psycopg.connect(dsn) as c:
        assert rd.fingerprint(c) == before
    _ok(dsn, *args)
    with psycopg.connect(dsn) as c:
        assert rd.fingerprint(c) == before
        for t in rd.CONTENT_TABLES:
            assert c.execute(f"SELECT count(*) FROM {t}_default").fetchone()[0] == 0
    faults.assert_invariants(dsn)


@pytest.mark.parametrize("delay", KILL_DELAYS + SLOW_DELAYS)
def test_kill_9_refresh_views(dsn, delay):
    with psycopg.connect(dsn, autocommit=True) as c:
        rd.build(c, dt.datetime(2026, 1, 1, tzinfo=UTC), 24 * 10, posts=6)
        before = rd.fingerprint(c)
    _kill_after(dsn, delay, "refresh-views")
    _ok(dsn, "refresh-views")
    with psycopg.connect(dsn) as c:
        assert rd.fingerprint(c) == before
        assert c.execute("SELECT sum(snapshot_count) FROM hourly_growth").fetchone()[0] == 240
        stale = "SELECT count(*) FROM moltctl_view_refreshes"
        assert c.execute(stale).fetchone()[0] == 3
    faults.assert_invariants(dsn)


@pytest.mark.parametrize("command", ["init", "migrate"])
@pytest.mark.parametrize("delay", [0.8, pytest.param(1.5, marks=pytest.mark.slow)])
def test_kill_9_init_and_migrate(empty_dsn, command, delay):
    """Each migration is one transaction: killed, the schema is at a whole version, and
    re-running the command brings it to the latest."""
    if command == "migrate":
        _ok(empty_dsn, "init")
        with psycopg.connect(empty_dsn, autocommit=True) as c:
            # back to 002: the conversion to partitions (003, the heaviest) is pending
            c.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        migrate_to(empty_dsn, "002")
        with psycopg.connect(empty_dsn, autocommit=True) as c:
            rd.build(c, dt.datetime(2026, 1, 1, tzinfo=UTC), 24 * 20, partitioned=False)
            before = rd.fingerprint(c)
    _kill_after(empty_dsn, delay, command)
    _ok(empty_dsn, command)
    if command == "init":
        # init killed after its first migration: re-run, it leaves the schema as it is and
        # names what is pending (init never migrates a schema it finds); migrate finishes
        info = json.loads(_ok(empty_dsn, "status", "-f", "json"))
        if info["pending"]:
            _ok(empty_dsn, "migrate")
    info = json.loads(_ok(empty_dsn, "status", "-f", "json"))
    assert info["schema_version"] == latest_version() and info["pending"] == []
    if command == "migrate":
        with psycopg.connect(empty_dsn) as c:
            assert rd.fingerprint(c) == before
    faults.assert_invariants(empty_dsn)


# ---------------------------------------------------------------- concurrent commands, cont.


def test_two_ingests_of_different_runs(dsn, runs):
    procs = [faults.spawn(dsn, "ingest-file", runs[0]), faults.spawn(dsn, "ingest-file", *runs)]
    results = [faults.finish(p) for p in procs]
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    c = faults.counts(dsn)
    assert [s for _r, s in c["runs"]] == ["completed"] * 3
    faults.assert_invariants(dsn)


def test_purge_during_an_ingest_exits_3_and_changes_nothing(dsn, runs):
    _ok(dsn, "ingest-file", runs[0])
    ingest = faults.spawn(dsn, "ingest-file", *runs[1:])
    with psycopg.connect(dsn, autocommit=True) as c:
        _wait_for(c, "moltctl ingest")
        code, _out, err = faults.finish(faults.spawn(dsn, "purge", "--days", "0", "--yes"))
    assert code == 3 and "holds the maintenance lock" in err, err
    assert faults.finish(ingest)[0] == 0
    c = faults.counts(dsn)
    assert [s for _r, s in c["runs"]] == ["completed"] * 3  # the purge removed nothing
    faults.assert_invariants(dsn)


def test_purge_during_a_purge_exits_3(dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        rd.build(c, PURGE_START, PURGE_HOURS, only=PURGE_ONLY)
    args = ("purge", "--before", PURGE_CUTOFF.isoformat(), "--yes", "--batch-size", "20")
    first = faults.spawn(dsn, *args, "--pause", "0.1")
    with psycopg.connect(dsn, autocommit=True) as c:
        _wait_for(c, "moltctl purge")
        code, _out, err = faults.finish(faults.spawn(dsn, *args))
    assert code == 3 and "holds the maintenance lock" in err, err
    assert faults.finish(first)[0] == 0
    with psycopg.connect(dsn) as c:
        assert c.execute("SELECT min(fetched_at) FROM posts").fetchone()[0] == PURGE_CUTOFF
    faults.assert_invariants(dsn)


def _wait_for(conn, application_name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
    ).fetchone()[0]:
        assert time.monotonic() < deadline, f"{application_name} never started"
        time.sleep(0.02)
