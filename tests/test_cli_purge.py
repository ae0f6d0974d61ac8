"""moltctl purge: output, quiet, prompts, the maintenance lock, a killed purge re-run."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg

from moltctl import locks, partitions
from moltctl.connection import resolve
from tests.helpers import faults
from tests.helpers import retentiondata as rd
from tests.helpers.db import admin_exec, migrate_to, public_relations, scalar, with_db
from tests.helpers.refusals import assert_refused_at_002, assert_refused_empty

UTC = dt.UTC
START = dt.datetime(2026, 1, 20, tzinfo=UTC)
CUTOFF = "2026-02-10T05:30:00Z"
EFFECTIVE = dt.datetime(2026, 2, 10, 5, 0, tzinfo=UTC)


def test_dry_run_lists_rows_and_partitions(conn, cli):
    rd.build(conn, START, 24 * 30)
    before = rd.fingerprint(conn)
    r = cli("purge", "--before", CUTOFF, "--dry-run", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = {x["table"]: x for x in json.loads(r.stdout)}
    expected = rd.expected_removal(conn, EFFECTIVE)
    assert {t: rows[t]["rows_removed"] for t in rows} == expected
    assert rows["posts"]["partitions_to_drop"] == 1
    assert "would remove" in r.stderr
    assert rd.fingerprint(conn) == before


def test_quiet_prints_nothing_and_stdin_not_a_terminal_does_not_ask(conn, cli):
    rd.build(conn, START, 24 * 30)
    expected = rd.expected_removal(conn, EFFECTIVE)
    r = cli("--quiet", "purge", "--before", CUTOFF)  # no --yes: CliRunner's stdin is no tty
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    assert scalar(conn, "SELECT min(fetched_at) FROM posts") == EFFECTIVE
    assert expected["posts"] > 0


def test_table_output_and_alias(conn, cli):
    rd.build(conn, START, 24 * 30)
    r = cli("retention-purge", "--before", CUTOFF)
    assert r.exit_code == 0, r.stderr
    assert "post_evaluations" in r.stdout and "partitions_dropped" in r.stdout
    assert "partitions dropped: " in r.stderr and "posts_p2026_01" in r.stderr


def test_terminal_asks_and_no_cancels(conn, cli, monkeypatch):
    import moltctl.cli.cmd_purge as cmd

    rd.build(conn, START, 24 * 30)
    before = rd.fingerprint(conn)
    monkeypatch.setattr(cmd, "stdin_is_terminal", lambda: True)
    r = cli("purge", "--before", CUTOFF, input="n\n")
    assert r.exit_code == 1 and "cancelled: nothing removed" in r.stderr
    assert rd.fingerprint(conn) == before
    r = cli("purge", "--before", CUTOFF, input="y\n")
    assert r.exit_code == 0, r.stderr
    assert rd.fingerprint(conn) != before
    r = cli("purge", "--before", CUTOFF, "--yes")  # no question at all
    assert r.exit_code == 0 and "?" not in r.stderr


def _generate(cli, out, *args: str) -> list[str]:
    gen = cli("generate", str(out), "--format", "bundle", "--seed", "1", *args)
    assert gen.exit_code == 0, gen.stderr
    return gen.stdout.split()


def _answers(conn, cli, moments: list[dt.datetime]) -> tuple:
    """Every point-in-time answer the tests compare: versions valid, the latest completed
    snapshot's content, and the CLI's agent-at for a few agents."""
    handles = [r[0] for r in conn.execute("SELECT DISTINCT handle FROM agents ORDER BY 1 LIMIT 3")]
    at = []
    for m in moments:
        for h in handles:
            r = cli("query", "agent-at", "--agent", h, "--at", m.isoformat(), "-f", "json")
            assert r.exit_code == 0, r.stderr
            at.append(json.loads(r.stdout))
    return (
        rd.agents_at(conn, moments),
        rd.agents_at(conn, moments, "submolts"),
        rd.snapshot_at(conn, moments),
        at,
    )


def test_failed_run_before_the_cutoff_does_not_move_the_window(tmp_path, cli, conn):
    """Issue 9.1: the window starts at the last *completed* snapshot at or before the cutoff;
    a failed run after it (a bad bundle, as ingest-file records one) must not become the anchor
    and take the anchor's posts, comments, evaluations and score history with it."""
    paths = _generate(
        cli, tmp_path / "runs", "--runs", "4", "--posts", "10", "--agents", "30",
        "--comments-per-post", "2", "--start", "2026-01-10T00:00:00Z", "--interval-hours", "48",
    )  # fmt: skip
    r = cli("ingest-file", *paths)
    assert r.exit_code == 0, r.stderr
    anchor_run = os.path.basename(paths[2]).split(".")[0]  # 2026-01-14, before the cutoff
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"type": "snapshot", "run_id": "20260114T120000Z"}\n{not json\n')
    assert cli("ingest-file", str(bad)).exit_code == 1
    assert conn.execute(
        "SELECT status FROM snapshots WHERE run_id = '20260114T120000Z'"
    ).fetchone() == ("failed",)
    anchor_content = rd.snapshot_at(conn, [dt.datetime(2026, 1, 14, 1, tzinfo=UTC)])
    cutoff = dt.datetime(2026, 1, 15, tzinfo=UTC)
    moments = [cutoff + dt.timedelta(hours=h) for h in (0, 1, 12, 24, 25, 48, 72)]
    before = _answers(conn, cli, moments)

    r = cli("purge", "--before", cutoff.isoformat(), "--yes")
    assert r.exit_code == 0, r.stderr

    assert _answers(conn, cli, moments) == before
    # the anchor keeps every row; the older completed runs are gone
    assert rd.snapshot_at(conn, [dt.datetime(2026, 1, 14, 1, tzinfo=UTC)]) == anchor_content
    assert anchor_content[dt.datetime(2026, 1, 14, 1, tzinfo=UTC)][0] == anchor_run
    eff = scalar(conn, "SELECT created_at FROM snapshots WHERE run_id = %s", (anchor_run,))
    assert scalar(conn, "SELECT min(fetched_at) FROM posts") == eff
    assert scalar(conn, "SELECT count(*) FROM posts WHERE fetched_at = %s", (eff,)) == 10


def test_usage_errors(cli):
    for args, msg in (
        ((), "exactly one of --days"),
        (("--days", "3", "--before", CUTOFF), "exactly one of --days"),
        (("--before", "last tuesday"), "ISO timestamp"),
    ):
        r = cli("purge", *args)
        assert r.exit_code == 2, (args, r.stderr)
        assert msg in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) <= 2


def test_locked_by_an_ingest_exits_3_then_waits_for_it(conn, cli, target):
    """Ingest holds MAINTENANCE shared (ingest-file is not in the tree yet: a shared holder
    stands in for it); purge needs it exclusively."""
    rd.build(conn, START, 24 * 30)
    before = rd.fingerprint(conn)
    with locks.advisory_lock(target, locks.MAINTENANCE, what="ingest", shared=True):
        r = cli("purge", "--before", CUTOFF, "--yes")
        assert r.exit_code == 3
        assert "another moltctl run holds the maintenance lock" in r.stderr
        assert rd.fingerprint(conn) == before
        r = cli("create-partition")
        assert r.exit_code == 3

    release = threading.Event()

    def hold():
        with locks.advisory_lock(target, locks.MAINTENANCE, what="ingest", shared=True):
            release.set()
            time.sleep(0.8)

    t = threading.Thread(target=hold)
    t.start()
    release.wait(5)
    started = time.monotonic()
    r = cli("purge", "--before", CUTOFF, "--yes", "--lock-timeout", "20")
    waited = time.monotonic() - started
    t.join()
    assert r.exit_code == 0, r.stderr
    assert waited >= 0.5
    assert scalar(conn, "SELECT min(fetched_at) FROM posts") == EFFECTIVE


def _per_snapshot(conn) -> dict:
    counts: dict = {}
    for t in rd.CONTENT_TABLES:
        for sid, n in conn.execute(f"SELECT snapshot_id, count(*) FROM {t} GROUP BY 1"):
            counts.setdefault(sid, {})[t] = n
    return counts


def test_killed_purge_leaves_a_consistent_db_and_a_rerun_finishes(pg_admin, dsn, cli):
    """kill -9 in the middle of the boundary month; then re-run; same end state as one run."""
    start = dt.datetime(2026, 2, 20, tzinfo=UTC)
    cutoff = dt.datetime(2026, 3, 20, tzinfo=UTC)  # February dropped, March 1-19 in batches
    with psycopg.connect(dsn, autocommit=True) as c:
        rd.build(c, start, 24 * 33)
        full = _per_snapshot(c)
        kept = rd.kept_fingerprint(c, cutoff)
        n_snapshots = scalar(c, "SELECT count(*) FROM snapshots")
        feb = scalar(c, "SELECT count(*) FROM snapshots WHERE created_at < '2026-03-01Z'")
    clone = f"{_db(dsn)}_clone"
    admin_exec(pg_admin, f'CREATE DATABASE "{clone}" TEMPLATE "{_db(dsn)}"')
    try:
        args = ["purge", "--before", cutoff.isoformat(), "--batch-size", "20", "--yes"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "moltctl", "--dsn", dsn, "--quiet", *args, "--pause", "0.01"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "NO_COLOR": "1"},
        )
        with psycopg.connect(dsn, autocommit=True) as c:
            deadline = time.monotonic() + 60
            # wait until February is gone and part of March: then kill
            while scalar(c, "SELECT count(*) FROM snapshots") > n_snapshots - feb - 60:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
            # the server ends the dead client's session (and rolls back its open step)
            while scalar(
                c, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'moltctl%%'"
            ):
                time.sleep(0.05)

            # consistent: every old snapshot left is complete, or an anchor of kept versions
            now = _per_snapshot(c)
            old = c.execute(
                "SELECT s.id, EXISTS (SELECT 1 FROM agents a WHERE a.snapshot_id = s.id) "
                "OR EXISTS (SELECT 1 FROM submolts m WHERE m.snapshot_id = s.id) "
                "FROM snapshots s WHERE s.created_at < %s",
                (cutoff,),
            ).fetchall()
            complete = [sid for sid, anchor in old if not anchor]
            assert complete, "killed too late: nothing left half-way"
            for sid in complete:
                assert now.get(sid) == full[sid]
            assert len(old) < n_snapshots - scalar(
                c, "SELECT count(*) FROM snapshots WHERE created_at >= %s", (cutoff,)
            )
            assert rd.kept_fingerprint(c, cutoff) == kept

        r = cli("purge", "--before", cutoff.isoformat(), "--yes")
        assert r.exit_code == 0, r.stderr
        r = cli("purge", "--before", cutoff.isoformat(), "--yes", dsn_override=with_db(dsn, clone))
        assert r.exit_code == 0, r.stderr
        with (
            psycopg.connect(dsn) as a,
            psycopg.connect(with_db(dsn, clone)) as b,
        ):
            assert rd.fingerprint(a) == rd.fingerprint(b)
            assert rd.kept_fingerprint(a, cutoff) == kept
            parts = "SELECT count(*) FROM pg_class WHERE relname LIKE '%%p2026_02'"
            assert scalar(a, parts) == scalar(b, parts) == 0
    finally:
        admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{clone}" WITH (FORCE)')


def _db(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return conninfo_to_dict(dsn)["dbname"]


def test_days_option(conn, cli):
    now = scalar(conn, "SELECT date_trunc('hour', now())")
    rd.build(conn, now - dt.timedelta(days=3), 24 * 3)
    r = cli("purge", "--days", "1.5", "-f", "json")
    assert r.exit_code == 0, r.stderr
    first = scalar(conn, "SELECT min(fetched_at) FROM posts")
    assert now - dt.timedelta(days=1.5, hours=1) <= first <= now - dt.timedelta(days=1.5)


def _table_counts(dsn: str) -> dict:
    with psycopg.connect(dsn) as c:
        counts = {t: scalar(c, f"SELECT count(*) FROM {t}") for t in rd.ALL_TABLES}
        counts["run_ids"] = [r[0] for r in c.execute("SELECT run_id FROM snapshots ORDER BY 1")]
        return counts


def test_purge_concurrent_with_ingest(tmp_path, cli, dsn, target, pg_admin, template_db):
    """An ingest-file in progress holds MAINTENANCE (shared): purge and create-partition exit 3,
    or with --lock-timeout wait for it; the end state is that of ingest-then-purge."""
    from moltctl.ingest.load import ingest_paths
    from tests.helpers.db import create_db

    gen = cli(
        "generate", str(tmp_path), "--runs", "8", "--posts", "12", "--agents", "40",
        "--comments-per-post", "2", "--seed", "5", "--format", "bundle",
        "--start", "2026-01-30T17:00:00Z",
    )  # fmt: skip
    assert gen.exit_code == 0, gen.stderr
    paths = gen.stdout.split()
    assert len(paths) == 8
    cutoff = dt.datetime(2026, 1, 30, 19, tzinfo=UTC)
    ingest_paths(target, paths[:4])

    paused, go, done = threading.Event(), threading.Event(), []

    def progress(*_event):
        if not paused.is_set():
            paused.set()
            go.wait(30)

    ingest = threading.Thread(
        target=lambda: done.append(ingest_paths(target, paths[4:], progress=progress))
    )
    ingest.start()
    try:
        assert paused.wait(30), "ingest never started loading"
        r = cli("purge", "--before", cutoff.isoformat(), "--yes")
        assert r.exit_code == 3 and "holds the maintenance lock" in r.stderr
        assert cli("create-partition").exit_code == 3
        waited = []
        purge = threading.Thread(
            target=lambda: waited.append(
                cli("purge", "--before", cutoff.isoformat(), "--yes", "--lock-timeout", "30")
            )
        )
        purge.start()
        time.sleep(0.5)
        assert purge.is_alive()  # waiting for the ingest, not interleaving with it
    finally:
        go.set()
        ingest.join(60)
    purge.join(60)
    assert done and len(done[0].snapshots) == 4
    assert waited and waited[0].exit_code == 0, waited[0].stderr

    # the same as ingesting everything first and purging afterwards
    ref = with_db(pg_admin, create_db(pg_admin, template_db))
    try:
        ingest_paths(resolve(ref), paths)
        r = cli("purge", "--before", cutoff.isoformat(), "--yes", dsn_override=ref)
        assert r.exit_code == 0, r.stderr
        assert _table_counts(dsn) == _table_counts(ref)
        with psycopg.connect(dsn) as c:
            # the window starts at the last run at or before the cutoff: run 2 stays, run 1 goes
            eff = scalar(
                c, "SELECT max(created_at) FROM snapshots WHERE created_at <= %s", (cutoff,)
            )
            assert scalar(c, "SELECT count(*) FROM posts WHERE fetched_at < %s", (eff,)) == 0
            assert scalar(c, "SELECT count(DISTINCT snapshot_id) FROM posts") == 7
    finally:
        admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{_db(ref)}" WITH (FORCE)')


def test_refused_without_schema_or_with_pending_migration(cli, empty_dsn):
    runs = (("--days", "90", "--yes"), ("--before", CUTOFF, "--dry-run"))
    for args in runs:
        assert_refused_empty(cli("purge", *args, dsn_override=empty_dsn))
    assert public_relations(empty_dsn) == []
    migrate_to(empty_dsn, "002")
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        rd.build(c, START, 24 * 30)
        before = rd.fingerprint(c), partitions.existing(c)
    for args in (("--before", CUTOFF, "--yes"),) + runs:
        assert_refused_at_002(cli("purge", *args, dsn_override=empty_dsn))
    with psycopg.connect(empty_dsn) as c:
        assert (rd.fingerprint(c), partitions.existing(c)) == before


def test_ctrl_c_at_the_question_exits_130(conn, dsn):
    """On a real terminal (a pty): Ctrl-C at purge's question removes nothing, exit 130."""
    import pty
    import select

    rd.build(conn, START, 24 * 30)
    before = rd.fingerprint(conn)
    pid, fd = pty.fork()
    if pid == 0:  # the child: moltctl on the pty
        faults.sigint_default()
        os.execv(sys.executable, [sys.executable, "-m", "moltctl", "--dsn", dsn, "purge",
                                  "--before", CUTOFF])  # fmt: skip
    out = b""
    deadline = time.monotonic() + 60
    try:
        while b"remove everything before" not in out:
            assert time.monotonic() < deadline, out
            if select.select([fd], [], [], 1)[0]:
                out += os.read(fd, 4096)
        os.write(fd, b"\x03")  # Ctrl-C: the terminal sends SIGINT
        while True:
            assert time.monotonic() < deadline, out
            if not select.select([fd], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the pty
                break
            if not chunk:
                break
            out += chunk
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 130, out
    text = out.decode()
    assert "interrupted at the question: nothing removed" in text and "Traceback" not in text
    assert "Aborted" not in text
    assert rd.fingerprint(conn) == before


def test_days_must_be_a_sane_number_checked_before_connecting(cli, conn):
    """Issue 9 item 7: nan, inf and huge --days are usage errors (exit 2), like --days -5,
    found before any connection is made or any server started."""
    unreachable = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    for days in ("nan", "inf", "-inf", "1e9", "3000000", "-5", "36501"):
        for dsn in (None, unreachable):
            r = cli("purge", "--days", days, "--yes", dsn_override=dsn)
            assert r.exit_code == 2, (days, r.stderr)
            line = r.stderr.strip().splitlines()[0]
            assert line.startswith("error: --days must be a number of days from 0 to 36500"), line
            assert "Traceback" not in r.stderr
    r = cli("purge", "--days", "36500", "--yes")
    assert r.exit_code == 0, r.stderr


# ---------------------------------------------------------------- messages (issue 11 item 9)


def test_summary_names_the_cutoff_and_the_window_start_separately(conn, cli):
    rd.build(conn, START, 24 * 30)
    r = cli("purge", "--before", CUTOFF, "--yes")
    assert r.exit_code == 0, r.stderr
    summary = r.stderr.strip().splitlines()[0]
    assert summary.startswith("removed ") and "before the cutoff 2026-02-10 05:30:00+00:00;" in (
        summary
    ), summary
    assert (
        "the kept window starts at snapshot 20260210T050000Z (2026-02-10 05:00:00+00:00)" in summary
    ), summary
    r = cli("purge", "--before", CUTOFF, "--dry-run")
    assert "would remove 0 row(s) before the cutoff 2026-02-10 05:30:00+00:00;" in r.stderr


def test_before_without_a_zone_is_utc(conn, cli):
    rd.build(conn, START, 24 * 30)
    r = cli("purge", "--before", "2026-02-10T05:30:00", "--dry-run", "-f", "json")
    assert r.exit_code == 0, r.stderr
    z = cli("purge", "--before", CUTOFF, "--dry-run", "-f", "json")
    assert r.stdout == z.stdout and r.stderr == z.stderr


def test_days_0_asks_on_a_terminal_and_needs_yes_otherwise(conn, cli, monkeypatch):
    import moltctl.cli.cmd_purge as cmd

    now = scalar(conn, "SELECT date_trunc('hour', now())")
    rd.build(conn, now - dt.timedelta(days=2), 24)
    before = rd.fingerprint(conn)
    r = cli("purge", "--days", "0")  # not a terminal: refused without --yes
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith("error: --days 0 removes every snapshot but the latest")
    assert "--yes" in r.stderr
    assert rd.fingerprint(conn) == before
    assert cli("purge", "--days", "0", "--dry-run").exit_code == 0  # a dry run removes nothing
    monkeypatch.setattr(cmd, "stdin_is_terminal", lambda: True)
    r = cli("purge", "--days", "0", input="n\n")
    assert r.exit_code == 1 and "cancelled: nothing removed" in r.stderr
    assert rd.fingerprint(conn) == before
    r = cli("purge", "--days", "0", "--yes")
    assert r.exit_code == 0, r.stderr
    assert scalar(conn, "SELECT count(DISTINCT snapshot_id) FROM posts") == 1


def test_nothing_is_called_dropped_before_it_is(conn, cli, monkeypatch):
    import moltctl.cli.cmd_purge as cmd

    rd.build(conn, START, 24 * 30)
    for args in (("--dry-run",), ("--dry-run", "--detach"), ("--dry-run", "-f", "json")):
        r = cli("purge", "--before", CUTOFF, *args)
        assert r.exit_code == 0, r.stderr
        assert "dropped" not in r.stdout + r.stderr and "detached" not in r.stdout + r.stderr
        assert "posts_p2026_01" in r.stderr or "partitions_to_" in r.stdout
    monkeypatch.setattr(cmd, "stdin_is_terminal", lambda: True)
    r = cli("purge", "--before", CUTOFF, input="n\n")
    assert r.exit_code == 1
    assert "dropped" not in r.stdout + r.stderr, r.stderr
    assert "partitions to drop: " in r.stderr
    assert "posts_p2026_01" in partitions.existing(conn)
