"""moltctl on a real Citus cluster (coordinator + 2 workers, tests/citus_cluster.py): the
distributed layout, migrating a single-server database onto it, and the same answers as on a
single server for one whole sequence of commands."""

from __future__ import annotations

import datetime as dt
import json
import math

import psycopg
import pytest

from moltctl import citus, partitions
from tests.helpers.db import latest_version, scalar

pytestmark = pytest.mark.citus

UTC = dt.UTC
# six runs 6 hours apart across a month boundary (2 in January, 4 in February)
START = dt.datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
CUTOFF = "2026-02-01T09:00:00Z"  # January's partitions go whole, February's default rows not
# what differs by nature between two databases: surrogate ids and wall-clock times
VOLATILE_KEYS = {"id", "snapshot_id", "started_at", "completed_at", "refreshed_at", "seconds"}


def _invoke(runner, dsn: str, *args: str):
    from moltctl.cli import app

    result = runner.invoke(app, ["--dsn", dsn, *args])
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result


def _normal(value):
    """JSON output without surrogate ids and wall-clock times; floats to 9 significant digits
    (Citus sums per shard, then across shards: the last bits of a mean may differ)."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, float) and value and math.isfinite(value):
        return float(f"{value:.9g}")
    return value


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from moltctl.synth import generate_runs

    out = tmp_path_factory.mktemp("citus-runs")
    return generate_runs(
        out,
        runs=6,
        agents=80,
        posts=30,
        comments_per_post=4,
        seed=13,
        start=START,
        interval=dt.timedelta(hours=6),
    )


def _agent(dsn: str) -> tuple[str, str]:
    """The handle of the scored agent with the most versions (ties by id) and a moment
    inside its timeline."""
    with psycopg.connect(dsn) as c:
        handle, at = c.execute(
            "SELECT max(handle) FILTER (WHERE is_current), max(valid_from) FROM agents "
            "WHERE external_id IN (SELECT agent_id FROM agent_score_history) "
            "GROUP BY external_id ORDER BY count(*) DESC, external_id LIMIT 1"
        ).fetchone()
    return handle, at.isoformat()


def _queries(runner, dsn: str, agent: tuple[str, str], since_run: str) -> dict:
    ext, at = agent
    calls = {
        "agent-at": ["--agent", ext, "--at", at],
        "agent-history": ["--agent", ext],
        "delta": [],
        "delta-since": ["--since", since_run],
        "dimension-trends": ["--hours", "100000"],
        "growth": [],
        "high-risk": ["--min-score", "5"],
        "latest-snapshot": ["--limit", "10"],
        "leaderboard": [],
        "leaderboard-all": ["--all"],
        "submolt-activity": [],
    }
    out = {}
    for name, args in calls.items():
        query = name.removesuffix("-since").removesuffix("-all")
        r = _invoke(runner, dsn, "query", query, *args, "--format", "json")
        out[name] = _normal(json.loads(r.stdout))
    return out


def sequence(runner, dsn: str, runs, init_args=(), agent=None) -> dict:
    """init, ingest (one run out of order: a backfill; one --replace), refresh-views, every
    built-in query, create-partition (January's rows out of the default partitions), purge
    (January's partitions dropped, February's rows in the default deleted), create-partition
    (February's rows moved), the queries again; their outputs, normalized.

    The caller keeps ingest from creating monthly partitions, so the rows land in the default
    partitions as in an installation whose months were not created ahead."""
    out: dict = {}
    _invoke(runner, dsn, "init", *init_args)
    in_order = [str(p) for i, p in enumerate(runs) if i != 3]
    out["ingest"] = _invoke(runner, dsn, "ingest-file", *in_order).stderr.count("loaded in")
    r = _invoke(runner, dsn, "ingest-file", str(runs[3]))  # after runs 4 and 5: a backfill
    assert "backfilled into later history" in r.stderr
    _invoke(runner, dsn, "ingest-file", "--replace", str(runs[1]))
    _invoke(runner, dsn, "refresh-views")
    agent = agent or _agent(dsn)
    out["agent"] = agent
    out["queries"] = _queries(runner, dsn, agent, runs[2].name)
    with psycopg.connect(dsn) as c:
        out["versions"] = c.execute(
            "SELECT external_id, valid_from, valid_to, is_current, handle, karma FROM agents "
            "ORDER BY external_id, valid_from"
        ).fetchall()
    made = _invoke(runner, dsn, "create-partition", "--month", "2026-01", "-f", "json")
    out["create_partition"] = _normal(json.loads(made.stdout))
    dry = _invoke(runner, dsn, "purge", "--before", CUTOFF, "--dry-run", "-f", "json")
    out["purge_dry_run"] = _normal(json.loads(dry.stdout))
    done = _invoke(runner, dsn, "purge", "--before", CUTOFF, "--yes", "-f", "json")
    out["purge"] = _normal(json.loads(done.stdout))
    made = _invoke(runner, dsn, "create-partition", "--month", "2026-02", "-f", "json")
    out["create_partition_after"] = _normal(json.loads(made.stdout))
    with psycopg.connect(dsn) as c:
        out["rows_after"] = {
            t: scalar(c, f"SELECT count(*) FROM {t}")
            for t in ("snapshots", *(t for t, _ in citus.DISTRIBUTED))
        }
    _invoke(runner, dsn, "refresh-views")
    out["queries_after"] = _queries(runner, dsn, agent, runs[4].name)
    return out


# ------------------------------------------------------------------------------ layout


def test_init_distributes_every_table_by_the_plan(runner, citus_dsn):
    r = _invoke(runner, citus_dsn, "init", "--shard-count", "4")
    assert "distributed 11 tables (4 shards each)" in r.stderr
    with psycopg.connect(citus_dsn) as c:
        laid_out = citus.tables(c)
        assert scalar(c, "SELECT max(version) FROM moltctl_migrations") == latest_version()
    expected = {t: ("reference", None, 1) for t in citus.REFERENCE}
    expected |= {t: ("distributed", col, 4) for t, col in citus.DISTRIBUTED}
    got = {t: (x["kind"], x["column"], x["shard_count"]) for t, x in laid_out.items()}
    assert got == expected
    groups = {laid_out[t]["colocation_id"] for t, _ in citus.DISTRIBUTED}
    assert len(groups) == 1  # all co-located
    # moltctl's bookkeeping and the views stay on the coordinator
    assert "moltctl_migrations" not in laid_out
    # again: nothing to do, said so
    again = _invoke(runner, citus_dsn, "init")
    assert "tables already distributed" in again.stderr
    assert "nothing to do" in again.stderr


def test_plain_postgres_gets_the_keys_but_no_layout(runner, dsn):
    """Runs on the suite's single server (no cluster needed): migration 006's keys apply
    everywhere; nothing Citus shows or happens; --shard-count is refused."""
    from moltctl.cli import app

    with psycopg.connect(dsn) as c:
        keys = dict(
            c.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname IN ('posts_pkey', 'comments_pkey', 'agents_pkey', "
                "'uq_comments_snapshot_entity', 'agent_score_history_pkey')"
            ).fetchall()
        )
    assert keys == {
        "posts_pkey": "PRIMARY KEY (id, fetched_at, external_id)",
        "comments_pkey": "PRIMARY KEY (id, fetched_at, post_id)",
        "agents_pkey": "PRIMARY KEY (id, external_id)",
        "uq_comments_snapshot_entity": "UNIQUE (snapshot_id, external_id, fetched_at, post_id)",
        "agent_score_history_pkey": "PRIMARY KEY (id, recorded_at, agent_id)",
    }
    r = runner.invoke(app, ["--dsn", dsn, "init"])
    assert r.exit_code == 0 and "Citus" not in r.stderr
    info = json.loads(runner.invoke(app, ["--dsn", dsn, "status", "-f", "json"]).stdout)
    assert "citus" not in info
    r = runner.invoke(app, ["--dsn", dsn, "init", "--shard-count", "4"])
    assert r.exit_code == 1
    assert r.stderr.startswith("error: --shard-count needs Citus")
    assert "Traceback" not in r.stderr


def _counts(dsn: str) -> dict[str, int]:
    tables = (*citus.REFERENCE, *(t for t, _ in citus.DISTRIBUTED))
    with psycopg.connect(dsn) as c:
        return {t: scalar(c, f"SELECT count(*) FROM {t}") for t in tables}


def test_migrate_moves_a_single_server_database_onto_the_cluster(
    runner, citus_cluster, citus_later_dsn, runs
):
    dsn = citus_later_dsn
    _invoke(runner, dsn, "init")
    _invoke(runner, dsn, "ingest-file", *map(str, runs[:3]))
    _invoke(runner, dsn, "refresh-views")
    before = _counts(dsn)
    board = _invoke(runner, dsn, "query", "leaderboard", "-f", "json").stdout
    citus_cluster.enable_citus(dsn)

    r = _invoke(runner, dsn, "migrate", "--shard-count", "4")
    moved = sum(n for t, n in before.items() if t != "dimensions")
    assert "distributed 11 tables (4 shards each)" in r.stderr
    assert "rows moved into shards and counted" in r.stderr
    assert "nothing to apply" in r.stderr
    assert moved > 1000
    assert _counts(dsn) == before
    with psycopg.connect(dsn) as c:
        laid_out = citus.tables(c)
        # the rows are in the shards, on the workers; the coordinator's own copies are gone
        local = scalar(
            c,
            "SELECT sum(pg_relation_size(oid)) FROM (SELECT inhrelid AS oid FROM pg_inherits "
            "WHERE inhparent = 'posts'::regclass UNION ALL "
            "SELECT 'agents'::regclass UNION ALL SELECT 'snapshots'::regclass) x",
        )
    assert local == 0
    assert laid_out["posts"]["kind"] == "distributed"
    assert _invoke(runner, dsn, "query", "leaderboard", "-f", "json").stdout == board
    # and it goes on: the next runs load, a re-run of migrate does nothing
    _invoke(runner, dsn, "ingest-file", *map(str, runs[3:]))
    again = _invoke(runner, dsn, "migrate")
    assert "tables already distributed" in again.stderr


# ------------------------------------------------------------------------ same answers


def test_same_answers_as_a_single_server(runner, citus_dsn, citus_later_dsn, runs, monkeypatch):
    # the single server: the coordinator's PostgreSQL 15, a database without the extension
    # (Citus stays inactive there), so both sides run the same version
    monkeypatch.setattr(partitions, "prepare_load", lambda *a, **k: [])
    single = sequence(runner, citus_later_dsn, runs)
    cluster = sequence(runner, citus_dsn, runs, ("--shard-count", "4"), agent=single["agent"])
    # the sequence went through every path it means to compare
    assert all(single["queries"].values()), [k for k, v in single["queries"].items() if not v]
    assert {x["action"] for x in single["create_partition"]} == {"moved"}
    assert {x["action"] for x in single["create_partition_after"]} == {"moved"}
    purged = {x["table"]: x for x in single["purge"]}
    assert purged["posts"]["partitions_dropped"] == 1 and purged["posts"]["rows_removed"] > 60
    assert single["versions"] and single["rows_after"]["posts"]
    for key in single:
        assert cluster[key] == single[key], key


def test_purge_detach_copies_months_on_citus(runner, citus_dsn, runs, monkeypatch):
    monkeypatch.setattr(partitions, "prepare_load", lambda *a, **k: [])
    _invoke(runner, citus_dsn, "init", "--shard-count", "4")
    _invoke(runner, citus_dsn, "ingest-file", *map(str, runs))
    _invoke(runner, citus_dsn, "create-partition", "--month", "2026-01")
    with psycopg.connect(citus_dsn) as c:
        january = scalar(c, "SELECT count(*) FROM posts_p2026_01")
        total = scalar(c, "SELECT count(*) FROM posts")
    r = _invoke(runner, citus_dsn, "purge", "--before", CUTOFF, "--detach", "--yes")
    assert "on Citus --detach copies each month into a distributed table" in r.stderr
    with psycopg.connect(citus_dsn) as c:
        laid_out = citus.tables(c)
        assert scalar(c, "SELECT count(*) FROM archived_posts_p2026_01") == january
        assert scalar(c, "SELECT to_regclass('posts_p2026_01')") is None
        assert scalar(c, "SELECT count(*) FROM posts") < total - january + 1
    archived = laid_out["archived_posts_p2026_01"]
    assert (archived["kind"], archived["column"]) == ("distributed", "external_id")
    assert archived["colocation_id"] == laid_out["posts"]["colocation_id"]


def test_incremental_refresh_equals_full_on_the_cluster(runner, citus_dsn, tmp_path, monkeypatch):
    """Every change kind folded in incrementally on the cluster (the view tables stay on the
    coordinator; the history is read by bound agent and snapshot ids) equals a full recompute."""
    from moltctl import views
    from moltctl.connection import resolve
    from tests.test_views_incremental import Pool, fold_each_change_kind

    monkeypatch.setattr(views, "BLOCK", 4)  # the few dozen agents span many rank blocks
    _invoke(runner, citus_dsn, "init", "--shard-count", "4")
    with psycopg.connect(citus_dsn, autocommit=True) as c:
        fold_each_change_kind(c, resolve(citus_dsn), Pool(tmp_path, runs=5))


# ------------------------------------------------------------------ see and grow the cluster


def test_status_shows_nodes_layout_and_true_partition_counts(runner, citus_dsn, runs):
    _invoke(runner, citus_dsn, "init", "--shard-count", "4")
    _invoke(runner, citus_dsn, "ingest-file", *map(str, runs[:2]))
    info = json.loads(_invoke(runner, citus_dsn, "status", "-f", "json").stdout)
    nodes = info["citus"]["nodes"]
    assert [n["role"] for n in nodes] == ["coordinator", "worker", "worker"]
    assert all(n["placements"] > 0 and n["bytes"] > 0 for n in nodes[1:])
    layout = {t["table"]: t for t in info["citus"]["tables"]}
    assert layout["posts"]["layout"] == "distributed by external_id"
    assert layout["comments"]["layout"] == "distributed by post_id"
    assert layout["snapshots"]["layout"] == "reference"
    assert layout["moltctl_migrations"]["layout"] == "local (coordinator)"
    assert layout["posts"]["shard_count"] == 4 and layout["posts"]["bytes"] > 0
    # rows per partition are counted by partition, not by tableoid (a shard's, on a worker)
    (parts,) = [s["rows"] for s in info["sections"] if s["title"] == "partitions"]
    with psycopg.connect(citus_dsn) as c:
        posts = scalar(c, "SELECT count(*) FROM posts")
    assert sum(p["rows"] for p in parts if p["table"] == "posts") == posts == 60
    table = _invoke(runner, citus_dsn, "status").stdout
    assert "Citus tables" in table and "distributed by agent_id" in table


def test_add_node_and_rebalance_are_safe_to_rerun(runner, citus_cluster, citus_dsn, runs):
    _invoke(runner, citus_dsn, "init", "--shard-count", "4")
    _invoke(runner, citus_dsn, "ingest-file", *map(str, runs[:2]))
    before = _counts(citus_dsn)
    board = _invoke(runner, citus_dsn, "query", "leaderboard", "-f", "json").stdout
    spare = f"127.0.0.1:{citus_cluster.spare[0].port}"

    r = _invoke(runner, citus_dsn, "cluster", "add-node", spare)
    assert f"added {spare}" in r.stderr
    r = _invoke(runner, citus_dsn, "cluster", "add-node", spare)
    assert f"{spare} is already in the cluster" in r.stderr

    r = _invoke(runner, citus_dsn, "cluster", "rebalance", "--poll", "0.5", "--timeout", "300")
    assert "finished" in r.stderr and "block_writes" in r.stderr  # wal_level is not logical
    assert "tasks" in r.stderr
    info = json.loads(_invoke(runner, citus_dsn, "status", "-f", "json").stdout)
    new = [n for n in info["citus"]["nodes"] if n["node"] == spare]
    assert new and new[0]["placements"] > 0
    r = _invoke(runner, citus_dsn, "cluster", "rebalance")
    assert "already balanced" in r.stderr
    assert _counts(citus_dsn) == before
    assert _invoke(runner, citus_dsn, "query", "leaderboard", "-f", "json").stdout == board


def test_cluster_commands_refuse_a_plain_database(runner, dsn):
    from moltctl.cli import app

    for args in (["cluster", "rebalance"], ["cluster", "add-node", "h:5432"]):
        r = runner.invoke(app, ["--dsn", dsn, *args])
        assert r.exit_code == 1, r.stderr
        assert r.stderr.startswith("error: this database is not on Citus"), r.stderr
    r = runner.invoke(app, ["--dsn", dsn, "cluster", "add-node", "h:x"])
    assert r.exit_code != 0 and "expected HOST:PORT" in r.stderr
