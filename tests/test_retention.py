"""purge (core): exactly what goes, point-in-time answers inside the window unchanged, dry run."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from moltctl import partitions, retention
from moltctl.errors import UsageError
from tests.helpers import retentiondata as rd
from tests.helpers.db import scalar

UTC = dt.UTC
START = dt.datetime(2026, 1, 20, tzinfo=UTC)
HOURS = 24 * 40  # to 2026-02-28 23:00: January whole-month partitions, February the boundary
CUTOFF = dt.datetime(2026, 2, 10, 5, 30, tzinfo=UTC)
EFFECTIVE = dt.datetime(2026, 2, 10, 5, 0, tzinfo=UTC)  # the last snapshot at/before CUTOFF


@pytest.fixture
def data(conn):
    rd.build(conn, START, HOURS)
    return conn


@pytest.mark.parametrize("partitioned", [True, False], ids=["monthly", "all-in-default"])
def test_removes_exactly_what_belongs_only_to_old_snapshots(conn, target, partitioned):
    rd.build(conn, START, HOURS, partitioned=partitioned)
    before = {t: scalar(conn, f"SELECT count(*) FROM {t}") for t in rd.ALL_TABLES}
    expected = rd.expected_removal(conn, EFFECTIVE)
    kept = rd.kept_fingerprint(conn, EFFECTIVE)
    assert all(expected.values())

    result = retention.purge(target, before=CUTOFF)

    assert result.cutoff == EFFECTIVE
    assert result.removed == expected
    after = {t: scalar(conn, f"SELECT count(*) FROM {t}") for t in rd.ALL_TABLES}
    assert {t: before[t] - after[t] for t in rd.ALL_TABLES} == expected
    assert rd.kept_fingerprint(conn, EFFECTIVE) == kept
    # no content row of any old snapshot is left; old snapshots left are exactly the anchors
    for t in rd.CONTENT_TABLES:
        assert (
            scalar(
                conn,
                f"SELECT count(*) FROM {t} x JOIN snapshots s ON s.id = x.snapshot_id "
                "WHERE s.created_at < %s",
                (EFFECTIVE,),
            )
            == 0
        )
    anchors = scalar(conn, "SELECT count(*) FROM snapshots WHERE created_at < %s", (EFFECTIVE,))
    assert anchors == result.anchors > 0
    assert (
        scalar(
            conn,
            "SELECT count(*) FROM snapshots s WHERE s.created_at < %s AND NOT EXISTS "
            "(SELECT 1 FROM agents a WHERE a.snapshot_id = s.id) AND NOT EXISTS "
            "(SELECT 1 FROM submolts m WHERE m.snapshot_id = s.id)",
            (EFFECTIVE,),
        )
        == 0
    )
    if partitioned:
        assert result.partitions == {t: [f"{t}_p2026_01"] for t in rd.CONTENT_TABLES}
        assert all(f"{t}_p2026_01" not in partitions.existing(conn) for t in rd.CONTENT_TABLES)
    else:
        assert result.partitions == {}
    # a second run finds nothing left to do
    again = retention.purge(target, before=CUTOFF)
    assert again.total == 0


def test_point_in_time_answers_inside_the_window_unchanged(data, target):
    conn = data
    end = START + dt.timedelta(hours=HOURS)
    moments = [CUTOFF, EFFECTIVE, EFFECTIVE + dt.timedelta(seconds=1)]
    t = EFFECTIVE
    while t < end + dt.timedelta(hours=30):
        moments.append(t)
        t += dt.timedelta(hours=5, minutes=17)
    assert len(moments) > 80
    agents_before = rd.agents_at(conn, moments)
    submolts_before = rd.agents_at(conn, moments, "submolts")
    snaps_before = rd.snapshot_at(conn, moments[::4])
    # the question is asked about many agents, some of which changed across the cutoff
    assert len({ext for rows in agents_before.values() for ext, _, _ in rows}) >= 10
    assert any(vf < EFFECTIVE for rows in agents_before.values() for _, _, vf in rows)

    retention.purge(target, before=CUTOFF)

    assert rd.agents_at(conn, moments) == agents_before
    assert rd.agents_at(conn, moments, "submolts") == submolts_before
    assert rd.snapshot_at(conn, moments[::4]) == snaps_before
    # moments before the window are not promised anything, and do change
    early = [START + dt.timedelta(hours=30)]
    assert rd.snapshot_at(conn, early)[early[0]] is None


def test_dry_run_changes_nothing_and_predicts_the_purge(data, target):
    conn = data
    before = rd.fingerprint(conn)
    parts = partitions.existing(conn)
    plan = retention.purge(target, before=CUTOFF, dry_run=True)
    assert plan.dry_run and plan.total > 0
    assert rd.fingerprint(conn) == before and partitions.existing(conn) == parts
    done = retention.purge(target, before=CUTOFF)
    assert done.removed == plan.removed
    assert done.partitions == plan.partitions
    assert done.anchors == plan.anchors


def test_detach_keeps_whole_months_as_archive_tables(data, target):
    conn = data
    jan = {t: scalar(conn, f"SELECT count(*) FROM {t}_p2026_01") for t in rd.CONTENT_TABLES}
    result = retention.purge(target, before=CUTOFF, detach=True)
    assert result.partitions == {t: [f"{t}_p2026_01"] for t in rd.CONTENT_TABLES}
    for t in rd.CONTENT_TABLES:
        archived = f"archived_{t}_p2026_01"
        # the whole month is kept, outside the table, with no foreign key to follow
        assert scalar(conn, f"SELECT count(*) FROM {archived}") == jan[t]
        assert (
            scalar(conn, "SELECT relispartition FROM pg_class WHERE relname = %s", (archived,))
            is False
        )
        assert (
            scalar(
                conn,
                "SELECT count(*) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                (archived,),
            )
            == 0
        )
    # a later month-partition for January can be created again (name is free)
    with conn.transaction():
        assert partitions.create_month(conn, "posts", START).action == "created"


def test_nothing_before_the_first_snapshot(data, target):
    result = retention.purge(target, before=START - dt.timedelta(days=1))
    assert result.cutoff is None and result.total == 0


def test_days_count_back_from_the_servers_clock(conn, target):
    now = scalar(conn, "SELECT date_trunc('hour', now())")
    rd.build(conn, now - dt.timedelta(days=92), 24 * 4)  # around the cutoff
    result = retention.purge(target, days=90)
    assert now - dt.timedelta(days=90, hours=1) <= result.cutoff <= now - dt.timedelta(days=90)
    assert scalar(conn, "SELECT min(fetched_at) FROM posts") == result.cutoff


def test_argument_errors(target):
    with pytest.raises(UsageError, match="exactly one"):
        retention.purge(target)
    with pytest.raises(UsageError, match="exactly one"):
        retention.purge(target, days=3, before=CUTOFF)
    with pytest.raises(UsageError, match="batch-size"):
        retention.purge(target, days=3, batch_size=0)
    with pytest.raises(UsageError, match="ISO"):
        retention.parse_before("yesterday")
    # no zone: UTC, like every other option
    assert retention.parse_before("2026-01-01T00:00:00") == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert retention.parse_before("2026-01-01T00:00:00Z") == dt.datetime(2026, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- property: failed runs anywhere

PROPERTY_START = dt.datetime(2026, 1, 30, tzinfo=UTC)  # spans cross into February


@st.composite
def layouts(draw):
    """Completed snapshots at random hours, failed runs at random minutes, a random cutoff."""
    hours = draw(st.integers(4, 60))
    completed = draw(st.sets(st.integers(0, hours - 1), min_size=1, max_size=24))
    failed = draw(st.sets(st.integers(-60, hours * 60 + 60), max_size=5))
    cutoff = draw(st.integers(-90, hours * 60 + 90))
    return hours, sorted(completed), sorted(failed), cutoff


def _record_failed(conn, t: dt.datetime) -> None:
    """The row ingest-file writes for a run that failed (its own SQL, nothing else loaded)."""
    from moltctl import sqlfiles

    conn.execute(
        sqlfiles.render("ingest/snapshot_failed.sql"),
        {
            "run_id": f"{t:%Y%m%dT%H%M%SZ}",
            "created_at": t,
            "error": "b.ndjson: line 2: not JSON",
            "started_at": t,
        },
    )


def _window_answers(conn, moments, snapshot_moments) -> tuple:
    return (
        rd.agents_at(conn, moments),
        rd.agents_at(conn, moments, "submolts"),
        rd.snapshot_at(conn, snapshot_moments),
    )


def _check_purge_keeps_the_window(pg_admin, template_db, layout) -> None:
    import psycopg

    from moltctl.connection import resolve
    from tests.helpers.db import admin_exec, create_db, with_db

    hours, completed, failed, cutoff_min = layout
    name = create_db(pg_admin, template_db)
    dsn = with_db(pg_admin, name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rd.build(conn, PROPERTY_START, hours, agents=8, submolts=3, posts=2, only=completed)
            for m in failed:
                _record_failed(conn, PROPERTY_START + dt.timedelta(minutes=m))
            cutoff = PROPERTY_START + dt.timedelta(minutes=cutoff_min)
            times = [r[0] for r in conn.execute("SELECT created_at FROM snapshots ORDER BY 1")]
            # the cutoff, every snapshot's time in the window and a moment just after each
            # (the latest-snapshot answer only changes at snapshot times)
            inside = [cutoff, *(t for t in times if t >= cutoff)]
            moments = [*inside, *(t + dt.timedelta(minutes=1) for t in inside)]
            before = _window_answers(conn, moments, inside)

            result = retention.purge(resolve(dsn), before=cutoff)

            assert _window_answers(conn, moments, inside) == before
            # the window starts at the last completed snapshot at or before the cutoff
            at = [PROPERTY_START + dt.timedelta(hours=h) for h in completed]
            assert result.cutoff == max((t for t in at if t <= cutoff), default=None)
    finally:
        admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@settings(max_examples=5, deadline=None)
@given(layout=layouts())
# the reproduction of issue 9.1: a failed run between the last completed one and the cutoff
@example(layout=(24, [0, 5, 10, 20], [11 * 60 + 30], 12 * 60))
def test_purge_keeps_every_answer_at_or_after_the_cutoff(pg_admin, template_db, layout):
    """Issue 9.1 as a property: for random completed and failed snapshots and a random cutoff,
    every point-in-time answer at or after the cutoff is the same before and after purge."""
    _check_purge_keeps_the_window(pg_admin, template_db, layout)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(layout=layouts())
def test_purge_keeps_every_answer_at_or_after_the_cutoff_many(pg_admin, template_db, layout):
    _check_purge_keeps_the_window(pg_admin, template_db, layout)
