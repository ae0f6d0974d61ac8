"""agent_score_history computed in Python while the rows stream (moltctl.ingest.history): the
same rows as the SQL aggregation over the staged rows (``CopySink.HISTORY = False``).

Every test loads the same input both ways, each into an empty database (or onto the same
earlier snapshots), and compares every column of every row (surrogate ids aside).
"""

from __future__ import annotations

import json

import pytest

from moltctl.ingest import ingest_paths
from moltctl.ingest.load import CopySink
from tests.helpers.db import NO_SHARED, REAL_RUN
from tests.helpers.ingest import agent, post, rows, write_bundle, write_json

RESET = "DELETE FROM agents; DELETE FROM submolts; DELETE FROM snapshots"


def _history(conn) -> dict[str, tuple]:
    cols = [
        r[0]
        for r in rows(
            conn,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'agent_score_history' AND column_name NOT IN ('id', "
            "'snapshot_id') ORDER BY ordinal_position",
        )
    ]
    latest = "(SELECT id FROM snapshots ORDER BY created_at DESC LIMIT 1)"
    got = rows(
        conn, f"SELECT {', '.join(cols)} FROM agent_score_history WHERE snapshot_id = {latest}"
    )
    return {r[cols.index("agent_id")]: dict(zip(cols, r, strict=True)) for r in got}


def _both_ways(target, conn, monkeypatch, paths, before=()):
    """agent_score_history loaded in Python, then in SQL (after ``before`` each time)."""
    out = []
    for python in (True, False):
        conn.execute(RESET)
        monkeypatch.setattr(CopySink, "HISTORY", True)
        for p in before:
            ingest_paths(target, [p])
        monkeypatch.setattr(CopySink, "HISTORY", python)
        res = ingest_paths(target, paths)
        out.append((_history(conn), res.rows["agent_score_history"]))
    (py, n_py), (sql, n_sql) = out
    assert n_py == n_sql == len(py)
    return py, sql


def _close(a, b) -> bool:
    """Equal, floats to the last bits (nested dicts: the score documents too)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float | int):
        return a == pytest.approx(b, rel=1e-12)
    return a == b


def _same(py: dict, sql: dict) -> bool:
    """Every column equal; overall_mean_score (a sum of means, which the SQL adds in its hash
    table's order and Python rounds once) to the last bits."""

    def split(rows):
        return (
            {a: {k: v for k, v in r.items() if k != "overall_mean_score"} for a, r in rows.items()},
            {a: r["overall_mean_score"] for a, r in rows.items()},
        )

    (p_rest, p_overall), (s_rest, s_overall) = split(py), split(sql)
    return p_rest == s_rest and _close(p_overall, s_overall)


def _ev(post_id, **scores):
    return {
        "type": "post_evaluation",
        "post_id": post_id,
        "model": "judge",
        "scores": {k: {"score": v} for k, v in scores.items()},
    }


def _cev(comment_id, author, **scores):
    return {
        "type": "comment_evaluation",
        "comment_id": comment_id,
        "post_id": "p1",
        "author": author,
        "model": "judge",
        "scores": {k: {"score": v} for k, v in scores.items()},
    }


def _comment(cid, by=None, **fields):
    c = {"type": "comment", "id": cid, "post_id": "p1", "content": cid, **fields}
    if by is not None:
        c["author"] = {"id": by, "name": f"h_{by}"}
    return c


def test_the_cases_the_sql_resolves(tmp_path, target, conn, monkeypatch):
    recs = [
        agent("a1", name="alice"),
        agent("a2", name="twin"),
        agent("a0", name="twin"),  # two agents, one handle: the first by the database's order
        agent("a3"),  # no handle in this run
        agent("a4", name=""),  # an empty handle is a handle
        post("p1", "a1"),
        post("p2", "a2"),
        {"type": "post", "id": "p2", "author": {"id": "a3"}},  # same rank, later: loses
        post("p3", "a3"),
        {"type": "post", "id": "p3", "author_id": "a9"},  # same rank, later: loses
        _comment("c1", "a1"),
        _comment("c2"),  # no author: the evaluation's handle
        _comment("c3", "a4"),
        _ev("p1", harm_enablement=2, manipulation=7.5, Zeta=3, alpha=3),  # a tie of means
        _ev("p1", harm_enablement=4.25, manipulation=-1),
        _ev("p2", deception_or_evasion=9, novel=0),
        _ev("p3", harm_enablement=0, delusional_sycophancy=0),  # all zero: no highest
        _ev("p4", harm_enablement=8),  # only known by an evaluation: no post, no agent
        {**_ev("p5", harm_enablement=8), "permalink": "https://x/p5"},  # a permalink alone
        _cev("c1", "twin", harm_enablement=7),  # the comment's author wins over the handle
        _cev("c2", "twin", harm_enablement=6.5, manipulation=2**40),
        _cev("c3", "alice", manipulation=1),
        _cev("c9", "", harm_enablement=1),  # no such comment: the empty handle's agent
        _cev("c8", "nobody", harm_enablement=1),  # no comment, no agent: left out
        _cev("c7", None, harm_enablement=1),
        {"type": "comment_evaluation", "comment_id": "c1", "post_id": "p1", "model": "m"},
    ]
    bundle = write_bundle(tmp_path / "1.ndjson", "20260130T100000Z", recs)
    py, sql = _both_ways(target, conn, monkeypatch, [bundle])
    assert _same(py, sql)
    assert set(py) == {"a0", "a1", "a2", "a3", "a4"}
    assert py["a1"]["highest_dimension"] == "harm_enablement"  # c1 counts: a1 wrote it
    assert py["a0"]["comments_evaluated"] == 1  # c2 by handle "twin": a0 before a2


def test_a_later_snapshot_and_handles_from_the_current_version(tmp_path, target, conn, monkeypatch):
    first = write_bundle(
        tmp_path / "1.ndjson",
        "20260130T100000Z",
        [agent("a1", name="alice"), agent("a2", name=""), post("p0", "a1")],
    )
    recs = [
        {"type": "post", "id": "p1", "title": "t", "author_id": "a1"},  # no author object
        {"type": "post", "id": "p2", "title": "t", "author_id": "a2"},  # current handle ''
        _ev("p1", harm_enablement=3, manipulation=3),
        _ev("p2", harm_enablement=3),
    ]
    second = write_bundle(tmp_path / "2.ndjson", "20260130T110000Z", recs)
    py, sql = _both_ways(target, conn, monkeypatch, [second], before=[first])
    assert _same(py, sql)
    assert py["a1"]["agent_handle"] == "alice" and py["a2"]["agent_handle"] == "a2"


def test_run_directory_authors_known_only_from_the_flat_list(tmp_path, target, conn, monkeypatch):
    """Layout B: the evaluations are read before all_comments.json, which alone knows some
    comments and some authors: they count, as in the SQL."""
    run = tmp_path / "20260130T100000Z"
    write_json(run / "raw" / "posts_list.json", {"posts": [post("p1", "a1")]})
    tree = [{"id": "c1", "content": "x", "author": {"id": "a1", "name": "h_a1"}}]
    write_json(run / "raw" / "post_p1.json", {"post": post("p1", "a1"), "comments": tree})
    flat = [
        {"id": "c1", "post_id": "p1", "author": {"id": "a2", "name": "h_a2"}},  # loses: rank
        {"id": "c2", "post_id": "p1", "author": {"id": "a2", "name": "h_a2"}},
    ]
    write_json(run / "raw" / "all_comments.json", {"comments": flat})
    evals = [_cev("c1", "h_a2", harm_enablement=5), _cev("c2", "h_a1", harm_enablement=8)]
    gold = run / "gold"
    gold.mkdir(parents=True)
    (gold / "comment_evals.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evals))
    py, sql = _both_ways(target, conn, monkeypatch, [run])
    assert _same(py, sql)
    assert py["a1"]["comments_evaluated"] == 1 and py["a2"]["comments_evaluated"] == 1


def test_scores_whose_sums_round(tmp_path, target, conn, monkeypatch):
    """Non-dyadic scores: the SQL sums in its plan's order, so the means agree to rounding."""
    recs = [
        post("p1", "a1"),
        *(_ev("p1", harm_enablement=v, manipulation=v / 3) for v in (0.1, 0.2, 0.7, 7.3)),
    ]
    py, sql = _both_ways(
        target, conn, monkeypatch, [write_bundle(tmp_path / "1.ndjson", "20260130T100000Z", recs)]
    )
    assert _close(py, sql)


@pytest.mark.parametrize("fmt", ["bundle", "dir"])
def test_a_generated_run(tmp_path, target, conn, monkeypatch, fmt):
    from moltctl.synth import generate_runs

    kw = {"agents": 60, "posts": 40, "comments_per_post": 4, "seed": 11, "fmt": fmt}
    first, second = generate_runs(tmp_path / "runs", runs=2, **kw)
    py, sql = _both_ways(target, conn, monkeypatch, [second], before=[first])
    assert _same(py, sql)
    assert len(py) > 20


@pytest.mark.skipif(not REAL_RUN.is_dir(), reason=NO_SHARED)
def test_the_real_run(target, conn, monkeypatch):
    py, sql = _both_ways(target, conn, monkeypatch, [REAL_RUN])
    assert py and _close(py, sql)
