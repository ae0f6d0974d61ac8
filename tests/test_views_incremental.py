"""Incremental refresh-views equals a full recompute, row for row, after every refresh of any
random sequence of loads (forward and backfill), --replace with changed content, failed
ingests and purges; and what it reads does not grow with the history."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import psycopg
import pytest

from moltctl import dimensions, locks, retention, views
from moltctl.errors import MoltError
from moltctl.ingest import ingest_paths
from moltctl.synth import generate_runs
from tests import legacyviews
from tests.helpers.db import history_reads, scalar, settle

UTC = dt.UTC
START = dt.datetime(2026, 1, 20, tzinfo=UTC)


def differences(conn, names=views.VIEWS) -> dict[str, int]:
    """Rows in a view and not in its full recompute, or the other way round (EXCEPT ALL).
    The recompute is a materialized CTE: on Citus it reads the distributed tables on its own,
    then the comparison runs on the coordinator's local view tables."""
    dims = dimensions.registry(conn)
    out = {}
    for name in names:
        full = views.select_sql(name, dims)
        out[name] = scalar(
            conn,
            f"WITH f AS MATERIALIZED ({full}) SELECT count(*) FROM ("
            f"(SELECT * FROM {name} EXCEPT ALL SELECT * FROM f) "
            f"UNION ALL (SELECT * FROM f EXCEPT ALL SELECT * FROM {name})) d",
        )
    return out


def assert_equal_to_full(conn, context: str) -> None:
    diff = differences(conn)
    assert diff == dict.fromkeys(views.VIEWS, 0), context


def leaderboard_pending(conn) -> int:
    return scalar(
        conn, "SELECT count(*) FROM moltctl_view_changes WHERE 'agent_leaderboard' = ANY(pending)"
    )


def assert_leaderboard_current_if_nothing_pending(conn, context: str) -> None:
    """Between refreshes: a leaderboard with no change pending (an ingest folded its load in)
    equals a full recompute."""
    if leaderboard_pending(conn) == 0:
        assert differences(conn, ["agent_leaderboard"]) == {"agent_leaderboard": 0}, context


class Pool:
    """Generated runs of one small world: two series a half hour apart (two snapshots per
    hour), six days between runs (a history over two months), and the same run ids generated
    again from another seed (changed content for --replace)."""

    def __init__(self, root: Path, runs: int = 6):
        kw = {"runs": runs, "agents": 25, "posts": 6, "comments_per_post": 2, "fmt": "bundle"}
        kw |= {"interval": dt.timedelta(days=6), "jitter_seconds": 0}
        half = START + dt.timedelta(minutes=30)
        self.runs = sorted(
            generate_runs(root / "a", seed=1, start=START, **kw)
            + generate_runs(root / "b", seed=1, start=half, **kw),
            key=lambda p: p.name,
        )
        changed = generate_runs(root / "c", seed=2, start=START, **kw)
        self.changed = {p.name: p for p in changed}
        self.root = root

    def broken(self, rng: random.Random) -> Path:
        """A copy of a run whose last record is not JSON (its ingest fails)."""
        src = rng.choice(self.runs + list(self.changed.values()))
        path = self.root / "broken" / src.name
        path.parent.mkdir(exist_ok=True)
        path.write_text(src.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
        return path


def run_sequence(conn, target, pool: Pool, seed: int, steps: int) -> list[str]:
    """Random operations; after each refresh the views must equal a full recompute, and
    after every other operation the leaderboard must, if it has no change pending (an ingest
    of one more snapshot folds it in: views.fold_at_ingest)."""
    rng = random.Random(seed)
    done: list[str] = []
    loaded: set[str] = set()
    for step in range(steps):
        op = rng.choices(["load", "replace", "fail", "purge", "refresh"], weights=[5, 2, 1, 1, 3])[
            0
        ]
        if op == "load":
            # any run not loaded yet: later ones (forward) or earlier ones (backfill)
            fresh = [p for p in pool.runs if p.name not in loaded]
            if not fresh:
                continue
            path = rng.choice(fresh)
            folded = ingest_paths(target, [path]).snapshots[0].leaderboard
            loaded.add(path.name)
            done.append(f"load {path.name}" + (" (folded in)" if folded and folded.ok else ""))
        elif op == "replace":
            if not loaded:
                continue
            name = rng.choice(sorted(loaded))
            path = pool.changed.get(name) or next(p for p in pool.runs if p.name == name)
            ingest_paths(target, [path], replace=True)
            done.append(f"replace {name}")
        elif op == "fail":
            path = pool.broken(rng)
            with pytest.raises(MoltError):
                # a new run fails, or a loaded one fails its --replace (the old one stays)
                ingest_paths(target, [path], replace=True, strict=True)
            done.append(f"fail {path.name}")
        elif op == "purge":
            times = sorted(
                r[0] for r in conn.execute("SELECT created_at FROM snapshots").fetchall()
            )
            if not times:
                continue
            cutoff = rng.choice(times) + dt.timedelta(minutes=rng.choice([-10, 1, 200]))
            retention.purge(target, before=cutoff)
            done.append(f"purge {cutoff:%Y-%m-%dT%H:%M}")
        if op != "refresh":
            assert_leaderboard_current_if_nothing_pending(conn, f"seed {seed} step {step}: {done}")
            continue
        full = rng.random() < 0.1
        results = views.refresh(target, full=full)
        assert all(r.ok for r in results), results
        done.append("refresh --full" if full else "refresh")
        assert_equal_to_full(conn, f"seed {seed} step {step}: {done}")
    views.refresh(target)
    assert_equal_to_full(conn, f"seed {seed} at the end: {done}")
    return done


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Pool:
    return Pool(tmp_path_factory.mktemp("runs"))


@pytest.fixture(autouse=True)
def small_rank_blocks(monkeypatch):
    """Rank blocks of 4 agents: the few dozen agents here span many blocks."""
    monkeypatch.setattr(views, "BLOCK", 4)


def test_incremental_equals_full_sample(conn, target, pool):
    """A sample in the default run: two sequences (about ten operations each)."""
    done = []
    for seed in (1, 2):
        conn.execute("SELECT 1")
        done += run_sequence(conn, target, pool, seed, steps=10)
        _reset(conn)
    assert any(d.endswith("(folded in)") for d in done), done


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 130))
def test_incremental_equals_full_many(conn, target, pool, seed):
    run_sequence(conn, target, pool, seed, steps=24)


def _reset(conn) -> None:
    """Back to an empty history (and views) for the next sequence in the same database."""
    for table in (
        "agent_score_history",
        "post_evaluations",
        "comment_evaluations",
        "comments",
        "posts",
        "agent_observations",
        "submolt_observations",
        "agents",
        "submolts",
        "snapshots",
        "moltctl_view_changes",
        "moltctl_view_refreshes",
    ):
        conn.execute(f"DELETE FROM {table}")


def test_each_change_kind_is_folded_in(conn, target, pool):
    fold_each_change_kind(conn, target, pool)


def fold_each_change_kind(conn, target, pool: Pool) -> None:
    """Loaded, backfilled, replaced, failed and purged, one refresh after each: equal to a full
    recompute each time, and the refreshes are incremental and consume the log; the loads fold
    into the leaderboard at ingest (test_citus runs it on the cluster too)."""
    runs = pool.runs
    assert views.refresh(target)[0].method == "full"  # the first after init
    steps = [
        ("load", runs[4]),
        ("load", runs[5]),
        ("backfill", runs[0]),
        ("replace", runs[4]),
        ("load", runs[8]),
        ("fail", None),
        ("purge", runs[5]),
    ]
    for what, path in steps:
        if what in ("load", "backfill"):
            # one more snapshot after a refresh: the ingest folds it into the leaderboard
            assert ingest_paths(target, [path]).snapshots[0].leaderboard.method == "ingest"
            assert leaderboard_pending(conn) == 0
            assert differences(conn, ["agent_leaderboard"]) == {"agent_leaderboard": 0}, what
        elif what == "replace":
            ingest_paths(target, [pool.changed[path.name]], replace=True)
        elif what == "fail":
            with pytest.raises(MoltError):
                ingest_paths(target, [pool.broken(random.Random(1))], replace=True, strict=True)
        else:
            t = scalar(conn, "SELECT created_at FROM snapshots WHERE run_id = %s", (path.stem,))
            retention.purge(target, before=t)
        pending = scalar(conn, "SELECT count(*) FROM moltctl_view_changes")
        assert pending > 0 or what == "fail", what
        results = views.refresh(target)
        assert {r.method for r in results} == {"incremental"}, (what, results)
        assert scalar(conn, "SELECT count(*) FROM moltctl_view_changes") == 0
        assert_equal_to_full(conn, what)
    assert scalar(conn, "SELECT count(*) FROM agent_leaderboard") > 0


def test_refresh_of_some_views_keeps_the_others_pending(conn, target, pool):
    views.refresh(target)
    ingest_paths(target, [pool.runs[0]])  # agent_leaderboard: folded in at ingest
    views.refresh(target, ["hourly_growth"])
    pending = conn.execute("SELECT pending FROM moltctl_view_changes").fetchall()
    assert pending == [(["dimension_trends"],)]
    assert differences(conn)["hourly_growth"] == 0
    assert differences(conn)["dimension_trends"] > 0  # not folded in yet
    views.refresh(target)
    assert scalar(conn, "SELECT count(*) FROM moltctl_view_changes") == 0
    assert_equal_to_full(conn, "after the rest")


# ------------------------------------------------- agent_leaderboard folded in at ingest


def _methods(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT view_name, method FROM moltctl_view_refreshes").fetchall())


def test_ingest_folds_one_more_snapshot_into_a_current_leaderboard(conn, target, pool):
    ingest_paths(target, pool.runs[:2])
    views.refresh(target)
    res = ingest_paths(target, [pool.runs[2]]).snapshots[0]
    assert (res.leaderboard.method, res.leaderboard.changes) == ("ingest", 1)
    assert res.leaderboard.rows == scalar(conn, "SELECT count(*) FROM agent_leaderboard") > 0
    assert "leaderboard" in res.timings
    assert _methods(conn)["agent_leaderboard"] == "ingest"
    assert leaderboard_pending(conn) == 0
    pending = conn.execute("SELECT pending FROM moltctl_view_changes").fetchall()
    assert pending == [(["hourly_growth", "dimension_trends"],)]  # the hours: refresh-views
    assert differences(conn)["agent_leaderboard"] == 0
    assert differences(conn)["hourly_growth"] > 0
    results = views.refresh(target)
    assert [(r.method, r.changes) for r in results] == [
        ("incremental", 1),
        ("incremental", 0),
        ("incremental", 1),
    ]
    assert_equal_to_full(conn, "after the refresh")


def test_ingest_leaves_the_leaderboard_to_refresh_views_otherwise(conn, target, pool):
    """Never refreshed; a --replace (two changes); another change pending; a refresh running
    (its lock held): the change stays pending, the ingest loads all the same."""
    assert ingest_paths(target, [pool.runs[0]]).snapshots[0].leaderboard is None  # fresh
    views.refresh(target)
    replaced = ingest_paths(target, [pool.changed[pool.runs[0].name]], replace=True)
    assert replaced.snapshots[0].leaderboard is None
    assert ingest_paths(target, [pool.runs[1]]).snapshots[0].leaderboard is None  # one ahead
    views.refresh(target)
    with psycopg.connect(target.conninfo, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (locks.REFRESH,))
        res = ingest_paths(target, [pool.runs[2]]).snapshots[0]
    assert res.leaderboard is None and res.status == "loaded"
    assert leaderboard_pending(conn) == 1
    assert _methods(conn)["agent_leaderboard"] == "incremental"
    views.refresh(target)
    assert_equal_to_full(conn, "after the refresh")


def test_a_refresh_during_the_fold_exits_as_if_another_refresh_ran(target):
    """The fold's transaction-level lock is the refresh lock: refresh-views does not wait."""
    from moltctl.errors import LockedError

    with psycopg.connect(target.conninfo) as other:  # a transaction, as the ingest's
        assert scalar(other, "SELECT pg_try_advisory_xact_lock(%s)", (locks.REFRESH,))
        with pytest.raises(LockedError, match="refresh-views lock"):
            views.refresh(target)
    views.refresh(target)  # released with the transaction


def test_no_fold_into_a_leaderboard_whose_definition_changed(conn, target, pool):
    """A dimension registered since the last refresh: the stored table has the old columns, so
    the ingest leaves it to refresh-views, which recreates it in full."""
    ingest_paths(target, [pool.runs[0]])
    views.refresh(target)
    conn.execute(
        "INSERT INTO dimensions (name, short_name, position) VALUES ('flattery', 'flattery', 9)"
    )
    conn.execute("ALTER TABLE agent_score_history ADD COLUMN has_high_flattery BOOLEAN")
    assert ingest_paths(target, [pool.runs[1]]).snapshots[0].leaderboard is None
    assert leaderboard_pending(conn) == 1
    assert {r.view: r.method for r in views.refresh(target)}["agent_leaderboard"] == "full"
    assert_equal_to_full(conn, "after the refresh")


def test_a_fold_that_fails_leaves_the_load_and_a_note(conn, target, pool):
    ingest_paths(target, [pool.runs[0]])
    views.refresh(target)
    conn.execute(
        "CREATE FUNCTION no_writes() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN RAISE EXCEPTION 'leaderboard is read-only today'; END$$"
    )
    conn.execute(
        "CREATE TRIGGER no_writes BEFORE UPDATE OR INSERT ON agent_leaderboard_rows "
        "FOR EACH ROW EXECUTE FUNCTION no_writes()"
    )
    res = ingest_paths(target, [pool.runs[1]]).snapshots[0]
    assert res.status == "loaded" and res.leaderboard.method == "failed"
    assert res.notes == [
        f"{pool.runs[1].stem}: agent_leaderboard was not updated at ingest (leaderboard is "
        "read-only today); refresh-views will fold the run in"
    ]
    assert scalar(conn, "SELECT status FROM snapshots WHERE run_id = %s", (pool.runs[1].stem,)) == (
        "completed"
    )
    assert leaderboard_pending(conn) == 1
    conn.execute("DROP TRIGGER no_writes ON agent_leaderboard_rows")
    views.refresh(target)
    assert_equal_to_full(conn, "after the refresh")


def test_full_recomputes_what_the_log_does_not_know(conn, target, pool):
    """A change made behind moltctl's back (no log row) is repaired by --full only."""
    ingest_paths(target, [pool.runs[0], pool.runs[1]])
    views.refresh(target)
    conn.execute(
        "DELETE FROM agent_score_history WHERE agent_id IN "
        "(SELECT agent_id FROM agent_score_history LIMIT 3)"
    )
    assert views.refresh(target)[1].method == "incremental"
    assert differences(conn)["agent_leaderboard"] > 0
    results = views.refresh(target, full=True)
    assert {r.method for r in results} == {"full"}
    assert_equal_to_full(conn, "after --full")


def _reads_of_refresh_after_one_more(conn, target, runs: list[Path]) -> int:
    ingest_paths(target, runs[:-1])
    views.refresh(target, full=True)
    settle(conn)
    # the lock held: the ingest leaves the leaderboard to the refresh, which reads for it too
    with locks.advisory_lock(target, locks.REFRESH, what="refresh-views"):
        assert ingest_paths(target, runs[-1:]).snapshots[0].leaderboard is None
    before = history_reads(conn, "refresh-views")
    results = views.refresh(target)
    assert {r.method for r in results} == {"incremental"}
    return history_reads(conn, "refresh-views") - before


def _reads_of_ingest_of_one_more(conn, target, runs: list[Path]) -> int:
    ingest_paths(target, runs[:-1])
    views.refresh(target, full=True)  # so that the ingest folds into the leaderboard (its reads)
    settle(conn)
    before = history_reads(conn, "ingest")
    assert ingest_paths(target, runs[-1:]).snapshots[0].leaderboard.method == "ingest"
    return history_reads(conn, "ingest") - before


def _reads_after(pg_admin, template_db, runs, measure, *, index_paths=False) -> dict[int, int]:
    """``measure`` of the same one more snapshot (the 33rd run) after 6 and after 32 earlier
    ones, each in a database of its own. ``index_paths``: sessions plan with sequential scans,
    hash and merge joins off: the tables here are a few pages, which the planner reads whole
    (or walks a whole index of, in a merge join) where at scale it probes an index by key;
    this asks whether there is such a probe for every read."""
    from moltctl.connection import resolve
    from tests.helpers.db import admin_exec, create_db, with_db

    reads = {}
    for n in (6, 32):
        name = create_db(pg_admin, template_db)
        dsn = with_db(pg_admin, name)
        if index_paths:
            for plan in ("seqscan", "hashjoin", "mergejoin"):
                admin_exec(pg_admin, f'ALTER DATABASE "{name}" SET enable_{plan} = off')
        try:
            with psycopg.connect(dsn, autocommit=True) as c:
                reads[n] = measure(c, resolve(dsn), [*runs[32 - n : 32], runs[32]])
        finally:
            admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return reads


@pytest.fixture(scope="module")
def hourly_runs(tmp_path_factory):
    kw = {"agents": 40, "posts": 10, "comments_per_post": 3, "fmt": "bundle", "seed": 5}
    root = tmp_path_factory.mktemp("hourly")
    return generate_runs(root, runs=33, interval=dt.timedelta(hours=1), **kw)


def test_reads_do_not_grow_with_the_history(pg_admin, template_db, hourly_runs):
    """Rows refresh-views reads from the history tables after one more snapshot: with 6 and with
    32 snapshots loaded, within 1.5x of each other."""
    reads = _reads_after(pg_admin, template_db, hourly_runs, _reads_of_refresh_after_one_more)
    assert reads[6] > 0
    assert reads[32] <= 1.5 * reads[6], reads


def test_ingest_scd2_reads_do_not_grow_with_the_history(pg_admin, template_db, hourly_runs):
    """Rows ingest-file reads from the history tables, agents and submolts included (their SCD2
    steps), to load one more snapshot and fold it into the leaderboard: with 6 and with 32
    snapshots loaded, within 1.5x of each
    other, when the planner is asked for index paths (test_ingest_direct.py has the same check
    for the content tables as the planner chooses, the dirty comments' path included)."""
    reads = _reads_after(
        pg_admin, template_db, hourly_runs, _reads_of_ingest_of_one_more, index_paths=True
    )
    assert reads[6] > 0
    assert reads[32] <= 1.5 * reads[6], reads


def test_migration_005_converts_materialized_views(dsn, conn, target, pool, cli):
    """A database installed before 005 (materialized views) migrates to the maintained
    tables: same contents, the queries work, and the first refresh after it is full."""
    ingest_paths(target, pool.runs[:3])
    with conn.transaction():
        legacyviews.create(conn)
        conn.execute("DELETE FROM moltctl_migrations WHERE version = '005'")
        conn.execute("DROP TABLE moltctl_view_changes")
        conn.execute("ALTER TABLE moltctl_view_refreshes DROP COLUMN method, DROP COLUMN changes")
    old = {n: conn.execute(f"SELECT * FROM {n} ORDER BY 1, 2").fetchall() for n in views.VIEWS}
    assert old["agent_leaderboard"] and old["dimension_trends"]
    r = cli("migrate")
    assert r.exit_code == 0, r.stderr
    kinds = dict(
        conn.execute(
            "SELECT relname, relkind::text FROM pg_class WHERE relname = ANY(%s)",
            (list(views.VIEWS),),
        ).fetchall()
    )
    assert kinds == {"hourly_growth": "r", "agent_leaderboard": "v", "dimension_trends": "r"}
    for n in views.VIEWS:
        assert conn.execute(f"SELECT * FROM {n} ORDER BY 1, 2").fetchall() == old[n], n
    for q in ("leaderboard", "growth", "dimension-trends"):
        r = cli("query", q, "-f", "json")
        assert r.exit_code == 0 and r.stdout.strip() not in ("", "[]"), (q, r.stderr)
    assert {x.method for x in views.refresh(target)} == {"full"}
    ingest_paths(target, pool.runs[3:4])
    assert {x.method for x in views.refresh(target)} == {"incremental"}
    assert_equal_to_full(conn, "after the conversion")
