"""Monthly range partitions of the high-volume tables.

Every partitioned table has a default partition (``<table>_default``) and monthly ones
(``<table>_pYYYY_MM``); a converted installation may also have one ``<table>_legacy`` partition
spanning the months it held before the conversion (migration 003). Creating a month whose range
already has rows in the default partition moves them into the new partition in the same
transaction, so no row is lost and ingest never fails for want of a partition.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from moltctl import migrations, sqlfiles
from moltctl.errors import UsageError

# table -> partition key (the snapshot's time, copied at ingest)
PARTITIONED = {
    "posts": "fetched_at",
    "comments": "fetched_at",
    "post_evaluations": "evaluated_at",
    "comment_evaluations": "evaluated_at",
    "agent_score_history": "recorded_at",
}

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# transaction-level lock: two ingests creating the same month's partition do it one at a time
CREATE_LOCK = 0x6D6F6C74_0020


@dataclass
class Partition:
    table: str
    partition: str
    is_default: bool
    lower: dt.datetime | None
    upper: dt.datetime | None
    estimated_rows: int = 0

    @property
    def range(self) -> str:
        if self.is_default:
            return "DEFAULT"
        return f"[{_short(self.lower)}, {_short(self.upper)})"


@dataclass
class Change:
    """What create-partition did (or found) for one table and month."""

    table: str
    partition: str
    lower: dt.datetime
    upper: dt.datetime
    action: str  # created | moved | exists | covered
    moved_rows: int = 0


def _short(ts: dt.datetime | None) -> str:
    if ts is None:
        return ""
    ts = ts.astimezone(dt.UTC)
    return f"{ts:%Y-%m-%d}" if ts.time() == dt.time(0) else ts.isoformat()


def month_start(ts: dt.datetime) -> dt.datetime:
    ts = ts.astimezone(dt.UTC)
    return dt.datetime(ts.year, ts.month, 1, tzinfo=dt.UTC)


def add_months(month: dt.datetime, n: int) -> dt.datetime:
    index = month.year * 12 + month.month - 1 + n
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def partition_name(table: str, month: dt.datetime) -> str:
    return f"{table}_p{month:%Y_%m}"


def parse_month(text: str) -> dt.datetime:
    """``YYYY-MM`` -> the first instant of that month (UTC); UsageError otherwise."""
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise UsageError(f"--month must be YYYY-MM (e.g. 2026-02), got {text!r}")
    return dt.datetime(int(m.group(1)), int(m.group(2)), 1, tzinfo=dt.UTC)


def check_tables(tables) -> list[str]:
    """Validate table names against PARTITIONED (UsageError names the valid ones)."""
    if not tables:
        return list(PARTITIONED)
    bad = [t for t in tables if t not in PARTITIONED]
    if bad:
        raise UsageError(
            f"{bad[0]!r} is not a partitioned table (choose from {', '.join(PARTITIONED)})"
        )
    return list(dict.fromkeys(tables))


def bounds(conn, tables=None) -> list[Partition]:
    """Every partition of the partitioned tables with its range."""
    cur = conn.execute(
        sqlfiles.render("partitions/bounds.sql"), {"tables": list(tables or PARTITIONED)}
    )
    return [Partition(*row) for row in cur.fetchall()]


def _run(conn, sql: str, params: dict) -> list:
    """Run a multi-statement script; values go as parameters to the statements that use them."""
    counts = []
    for _, stmt in sqlfiles.split_statements(sql):
        cur = conn.execute(stmt, params if "%(" in stmt else None)
        counts.append(cur.rowcount)
    return counts


def create_month(conn, table: str, month: dt.datetime, parts=None) -> Change:
    """Create ``table``'s partition for the month holding ``month`` (caller's transaction).

    Idempotent: an existing partition, or one already covering the month (a legacy range), is
    left alone. Rows of the month sitting in the default partition are moved into the new one.
    """
    lower = month_start(month)
    upper = add_months(lower, 1)
    name = partition_name(table, lower)
    # Citus: the default partition is read, then DDL runs on the table: one connection per node
    conn.execute(sqlfiles.render("citus/sequential.sql"), {"local": True})
    conn.execute(sqlfiles.render("partitions/xact_lock.sql"), {"key": CREATE_LOCK})
    parts = bounds(conn, [table]) if parts is None else [p for p in parts if p.table == table]
    default = None
    for p in parts:
        if p.is_default:
            default = p.partition
        elif p.partition == name:
            return Change(table, name, lower, upper, "exists")
        elif p.lower < upper and lower < p.upper:
            return Change(table, p.partition, lower, upper, "covered")
    key = PARTITIONED[table]
    params = {"lower": lower, "upper": upper}
    waiting = 0
    if default is not None:
        waiting = conn.execute(
            sqlfiles.render("partitions/default_rows_in_range.sql.j2", default=default, key=key),
            params,
        ).fetchone()[0]
    if not waiting:
        conn.execute(
            sqlfiles.render(
                "partitions/create.sql.j2", table=table, partition=name, lower=lower, upper=upper
            )
        )
        return Change(table, name, lower, upper, "created")
    columns = [
        r[0] for r in conn.execute(sqlfiles.render("partitions/columns.sql"), {"table": table})
    ]
    counts = _run(
        conn,
        sqlfiles.render(
            "partitions/create_moving_default.sql.j2",
            table=table,
            partition=name,
            default=default,
            key=key,
            lower=lower,
            upper=upper,
            columns=columns,
        ),
        params,
    )
    moved = counts[2]
    return Change(table, name, lower, upper, "moved", moved_rows=moved)


def ensure_month(conn, table: str, month: dt.datetime) -> str:
    """Create the month's partition of ``table`` if it does not exist (caller's transaction).

    Returns the name of the partition that holds the month.
    """
    return create_month(conn, table, month).partition


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
    conn.execute(sqlfiles.render("partitions/xact_lock.sql"), {"key": CREATE_LOCK})
    parts = bounds(conn)  # read under the lock: another ingest may just have created them
    return [create_month(conn, table, ts, parts).partition for table in PARTITIONED]


def create_partitions(
    target,
    *,
    tables=None,
    months_ahead: int | None = None,
    month: str | None = None,
    lock_timeout: float = 0.0,
) -> list[Change]:
    """``create-partition``: the months asked for, for the tables asked for, idempotently.

    Default: every partitioned table, the current month (the server's) and 3 months ahead.
    With ``month`` (YYYY-MM): that month and ``months_ahead`` (default 0) after it. Each
    table-month is one transaction (create, or create + move rows out of the default).
    Holds the maintenance lock exclusively (no ingest or purge meanwhile).
    """
    from moltctl import locks
    from moltctl.connection import connect

    tables = check_tables(tables)
    start = parse_month(month) if month is not None else None
    if months_ahead is None:
        months_ahead = 0 if month is not None else 3
    if months_ahead < 0:
        raise UsageError("--months-ahead must be 0 or more")
    changes: list[Change] = []
    with (
        locks.advisory_lock(target, locks.MAINTENANCE, what="maintenance", timeout=lock_timeout),
        connect(target, autocommit=True) as conn,
    ):
        migrations.require_current(conn)
        if start is None:
            start = month_start(conn.execute(sqlfiles.render("partitions/now.sql")).fetchone()[0])
        for table in tables:
            for i in range(months_ahead + 1):
                with conn.transaction():
                    changes.append(create_month(conn, table, add_months(start, i)))
    return changes


def status_section(conn, info: dict) -> None:
    """``status``: the partitions, their ranges and rows; a warning for rows in a default one."""
    parts = bounds(conn)
    if not parts:
        return
    counts = dict(
        conn.execute(
            sqlfiles.render("partitions/stats.sql.j2", partitions=[p.partition for p in parts])
        )
    )
    rows = []
    for p in parts:
        n = counts.get(p.partition, 0)
        rows.append({"partition": p.partition, "table": p.table, "range": p.range, "rows": n})
        if p.is_default and n:
            months = conn.execute(
                sqlfiles.render(
                    "partitions/default_months.sql.j2",
                    default=p.partition,
                    key=PARTITIONED[p.table],
                )
            ).fetchall()
            info.setdefault("warnings", []).append(
                f"{n} row(s) in default partition {p.partition} (months "
                + ", ".join(m for m, _ in months)
                + f"): run moltctl create-partition --table {p.table} --month "
                f"{months[0][0]} (and so on) to move them into monthly partitions"
            )
    info.setdefault("sections", []).append({"title": "partitions", "rows": rows})
