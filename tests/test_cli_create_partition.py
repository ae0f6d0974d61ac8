"""moltctl create-partition: months ahead, idempotent, default-partition rows moved, errors."""

from __future__ import annotations

import datetime as dt
import json

import psycopg

from moltctl import locks, partitions
from tests.helpers import retentiondata as rd
from tests.helpers.db import migrate_to, public_relations, scalar
from tests.helpers.refusals import assert_refused_at_002, assert_refused_empty

UTC = dt.UTC
TABLES = list(partitions.PARTITIONED)


def test_months_ahead_and_idempotent(conn, cli):
    start = partitions.month_start(scalar(conn, "SELECT now()"))
    r = cli("create-partition", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert {x["action"] for x in json.loads(r.stdout)} == {"exists"}  # init made them
    assert "created 0 partition(s)" in r.stderr
    r = cli("create-partition", "--months-ahead", "6", "--format", "json")
    rows = json.loads(r.stdout)
    assert len(rows) == 7 * len(TABLES)
    created = {x["partition"] for x in rows if x["action"] == "created"}
    assert created == {
        partitions.partition_name(t, partitions.add_months(start, i))
        for t in TABLES
        for i in (4, 5, 6)
    }
    existing = set(partitions.existing(conn))
    assert created <= existing
    again = cli("create-partition", "--months-ahead", "6", "--format", "json")
    assert {x["action"] for x in json.loads(again.stdout)} == {"exists"}


def test_one_table_one_month(conn, cli):
    r = cli("create-partition", "--table", "post_evaluations", "--month", "2025-02", "-f", "csv")
    assert r.exit_code == 0, r.stderr
    assert "post_evaluations_p2025_02" in r.stdout and r.stdout.count("created") == 1
    assert "posts_p2025_02" not in partitions.existing(conn)
    r = cli(
        "create-partition",
        "-t",
        "posts",
        "-t",
        "comments",
        "--month",
        "2025-02",
        "--months-ahead",
        "1",
        "-f",
        "json",
    )
    assert sorted(x["partition"] for x in json.loads(r.stdout)) == [
        "comments_p2025_02",
        "comments_p2025_03",
        "posts_p2025_02",
        "posts_p2025_03",
    ]


def test_moves_default_rows_and_status_warns_until_then(conn, cli):
    start = dt.datetime(2025, 4, 28, tzinfo=UTC)
    rd.build(conn, start, 24 * 5, partitioned=False)  # April and May, all in the defaults
    before = rd.fingerprint(conn)
    status = cli("status")
    assert status.exit_code == 0
    assert "row(s) in default partition posts_default (months 2025-04, 2025-05)" in status.stderr
    assert "posts_default" in status.stdout

    r = cli("create-partition", "--month", "2025-04", "--months-ahead", "1", "-f", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {x["action"] for x in rows} == {"moved"}
    moved = {}
    for x in rows:
        moved[x["table"]] = moved.get(x["table"], 0) + x["moved_rows"]
    assert moved == {t: before[t][0] for t in TABLES}  # every row, none lost
    assert rd.fingerprint(conn) == before
    assert "moved" in r.stderr
    for t in TABLES:
        assert scalar(conn, f"SELECT count(*) FROM {t}_default") == 0
    status = cli("status", "--format", "json")
    info = json.loads(status.stdout)
    assert "warnings" not in info
    section = next(s for s in info["sections"] if s["title"] == "partitions")
    by_name = {x["partition"]: x for x in section["rows"]}
    assert by_name["posts_p2025_04"]["range"] == "[2025-04-01, 2025-05-01)"
    assert (
        by_name["posts_p2025_04"]["rows"] + by_name["posts_p2025_05"]["rows"] == before["posts"][0]
    )


def test_errors_are_one_line(cli):
    for args, code, msg in (
        (("--table", "agents"), 2, "'agents' is not a partitioned table"),
        (("--month", "2026-13"), 2, "--month must be YYYY-MM"),
        (("--month", "March"), 2, "--month must be YYYY-MM"),
        (("--months-ahead", "-1"), 2, "--months-ahead must be 0 or more"),
    ):
        r = cli("create-partition", *args)
        assert r.exit_code == code, (args, r.stderr)
        assert msg in r.stderr and len(r.stderr.strip().splitlines()) <= 2


def test_locked_exits_3(cli, target):
    with locks.advisory_lock(target, locks.MAINTENANCE, what="purge"):
        r = cli("create-partition")
    assert r.exit_code == 3 and "holds the maintenance lock" in r.stderr


def test_refused_without_schema_or_with_pending_migration(cli, empty_dsn):
    assert_refused_empty(cli("create-partition", dsn_override=empty_dsn))
    assert public_relations(empty_dsn) == []
    migrate_to(empty_dsn, "002")
    with psycopg.connect(empty_dsn) as c:
        before = partitions.existing(c)
    # migrate alone makes only the default partitions: create-partition would have added months
    assert before and all(p.endswith("_default") for p in before)
    for args in ((), ("--table", "posts", "--month", "2026-02", "--format", "json")):
        assert_refused_at_002(cli("create-partition", *args, dsn_override=empty_dsn))
    with psycopg.connect(empty_dsn) as c:
        assert partitions.existing(c) == before


UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"


def test_months_ahead_is_bounded_before_connecting(cli, conn):
    """Issue 9 item 7: --months-ahead 1000 created 4,985 partitions without a question."""
    before = partitions.existing(conn)
    for dsn in (None, UNREACHABLE):  # checked before any connection (or server start)
        r = cli("create-partition", "--months-ahead", "1000", dsn_override=dsn)
        assert r.exit_code == 2, r.stderr
        assert r.stderr.strip().splitlines()[0] == (
            "error: --months-ahead 1000 is more than 36 (that would be 5005 partitions)"
        )
        assert "--force" in r.stderr and len(r.stderr.strip().splitlines()) == 2
    assert partitions.existing(conn) == before
    r = cli("create-partition", "--months-ahead", "36", "--table", "posts", "-f", "json")
    assert r.exit_code == 0, r.stderr
    r = cli("create-partition", "--months-ahead", "40", "--table", "posts", "--force", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)) == 41


def test_prune_drops_empty_future_partitions_only(cli, conn):
    start = partitions.month_start(scalar(conn, "SELECT now()"))
    assert cli("create-partition", "--months-ahead", "12").exit_code == 0
    # a row in one far month: that partition is refused, whatever --prune says
    far = partitions.add_months(start, 10)
    rd.build(conn, far + dt.timedelta(days=3), 1)
    before = set(partitions.existing(conn))
    r = cli("create-partition", "--prune", "-f", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    dropped = {x["partition"] for x in rows if x["action"] == "dropped"}
    kept = {x["partition"] for x in rows if x["action"] == "kept (holds rows)"}
    assert dropped == {
        partitions.partition_name(t, partitions.add_months(start, i))
        for t in TABLES
        for i in range(4, 13)
        if i != 10
    }
    assert kept == {partitions.partition_name(t, far) for t in TABLES}
    assert set(partitions.existing(conn)) == before - dropped
    # the current month and 3 ahead stay (the default of create-partition)
    assert partitions.partition_name("posts", partitions.add_months(start, 3)) in before - dropped
    assert f"dropped {len(dropped)} empty partition(s)" in r.stderr
    assert f"kept {len(kept)} partition(s) holding rows" in r.stderr
    # --months-ahead says how many months after the current one to keep; idempotent
    r = cli("create-partition", "--prune", "--months-ahead", "1", "--table", "comments")
    assert r.exit_code == 0, r.stderr
    assert "comments_p" + f"{partitions.add_months(start, 2):%Y_%m}" in r.stdout
    assert partitions.partition_name("posts", partitions.add_months(start, 2)) in (
        partitions.existing(conn)
    )
    r = cli("create-partition", "--prune", "--months-ahead", "1", "--table", "comments")
    assert r.exit_code == 0 and "dropped 0 empty partition(s)" in r.stderr
    r = cli("create-partition", "--prune", "--month", "2026-01")
    assert r.exit_code == 2 and "--prune and --month" in r.stderr
