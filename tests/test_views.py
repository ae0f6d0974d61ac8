"""moltctl.views: refresh (full first, then incremental; ANALYZE, bookkeeping, failures, lock),
the rank, and dimensions as data (a dimension added by a migration shows up after
refresh-views). The incremental results themselves: test_views_incremental.py."""

from __future__ import annotations

import psycopg
import pytest

from moltctl import locks, queries, schema, views
from moltctl.connection import resolve
from moltctl.errors import LockedError, MoltError, UsageError
from tests.helpers import querydata as qd
from tests.helpers.db import scalar


def _methods(results):
    return {r.view: r.method for r in results}


def test_first_refresh_is_full_then_incremental(conn, target):
    ds = qd.load(conn)  # written behind moltctl's back: no change logged
    results = views.refresh(target)
    assert [r.view for r in results] == list(views.VIEWS)
    assert _methods(results) == dict.fromkeys(views.VIEWS, "full")
    rows = {r.view: r.rows for r in results}
    assert rows["hourly_growth"] == len(qd.expected_growth(ds))
    assert rows["agent_leaderboard"] == len(
        qd.expected_leaderboard(ds, qd.DIMS4 + [("manipulation", "manipulation")])
    )
    assert rows["dimension_trends"] == len(
        qd.expected_trends(ds, [n for n, _ in qd.DIMS4] + ["manipulation"])
    )
    recorded = {
        r[0]: (r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT view_name, row_count, duration_ms, method FROM moltctl_view_refreshes"
        ).fetchall()
    }
    assert {k: v[0] for k, v in recorded.items()} == rows
    assert all(v[1] > 0 and v[2] == "full" for v in recorded.values())
    # a full refresh ANALYZEs: the planner has statistics for the tables behind the views
    assert (
        scalar(conn, "SELECT count(*) FROM pg_stats WHERE tablename = 'agent_leaderboard_rows'") > 0
    )
    # nothing logged since: the next refresh is incremental and changes nothing
    again = views.refresh(target, ["hourly_growth"])
    assert _methods(again) == {"hourly_growth": "incremental"} and again[0].changes == 0
    assert again[0].rows == rows["hourly_growth"]
    assert scalar(conn, "SELECT count(*) FROM moltctl_view_refreshes") == 3
    assert _methods(views.refresh(target, full=True)) == dict.fromkeys(views.VIEWS, "full")


def _scores(conn, agents: int, score_sql: str) -> None:
    """One snapshot with a score row for agents a1..a<agents>; ``score_sql``: the mean, in g."""
    conn.execute(
        "INSERT INTO snapshots (id, run_id, created_at) VALUES "
        "('00000000-0000-0000-0000-000000000001', 'r1', '2026-01-05T00:00:00Z')"
    )
    conn.execute(
        f"""
        INSERT INTO agent_score_history (snapshot_id, agent_id, agent_handle, dimension_scores,
                                         overall_mean_score, recorded_at)
        SELECT '00000000-0000-0000-0000-000000000001', 'a' || g, 'h' || g, '{{}}',
               {score_sql}, '2026-01-05T00:00:00Z'
        FROM generate_series(1, {agents}) g
        """
    )


def test_rank_is_row_number_by_score_then_agent(conn, target):
    """The rank the view computes from its blocks is the ROW_NUMBER of the definition, with
    more rows than one block and ties on the score."""
    _scores(conn, 700, "CASE WHEN g % 10 = 0 THEN 0 ELSE (g * 7919 % 31) / 10.0 END")
    views.refresh(target)
    assert scalar(conn, "SELECT count(*) FROM agent_leaderboard_blocks") > 5
    got = conn.execute(
        "SELECT rank, agent_id FROM agent_leaderboard ORDER BY overall_mean_score DESC, agent_id"
    ).fetchall()
    want = conn.execute(
        "SELECT ROW_NUMBER() OVER (ORDER BY overall_mean_score DESC, agent_id), agent_id "
        "FROM agent_score_history WHERE overall_mean_score > 0"
    ).fetchall()
    assert got == sorted(want) and len(got) > 600


def test_rank_reads_its_block_by_index_after_vacuum_analyze(conn, target):
    """With a vacuumed table's statistics the planner guessed a ninth of the table for the rank's
    row comparison and read all of it (PostgreSQL 15: 13 s for 1,000 ranks of 100,000 agents):
    the count within a block must stay an index range."""
    _scores(conn, 20000, "(g * 7919 % 1000) / 100.0 + 0.01")
    views.refresh(target)
    conn.execute("VACUUM ANALYZE agent_leaderboard_rows")
    conn.execute("VACUUM ANALYZE agent_leaderboard_blocks")
    plan = "\n".join(
        r[0]
        for r in conn.execute(
            "EXPLAIN SELECT rank FROM agent_leaderboard WHERE agent_id = 'a12345'"
        ).fetchall()
    )
    # (PostgreSQL 15 picks a Seq Scan there, 18 a Bitmap Heap Scan of everything from the
    # block's start on)
    inner = [line for line in plan.splitlines() if "agent_leaderboard_rows y" in line]
    assert len(inner) == 1 and "Index" in inner[0] and "Bitmap" not in inner[0], plan
    got = scalar(conn, "SELECT rank FROM agent_leaderboard WHERE agent_id = 'a12345'")
    want = scalar(
        conn,
        "SELECT r FROM (SELECT agent_id, ROW_NUMBER() OVER (ORDER BY overall_mean_score DESC, "
        "agent_id) AS r FROM agent_score_history) x WHERE agent_id = 'a12345'",
    )
    assert got == want


def test_failing_view_is_reported_and_others_refresh(conn, target):
    qd.load(conn)
    # a value the view cannot cast: refreshing hourly_growth fails, the others must not
    conn.execute(
        "INSERT INTO snapshots (run_id, created_at, site_stats) VALUES "
        "('20260131T000000Z', '2026-01-31T00:00:00Z', '{\"avg_karma_per_agent\": \"lots\"}')"
    )
    results = views.refresh(target)
    by = {r.view: r for r in results}
    assert by["hourly_growth"].method == "failed"
    assert "double precision" in by["hourly_growth"].error
    assert by["agent_leaderboard"].ok and by["dimension_trends"].ok
    assert scalar(conn, "SELECT count(*) FROM moltctl_view_refreshes") == 2


def test_dimension_trends_skip_scores_of_any_other_shape(conn, target):
    """Evaluations written by hand (an adopted database): a dimension that is not an object
    with a numeric score counts for no dimension (scores that are not an object cannot be
    stored: the high-score index's jsonpath refuses them)."""
    conn.execute(
        "INSERT INTO snapshots (id, run_id, created_at) VALUES "
        "('00000000-0000-0000-0000-000000000009', 'r9', '2026-01-05T00:00:00Z')"
    )
    for i, scores in enumerate(
        [
            '{"harm_enablement": {"score": 4}}',
            '{"harm_enablement": [{"score": 5}], "deception_or_evasion": null}',
            '{"harm_enablement": 7, "deception_or_evasion": {"score": "high"}}',
            '{"deception_or_evasion": {"score": 2.5}, "not_a_dimension": {"score": 9}}',
        ]
    ):
        conn.execute(
            "INSERT INTO post_evaluations (snapshot_id, post_id, model, scores, evaluated_at) "
            "VALUES ('00000000-0000-0000-0000-000000000009', %s, 'judge', %s::jsonb, "
            "'2026-01-05T00:00:00Z')",
            (f"p{i}", scores),
        )
    assert all(r.ok for r in views.refresh(target))
    rows = conn.execute(
        "SELECT dimension, avg_score, total_count FROM dimension_trends ORDER BY dimension"
    ).fetchall()
    assert rows == [("deception_or_evasion", 2.5, 1), ("harm_enablement", 4.0, 1)]


def test_unknown_view_name(target):
    with pytest.raises(UsageError, match="unknown view 'nope'"):
        views.refresh(target, ["nope"])


def test_refresh_does_not_queue_behind_another(target):
    with (
        locks.advisory_lock(target, locks.REFRESH, what="refresh-views"),
        pytest.raises(LockedError, match="another moltctl run holds the refresh-views lock"),
    ):
        views.refresh(target)
    assert views.refresh(target)  # free again


def test_refresh_recreates_a_view_whose_definition_changed(conn, target):
    qd.load(conn)
    views.refresh(target)
    # a dimension registered by hand, as a migration would: the generated views differ now
    conn.execute(
        "INSERT INTO dimensions (name, short_name, position) VALUES ('flattery', 'flattery', 9)"
    )
    conn.execute("ALTER TABLE agent_score_history ADD COLUMN has_high_flattery BOOLEAN")
    methods = _methods(views.refresh(target))
    assert methods == {
        "hourly_growth": "incremental",
        "agent_leaderboard": "full",  # recreated and filled from the history
        # dimension_trends joins the dimensions table: rebuilt, as its dimensions changed
        "dimension_trends": "full",
    }
    cols = queries.run(target, "leaderboard", {}).columns
    assert "flattery_mean" in cols
    assert _methods(views.refresh(target))["agent_leaderboard"] == "incremental"


def test_dimension_added_by_migration(empty_dsn, cli):
    """001 only, data scored on 'manipulation' too; migrate to 002 + refresh-views: it shows in
    leaderboard, dimension-trends and high-risk, with no change to moltctl."""
    target = resolve(empty_dsn)
    schema.migrate(target, upto="001")
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        with c.transaction():
            views.sync(c)
        ds = qd.load(c)
        assert "manipulation" not in [r[0] for r in c.execute("SELECT name FROM dimensions")]
        # the data commands refuse a schema behind this moltctl (see the guard below), so the
        # state at 001 is read with the lower-level calls they are made of
        with c.transaction():
            for name in views.VIEWS:
                views.rebuild(c, name)
        columns = c.execute("SELECT * FROM agent_leaderboard LIMIT 0").description
        assert "manipulation_mean" not in [col.name for col in columns]
        trends = {r[0] for r in c.execute("SELECT DISTINCT dimension FROM dimension_trends")}
        assert trends and "manipulation" not in trends
        with pytest.raises(UsageError, match="not a registered dimension"):
            high_risk = queries.discover()["high-risk"]
            queries.resolve_refs(c, high_risk, {"dimension": "manipulation"})
    pending = r"at version 001 and \d+ migrations are pending \(002_add_manipulation_dimension, "
    with pytest.raises(MoltError, match=pending):
        views.refresh(target)
    with pytest.raises(MoltError, match="run moltctl migrate"):
        queries.run(target, "leaderboard", {})

    schema.migrate(target)
    result = cli("refresh-views", dsn_override=empty_dsn)
    assert result.exit_code == 0, result.stderr

    dims5 = [*qd.DIMS4, ("manipulation", "manipulation")]
    lb = queries.run(target, "leaderboard", {})
    assert "manipulation_mean" in lb.columns and "has_high_manipulation" not in lb.columns
    expected = {r["agent_id"]: r for r in qd.expected_leaderboard(ds, dims5)}
    for row in lb.rows:
        assert row["manipulation_mean"] == pytest.approx(
            expected[row["agent_id"]]["manipulation_mean"]
        )
    assert any(r["manipulation_mean"] is not None for r in lb.rows)
    by_dim = queries.run(target, "leaderboard", {"dimension": "manipulation"}).rows
    assert [r["agent_id"] for r in by_dim] == [
        r["agent_id"]
        for r in sorted(
            (r for r in expected.values() if r["manipulation_mean"] is not None),
            key=lambda r: (-r["manipulation_mean"], r["rank"]),
        )
    ]
    trends = queries.run(target, "dimension-trends", {"dimension": "manipulation"}).rows
    exp_trends = qd.expected_trends(ds, ["manipulation"])
    assert {(r["hour"], r["dimension"]) for r in trends} == set(exp_trends)
    hr = queries.run(target, "high-risk", {"dimension": "manipulation"}).rows
    assert [(r["kind"], r["item_id"], float(r["score"]), r["run_id"]) for r in hr] == [
        (k, i, s, run) for k, i, _, s, run in qd.expected_high_risk(ds, ["manipulation"], 7)
    ]
    assert hr
