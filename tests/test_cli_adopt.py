"""moltctl adopt on the command line, and every command on an adopted database."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import psycopg

from moltctl import queries
from tests.helpers import adoptdata as ad
from tests.helpers.db import latest_version, scalar

UTC = dt.UTC
SPEC_MESSAGE = "run moltctl adopt"


def _spec_db(dsn, **kw):
    ad.build(dsn, ad.fixture_statements())
    ad.load_naive(dsn, **kw)


def test_dry_run_prints_the_plan_on_stdout_and_changes_nothing(empty_dsn, cli):
    _spec_db(empty_dsn, violations=True)
    before_cat, before = ad.catalog(empty_dsn), ad.contents(empty_dsn)
    r = cli("adopt", "--dry-run", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert out.startswith("Found a schema built from the spec:\n")
    assert "  posts: 13 row(s)" in out
    assert "SCD2 violations (4, refused without --repair):" in out
    assert "agents a-viol-1: two current versions" in out
    assert "9. monthly partitions: posts, comments" in out
    assert "Will rewrite 58 row(s) in place and attach 58 row(s)" in out
    assert ad.catalog(empty_dsn) == before_cat
    assert ad.contents(empty_dsn) == before


def test_init_and_migrate_say_run_adopt(empty_dsn, cli):
    _spec_db(empty_dsn)
    before = ad.catalog(empty_dsn)
    for args in (("init",), ("migrate",), ("migrate", "--dry-run"), ("query", "leaderboard")):
        r = cli(*args, dsn_override=empty_dsn)
        assert r.exit_code == 1, (args, r.stderr)
        first = r.stderr.splitlines()[0]
        assert first.startswith("error: the database holds the spec's tables") and first.endswith(
            SPEC_MESSAGE
        ), first
        assert "Traceback" not in r.stderr and r.stdout == ""
    r = cli("status", dsn_override=empty_dsn)
    assert r.exit_code == 0
    assert "warning: the database was built from the spec by hand: run moltctl adopt" in r.stderr
    assert ad.catalog(empty_dsn) == before


def test_needs_yes_off_a_terminal_and_asks_on_one(empty_dsn, cli, monkeypatch):
    _spec_db(empty_dsn)
    before = ad.catalog(empty_dsn)
    r = cli("adopt", dsn_override=empty_dsn)
    assert r.exit_code == 2
    assert "pass --yes" in r.stderr and r.stdout == ""
    monkeypatch.setattr("moltctl.cli.cmd_adopt.stdin_is_terminal", lambda: True)
    r = cli("adopt", dsn_override=empty_dsn, input="n\n")
    assert r.exit_code == 1
    assert "Will rewrite" in r.stderr and "adopt this database now?" in r.stderr
    assert "cancelled: nothing changed" in r.stderr
    assert ad.catalog(empty_dsn) == before
    r = cli("adopt", dsn_override=empty_dsn, input="y\n")
    assert r.exit_code == 0, r.stderr
    assert f"adopted: schema version {latest_version()}" in r.stderr


def test_violations_refused_then_repaired(empty_dsn, cli):
    _spec_db(empty_dsn, violations=True)
    r = cli("adopt", "--yes", dsn_override=empty_dsn)
    assert r.exit_code == 1
    assert r.stderr.startswith("error: 4 SCD2 violation(s), nothing changed: agents a-viol-1")
    r = cli("adopt", "--yes", "--repair", "nonsense", dsn_override=empty_dsn)
    assert r.exit_code == 2
    r = cli("adopt", "--yes", "--repair", "chain", "--format", "json", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    # two JSON documents on stdout: the checks, then the changed values
    checks, changes = (json.loads(line) for line in r.stdout.strip().splitlines())
    assert [c["table"] for c in checks] == list(ad.TABLES)
    assert all(c["same"] and c["checksum_before"] == c["checksum_after"] for c in checks)
    assert {(c["table_name"], c["column_name"], c["rows"]) for c in changes} >= {
        ("agents", "valid_to", 4),
        ("posts", "fetched_at", 12),
    }
    assert "[2/8] agents: 4 SCD2 violation(s) repaired" in r.stderr


def _bundle(path, run_time: dt.datetime, agents: list[dict]) -> str:
    lines = [{"type": "snapshot", "run_id": f"{run_time:%Y%m%dT%H%M%SZ}"}]
    lines += [{"type": "agent", **a} for a in agents]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return str(path)


def _versions(dsn, ext):
    with psycopg.connect(dsn) as c:
        return c.execute(
            "SELECT valid_from, valid_to, handle, karma, bio FROM agents WHERE external_id = %s "
            "ORDER BY valid_from",
            (ext,),
        ).fetchall()


def test_every_command_works_after_adoption(empty_dsn, cli, tmp_path):
    _spec_db(empty_dsn)
    r = cli("adopt", "--yes", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    for args in (("migrate",), ("init",)):
        r = cli(*args, dsn_override=empty_dsn)
        assert r.exit_code == 0 and "nothing to" in r.stderr, r.stderr

    def at(hours: float) -> dt.datetime:
        return ad.T0 + dt.timedelta(hours=hours)

    # an older run (before everything, and between two loaded runs) and a newer one, by hand:
    # they must land where loading every run in time order would have put them
    older = _bundle(tmp_path / "older.ndjson", at(-1), [{"id": "a-1", "name": "alpha", "karma": 9}])
    between = _bundle(
        tmp_path / "between.ndjson", at(2.5), [{"id": "a-1", "name": "alpha", "karma": 20}]
    )
    newer = _bundle(tmp_path / "newer.ndjson", at(5), [{"id": "a-2", "name": "beta", "karma": 6}])
    r = cli("ingest-file", newer, older, between, dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    bio = "bio of alpha"
    assert _versions(empty_dsn, "a-1") == [
        (at(-1), at(0), "alpha", 9, None),  # nothing was known of the bio before
        (at(0), at(1), "alpha", 10, bio),
        (at(1), at(2.5), "alpha", 11, bio),
        (at(2.5), at(3), "alpha", 20, bio),
        (at(3), None, "alpha-renamed", 12, "bio of alpha-renamed"),  # spliced back as it was
    ]
    assert _versions(empty_dsn, "a-2") == [
        (at(0), at(5), "beta", 5, "bio of beta"),
        (at(5), None, "beta", 6, "bio of beta"),
    ]

    # generated runs, newer and older than the adopted data
    for start, runs in (("2026-01-10T20:00:00Z", "2"), ("2026-01-09T00:00:00Z", "1")):
        out = tmp_path / f"gen-{start[:10]}-{runs}"
        r = cli(
            "generate", str(out), "--runs", runs, "--posts", "6", "--agents", "20", "--start", start
        )
        assert r.exit_code == 0, r.stderr
        r = cli("ingest-file", *r.stdout.split(), dsn_override=empty_dsn)
        assert r.exit_code == 0, r.stderr
    r = cli("refresh-views", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    required = {
        "agent-at": ["--agent", "alpha", "--at", at(2).isoformat()],
        "agent-history": ["--agent", "alpha"],
    }
    for name in queries.discover():
        r = cli("query", name, *required.get(name, []), "--format", "json", dsn_override=empty_dsn)
        assert r.exit_code == 0, (name, r.stderr)
        rows = json.loads(r.stdout)
        if name in ("agent-at", "leaderboard", "latest-snapshot", "agent-history"):
            assert rows, name
    r = cli("query", "agent-at", *required["agent-at"], "--format", "json", dsn_override=empty_dsn)
    assert [row["karma"] for row in json.loads(r.stdout)] == [11]
    r = cli("create-partition", "--month", "2027-06", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    with psycopg.connect(empty_dsn) as c:
        before_purge = scalar(c, "SELECT count(*) FROM posts")
        old_posts = scalar(c, "SELECT count(*) FROM posts WHERE fetched_at < %s", (at(2),))
    r = cli("purge", "--before", at(2).isoformat(), "--yes", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT count(*) FROM posts") == before_purge - old_posts
        assert scalar(c, "SELECT min(fetched_at) FROM posts") == at(2)
    r = cli("status", dsn_override=empty_dsn)
    assert r.exit_code == 0 and latest_version() in r.stdout


def test_kill_9_mid_way_leaves_it_adoptable(pg_admin, empty_dsn, cli):
    """kill -9 while adopt converts the big tables; then adopt again: nothing lost."""
    _spec_db(empty_dsn)
    answers = ad.agent_at(
        empty_dsn, ("alpha", "beta"), [ad.T0 + dt.timedelta(hours=h) for h in range(5)]
    )
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        # enough comments that their step takes a while: the kill lands inside it
        c.execute(
            "INSERT INTO comments (snapshot_id, external_id, post_id, content) "
            "SELECT s.id, 'bulk-' || i, 'p-0', repeat('x', 200) "
            "FROM generate_series(1, 60000) i, (SELECT id FROM snapshots LIMIT 1) s"
        )
    before = ad.contents(empty_dsn)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moltctl", "--dsn", empty_dsn, "adopt", "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
        text=True,
    )
    seen = ""
    while "[4/8] posts: " not in seen or "unchanged" not in seen.splitlines()[-1]:
        line = proc.stderr.readline()
        assert line, (proc.poll(), seen)
        seen += line
    os.kill(proc.pid, signal.SIGKILL)  # posts committed; comments' step has just begun
    proc.wait()
    proc.stderr.close()
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        while scalar(
            c, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'moltctl%%'"
        ):
            time.sleep(0.05)
        # posts was converted and committed; comments (killed in its step) is as it was
        assert scalar(c, "SELECT relkind FROM pg_class WHERE relname = 'posts'") == "p"
        assert scalar(c, "SELECT relkind FROM pg_class WHERE relname = 'comments'") == "r"
        assert scalar(c, "SELECT to_regclass('moltctl_migrations') IS NULL")
    # half-way, init and migrate still point at adopt; the dry-run sees what is done
    r = cli("migrate", dsn_override=empty_dsn)
    assert r.exit_code == 1 and SPEC_MESSAGE in r.stderr
    r = cli("adopt", "--dry-run", dsn_override=empty_dsn)
    assert r.exit_code == 0 and "already converted by an interrupted adopt" in r.stdout
    r = cli("adopt", "--yes", dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    assert "[4/8] posts: done in an earlier run" in r.stderr
    assert ad.original_contents(empty_dsn) == before
    assert (
        ad.agent_at(empty_dsn, ("alpha", "beta"), [ad.T0 + dt.timedelta(hours=h) for h in range(5)])
        == answers
    )
