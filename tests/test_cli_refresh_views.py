"""moltctl refresh-views: output, exit codes, failures, and two refreshes never queueing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psycopg

from moltctl import locks
from tests.helpers import querydata as qd
from tests.helpers.db import migrate_to, public_relations, scalar
from tests.helpers.refusals import assert_refused_at_002, assert_refused_empty

LOCKED = "error: another moltctl run holds the refresh-views lock"


def _spawn(dsn, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("MOLTCTL_DSN", "DATABASE_URL")}
    return subprocess.Popen(
        [sys.executable, "-m", "moltctl", "--dsn", dsn, "refresh-views", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_refresh_views_prints_seconds_and_rows(cli, conn):
    qd.load(conn)
    result = cli("refresh-views")
    assert result.exit_code == 0, result.stderr
    for word in ("hourly_growth", "agent_leaderboard", "dimension_trends", "seconds", "rows"):
        assert word in result.stdout
    assert "refreshed 3 view(s)" in result.stderr
    rows = json.loads(cli("refresh-views", "agent_leaderboard", "-f", "json").stdout)
    assert [(r["view"], r["method"]) for r in rows] == [("agent_leaderboard", "incremental")]
    assert rows[0]["rows"] == scalar(conn, "SELECT count(*) FROM agent_leaderboard") > 0
    assert rows[0]["seconds"] >= 0 and rows[0]["error"] is None
    assert cli("-q", "refresh-views").stderr == ""


def test_full_recomputes_and_says_so(cli, conn):
    qd.load(conn)
    assert cli("refresh-views").exit_code == 0
    conn.execute("DELETE FROM agent_score_history WHERE agent_id = 'a1'")  # not logged
    before = scalar(conn, "SELECT count(*) FROM agent_leaderboard")
    rows = json.loads(cli("refresh-views", "-f", "json").stdout)
    assert {r["method"] for r in rows} == {"incremental"} and {r["changes"] for r in rows} == {0}
    assert scalar(conn, "SELECT count(*) FROM agent_leaderboard") == before
    rows = json.loads(cli("refresh-views", "--full", "agent_leaderboard", "-f", "json").stdout)
    assert [(r["view"], r["method"]) for r in rows] == [("agent_leaderboard", "full")]
    assert scalar(conn, "SELECT count(*) FROM agent_leaderboard") == before - 1


def test_unknown_view_is_one_line_exit_2(cli):
    result = cli("refresh-views", "hourly_growth", "bogus")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith("error: unknown view 'bogus'")
    assert result.stdout == ""


def test_failing_view_reported_others_refreshed_exit_1(cli, conn):
    qd.load(conn)
    conn.execute(
        "INSERT INTO snapshots (run_id, created_at, site_stats) VALUES "
        "('bad', '2026-01-31T00:00:00Z', '{\"avg_comments_per_post\": \"many\"}')"
    )
    result = cli("refresh-views", "-f", "json")
    assert result.exit_code == 1
    rows = {r["view"]: r for r in json.loads(result.stdout)}
    assert rows["hourly_growth"]["method"] == "failed"
    assert rows["agent_leaderboard"]["method"] == "full"
    assert rows["dimension_trends"]["method"] == "full"
    assert "error: refreshing hourly_growth failed:" in result.stderr
    assert "Traceback" not in result.stderr


def test_lock_held_exit_3(cli, target):
    with locks.advisory_lock(target, locks.REFRESH, what="refresh-views"):
        result = cli("refresh-views")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == LOCKED


def test_second_refresh_does_not_queue_behind_a_slow_one(dsn, conn):
    """The first refresh is held up (a lock on a table its views read); the second must exit 3 at
    once instead of waiting, and the first completes once the view is free."""
    qd.load(conn)
    with psycopg.connect(dsn) as blocker:
        blocker.execute("LOCK TABLE snapshots IN ACCESS EXCLUSIVE MODE")
        first = _spawn(dsn)
        deadline = time.monotonic() + 30
        # wait until the first one holds the refresh lock (it then waits on the table lock)
        while time.monotonic() < deadline:
            waiting = scalar(
                conn,
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted",
            )
            if waiting:
                break
            time.sleep(0.05)
        started = time.monotonic()
        second = _spawn(dsn)
        out2, err2 = second.communicate(timeout=60)
        assert second.returncode == 3, err2
        assert err2.splitlines()[0] == LOCKED
        assert time.monotonic() - started < 20
        assert first.poll() is None  # still waiting on the table
        blocker.rollback()
    out1, err1 = first.communicate(timeout=60)
    assert first.returncode == 0, err1
    assert "agent_leaderboard" in out1


def test_two_concurrent_refreshes_never_deadlock(dsn, conn):
    qd.load(conn)
    procs = [_spawn(dsn), _spawn(dsn)]
    outcomes = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        outcomes.append((p.returncode, err))
    codes = sorted(code for code, _ in outcomes)
    assert codes in ([0, 0], [0, 3]), outcomes
    for code, err in outcomes:
        if code == 3:
            assert err.splitlines()[0] == LOCKED
    assert scalar(conn, "SELECT count(*) FROM moltctl_view_refreshes") == 3


def test_refused_without_schema_or_with_pending_migration(cli, empty_dsn):
    assert_refused_empty(cli("refresh-views", dsn_override=empty_dsn))
    assert public_relations(empty_dsn) == []
    migrate_to(empty_dsn, "002")
    for args in ((), ("agent_leaderboard", "--format", "json")):
        assert_refused_at_002(cli("refresh-views", *args, dsn_override=empty_dsn))
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT count(*) FROM moltctl_view_refreshes") == 0
