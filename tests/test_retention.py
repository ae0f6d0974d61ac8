"""purge (core): exactly what goes, point-in-time answers inside the window unchanged, dry run."""

from __future__ import annotations

import datetime as dt

import pytest

from moltctl import partitions, retention
from moltctl.errors import UsageError
from tests import retentiondata as rd
from tests.conftest import scalar

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
    with pytest.raises(UsageError, match="time zone"):
        retention.parse_before("2026-01-01T00:00:00")
    assert retention.parse_before("2026-01-01T00:00:00Z") == dt.datetime(2026, 1, 1, tzinfo=UTC)
