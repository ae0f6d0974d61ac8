"""Comments straight from COPY into comments (moltctl.ingest.direct): the same rows as the merge.

Every test loads the same input twice, once with the fast path and once with every comment
staged and merged (``CopySink.DIRECT = False``, the path before it existed), and compares the
tables row for row (surrogate ids and snapshot ids aside).
"""

from __future__ import annotations

import json

import pytest

from moltctl.ingest import ingest_paths
from moltctl.ingest.direct import DIRECT, DROP, STAGE, Router
from moltctl.ingest.load import CopySink
from moltctl.ingest.staging import CommentRow
from tests.helpers.db import NO_SHARED, REAL_RUN, history_reads, settle
from tests.helpers.ingest import post, rows, write_bundle

RESET = "DELETE FROM agents; DELETE FROM submolts; DELETE FROM snapshots"
TABLES = {
    "comments": "external_id, post_id, parent_comment_id, author_id, content, upvotes, "
    "downvotes, score, created_at_source, fetched_at",
    "posts": "external_id, title, content, outbound_url, upvotes, downvotes, score, "
    "comment_count, author_id, submolt_id, permalink, created_at_source, fetched_at",
    "agent_score_history": "agent_id, agent_handle, posts_evaluated, comments_evaluated, "
    "dimension_scores, overall_mean_score, highest_dimension, highest_dimension_score",
    "agents": "external_id, handle, karma, valid_from, valid_to, is_current",
}


def _tables(conn) -> dict[str, list]:
    return {t: rows(conn, f"SELECT {c} FROM {t} ORDER BY {c}") for t, c in TABLES.items()}


def _both_ways(target, conn, monkeypatch, paths):
    """(tables, results) with the fast path, then with the merge only."""
    out = []
    for direct in (True, False):
        monkeypatch.setattr(CopySink, "DIRECT", direct)
        conn.execute(RESET)
        res = ingest_paths(target, paths)
        out.append((_tables(conn), res))
    (fast, fast_res), (merged, merged_res) = out
    assert merged_res.snapshots[0].comments_merged is None
    assert fast_res.rows == merged_res.rows
    return fast, merged, fast_res.snapshots


def _comment(cid, **fields):
    return {
        "type": "comment",
        "id": cid,
        "post_id": "p1",
        "content": f"text {cid}",
        "upvotes": 3,
        "downvotes": 1,
        "created_at": "2026-01-30T10:00:00Z",
        "author": {"id": "a1", "name": "alice"},
        **fields,
    }


def test_comments_observed_once_skip_the_merge(tmp_path, target, conn, monkeypatch):
    recs = [post("p1", "a1"), *(_comment(f"c{i}") for i in range(5))]
    recs.append(_comment("c9", score=None, upvotes=None))  # stored score unknown
    fast, merged, snaps = _both_ways(
        target, conn, monkeypatch, [write_bundle(tmp_path / "1.ndjson", "20260130T100000Z", recs)]
    )
    assert fast == merged
    assert len(fast["comments"]) == 6
    assert snaps[0].comments_merged == 0


def test_a_comment_observed_twice_with_a_change_takes_the_merge(
    tmp_path, target, conn, monkeypatch
):
    recs = [
        post("p1", "a1"),
        _comment("same"),
        _comment("same", content="other text"),  # same rank, later: loses, dropped
        _comment("more"),
        _comment("more", parent_id="c0"),  # a field the first did not know
        _comment("score"),
        _comment("score", score=2),  # the score its votes imply: nothing changes
        _comment("score2"),
        _comment("score2", score=2),  # the same score, remembered as its source ...
        _comment("score2", score=5, parent_id="c0"),  # ... and beaten by nobody: rank equal
        _comment("score3"),
        _comment("score3", score=7),  # another score: takes the merge
    ]
    fast, merged, snaps = _both_ways(
        target, conn, monkeypatch, [write_bundle(tmp_path / "1.ndjson", "20260130T100000Z", recs)]
    )
    assert fast == merged
    by_id = {r[0]: r for r in fast["comments"]}
    assert by_id["same"][4] == "text same"
    assert by_id["more"][2] == "c0"
    assert by_id["score2"][7] == 2 and by_id["score2"][2] == "c0"
    assert by_id["score3"][7] == 7
    assert snaps[0].comments_merged == 3  # more, score2, score3


def test_run_directory_detail_then_flat_list(tmp_path, target, conn, monkeypatch):
    """Layout B: a comment in its post's detail tree (no score) and in all_comments.json (the
    score): the flat copy adds nothing when its score is the detail's votes, else it merges."""
    from tests.helpers.ingest import write_json

    run = tmp_path / "20260130T100000Z"
    tree = [
        {
            "id": "c1",
            "content": "top",
            "upvotes": 4,
            "downvotes": 1,
            "created_at": "2026-01-30T09:00:00Z",
            "author": {"id": "a1", "name": "alice"},
            "replies": [
                {
                    "id": "c2",
                    "content": "reply",
                    "parent_id": "c1",
                    "upvotes": 2,
                    "downvotes": 0,
                    "author": {"id": "a2", "name": "bob"},
                }
            ],
        }
    ]
    write_json(run / "raw" / "posts_list.json", [post("p1", "a1")])
    write_json(
        run / "raw" / "posts" / "detail_p1.json", {"post": post("p1", "a1"), "comments": tree}
    )
    flat = [
        {
            "comment_external_id": "c1",
            "post_external_id": "p1",
            "body_text": "top (edited)",
            "upvotes": 4,
            "downvotes": 1,
            "score": 3,
            "author_external_id": "a1",
            "author_handle": "alice",
        },
        {
            "comment_external_id": "c2",
            "post_external_id": "p1",
            "parent_comment_external_id": "c1",
            "upvotes": 2,
            "downvotes": 0,
            "score": 9,  # not what the detail's votes imply: the merge takes it
            "created_at": "2026-01-30T09:30:00Z",  # the detail did not know it
        },
    ]
    write_json(run / "raw" / "all_comments.json", flat)
    fast, merged, snaps = _both_ways(target, conn, monkeypatch, [run])
    assert fast == merged
    by_id = {r[0]: r for r in fast["comments"]}
    assert by_id["c1"][4] == "top" and by_id["c1"][7] == 3
    assert by_id["c2"][7] == 9
    assert snaps[0].comments_merged == 1


def test_generated_runs_both_ways(tmp_path, target, conn, monkeypatch):
    from moltctl.synth import generate_runs

    for fmt in ("dir", "bundle"):
        paths = generate_runs(
            tmp_path / fmt, runs=2, agents=60, posts=20, comments_per_post=4, seed=7, fmt=fmt
        )
        fast, merged, snaps = _both_ways(target, conn, monkeypatch, paths)
        assert fast == merged
        assert len(fast["comments"]) > 100
        assert [s.comments_merged for s in snaps] == [0, 0]


@pytest.mark.skipif(not REAL_RUN.is_dir(), reason=NO_SHARED)
def test_real_run_both_ways(target, conn, monkeypatch):
    fast, merged, _ = _both_ways(target, conn, monkeypatch, [REAL_RUN])
    assert fast == merged
    assert fast["comments"]


@pytest.mark.citus
def test_both_ways_on_citus(runner, citus_dsn, tmp_path, monkeypatch):
    """On the distributed layout too: comments straight from COPY, and the dirty ones put
    back and merged (temp tables joined to the distributed comments only through IN lists)."""
    import psycopg

    from moltctl.cli import app
    from moltctl.connection import resolve

    r = runner.invoke(app, ["--dsn", citus_dsn, "init", "--shard-count", "4"])
    assert r.exit_code == 0, r.stderr
    recs = [post("p1", "a1"), _comment("c1"), _comment("c2"), _comment("c2", parent_id="c1")]
    bundle = write_bundle(tmp_path / "1.ndjson", "20260130T100000Z", recs)
    got = []
    with psycopg.connect(citus_dsn, autocommit=True) as conn:
        for direct in (True, False):
            monkeypatch.setattr(CopySink, "DIRECT", direct)
            (snap,) = ingest_paths(resolve(citus_dsn), [bundle], replace=True).snapshots
            got.append(rows(conn, f"SELECT {TABLES['comments']} FROM comments ORDER BY 1"))
            assert snap.comments_merged == (1 if direct else None)
    assert got[0] == got[1]
    assert [(c[0], c[2]) for c in got[0]] == [("c1", None), ("c2", "c1")]


def _row(ext, **fields):
    return CommentRow(ext, "p1", **fields)


def test_router_decisions():
    r = Router(CommentRow._fields)
    way, row = r.route(1, 1, _row("c", upvotes=3, downvotes=1))
    assert (way, row.score) == (DIRECT, 2)  # the score the merge would store
    assert r.route(2, 1, _row("c", upvotes=5))[0] == DROP  # same rank, later: loses
    assert r.route(3, 2, _row("c", score=2))[0] == DROP  # the stored score: changes nothing
    assert r.route(4, 0, _row("c", upvotes=3))[0] == STAGE  # lower rank wins the field
    assert r.route(5, 2, _row("c"))[0] == STAGE  # dirty: every later one is staged
    assert r.dirty == 1
    # the first observation lacked the score; the later one at (rank 2, seq 3) gave it
    assert list(r.dirty_rows()) == [("c", 1, 1, True, 3, 2)]


def test_ingest_reads_do_not_grow_with_the_history(pg_admin, template_db, tmp_path):
    """Rows one more snapshot's ingest reads from the content tables (the unload of dirty
    comments and the score history read this snapshot's rows only), as the planner chooses:
    with 6 and with 24 snapshots loaded, within 1.5x of each other. (Agents and submolts:
    test_views_incremental.py, with index paths asked for, as at this size the planner reads
    those few-page tables whole.)"""
    import datetime as dt

    import psycopg

    from moltctl.connection import resolve
    from moltctl.synth import generate_runs
    from tests.helpers.db import admin_exec, create_db, with_db

    kw = {"agents": 40, "posts": 10, "comments_per_post": 3, "fmt": "bundle", "seed": 5}
    runs = generate_runs(tmp_path, runs=25, interval=dt.timedelta(hours=1), **kw)
    # the last run observes one comment twice, changing it: the dirty path reads too
    with runs[-1].open("a") as fh:
        fh.write(json.dumps({**_comment("extra"), "post_id": _a_post(runs[-1])}) + "\n")
        fh.write(json.dumps({**_comment("extra", parent_id="x"), "post_id": _a_post(runs[-1])}))
        fh.write("\n")
    reads = {}
    for n in (6, 24):
        name = create_db(pg_admin, template_db)
        dsn = with_db(pg_admin, name)
        try:
            with psycopg.connect(dsn, autocommit=True) as c:
                ingest_paths(resolve(dsn), runs[24 - n : 24])
                settle(c)
                before = history_reads(c, "ingest", scd2=False)
                (snap,) = ingest_paths(resolve(dsn), runs[24:]).snapshots
                assert snap.comments_merged == 1
                reads[n] = history_reads(c, "ingest", scd2=False) - before
        finally:
            admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert reads[6] > 0, reads
    assert reads[24] <= 1.5 * reads[6], reads


def _a_post(bundle) -> str:
    for line in bundle.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("type") == "post":
            return rec["id"]
    raise AssertionError("no post")
