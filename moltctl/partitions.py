"""Monthly range partitions of the high-volume tables."""

from __future__ import annotations

import datetime as dt

from moltctl import sqlfiles

# table -> partition key (the snapshot's time, copied at ingest)
PARTITIONED = {
    "posts": "fetched_at",
    "comments": "fetched_at",
    "post_evaluations": "evaluated_at",
    "comment_evaluations": "evaluated_at",
    "agent_score_history": "recorded_at",
}


def month_start(ts: dt.datetime) -> dt.datetime:
    ts = ts.astimezone(dt.UTC)
    return dt.datetime(ts.year, ts.month, 1, tzinfo=dt.UTC)


def add_months(month: dt.datetime, n: int) -> dt.datetime:
    index = month.year * 12 + month.month - 1 + n
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def partition_name(table: str, month: dt.datetime) -> str:
    return f"{table}_p{month:%Y_%m}"


def ensure_month(conn, table: str, month: dt.datetime) -> str:
    """Create the month's partition of ``table`` if it does not exist (caller's transaction)."""
    month = month_start(month)
    name = partition_name(table, month)
    conn.execute(
        sqlfiles.render(
            "core/partition_create.sql.j2",
            table=table,
            partition=name,
            lower=month,
            upper=add_months(month, 1),
        )
    )
    return name


def ensure_ahead(
    conn, *, months_ahead: int = 3, now: dt.datetime | None = None, tables=None
) -> list[str]:
    """The current month and ``months_ahead`` after it, for every partitioned table."""
    start = month_start(now or dt.datetime.now(dt.UTC))
    names = []
    for table in tables or PARTITIONED:
        for i in range(months_ahead + 1):
            names.append(ensure_month(conn, table, add_months(start, i)))
    return names


def existing(conn) -> list[str]:
    """Names of all partitions of the partitioned tables."""
    cur = conn.execute(sqlfiles.render("core/partitions_list.sql"), {"tables": list(PARTITIONED)})
    return [r[0] for r in cur.fetchall()]


def ensure_for_time(conn, ts: dt.datetime) -> list[str]:
    """Make sure the month holding ``ts`` has a partition in every partitioned table.

    Ingest calls this (in a short transaction of its own) before loading a snapshot.
    """
    return [ensure_month(conn, table, ts) for table in PARTITIONED]
