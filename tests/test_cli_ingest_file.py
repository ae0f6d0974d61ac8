"""moltctl ingest-file: bad input, warnings, idempotence, --replace, concurrency, kill -9."""

from __future__ import annotations

import json
import os
import signal
import time

import psycopg
import pytest

from tests.helpers import faults
from tests.helpers.db import NO_SHARED, REAL_RUN, migrate_to, public_relations
from tests.helpers.ingest import (
    agent,
    assert_invariants,
    data_counts,
    post,
    rows,
    write_bundle,
    write_json,
)
from tests.helpers.refusals import assert_refused_at_002, assert_refused_empty

RUN = "20260130T100000Z"


def _nothing_loaded(conn) -> None:
    assert all(v == 0 for v in data_counts(conn).values()), data_counts(conn)
    assert rows(conn, "SELECT count(*) FROM snapshots WHERE status <> 'failed'") == [(0,)]


def _error_line(result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _bundle_with(tmp_path, *lines: str, name="b.ndjson"):
    head = json.dumps({"type": "snapshot", "run_id": RUN})
    path = tmp_path / name
    path.write_text("\n".join([head, *lines]) + "\n")
    return path


def test_loads_real_run_and_summarises(cli, conn):
    if not REAL_RUN.is_dir():
        pytest.skip(NO_SHARED)
    r = cli("ingest-file", str(REAL_RUN))
    assert r.exit_code == 0, r.stderr
    summary = r.stderr.strip().splitlines()[-1]
    assert summary.startswith("ingest-file: 1 snapshot(s) loaded")
    assert "posts 10" in summary and "comments 8" in summary and "warning(s)" in summary
    assert r.stdout == ""
    # already loaded: a no-op that says so
    again = cli("ingest-file", str(REAL_RUN))
    assert again.exit_code == 0
    assert "already loaded" in again.stderr
    assert rows(conn, "SELECT count(*) FROM posts") == [(10,)]
    quiet = cli("ingest-file", "--quiet", str(REAL_RUN))
    assert quiet.exit_code == 0 and quiet.stderr == ""


@pytest.mark.parametrize(
    ("lines", "expect"),
    [
        (["this is not json"], ["b.ndjson: line 2", "not valid JSON"]),
        (['{"type": "post", "id": "p1", "title": "tru'], ["line 2", "not valid JSON"]),
        (['{"type": "post", "title": "no id"}'], ["line 2", "record without its id", "'id'"]),
        (
            [json.dumps(post("p1", "a1", upvotes="12"))],
            ["line 2", "field 'upvotes'", "expected an integer", "string"],
        ),
        (
            [json.dumps({"type": "agent", "id": "a1", "karma": 2**40})],
            ["line 2", "field 'karma'", "out of range"],
        ),
        (
            [json.dumps(post("p1", "a1", created_at="yesterday at noon"))],
            ["line 2", "field 'created_at'", "does not parse"],
        ),
        (
            [json.dumps({"type": "comment", "id": "c1", "post_id": "p1", "replies": {}})],
            ["line 2", "field 'replies'", "expected a list", "object"],
        ),
        (
            [json.dumps(post("p1", "a1", author={"id": "a1", "follower_count": [1]}))],
            ["line 2", "field 'author.follower_count'", "expected an integer"],
        ),
        (['{"id": "p1"}'], ["line 2", "field 'type'"]),
    ],
)
def test_bad_bundle_records(tmp_path, cli, conn, lines, expect):
    # a valid record first: nothing of the run may be loaded when a later one is bad
    path = _bundle_with(tmp_path, json.dumps(agent("a0", name="ok")), *lines)
    expect = [e.replace("line 2", "line 3") for e in expect]
    line = _error_line(cli("ingest-file", str(path)))
    for part in expect:
        assert part in line, line
    assert str(path) in line
    _nothing_loaded(conn)


def test_failed_ingest_records_failure_and_rerun_completes(tmp_path, cli, conn):
    path = _bundle_with(tmp_path, json.dumps(agent("a1", name="x")), "{not json")
    _error_line(cli("ingest-file", str(path)))
    status, message = rows(conn, "SELECT status, error_message FROM snapshots")[0]
    assert status == "failed" and "line 3" in message
    _nothing_loaded(conn)
    path = _bundle_with(tmp_path, json.dumps(agent("a1", name="x")))
    r = cli("ingest-file", str(path))
    assert r.exit_code == 0, r.stderr
    assert rows(conn, "SELECT status, error_message FROM snapshots") == [("completed", None)]


def test_bad_run_directories(tmp_path, cli, conn):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "empty directory" in _error_line(cli("ingest-file", str(empty)))
    unrelated = tmp_path / "unrelated"
    (unrelated / "docs").mkdir(parents=True)
    (unrelated / "notes.txt").write_text("hello")
    assert "not a run directory" in _error_line(cli("ingest-file", str(unrelated)))
    missing = _error_line(cli("ingest-file", str(tmp_path / "nope")))
    assert "no such file" in missing
    bad_id = tmp_path / "not-a-time"
    write_json(bad_id / "raw" / "posts_list.json", [])
    line = _error_line(cli("ingest-file", str(bad_id)))
    assert "'not-a-time' is not a time" in line
    truncated = tmp_path / RUN
    (truncated / "raw").mkdir(parents=True)
    (truncated / "raw" / "posts_list.json").write_text('{"posts": [{"id": "p1", "tit')
    line = _error_line(cli("ingest-file", str(truncated)))
    assert "posts_list.json" in line and "not valid JSON" in line
    (truncated / "raw" / "posts_list.json").write_text('{"posts": {"id": "p1"}}')
    line = _error_line(cli("ingest-file", str(truncated)))
    assert "field 'posts': expected a list, got object" in line
    (truncated / "raw" / "posts_list.json").write_text('{"posts": [{"title": "x"}]}')
    line = _error_line(cli("ingest-file", str(truncated)))
    assert "posts[0]" in line and "record without its id" in line
    empty_bundle = tmp_path / "e.ndjson"
    empty_bundle.write_text("")
    assert "empty bundle" in _error_line(cli("ingest-file", str(empty_bundle)))
    _nothing_loaded(conn)


def _hazard_bundle(tmp_path):
    return write_bundle(
        tmp_path / "h.ndjson",
        RUN,
        [
            agent("a1", name="al\u0000ice", description="bio \ud83e\udd8a fox"),
            post("p1", "a1", title="lone \ud800 surrogate", created_at="2026-01-30T09:00:00"),
            {
                "type": "post_evaluation",
                "post_id": "p1",
                "model": "m",
                "scores": {"harm_enablement": {"score": 1, "confidence": "NAN_HERE"}},
            },
        ],
    )


def test_warnings_clean_and_count_and_strict_refuses(tmp_path, cli, conn):
    path = _hazard_bundle(tmp_path)
    # json.dumps writes "\ud800" escapes and cannot write NaN: patch the bytes
    path.write_bytes(path.read_bytes().replace(b'"NAN_HERE"', b"NaN"))
    strict = cli("ingest-file", "--strict", str(path))
    line = _error_line(strict)
    assert "h.ndjson: line 2" in line and "refused by --strict" in line
    _nothing_loaded(conn)

    r = cli("ingest-file", str(path))
    assert r.exit_code == 0, r.stderr
    assert "1 NUL characters removed" in r.stderr
    assert "1 lone surrogates replaced" in r.stderr
    assert "1 NaN/Infinity replaced by null" in r.stderr
    assert "1 timestamps without a zone read as UTC" in r.stderr
    assert "4 warning(s)" in r.stderr.splitlines()[-1]
    assert rows(conn, "SELECT handle, bio FROM agents") == [("alice", "bio \U0001f98a fox")]
    title, created = rows(conn, "SELECT title, created_at_source::text FROM posts")[0]
    assert title == "lone \ufffd surrogate" and created == "2026-01-30 09:00:00+00"
    assert rows(
        conn, "SELECT scores -> 'harm_enablement' ->> 'confidence' FROM post_evaluations"
    ) == [(None,)]


def test_replace_reloads(tmp_path, cli, conn):
    path = write_bundle(tmp_path / "r.ndjson", RUN, [agent("a1", name="x"), post("p1", "a1")])
    assert cli("ingest-file", str(path)).exit_code == 0
    write_bundle(
        tmp_path / "r.ndjson", RUN, [agent("a1", name="y"), post("p1", "a1"), post("p2", "a1")]
    )
    skipped = cli("ingest-file", str(path))
    assert skipped.exit_code == 0 and "already loaded" in skipped.stderr
    assert rows(conn, "SELECT count(*) FROM posts") == [(1,)]
    r = cli("ingest-file", "--replace", str(path))
    assert r.exit_code == 0 and "replaced" in r.stderr
    assert rows(conn, "SELECT count(*) FROM posts") == [(2,)]
    assert rows(conn, "SELECT handle FROM agents") == [("y",)]
    assert rows(conn, "SELECT count(*) FROM snapshots") == [(1,)]
    assert_invariants(conn)


def _spawn(dsn, *args):
    return faults.spawn(dsn, "ingest-file", *args)


@pytest.fixture(scope="module")
def medium_bundle(tmp_path_factory):
    from moltctl.synth import generate_runs

    infos = []
    out = tmp_path_factory.mktemp("medium")
    (path,) = generate_runs(
        out,
        runs=1,
        agents=1500,
        posts=600,
        comments_per_post=10,
        seed=3,
        fmt="bundle",
        on_run=infos.append,
    )
    return path, infos[0]


def test_concurrent_ingest_of_one_run(dsn, conn, medium_bundle):
    path, info = medium_bundle
    procs = [_spawn(dsn, str(path)) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    said = sorted("already loaded (use --replace" in err for _out, err in outs)
    assert said == [False, True], outs
    assert rows(conn, "SELECT count(*), min(status) FROM snapshots") == [(1, "completed")]
    assert rows(conn, "SELECT count(*) FROM posts") == [(info.posts,)]
    assert_invariants(conn)


def test_kill_9_mid_load_leaves_nothing_and_rerun_completes(dsn, conn, medium_bundle):
    path, info = medium_bundle
    proc = _spawn(dsn, str(path))
    deadline = time.monotonic() + 60
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        busy = rows(
            conn,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'moltctl ingest' AND query ILIKE 'COPY%%'",
        )[0][0]
        if busy:
            seen = True
            break
        time.sleep(0.01)
    if not seen:
        proc.kill()
        pytest.skip("the load finished before it could be interrupted")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # the server notices the dead client and rolls its transaction back
    deadline = time.monotonic() + 30
    while rows(
        conn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'moltctl ingest'"
    )[0][0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    _nothing_loaded(conn)
    assert rows(conn, "SELECT count(*) FROM snapshots") == [(0,)]
    again = _spawn(dsn, str(path))
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert rows(conn, "SELECT status, posts_fetched FROM snapshots") == [("completed", info.posts)]
    counts = data_counts(conn)
    assert counts["posts"] == info.posts
    assert counts["comments"] == info.comments
    assert counts["post_evaluations"] == info.post_evaluations
    assert counts["comment_evaluations"] == info.comment_evaluations
    assert_invariants(conn)


def test_waits_for_maintenance_lock_then_exit_3(tmp_path, cli, conn, target):
    from moltctl import locks

    path = write_bundle(tmp_path / "l.ndjson", RUN, [agent("a1", name="x")])
    with locks.advisory_lock(target, locks.MAINTENANCE, what="purge"):
        r = cli("ingest-file", "--lock-timeout", "0.2", str(path))
    assert r.exit_code == 3, r.stderr
    assert "maintenance lock" in r.stderr
    _nothing_loaded(conn)
    assert cli("ingest-file", str(path)).exit_code == 0


def test_refused_without_schema_or_with_pending_migration(tmp_path, cli, empty_dsn):
    """One refusal per command (not per file) before anything is written, not even a failed
    snapshot row; after moltctl migrate the same command loads."""
    paths = [
        str(write_bundle(tmp_path / "a.ndjson", RUN, [agent("a1", name="x"), post("p1", "a1")])),
        str(write_bundle(tmp_path / "b.ndjson", "20260130T110000Z", [post("p2", "a1")])),
    ]
    assert_refused_empty(cli("ingest-file", *paths, dsn_override=empty_dsn))
    assert public_relations(empty_dsn) == []
    migrate_to(empty_dsn, "002")
    assert_refused_at_002(cli("ingest-file", *paths, dsn_override=empty_dsn))
    with psycopg.connect(empty_dsn) as c:
        assert rows(c, "SELECT count(*) FROM snapshots") == [(0,)]
        assert all(v == 0 for v in data_counts(c).values()), data_counts(c)
    assert cli("migrate", dsn_override=empty_dsn).exit_code == 0
    r = cli("ingest-file", *paths, dsn_override=empty_dsn)
    assert r.exit_code == 0, r.stderr
    with psycopg.connect(empty_dsn) as c:
        assert rows(c, "SELECT count(*) FROM snapshots WHERE status = 'completed'") == [(2,)]


def test_one_failing_run_of_several_says_what_is_loaded(tmp_path, cli, conn):
    runs = ["20260130T100000Z", "20260130T110000Z", "20260130T120000Z"]
    paths = [
        write_bundle(tmp_path / f"{r}.ndjson", r, [agent("a1", name="x"), post(f"p{i}", "a1")])
        for i, r in enumerate(runs)
    ]
    paths[1].write_text(paths[1].read_text() + "{not json\n")
    r = cli("ingest-file", *map(str, paths))
    line = _error_line(r)
    assert "not valid JSON" in line
    lines = r.stderr.strip().splitlines()
    assert lines[-1] == line  # the error last, after what is loaded and what is not
    assert lines[-4:-1] == [
        f"loaded: run 1 ({runs[0]})",
        f"rolled back: run 2 of 3 ({runs[1]}; nothing of it is loaded)",
        "not started: run 3 of 3 (the same command again loads them)",
    ]
    assert rows(conn, "SELECT run_id, status FROM snapshots ORDER BY 1") == [
        (runs[0], "completed"),
        (runs[1], "failed"),
    ]
    # the same with --quiet: the error and what it left are still said (cron mails them)
    quiet = cli("--quiet", "ingest-file", *map(str, paths))
    assert quiet.stderr.splitlines()[:3] == [
        f"loaded: run 1 ({runs[0]})",
        f"rolled back: run 2 of 3 ({runs[1]}; nothing of it is loaded)",
        "not started: run 3 of 3 (the same command again loads them)",
    ]
    assert quiet.stderr.count("\n") == 4  # and the error
    # with --replace, the replaced copy of the failing run stays
    replaced = cli("ingest-file", "--replace", *map(str, paths))
    assert f"rolled back: run 2 of 3 ({runs[1]}; nothing of it is loaded)" in replaced.stderr
    assert "not started: run 3 of 3\n" in replaced.stderr


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    from moltctl.synth import generate_runs

    out = tmp_path_factory.mktemp("three")
    return generate_runs(
        out, runs=3, agents=1500, posts=600, comments_per_post=10, seed=4, fmt="bundle"
    )


def test_ctrl_c_says_which_runs_are_loaded_and_which_was_rolled_back(dsn, conn, three_runs):
    first, second, _third = (p.name.split(".")[0] for p in three_runs)
    proc = _spawn(dsn, *map(str, three_runs))
    # the first run's line comes when it is committed; then wait for the second's COPY
    line = proc.stderr.readline()
    assert line.startswith(f"{first}: loaded"), line
    deadline = time.monotonic() + 60
    while not rows(
        conn,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = 'moltctl ingest' AND query ILIKE 'COPY%%'",
    )[0][0]:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.skip("the second run finished before it could be interrupted")
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1] == "error: interrupted"
    assert lines[-4:-1] == [
        f"loaded: run 1 ({first})",
        f"rolled back: run 2 of 3 ({second}; nothing of it is loaded)",
        "not started: run 3 of 3 (the same command again loads them)",
    ]
    # run 1 committed; run 2 rolled back, not recorded as failed (an interrupt is no error)
    assert rows(conn, "SELECT run_id, status FROM snapshots") == [(first, "completed")]
    assert_invariants(conn)


@pytest.mark.parametrize("table", ["posts", "agents", "agent_score_history"])
def test_a_step_failing_in_the_database_is_one_line_naming_the_run(tmp_path, cli, conn, table):
    # a statement of a load step (posts merge, SCD2, score history) fails in the server: the
    # user gets the run and the database's reason, the run is recorded as failed, no traceback
    conn.execute(
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN RAISE EXCEPTION 'boom from a trigger'; END$$"
    )
    conn.execute(
        f"CREATE TRIGGER boom BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION boom()"
    )
    bundle = write_bundle(
        tmp_path / "r.ndjson",
        "20260130T100000Z",
        [
            agent("a1", name="x"),
            post("p1", "a1"),
            {"type": "post_evaluation", "post_id": "p1", "scores": {"d": {"score": 3}}},
        ],
    )
    r = cli("ingest-file", str(bundle))
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert r.stderr.splitlines()[0] == (
        f"error: {bundle}: run 20260130T100000Z: database error: boom from a trigger"
    )
    assert "Traceback" not in r.stderr
    assert conn.execute("SELECT status, error_message FROM snapshots").fetchall() == [
        ("failed", f"{bundle}: run 20260130T100000Z: database error: boom from a trigger")
    ]
