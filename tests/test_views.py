"""moltctl.views: refresh (concurrently or plainly, ANALYZE, bookkeeping, failures, lock) and
dimensions as data (a dimension added by a migration shows up after refresh-views)."""

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


def test_refresh_all_concurrently_records_and_analyzes(conn, target):
    ds = qd.load(conn)
    assert scalar(conn, "SELECT count(*) FROM pg_stats WHERE tablename = 'agent_leaderboard'") == 0
    results = views.refresh(target)
    assert [r.view for r in results] == list(views.VIEWS)
    assert _methods(results) == dict.fromkeys(views.VIEWS, "concurrently")
    rows = {r.view: r.rows for r in results}
    assert rows["hourly_growth"] == len(qd.expected_growth(ds))
    assert rows["agent_leaderboard"] == len(
        qd.expected_leaderboard(ds, qd.DIMS4 + [("manipulation", "manipulation")])
    )
    assert rows["dimension_trends"] == len(
        qd.expected_trends(ds, [n for n, _ in qd.DIMS4] + ["manipulation"])
    )
    recorded = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT view_name, row_count, duration_ms FROM moltctl_view_refreshes"
        ).fetchall()
    }
    assert {k: v[0] for k, v in recorded.items()} == rows
    assert all(v[1] > 0 for v in recorded.values())
    # ANALYZE ran: the planner has statistics for the view
    assert scalar(conn, "SELECT count(*) FROM pg_stats WHERE tablename = 'agent_leaderboard'") > 0
    # a second refresh upserts the bookkeeping rows
    views.refresh(target, ["hourly_growth"])
    assert scalar(conn, "SELECT count(*) FROM moltctl_view_refreshes") == 3


def test_plain_where_unpopulated_or_no_unique_index(conn, target):
    qd.load(conn)
    conn.execute("REFRESH MATERIALIZED VIEW hourly_growth WITH NO DATA")
    conn.execute("DROP INDEX idx_dimension_trends_hour_dim")
    info = views.refresh_info(conn, views.VIEWS)
    assert not info["hourly_growth"]["populated"]
    assert not info["dimension_trends"]["has_unique_index"]
    assert info["agent_leaderboard"]["populated"] and info["agent_leaderboard"]["has_unique_index"]
    assert _methods(views.refresh(target)) == {
        "hourly_growth": "plain",
        "agent_leaderboard": "concurrently",
        "dimension_trends": "plain",
    }
    # populated now: concurrently from here on
    assert _methods(views.refresh(target, ["hourly_growth"])) == {"hourly_growth": "concurrently"}


def test_unique_index_with_where_or_expression_does_not_count(conn):
    conn.execute(
        "CREATE MATERIALIZED VIEW mv_x AS SELECT g AS a, g % 3 AS b FROM generate_series(1, 5) g"
    )
    conn.execute("CREATE UNIQUE INDEX mv_x_expr ON mv_x ((a + 1))")
    conn.execute("CREATE UNIQUE INDEX mv_x_part ON mv_x (a) WHERE b = 1")
    assert not views.refresh_info(conn, ["mv_x"])["mv_x"]["has_unique_index"]
    conn.execute("CREATE UNIQUE INDEX mv_x_plain ON mv_x (a, b)")
    assert views.refresh_info(conn, ["mv_x"])["mv_x"]["has_unique_index"]


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


def test_refresh_order_follows_dependencies(conn):
    conn.execute("CREATE MATERIALIZED VIEW mv_a AS SELECT 1 AS x")
    conn.execute("CREATE MATERIALIZED VIEW mv_b AS SELECT x FROM mv_a")
    conn.execute("CREATE MATERIALIZED VIEW mv_c AS SELECT x FROM mv_b")
    assert views.refresh_order(conn, ["mv_c", "mv_b", "mv_a"]) == ["mv_a", "mv_b", "mv_c"]
    assert views.refresh_order(conn, list(reversed(views.VIEWS))) == list(views.VIEWS)


def test_refresh_recreates_a_view_whose_definition_changed(conn, target):
    qd.load(conn)
    # a dimension registered by hand, as a migration would: the generated views differ now
    conn.execute(
        "INSERT INTO dimensions (name, short_name, position) VALUES ('flattery', 'flattery', 9)"
    )
    conn.execute("ALTER TABLE agent_score_history ADD COLUMN has_high_flattery BOOLEAN")
    methods = _methods(views.refresh(target))
    assert methods == {
        "hourly_growth": "concurrently",
        "agent_leaderboard": "recreated",
        # dimension_trends joins the dimensions table: its definition does not change
        "dimension_trends": "concurrently",
    }
    cols = queries.run(target, "leaderboard", {}).columns
    assert "flattery_mean" in cols
    assert _methods(views.refresh(target))["agent_leaderboard"] == "concurrently"


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
        assert all(views.refresh_one(c, name).ok for name in views.VIEWS)
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
    with psycopg.connect(empty_dsn) as c:
        # the generated per-dimension index that serves leaderboard --dimension manipulation
        assert c.execute(
            "SELECT to_regclass('idx_agent_leaderboard_manipulation_mean') IS NOT NULL"
        ).fetchone()[0]
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
