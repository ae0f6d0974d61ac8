"""ingest core: real run, layouts, dialects, bundles, merging, score history."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from moltctl.ingest import discover, ingest_paths
from tests.helpers.db import NO_SHARED, REAL_RUN
from tests.helpers.ingest import (
    agent,
    assert_invariants,
    data_counts,
    post,
    rows,
    write_bundle,
    write_json,
)

T0 = dt.datetime(2026, 1, 30, 17, 1, 18, tzinfo=dt.UTC)


def test_real_run_loads_with_exact_counts(target, conn):
    if not REAL_RUN.is_dir():
        pytest.skip(NO_SHARED)
    result = ingest_paths(target, [REAL_RUN])
    snap = result.snapshots[0]
    assert snap.status == "loaded"
    # counted independently from the files
    posts = json.loads((REAL_RUN / "raw" / "posts_list.json").read_text())["posts"]
    details = [json.loads(p.read_text()) for p in (REAL_RUN / "raw").glob("post_*.json")]

    def walk(cs):
        for c in cs:
            yield c
            yield from walk(c.get("replies") or [])

    comments = [c for d in details for c in walk(d["comments"])]
    authors = {p["author"]["id"] for p in posts} | {c["author"]["id"] for c in comments}
    evals = (REAL_RUN / "gold" / "evals.jsonl").read_text().splitlines()
    assert (len(posts), len(comments), len(evals)) == (10, 8, 10)
    got = data_counts(conn)
    assert got["posts"] == 10
    assert got["comments"] == 8
    assert got["post_evaluations"] == 10
    assert got["comment_evaluations"] == 0
    assert got["agents"] == len(authors)
    assert rows(conn, "SELECT count(DISTINCT external_id) FROM agents")[0][0] == len(authors)
    (run_id, created, status, pf, cf, af, stats) = rows(
        conn,
        "SELECT run_id, created_at, status, posts_fetched, comments_fetched, agents_fetched, "
        "site_stats FROM snapshots",
    )[0]
    assert (run_id, created, status) == ("20260130T170118Z", T0, "completed")
    assert (pf, cf, af) == (10, 8, len(authors))
    assert stats["avg_comments_per_post"] == pytest.approx(0.8)
    assert "avg_karma_per_agent" in stats
    # rows carry the snapshot's time, not the wall clock
    assert rows(conn, "SELECT DISTINCT fetched_at FROM posts") == [(T0,)]
    assert rows(conn, "SELECT DISTINCT evaluated_at FROM post_evaluations") == [(T0,)]
    assert rows(conn, "SELECT DISTINCT recorded_at FROM agent_score_history") == [(T0,)]
    # monthly partitions got the rows (not the default partition)
    assert rows(conn, "SELECT count(*) FROM posts_p2026_01")[0][0] == 10
    # the detail's full author profile merged over the list's {id, name}
    bio, owner = rows(conn, "SELECT bio, owner_info FROM agents WHERE handle = 'logistician'")[0]
    assert bio.startswith("An AI operations advisor") and owner["x_handle"] == "burnratecc"
    # every evaluated post's author has a history row
    assert rows(conn, "SELECT count(*) FROM agent_score_history")[0][0] == len(
        {p["author"]["id"] for p in posts}
    )
    assert_invariants(conn)


def test_layout_a_and_b_and_directory_of_runs(tmp_path, target, conn):
    # layout A: envelope list + post_<id>.json details with comment trees
    a = tmp_path / "runs" / "20260130T100000Z"
    write_json(a / "raw" / "posts_list.json", {"success": True, "posts": [post("p1", "a1")]})
    detail = {
        "post": post("p1", "a1", author={"id": "a1", "name": "alice", "karma": 5}),
        "comments": [
            {
                "id": "c1",
                "content": "top",
                "upvotes": 3,
                "downvotes": 1,
                "author": {"id": "a2", "name": "bob"},
                "replies": [
                    {
                        "id": "c2",
                        "content": "reply",
                        "author": {"id": "a1", "name": "alice"},
                        "replies": [{"id": "c3", "content": "deep", "replies": []}],
                    }
                ],
            }
        ],
    }
    write_json(a / "raw" / "post_p1.json", detail)
    # layout B: extracted dialect, flat comments, meta/snapshot.json, comment evals
    b = tmp_path / "runs" / "20260130T110000Z"
    write_json(
        b / "raw" / "posts_list.json",
        [
            {
                "post_external_id": "p1",
                "title": "t",
                "body_text": "x",
                "upvotes": 4,
                "downvotes": 1,
                "comment_count": 1,
                "created_at": "2026-01-30T10:00:00Z",
                "author_external_id": "a1",
                "author_handle": "alice",
                "submolt_external_id": "s1",
                "submolt_slug": "general",
                "permalink": "https://x/p1",
            }
        ],
    )
    write_json(
        b / "raw" / "agents_list.json",
        {"agents": [{"agent_external_id": "a1", "handle": "alice", "bio": "hi", "karma": 9}]},
    )
    write_json(b / "raw" / "submolts_list.json", [{"id": "s1", "name": "general"}])
    write_json(
        b / "raw" / "all_comments.json",
        [
            {
                "comment_external_id": "c9",
                "post_external_id": "p1",
                "parent_comment_external_id": None,
                "body_text": "flat",
                "upvotes": 2,
                "downvotes": 0,
                "author_external_id": "a3",
                "author_handle": "carol",
                "author_karma": 1,
            }
        ],
    )
    write_json(b / "meta" / "snapshot.json", {"run_id": "20260130T110000Z", "posts": 1})
    (b / "gold").mkdir()
    (b / "gold" / "comment_evals.jsonl").write_text(
        json.dumps(
            {
                "comment_id": "c9",
                "post_id": "p1",
                "author": "carol",
                "model": "m",
                "result": {"scores": {"harm_enablement": {"score": 8}}, "notes": "n"},
            }
        )
        + "\n"
    )
    result = ingest_paths(target, [tmp_path / "runs"])
    assert [s.run_id for s in result.snapshots] == ["20260130T100000Z", "20260130T110000Z"]
    tree = rows(
        conn,
        "SELECT external_id, parent_comment_id, author_id, score FROM comments c "
        "JOIN snapshots s ON s.id = c.snapshot_id WHERE s.run_id = '20260130T100000Z' "
        "ORDER BY external_id",
    )
    assert tree == [("c1", None, "a2", 2), ("c2", "c1", "a1", None), ("c3", "c2", None, None)]
    p = rows(
        conn,
        "SELECT score, permalink, author_id, submolt_id FROM posts p "
        "JOIN snapshots s ON s.id = p.snapshot_id WHERE s.run_id = '20260130T110000Z'",
    )
    assert p == [(3, "https://x/p1", "a1", "s1")]
    ce = rows(conn, "SELECT comment_id, author_handle, scores, notes FROM comment_evaluations")
    assert ce == [("c9", "carol", {"harm_enablement": {"score": 8}}, "n")]
    hist = rows(
        conn,
        "SELECT agent_id, agent_handle, comments_evaluated, has_high_harm FROM agent_score_history",
    )
    assert hist == [("a3", "carol", 1, True)]
    # alice: karma 5 (run A) -> 9 with a bio (run B): two versions
    assert rows(
        conn, "SELECT karma, bio FROM agents WHERE external_id = 'a1' ORDER BY valid_from"
    ) == [(5, None), (9, "hi")]
    assert_invariants(conn)


def test_bundle_gz_and_created_at(tmp_path, target, conn):
    path = write_bundle(
        tmp_path / "x.ndjson.gz",
        "nightly-1",
        [agent("a1", name="alice"), post("p1", "a1"), {"type": "transcript", "x": 1}],
        created_at="2026-02-03T04:05:06+00:00",
        site_stats={"avg_karma_per_agent": 42.5, "total_agents": 7},
    )
    result = ingest_paths(target, [path])
    assert result.snapshots[0].rows["posts"] == 1
    created, stats = rows(conn, "SELECT created_at, site_stats FROM snapshots")[0]
    assert created == dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    assert stats["avg_karma_per_agent"] == 42.5 and stats["total_agents"] == 7
    assert stats["avg_comments_per_post"] == 0


def test_observations_merge_per_field_and_unknown_never_erases(tmp_path, target, conn):
    recs = [
        # list observation: handle and karma
        agent("a1", name="alice", karma=10),
        # comment author observation: follower_count only (plus handle)
        {
            "type": "comment",
            "id": "c1",
            "post_id": "p1",
            "author": {"id": "a1", "name": "alice", "follower_count": 3},
        },
        # post list author: nothing but id/name
        post("p1", "a1"),
    ]
    ingest_paths(target, [write_bundle(tmp_path / "1.ndjson", "20260130T100000Z", recs)])
    assert rows(conn, "SELECT handle, karma, follower_count, bio FROM agents") == [
        ("alice", 10, 3, None)
    ]
    # the next run only sees alice as a comment author with a new follower count
    recs2 = [
        {
            "type": "comment",
            "id": "c2",
            "post_id": "p1",
            "author": {"id": "a1", "name": "alice", "follower_count": 4},
        },
    ]
    ingest_paths(target, [write_bundle(tmp_path / "2.ndjson", "20260130T110000Z", recs2)])
    assert rows(
        conn, "SELECT karma, follower_count, is_current FROM agents ORDER BY valid_from"
    ) == [(10, 3, False), (10, 4, True)]
    # a third run that sees nothing new writes no version
    ingest_paths(target, [write_bundle(tmp_path / "3.ndjson", "20260130T120000Z", recs2)])
    assert rows(conn, "SELECT count(*) FROM agents")[0][0] == 2
    assert_invariants(conn)


def test_detail_observation_wins_over_list(tmp_path, target, conn):
    recs = [
        post("p1", "a1", author={"id": "a1", "name": "alice", "karma": 1}),
        {
            "type": "post",
            "id": "p1",
            "upvotes": 7,
            "downvotes": 2,
            "author": {"id": "a1", "name": "alice", "karma": 2},
        },
    ]
    ingest_paths(target, [write_bundle(tmp_path / "1.ndjson", "20260130T100000Z", recs)])
    # same rank: the first observation wins per field; posts: one row per snapshot
    assert rows(conn, "SELECT upvotes, score FROM posts") == [(1, 1)]
    assert rows(conn, "SELECT karma FROM agents") == [(1,)]


def test_score_history_matches_hand_computed(tmp_path, target, conn):
    def ev(post_id, **scores):
        return {
            "type": "post_evaluation",
            "post_id": post_id,
            "model": "judge",
            "scores": {k: {"score": v, "confidence": 1} for k, v in scores.items()},
        }

    recs = [
        agent("a1", name="alice"),
        agent("a2", name="bob"),
        post("p1", "a1"),
        post("p2", "a1"),
        post("p3", "a2"),
        {"type": "comment", "id": "c1", "post_id": "p3", "author": {"id": "a1", "name": "alice"}},
        ev("p1", harm_enablement=2, deception_or_evasion=8, manipulation=7),
        ev("p2", harm_enablement=4, deception_or_evasion=0, novel_dimension=3),
        {
            "type": "comment_evaluation",
            "comment_id": "c1",
            "post_id": "p3",
            "author": "alice",
            "model": "judge",
            "result": {"scores": {"harm_enablement": {"score": 6}, "bad": {"score": "high"}}},
        },
        ev("p3", harm_enablement=0, delusional_sycophancy=0),
    ]
    ingest_paths(target, [write_bundle(tmp_path / "1.ndjson", "20260130T100000Z", recs)])
    got = {
        r[0]: r[1:]
        for r in rows(
            conn,
            "SELECT agent_id, agent_handle, posts_evaluated, comments_evaluated, "
            "total_items_evaluated, dimension_scores, overall_mean_score, highest_dimension, "
            "highest_dimension_score, has_high_harm, has_high_deception, "
            "has_high_manipulation, has_high_sycophancy FROM agent_score_history",
        )
    }
    # alice: harm 2, 4, 6 -> mean 4 max 6 min 2; deception 8, 0 -> mean 4, high 1;
    # manipulation 7 (high); novel_dimension 3; "bad" has no numeric score: left out
    handle, pe, ce, total, ds, overall, top, top_score, harm, dec, man, syc = got["a1"]
    assert (handle, pe, ce, total) == ("alice", 2, 1, 3)
    assert ds["harm_enablement"] == {
        "mean_score": 4,
        "max_score": 6,
        "min_score": 2,
        "count": 3,
        "high_count": 0,
    }
    assert ds["deception_or_evasion"]["mean_score"] == 4
    assert ds["deception_or_evasion"]["high_count"] == 1
    assert ds["manipulation"]["high_count"] == 1
    assert set(ds) == {"harm_enablement", "deception_or_evasion", "manipulation", "novel_dimension"}
    assert overall == pytest.approx((4 + 4 + 7 + 3) / 4)
    assert (top, top_score) == ("manipulation", 7)
    assert (harm, dec, man, syc) == (False, True, True, False)
    # bob: all zero -> no highest dimension
    handle, pe, ce, total, ds, overall, top, top_score, *flags = got["a2"]
    assert (handle, pe, ce, overall, top, top_score) == ("bob", 1, 0, 0, None, 0)
    assert not any(flags)


def test_discover_orders_by_run_time(tmp_path):
    b = write_bundle(tmp_path / "b.ndjson", "20260130T120000Z", [])
    a = write_bundle(tmp_path / "a.ndjson", "20260130T110000Z", [])
    assert [s.path for s in discover([b, a])] == [a, b]


def test_progress_reports_every_phase_of_every_run(tmp_path, target, conn):
    """Each run reports its phases in order; reading counts uncompressed bytes and rows."""
    import gzip

    from moltctl.ingest.progress import PHASES

    big = write_bundle(
        tmp_path / "big.ndjson.gz", "20260130T100000Z", [post(f"p{i}", "a1") for i in range(5000)]
    )
    small = write_bundle(tmp_path / "small.ndjson", "20260130T110000Z", [post("q", "a1")])
    events = []
    ingest_paths(target, [small, big], progress=events.append)

    assert {(e.run, e.runs, e.run_id) for e in events} == {
        (1, 2, "20260130T100000Z"),
        (2, 2, "20260130T110000Z"),
    }
    for run in (1, 2):
        phases = [e.phase for e in events if e.run == run]
        steps = list(dict.fromkeys(phases))  # reading reports several times
        assert steps == [p for p in PHASES if p not in ("replace", "rolled_back")], steps
    done = [e for e in events if e.phase == "done"]
    assert [d.result.run_id for d in done] == ["20260130T100000Z", "20260130T110000Z"]
    reads = [e for e in events if e.run == 1 and e.phase == "read"]
    unzipped = len(gzip.decompress(big.read_bytes()))
    assert reads[-1].done == reads[-1].total == unzipped > big.stat().st_size
    assert reads[-1].rows >= 5000 + 1  # posts and the author
    after = [e for e in events if e.run == 1 and e.phase == "commit"][0]
    assert after.done == unzipped and after.rows == reads[-1].rows


def test_replace_reports_removal_first(tmp_path, target):
    path = write_bundle(tmp_path / "r.ndjson", "20260130T100000Z", [post("p", "a1")])
    ingest_paths(target, [path])
    events = []
    ingest_paths(target, [path], replace=True, progress=events.append)
    assert [e.phase for e in events][:3] == ["start", "replace", "read"]


def test_failing_run_reports_rolled_back(tmp_path, target, conn):
    from moltctl.ingest import InputError

    good = write_bundle(tmp_path / "a.ndjson", "20260130T100000Z", [post("p", "a1")])
    bad = write_bundle(tmp_path / "b.ndjson", "20260130T110000Z", [post("q", "a1")])
    bad.write_text(bad.read_text() + "{not json\n")
    events = []
    with pytest.raises(InputError):
        ingest_paths(target, [good, bad], progress=events.append)
    assert [(e.run, e.phase) for e in events if e.phase in ("done", "rolled_back")] == [
        (1, "done"),
        (2, "rolled_back"),
    ]


def test_truncated_gzip_bundle_is_an_input_error(tmp_path, target, conn):
    from moltctl.ingest import InputError

    path = write_bundle(
        tmp_path / "t.ndjson.gz", "20260130T100000Z", [post(f"p{i}", "a1") for i in range(3000)]
    )
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match=r"t\.ndjson\.gz: line \d+: cannot read"):
        ingest_paths(target, [path])
    assert data_counts(conn)["posts"] == 0


def test_evaluation_permalink_fills_the_post_and_makes_no_post(tmp_path, target, conn):
    evaluation = {"type": "post_evaluation", "model": "m", "scores": {}}
    path = write_bundle(
        tmp_path / "x.ndjson",
        "20260130T120000Z",
        [
            agent("a1", name="alice"),
            post("p1", "a1"),  # no permalink in the post record
            post("p2", "a1", permalink="https://site/p2"),
            {**evaluation, "post_id": "p1", "permalink": "https://site/p1"},
            {**evaluation, "post_id": "p2", "permalink": "https://other/p2"},
            {**evaluation, "post_id": "p9", "permalink": "https://site/p9"},  # not in the run
        ],
    )
    ingest_paths(target, [path])
    # the evaluation's link fills a post that has none; the post's own link wins
    assert rows(conn, "SELECT external_id, permalink FROM posts ORDER BY 1") == [
        ("p1", "https://site/p1"),
        ("p2", "https://site/p2"),
    ]
    assert rows(conn, "SELECT posts_fetched FROM snapshots") == [(2,)]
    assert rows(conn, "SELECT count(*) FROM post_evaluations") == [(3,)]
    assert_invariants(conn)


def test_real_run_posts_get_the_evaluations_permalinks(target, conn):
    if not REAL_RUN.is_dir():
        pytest.skip("shared data absent (../shared/data/runs, see tests/helpers/db.py REAL_RUN)")
    ingest_paths(target, [REAL_RUN])
    links = {}
    for line in (REAL_RUN / "gold" / "evals.jsonl").read_text().splitlines():
        e = json.loads(line)
        links[e["post_id"]] = e["permalink"]
    assert dict(rows(conn, "SELECT external_id, permalink FROM posts")) == links
