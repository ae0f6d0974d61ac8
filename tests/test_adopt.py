"""adopt: a database built by hand from the spec becomes a moltctl database, nothing lost."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from moltctl import adopt, migrations
from moltctl.connection import resolve
from moltctl.errors import MoltError
from tests import adoptdata as ad
from tests.conftest import all_labels, latest_version, scalar

HANDLES = ("alpha", "beta", "gamma", "alpha-renamed")
MOMENTS = [ad.T0 + dt.timedelta(minutes=30 * i) for i in range(-1, 10)]


def _spec_db(dsn, *, violations=False, spec_002=False, statements=None):
    ad.build(dsn, statements or ad.fixture_statements(), spec_002=spec_002)
    ad.load_naive(dsn, violations=violations)


def test_spec_blocks_and_fixture_build_the_same_tables(empty_dsn, pg_admin):
    """The copy-free fixture recreates the spec's tables and indexes exactly."""
    ad.build(empty_dsn, ad.spec_statements())
    from_spec = ad.catalog(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute("DROP SCHEMA public CASCADE")
        c.execute("CREATE SCHEMA public")
    ad.build(empty_dsn, ad.fixture_statements())
    from_fixture = ad.catalog(empty_dsn)
    # the views are shorter in the fixture (same names); everything about the tables is equal
    views = {"hourly_growth", "agent_leaderboard", "dimension_trends"}

    def tables_only(cat):
        return {
            "relations": cat["relations"],
            "columns": [r for r in cat["columns"] if r[0] not in views],
            "constraints": cat["constraints"],
            "indexes": cat["indexes"],
        }

    assert tables_only(from_fixture) == tables_only(from_spec)


def _adopt(dsn, **kw):
    return adopt.adopt(resolve(dsn), **kw)


def test_dry_run_reports_the_plan_and_changes_nothing(empty_dsn):
    _spec_db(empty_dsn, violations=True)
    before_cat, before = ad.catalog(empty_dsn), ad.contents(empty_dsn)
    res = _adopt(empty_dsn, dry_run=True)
    p = res.plan
    assert res.dry_run and not res.checks
    assert p.blockers == []
    assert set(p.tables) == set(ad.TABLES)
    assert p.tables["posts"].rows == 4 * 3 + 1
    # every naive time differs from its snapshot's: one NULL, the rest NOW() of the load
    assert (p.tables["posts"].null_times, p.tables["posts"].other_times) == (1, 12)
    assert p.tables["post_evaluations"].other_times == 13
    assert p.attach_rows == sum(p.tables[t].rows for t in adopt.BIG)
    kinds = {(v.external_id, v.kind) for v in p.violations}
    assert kinds == {
        ("a-viol-1", "two current versions"),
        ("a-viol-2", "overlaps the next version"),
        ("a-viol-3", "gap before the next version"),
        ("a-viol-4", "valid_to before valid_from"),
    }
    assert any(c.startswith("9. monthly partitions") for c in p.changes())
    assert ad.catalog(empty_dsn) == before_cat
    assert ad.contents(empty_dsn) == before


def test_violations_refused_without_repair_nothing_changed(empty_dsn):
    _spec_db(empty_dsn, violations=True)
    before_cat, before = ad.catalog(empty_dsn), ad.contents(empty_dsn)
    with pytest.raises(MoltError) as err:
        _adopt(empty_dsn)
    msg = err.value.message
    assert msg.startswith("4 SCD2 violation(s), nothing changed: ")
    assert "agents a-viol-1: two current versions" in msg
    assert "agents a-viol-4: valid_to before valid_from" in msg
    assert "--repair chain" in err.value.hint
    assert ad.catalog(empty_dsn) == before_cat
    assert ad.contents(empty_dsn) == before


def test_adopt_converts_in_place_and_loses_nothing(empty_dsn, dsn):
    _spec_db(empty_dsn)
    before = ad.contents(empty_dsn)
    answers = ad.agent_at(empty_dsn, HANDLES, MOMENTS)
    with psycopg.connect(empty_dsn) as c:
        snap_time = dict(c.execute("SELECT id, created_at FROM snapshots").fetchall())
        orig_times = dict(c.execute("SELECT id, fetched_at FROM posts").fetchall())

    res = _adopt(empty_dsn)
    assert [c.table for c in res.checks] == list(ad.TABLES)
    assert all(c.ok for c in res.checks), res.checks
    assert {c.table: c.rows_after for c in res.checks}["posts"] == 13
    assert res.applied == all_labels()
    assert res.version == latest_version()

    # the same schema as moltctl init (plus the changes table)
    fresh, adopted = ad.catalog(dsn), ad.catalog(empty_dsn)
    for part in ("columns", "constraints", "indexes"):
        a = [r for r in adopted[part] if r[0] != adopt.CHANGES and not r[0].endswith("_legacy")]
        f = [r for r in fresh[part] if not _is_month_partition(r[0])]
        a = [r for r in a if not _is_month_partition(r[0])]
        assert a == f, part
    with psycopg.connect(empty_dsn) as c:
        assert migrations.require_current(c) == latest_version()
        for t in adopt.BIG:
            assert scalar(c, "SELECT relkind FROM pg_class WHERE relname = %s", (t,)) == "p"
            assert scalar(c, f"SELECT count(*) FROM {t}_default") == 0
        # every time is its snapshot's; the original is kept and queryable
        for _pid, sid, fetched in c.execute("SELECT id, snapshot_id, fetched_at FROM posts"):
            assert fetched == snap_time[sid]
        kept = dict(
            c.execute(
                "SELECT row_id, old_value::timestamptz FROM moltctl_adopt_changes "
                "WHERE table_name = 'posts' AND column_name = 'fetched_at'"
            ).fetchall()
        )
        assert kept == orig_times  # every original, the NULL one as NULL
        # observation logs: each version observed at its valid_from
        assert scalar(c, "SELECT count(*) FROM agent_observations") == scalar(
            c, "SELECT count(*) FROM agents"
        )
        assert scalar(
            c,
            "SELECT count(*) FROM agents a JOIN agent_observations o ON o.external_id = "
            "a.external_id AND o.observed_at = a.valid_from AND o.snapshot_id = a.snapshot_id "
            "AND o.karma = a.karma",
        ) == scalar(c, "SELECT count(*) FROM agents")
    after = ad.contents(empty_dsn)
    for t in ("snapshots", "agents", "submolts", "comments"):
        if t != "comments":
            assert after[t] == before[t], t
    assert len(after["posts"]) == len(before["posts"])
    assert ad.agent_at(empty_dsn, HANDLES, MOMENTS) == answers


def _is_month_partition(name: str) -> bool:
    import re

    return bool(re.search(r"_p\d{4}_\d{2}$", name))
