"""adopt: a database built by hand from the spec becomes a moltctl database, nothing lost."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from moltctl import adopt, migrations, queries
from moltctl.connection import resolve
from moltctl.errors import MoltError
from tests.helpers import adoptdata as ad
from tests.helpers.db import all_labels, latest_version, scalar

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
    # moltctl's own agent-at gives the answers the spec tables gave before
    cols = ("external_id", "handle", "karma", "bio", "valid_from", "valid_to")
    for (handle, moment), rows in answers.items():
        got = queries.run(
            resolve(empty_dsn), "agent-at", {"agent": handle, "at": moment.isoformat()}
        )
        assert [tuple(r[c] for c in cols) for r in got.rows] == rows, (handle, moment)


def _is_month_partition(name: str) -> bool:
    import re

    return bool(re.search(r"_p\d{4}_\d{2}$", name))


def test_adopts_the_schema_built_from_the_spec_document_itself(empty_dsn):
    """The spec's own SQL blocks (its views included, which adopt replaces)."""
    _spec_db(empty_dsn, statements=ad.spec_statements())
    before = ad.contents(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute("REFRESH MATERIALIZED VIEW agent_leaderboard")  # the spec's views work
    res = _adopt(empty_dsn)
    assert all(c.ok for c in res.checks)
    assert ad.original_contents(empty_dsn) == before
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT count(*) FROM agent_leaderboard") == 2
        assert migrations.require_current(c) == latest_version()


def test_repair_chain_fixes_each_violation_and_keeps_the_originals(empty_dsn):
    _spec_db(empty_dsn, violations=True)
    before = ad.contents(empty_dsn)
    clean = ("alpha", "beta", "gamma")
    answers = ad.agent_at(empty_dsn, clean, MOMENTS)
    res = _adopt(empty_dsn, repair="chain")
    assert all(c.ok for c in res.checks)

    def at(h):
        return ad.T0 + dt.timedelta(hours=h)

    def intervals(ext):
        with psycopg.connect(empty_dsn) as c:
            return c.execute(
                "SELECT valid_from, valid_to, is_current FROM agents WHERE external_id = %s "
                "ORDER BY valid_from",
                (ext,),
            ).fetchall()

    # the earlier of two current versions closes at the later one's valid_from, ...
    assert intervals("a-viol-1") == [(at(0), at(2), False), (at(2), None, True)]
    assert intervals("a-viol-2") == [(at(0), at(1), False), (at(1), None, True)]  # overlap cut
    assert intervals("a-viol-3") == [(at(0), at(2), False), (at(2), None, True)]  # gap closed
    assert intervals("a-viol-4") == [(at(2), None, True)]  # valid_to before valid_from
    # ... the agents without violations answer exactly as before
    assert ad.agent_at(empty_dsn, clean, MOMENTS) == answers
    # and every original value is kept: the content before adopt, column for column
    assert ad.original_contents(empty_dsn) == before
    with psycopg.connect(empty_dsn) as c:
        kept = c.execute(
            "SELECT a.external_id, o.column_name, o.old_value, o.new_value FROM "
            "moltctl_adopt_changes o JOIN agents a ON a.id = o.row_id "
            "WHERE o.table_name = 'agents' ORDER BY 1, 2"
        ).fetchall()
    assert ("a-viol-1", "is_current", "true", "false") in kept
    assert ("a-viol-4", "valid_to", "2026-01-10 11:00:00+00", None) in kept


def test_keeps_and_reports_what_the_user_added(empty_dsn):
    _spec_db(empty_dsn, spec_002=True)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute("ALTER TABLE posts ADD COLUMN language TEXT DEFAULT 'en'")
        c.execute("UPDATE posts SET language = 'de' WHERE external_id = 'p-1'")
        c.execute("ALTER TABLE agents ADD COLUMN notes TEXT")
        c.execute("CREATE INDEX my_posts_title ON posts (lower(title))")
        c.execute("CREATE INDEX my_agents_bio ON agents (bio)")
        c.execute("CREATE INDEX my_history_scores ON agent_score_history (overall_mean_score)")
    before = ad.contents(empty_dsn)
    p = _adopt(empty_dsn, dry_run=True).plan
    assert p.tables["posts"].extra_columns == ["language"]
    assert p.tables["agents"].extra_columns == ["notes"]
    assert p.tables["agent_score_history"].extra_columns == ["has_high_new_dimension"]
    assert [i["name"] for i in p.tables["posts"].extra_indexes] == ["my_posts_title"]
    assert [i["name"] for i in p.tables["agents"].extra_indexes] == ["my_agents_bio"]
    assert all(
        not t.extra_indexes
        for n, t in p.tables.items()
        if n not in ("posts", "agents", "agent_score_history")
    )
    res = _adopt(empty_dsn)
    assert all(c.ok for c in res.checks)
    assert ad.original_contents(empty_dsn) == before  # the user's columns included
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT language FROM posts WHERE external_id = 'p-1' LIMIT 1") == "de"
        defs = dict(
            c.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'my_%%'"
            ).fetchall()
        )
        # kept on the (now partitioned) tables, as defined
        assert defs["my_posts_title"] == (
            "CREATE INDEX my_posts_title ON ONLY public.posts USING btree (lower(title))"
        )
        assert (
            defs["my_agents_bio"] == "CREATE INDEX my_agents_bio ON public.agents USING btree (bio)"
        )
        assert "my_history_scores" in defs
        assert (
            scalar(c, "SELECT count(*) FROM agent_score_history WHERE has_high_new_dimension") == 0
        )


def test_refuses_what_moltctl_keys_forbid_and_changes_nothing(empty_dsn):
    _spec_db(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute(
            "INSERT INTO posts (snapshot_id, external_id) SELECT snapshot_id, external_id "
            "FROM posts WHERE external_id = 'p-2' LIMIT 1"
        )
        c.execute("UPDATE snapshots SET status = 'done' WHERE run_id LIKE '%%T10%%'")
        c.execute("CREATE VIEW my_scores AS SELECT post_id FROM post_evaluations")
    before_cat, before = ad.catalog(empty_dsn), ad.contents(empty_dsn)
    blockers = _adopt(empty_dsn, dry_run=True).plan.blockers
    assert any(b.startswith("view my_scores reads post_evaluations") for b in blockers)
    assert any("snapshots.status 'done' in 1 row(s)" in b for b in blockers)
    assert any(b.startswith("posts has 1 entity(ies) stored more than once") for b in blockers)
    with pytest.raises(MoltError, match=r"^cannot adopt: .* \(and 2 more\); nothing changed"):
        _adopt(empty_dsn)
    assert ad.catalog(empty_dsn) == before_cat
    assert ad.contents(empty_dsn) == before


def test_not_a_spec_database(empty_dsn, dsn):
    with pytest.raises(MoltError, match="holds none of the spec's tables: nothing to adopt"):
        _adopt(empty_dsn, dry_run=True)
    with pytest.raises(MoltError, match=r"already managed by moltctl \(schema version"):
        _adopt(dsn, dry_run=True)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute("CREATE TABLE snapshots (id uuid PRIMARY KEY)")
        c.execute("CREATE TABLE agents (id uuid PRIMARY KEY)")
    with pytest.raises(MoltError, match="not a schema built from the spec: table submolts, posts"):
        _adopt(empty_dsn, dry_run=True)


def test_refuses_a_table_without_the_spec_keys(empty_dsn):
    _spec_db(empty_dsn)
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        c.execute("ALTER TABLE agents DROP CONSTRAINT unique_agent_version")
        c.execute("ALTER TABLE comments DROP CONSTRAINT comments_pkey")
    blockers = _adopt(empty_dsn, dry_run=True).plan.blockers
    assert blockers == [
        "the spec's key comments_pkey is missing (its uniqueness is relied on)",
        "the spec's key unique_agent_version is missing (its uniqueness is relied on)",
    ]


def test_uuid_ossp_variant_is_kept(empty_dsn):
    with psycopg.connect(empty_dsn, autocommit=True) as c:
        if not scalar(c, "SELECT count(*) FROM pg_available_extensions WHERE name = 'uuid-ossp'"):
            pytest.skip("uuid-ossp is not shipped with this PostgreSQL (the embedded one)")
        c.execute('CREATE EXTENSION "uuid-ossp"')
    _spec_db(empty_dsn)
    res = _adopt(empty_dsn)
    assert "uuid-ossp" in res.plan.extensions
    assert res.plan.changes()[0].startswith("1. uuid-ossp is not needed")
    with psycopg.connect(empty_dsn) as c:
        assert scalar(c, "SELECT count(*) FROM pg_extension WHERE extname = 'uuid-ossp'") == 1


def test_an_empty_spec_database_is_adopted_too(empty_dsn):
    ad.build(empty_dsn, ad.fixture_statements())
    res = _adopt(empty_dsn)
    assert [c.rows_after for c in res.checks] == [0] * len(ad.TABLES)
    assert res.plan.rewrite_rows == res.plan.attach_rows == 0
    with psycopg.connect(empty_dsn) as c:
        assert migrations.require_current(c) == latest_version()
        for t in adopt.BIG:  # no legacy range: the old table became the default partition
            assert scalar(c, "SELECT relkind FROM pg_class WHERE relname = %s", (f"{t}_default",))
