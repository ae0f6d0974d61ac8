"""SCD2 with backfill: any load order gives the time-order history, row for row."""

from __future__ import annotations

import itertools

import pytest

from moltctl.ingest import ingest_paths
from tests.helpers.ingest import (
    assert_invariants,
    data_counts,
    history,
    rows,
    write_bundle,
)

# small data: DELETE (the rest cascades from snapshots) is far cheaper than TRUNCATE of
# every partition
RESET = "DELETE FROM agents; DELETE FROM submolts; DELETE FROM snapshots"


def _load_each(target, conn, paths, check_each=True):
    for p in paths:
        ingest_paths(target, [p])
        if check_each:
            assert_invariants(conn)


def _check_all_orders(target, conn, paths):
    conn.execute(RESET)
    _load_each(target, conn, paths)
    expected = history(conn)
    counts = data_counts(conn)
    for order in itertools.permutations(paths):
        if order == tuple(paths):
            continue
        conn.execute(RESET)
        _load_each(target, conn, order, check_each=False)
        assert_invariants(conn)
        assert history(conn) == expected, [p.name for p in order]
        assert data_counts(conn) == counts
    return expected


def _comment_by(ext, cid, **author):
    return {"type": "comment", "id": cid, "post_id": "p1", "author": {"id": ext, **author}}


@pytest.fixture
def tricky_runs(tmp_path):
    """Four runs whose observations change back and forth and see different fields."""
    runs = [
        # T1: full profile
        [
            {"type": "agent", "id": "a1", "name": "alice", "description": "x", "karma": 1},
            {"type": "submolt", "id": "s1", "name": "general", "subscriber_count": 10},
        ],
        # T2: bio changes, karma unknown; b1 first seen only as a comment author
        [
            {"type": "agent", "id": "a1", "name": "alice", "description": "y"},
            _comment_by("b1", "c1", name="bob", karma=3),
            {"type": "submolt", "id": "s1", "name": "general", "subscriber_count": 12},
        ],
        # T3: bio back to x (A-B-A), b1 gets its bio; submolt unchanged since T2
        [
            {"type": "agent", "id": "a1", "name": "alice", "description": "x", "karma": 1},
            {"type": "agent", "id": "b1", "name": "bob", "description": "hello"},
            {"type": "submolt", "id": "s1", "name": "general", "subscriber_count": 12},
        ],
        # T4: only comment-author observations (karma), nothing about bios; same as T3 else
        [
            _comment_by("a1", "c2", name="alice", karma=5),
            _comment_by("b1", "c3", name="bob", karma=3),
            {"type": "submolt", "id": "s1", "name": "general", "subscriber_count": 12},
        ],
    ]
    return [
        write_bundle(tmp_path / f"r{i}.ndjson", f"20260130T1{i}0000Z", recs)
        for i, recs in enumerate(runs)
    ]


def test_tricky_runs_any_order_equals_time_order(target, conn, tricky_runs):
    agents, submolts = _check_all_orders(target, conn, tricky_runs)
    a1 = [(r[3], r[5], r[-1]) for r in agents if r[0] == "a1"]  # bio, karma, run
    assert a1 == [
        ("x", 1, "20260130T100000Z"),
        ("y", 1, "20260130T110000Z"),
        ("x", 1, "20260130T120000Z"),
        ("x", 5, "20260130T130000Z"),
    ]
    b1 = [(r[3], r[5], r[-1]) for r in agents if r[0] == "b1"]
    assert b1 == [(None, 3, "20260130T110000Z"), ("hello", 3, "20260130T120000Z")]
    s1 = [(r[4], r[-1]) for r in submolts]
    assert s1 == [(10, "20260130T100000Z"), (12, "20260130T110000Z")]


def test_generated_runs_any_order_equals_time_order(tmp_path, target, conn):
    from moltctl.synth import generate_runs

    paths = generate_runs(
        tmp_path,
        runs=3,
        agents=40,
        posts=12,
        comments_per_post=3,
        seed=11,
        fmt="bundle",
        dialect="mixed",
    )
    agents, _ = _check_all_orders(target, conn, paths)
    # the generator's profiles drift: some agents have several versions
    assert len(agents) > len({r[0] for r in agents})


def test_replace_restitches_history(tmp_path, target, conn, tricky_runs):
    _load_each(target, conn, tricky_runs)
    before = history(conn)
    counts = data_counts(conn)
    # replacing a run with the same content changes nothing
    res = ingest_paths(target, [tricky_runs[1]], replace=True)
    assert res.snapshots[0].status == "replaced"
    assert history(conn) == before and data_counts(conn) == counts
    assert_invariants(conn)
    # replacing a middle run with different content = loading that content in time order
    changed = write_bundle(
        tmp_path / "r1b.ndjson",
        "20260130T110000Z",
        [{"type": "agent", "id": "a1", "name": "alice", "description": "z", "karma": 2}],
    )
    ingest_paths(target, [changed], replace=True)
    assert_invariants(conn)
    replaced = history(conn)
    conn.execute(RESET)
    _load_each(target, conn, [tricky_runs[0], changed, tricky_runs[2], tricky_runs[3]])
    assert history(conn) == replaced
    a1 = [(r[3], r[5]) for r in replaced[0] if r[0] == "a1"]
    assert a1 == [("x", 1), ("z", 2), ("x", 1), ("x", 5)]
    # b1 was first seen in the replaced run: now it starts at T3
    assert [r[-1] for r in replaced[0] if r[0] == "b1"][0] == "20260130T120000Z"


def test_database_refuses_broken_timelines(conn, target, tricky_runs):
    import psycopg

    ingest_paths(target, tricky_runs[:1])
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO agents (snapshot_id, external_id, handle, valid_from) "
            "SELECT snapshot_id, external_id, handle, valid_from + interval '1 hour' "
            "FROM agents WHERE external_id = 'a1'"
        )
    with pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute(
            "INSERT INTO agents (snapshot_id, external_id, handle, valid_from, valid_to, "
            "is_current) SELECT snapshot_id, external_id, handle, valid_from + interval '1 hour',"
            " valid_from + interval '2 hours', false FROM agents WHERE external_id = 'a1'"
        )
    assert rows(conn, "SELECT count(*) FROM agents WHERE external_id = 'a1'") == [(1,)]
