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

from moltctl import locks, sqlfiles
from moltctl.errors import MoltError, UsageError
from moltctl.session import session
from moltctl.sqlrun import run_script

# table -> partition key (the snapshot's time, copied at ingest)
PARTITIONED = {
    "posts": "fetched_at",
    "comments": "fetched_at",
    "post_evaluations": "evaluated_at",
    "comment_evaluations": "evaluated_at",
    "agent_score_history": "recorded_at",
}

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Transaction-level lock. Creating a partition locks the default partition (ACCESS EXCLUSIVE)
# and snapshots (the new foreign key): done while another ingest's data transaction holds row
# locks there, the two deadlock. So creation holds this lock exclusively and every load's data
# transaction holds it shared from its first statement: months are created between loads only.
CREATE_LOCK = 0x6D6F6C74_0020
# how long partition DDL waits for a table lock (readers queue behind a waiting DDL)
DDL_WAIT = 5.0
# create-partition --months-ahead beyond this needs --force: each partition costs catalog
# space, and every query of a table locks all its partitions (max_locks_per_transaction)
MAX_MONTHS_AHEAD = 36


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
    action: str  # created | moved | exists | covered | dropped | kept (holds rows)
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
    if not dt.MINYEAR <= index // 12 <= dt.MAXYEAR:
        raise UsageError(
            f"{month.year:04d}-{month.month:02d} {n:+d} month(s) is off the calendar "
            "(0001-01 to 9999-12)"
        )
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
    moved = run_script(
        conn,
        "partitions/create_moving_default.sql.j2",
        params,
        table=table,
        partition=name,
        default=default,
        key=key,
        lower=lower,
        upper=upper,
        columns=columns,
    )["moved_rows"]
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
    cur = conn.execute(sqlfiles.render("partitions/list.sql"), {"tables": list(PARTITIONED)})
    return [r[0] for r in cur.fetchall()]


def ensure_for_time(conn, ts: dt.datetime) -> list[str]:
    """Make sure the month holding ``ts`` has a partition in every partitioned table
    (caller's transaction)."""
    conn.execute(sqlfiles.render("partitions/xact_lock.sql"), {"key": CREATE_LOCK})
    parts = bounds(conn)  # read under the lock: another ingest may just have created them
    return [create_month(conn, table, ts, parts).partition for table in PARTITIONED]


def missing_months(conn, times) -> list[dt.datetime]:
    """The months (first instants) holding ``times`` that some partitioned table lacks."""
    parts = [p for p in bounds(conn) if not p.is_default]

    def covered(table: str, m: dt.datetime) -> bool:
        return any(p.table == table and p.lower <= m < p.upper for p in parts)

    months = {month_start(t) for t in times}
    return sorted(m for m in months if not all(covered(t, m) for t in PARTITIONED))


class PartitionWait(MoltError):
    """A load's months could not be created within the lock wait allowed."""


def prepare_load(conn, times, *, wait: float, ddl_wait: float = DDL_WAIT) -> list[str]:
    """Create the months a load needs, before its data transaction (``conn`` in autocommit).

    One short transaction: CREATE_LOCK exclusively (so it waits, at most ``wait`` seconds,
    for the data transactions of concurrent loads to end), then the partitions in one fixed
    order (tables as in PARTITIONED, months ascending), each lock wait bounded by ``ddl_wait``.
    Nothing to create: no lock at all. Raises PartitionWait when a wait runs out (nothing
    created; the load's rows can still go to the default partitions). Returns what it created.
    """
    import psycopg

    months = missing_months(conn, times)
    if not months:
        return []
    ddl_wait = min(ddl_wait, wait)
    waiting_for = f"the data transactions of concurrent loads ({wait:g}s)"
    try:
        with conn.transaction():
            _lock_timeout(conn, wait)
            conn.execute(sqlfiles.render("partitions/xact_lock.sql"), {"key": CREATE_LOCK})
            _lock_timeout(conn, ddl_wait)
            waiting_for = f"a table lock held by another session, e.g. a long query ({ddl_wait:g}s)"
            parts = bounds(conn)  # read under the lock: another ingest may just have created them
            created = []
            for table in PARTITIONED:
                for m in months:
                    change = create_month(conn, table, m, parts)
                    if change.action in ("created", "moved"):
                        created.append(change.partition)
            return created
    except psycopg.errors.LockNotAvailable:
        names = ", ".join(f"{m:%Y-%m}" for m in months)
        raise PartitionWait(
            f"the partitions of {names} were not created: waited for {waiting_for}"
        ) from None


def lock_for_load(conn) -> None:
    """First statement of a load's data transaction: no month is created until it ends."""
    conn.execute(sqlfiles.render("partitions/xact_lock_shared.sql"), {"key": CREATE_LOCK})


def _lock_timeout(conn, seconds: float) -> None:
    # 0 would mean "wait forever" to PostgreSQL: the shortest real bound instead
    ms = max(1, round(seconds * 1000))
    conn.execute(sqlfiles.render("partitions/lock_timeout.sql"), {"value": f"{ms}ms"})


def check_request(
    *,
    tables=None,
    months_ahead: int | None = None,
    month: str | None = None,
    prune: bool = False,
    force: bool = False,
) -> tuple[list[str], int, dt.datetime | None]:
    """Validate create-partition's options without a database (the CLI calls this before any
    server starts): (tables, months_ahead, first month or None for the current one)."""
    tables = check_tables(tables)
    if prune and month is not None:
        raise UsageError("--prune and --month do not go together: --prune keeps the current "
                         "month and --months-ahead after it")  # fmt: skip
    start = parse_month(month) if month is not None else None
    if months_ahead is None:
        months_ahead = 0 if month is not None else 3
    if months_ahead < 0:
        raise UsageError("--months-ahead must be 0 or more")
    if months_ahead > MAX_MONTHS_AHEAD and not force and not prune:
        raise UsageError(
            f"--months-ahead {months_ahead} is more than {MAX_MONTHS_AHEAD} "
            f"(that would be {(months_ahead + 1) * len(tables)} partitions)",
            hint="every partition costs catalog space and locks in each query; "
            "add --force if you really mean it",
        )
    return tables, months_ahead, start


def create_partitions(
    target,
    *,
    tables=None,
    months_ahead: int | None = None,
    month: str | None = None,
    lock_timeout: float = locks.NO_WAIT,
    force: bool = False,
    prune: bool = False,
) -> list[Change]:
    """``create-partition``: the months asked for, for the tables asked for, idempotently.

    Default: every partitioned table, the current month (the server's) and 3 months ahead.
    With ``month`` (YYYY-MM): that month and ``months_ahead`` (default 0) after it. Each
    table-month is one transaction (create, or create + move rows out of the default).
    More than MAX_MONTHS_AHEAD months ahead needs ``force``. With ``prune`` nothing is
    created: the monthly partitions after the current month + ``months_ahead`` that hold no
    row are dropped (action "dropped"; "kept (holds rows)" for the others).
    Holds the maintenance lock exclusively (no ingest or purge meanwhile).
    """
    tables, months_ahead, start = check_request(
        tables=tables, months_ahead=months_ahead, month=month, prune=prune, force=force
    )
    changes: list[Change] = []
    with session(target, locks.MAINTENANCE, lock_timeout=lock_timeout) as conn:
        if start is None:
            start = month_start(conn.execute(sqlfiles.render("partitions/now.sql")).fetchone()[0])
        if prune:
            return prune_after(conn, tables, add_months(start, months_ahead + 1))
        for table in tables:
            for i in range(months_ahead + 1):
                with conn.transaction():
                    changes.append(create_month(conn, table, add_months(start, i)))
    return changes


def prune_after(conn, tables, since: dt.datetime) -> list[Change]:
    """Drop the monthly partitions of ``tables`` starting at or after ``since`` that hold no
    row; one transaction per table, each partition locked against writes before it is
    checked. Partitions holding rows are left alone (action "kept (holds rows)")."""
    changes: list[Change] = []
    for table in tables:
        future = [p for p in bounds(conn, [table]) if not p.is_default and p.lower >= since]
        if not future:
            continue
        with conn.transaction():
            _lock_timeout(conn, DDL_WAIT)
            for p in future:
                name = p.partition
                conn.execute(sqlfiles.render("partitions/lock_share.sql.j2", partition=name))
                sql = sqlfiles.render("partitions/has_rows.sql.j2", partition=name)
                if conn.execute(sql).fetchone()[0]:
                    action = "kept (holds rows)"
                else:
                    conn.execute(sqlfiles.render("retention/partition_drop.sql.j2", partition=name))
                    action = "dropped"
                changes.append(Change(table, name, p.lower, p.upper, action))
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
