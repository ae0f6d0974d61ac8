"""``purge``: remove the snapshots older than a cutoff and everything that belongs only to them.

The retained window starts at the *effective cutoff*: the last completed snapshot at or before
the requested cutoff (it answers the moments just after the cutoff, so it stays; a failed run
holds no data and never anchors the window). Then, as small
committed steps, each idempotent, so that a purge killed at any moment leaves a consistent
database and re-running it finishes the job:

1. SCD2 versions (agents, submolts) that ended at or before the effective cutoff are deleted:
   they answer no question about a moment inside the window. Versions reaching into the
   window, current ones included, stay.
2. Each month wholly before the cutoff, oldest first, in ONE transaction: its partition of every
   partitioned table is dropped (``--detach``: detached and kept as ``archived_<partition>``),
   the month's rows in a default partition are deleted, and the old snapshots that no retained
   version references are deleted.
3. The rest (the boundary month, a default partition, a legacy range): whole snapshots at a
   time, oldest first, in transactions of about ``batch_size`` rows: every row of those
   snapshots, then the snapshot rows themselves (unless a retained version references them).
4. The remaining unreferenced old snapshots.

So at any moment every old snapshot row is either complete or gone, except the *anchors*: old
snapshots kept only because a retained version references them (agents/submolts have no
cascade). Their content rows (posts, comments, evaluations, score history) are outside the
window and go; the snapshot row stays as the versions' provenance.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from dataclasses import dataclass, field

from moltctl import citus, locks, partitions, sqlfiles, viewlog
from moltctl.errors import MoltError, UsageError
from moltctl.session import session
from moltctl.sqlrun import database_errors, run_script
from moltctl.timestamps import parse_utc

VERSIONED = ("agents", "submolts")
ORDER = ("snapshots", *VERSIONED, *partitions.PARTITIONED)
DEFAULT_BATCH = 10_000
# --days above this (a century) is a typo, not a retention policy
MAX_DAYS = 36_500
_NIL = uuid.UUID(int=0)
_MINUS_INFINITY = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


@dataclass
class PurgeResult:
    requested_cutoff: dt.datetime | None
    cutoff: dt.datetime | None  # effective: the oldest completed snapshot kept
    dry_run: bool
    detach: bool
    window_run_id: str | None = None  # the run of that snapshot
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDER, 0))
    partitions: dict[str, list[str]] = field(default_factory=dict)  # table -> dropped/detached
    anchors: int = 0  # old snapshots kept for the retained versions that reference them
    # on Citus --detach copies each month into archived_<partition>, then drops the partition
    citus: bool = False
    steps: int = 0
    cancelled: bool = False

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def rows(self) -> list[dict]:
        # a preview never calls anything dropped: it is not, yet
        if self.dry_run:
            verb = "partitions_to_detach" if self.detach else "partitions_to_drop"
        else:
            verb = "partitions_detached" if self.detach else "partitions_dropped"
        return [
            {
                "table": t,
                "rows_removed": self.removed.get(t, 0),
                verb: len(self.partitions.get(t, [])),
            }
            for t in ORDER
        ]


def _one(conn, template: str, params: dict | None = None, **ctx):
    return conn.execute(sqlfiles.render(template, **ctx), params).fetchone()[0]


def check_cutoff(days: float | None, before: dt.datetime | None) -> None:
    """Usage errors of --days/--before, found without a database (the CLI checks before any
    server starts): exactly one of them; days a finite number from 0 to MAX_DAYS."""
    if (days is None) == (before is None):
        raise UsageError("give exactly one of --days N or --before TIMESTAMP")
    if days is not None and not (math.isfinite(days) and 0 <= days <= MAX_DAYS):
        raise UsageError(f"--days must be a number of days from 0 to {MAX_DAYS}, got {days:g}")


def resolve_cutoff(conn, days: float | None, before: dt.datetime | None) -> dt.datetime:
    check_cutoff(days, before)
    if before is not None:
        return before.replace(tzinfo=dt.UTC) if before.tzinfo is None else before
    return _one(conn, "retention/cutoff.sql", {"days": days})


def _droppable(conn, cutoff: dt.datetime) -> list[tuple[dt.datetime, dt.datetime, list]]:
    """Monthly (and legacy) partitions wholly before the cutoff, grouped by range, oldest first."""
    groups: dict[tuple, list] = {}
    for p in partitions.bounds(conn):
        if not p.is_default and p.upper <= cutoff:
            groups.setdefault((p.lower, p.upper), []).append(p)
    return [(lo, hi, groups[(lo, hi)]) for lo, hi in sorted(groups)]


def _defaults(conn) -> dict[str, str]:
    return {p.table: p.partition for p in partitions.bounds(conn) if p.is_default}


def _window(conn, cutoff: dt.datetime, **kwargs) -> PurgeResult:
    """A result whose window starts at the last completed snapshot at or before ``cutoff``."""
    row = conn.execute(
        sqlfiles.render("retention/effective_cutoff.sql"), {"cutoff": cutoff}
    ).fetchone()
    effective, run_id = row if row else (None, None)
    return PurgeResult(cutoff, effective, window_run_id=run_id, **kwargs)


def plan(conn, cutoff: dt.datetime, *, detach: bool = False) -> PurgeResult:
    """What a purge up to ``cutoff`` would remove (rows per table, partitions); changes nothing."""
    result = _window(conn, cutoff, dry_run=True, detach=detach)
    effective = result.cutoff
    result.citus = citus.version(conn) is not None
    if effective is None:
        return result
    params = {"cutoff": effective}
    for table in VERSIONED:
        result.removed[table] = _one(conn, "retention/versions_count.sql.j2", params, table=table)
    removable, anchors = conn.execute(
        sqlfiles.render("retention/snapshots_count.sql"), params
    ).fetchone()
    result.removed["snapshots"] = removable
    result.anchors = anchors
    dropped: dict[str, list[str]] = {}
    ranges: dict[str, list[tuple]] = {}
    for _lo, _hi, parts in _droppable(conn, effective):
        for p in parts:
            dropped.setdefault(p.table, []).append(p.partition)
            ranges.setdefault(p.table, []).append((p.lower, p.upper))
            result.removed[p.table] += _one(
                conn, "retention/partition_count.sql.j2", partition=p.partition
            )
    result.partitions = dropped
    for table, key in partitions.PARTITIONED.items():
        params = {"cutoff": effective}
        for i, (lower, upper) in enumerate(ranges.get(table, [])):
            params |= {f"lower_{i}": lower, f"upper_{i}": upper}
        result.removed[table] += _one(
            conn,
            "retention/rows_count.sql.j2",
            params,
            table=table,
            key=key,
            dropped=len(ranges.get(table, [])),
        )
    return result


def _archived_name(partition: str) -> str:
    return ("archived_" + partition)[:63]


def _drop_month(conn, lo, hi, parts, result: PurgeResult, defaults: dict[str, str]) -> None:
    """One transaction: the month's partitions, its default-partition rows, its snapshots."""
    with conn.transaction():
        viewlog.purged_before(conn, hi)
        for p in parts:
            n = _one(conn, "retention/partition_count.sql.j2", partition=p.partition)
            if result.detach and result.citus:
                # a detached partition's foreign key cannot be dropped on Citus (#5373): copy
                with database_errors():
                    run_script(
                        conn,
                        "retention/partition_archive_citus.sql.j2",
                        partition=p.partition,
                        archived=_archived_name(p.partition),
                        column=dict(citus.DISTRIBUTED)[p.table],
                        colocate_with=citus.ANCHOR,
                    )
            elif result.detach:
                archived = _archived_name(p.partition)
                with database_errors():
                    run_script(
                        conn,
                        "retention/partition_detach.sql.j2",
                        table=p.table,
                        partition=p.partition,
                        archived=archived,
                    )
                for (fk,) in conn.execute(
                    sqlfiles.render("retention/foreign_keys.sql"), {"table": archived}
                ).fetchall():
                    conn.execute(
                        sqlfiles.render(
                            "retention/drop_constraint.sql.j2", table=archived, constraint=fk
                        )
                    )
            else:
                conn.execute(
                    sqlfiles.render("retention/partition_drop.sql.j2", partition=p.partition)
                )
            result.removed[p.table] += n
            result.partitions.setdefault(p.table, []).append(p.partition)
        for table, default in defaults.items():
            result.removed[table] += conn.execute(
                sqlfiles.render(
                    "retention/default_range_delete.sql.j2",
                    default=default,
                    key=partitions.PARTITIONED[table],
                ),
                {"lower": lo, "upper": hi},
            ).rowcount
        result.removed["snapshots"] += conn.execute(
            sqlfiles.render("retention/snapshots_delete.sql.j2", by_ids=False),
            {"cutoff": result.cutoff, "upto": hi},
        ).rowcount
    result.steps += 1


def _boundary(conn, result: PurgeResult, batch_size: int, pause: float) -> None:
    """Whole snapshots at a time, oldest first, about ``batch_size`` rows per transaction."""
    after_ts, after_id = _MINUS_INFINITY, _NIL
    per_step = 1
    while True:
        rows = conn.execute(
            sqlfiles.render("retention/snapshots_next.sql"),
            {
                "cutoff": result.cutoff,
                "after_ts": after_ts,
                "after_id": after_id,
                "limit": per_step,
            },
        ).fetchall()
        if not rows:
            return
        ids = [r[0] for r in rows]
        removed = 0
        with conn.transaction():
            # the batch, oldest first, and any older snapshot its step may delete
            viewlog.purged_before(conn, rows[-1][1] + dt.timedelta(microseconds=1))
            for table in partitions.PARTITIONED:
                n = conn.execute(
                    sqlfiles.render("retention/rows_delete.sql.j2", table=table), {"ids": ids}
                ).rowcount
                result.removed[table] += n
                removed += n
            result.removed["snapshots"] += conn.execute(
                sqlfiles.render("retention/snapshots_delete.sql.j2", by_ids=True),
                {"cutoff": result.cutoff, "ids": ids},
            ).rowcount
        result.steps += 1
        after_id, after_ts = rows[-1]
        # aim the next step at about batch_size rows (at least one snapshot, grow at most 4x)
        if removed:
            per_step = max(1, min(per_step * 4, per_step * batch_size // removed))
        else:
            per_step = min(per_step * 4, 10_000)
        if pause:
            time.sleep(pause)


def purge(
    target,
    *,
    days: float | None = None,
    before: dt.datetime | None = None,
    dry_run: bool = False,
    detach: bool = False,
    batch_size: int = DEFAULT_BATCH,
    lock_timeout: float = locks.NO_WAIT,
    pause: float = 0.0,
    confirm=None,
    on_step=None,
) -> PurgeResult:
    """Purge everything before the cutoff (``days`` before the server's now, or ``before``).

    Holds the maintenance lock exclusively (LockedError, exit 3, if an ingest, another purge
    or create-partition holds it). ``confirm(plan) -> bool`` is asked before anything is
    removed (None: no question). ``pause`` seconds are slept between boundary steps.
    """
    if batch_size < 1:
        raise UsageError("--batch-size must be 1 or more")
    if dry_run:
        with session(target) as conn:
            cutoff = resolve_cutoff(conn, days, before)
            return plan(conn, cutoff, detach=detach)
    with session(
        target, locks.MAINTENANCE, lock_timeout=lock_timeout, application_name="moltctl purge"
    ) as conn:
        # a DROP waits for readers of the table, and new readers queue behind it: bound that
        conn.execute(sqlfiles.render("retention/lock_timeout.sql"), {"value": "30s"})
        # each step deletes rows in many shards, then snapshots (a reference table on Citus)
        conn.execute(sqlfiles.render("citus/sequential.sql"), {"local": False})
        cutoff = resolve_cutoff(conn, days, before)
        if confirm is not None:
            preview = plan(conn, cutoff, detach=detach)
            if not confirm(preview):
                preview.cancelled = True
                return preview
        result = _window(conn, cutoff, dry_run=False, detach=detach)
        effective = result.cutoff
        result.citus = citus.version(conn) is not None
        if effective is None:
            return result
        # 1. versions that end before the window
        with conn.transaction():
            for table in VERSIONED:
                result.removed[table] += conn.execute(
                    sqlfiles.render("retention/versions_delete.sql.j2", table=table),
                    {"cutoff": effective},
                ).rowcount
        result.steps += 1
        # 2. whole months
        defaults = _defaults(conn)
        for lo, hi, parts in _droppable(conn, effective):
            _drop_month(conn, lo, hi, parts, result, defaults)
            if on_step:
                on_step(result)
        # 3. the boundary, whole snapshots at a time
        _boundary(conn, result, batch_size, pause)
        # 4. whatever old snapshot is left unreferenced
        with conn.transaction():
            viewlog.purged_before(conn, effective)
            result.removed["snapshots"] += conn.execute(
                sqlfiles.render("retention/snapshots_delete.sql.j2", by_ids=False),
                {"cutoff": effective, "upto": effective},
            ).rowcount
            result.anchors = conn.execute(
                sqlfiles.render("retention/snapshots_count.sql"), {"cutoff": effective}
            ).fetchone()[1]
        return result


def parse_before(text: str) -> dt.datetime:
    """``--before``: an ISO timestamp (``Z`` accepted; no zone: UTC, like every other option);
    UsageError otherwise."""
    try:
        return parse_utc(text)
    except ValueError:
        raise UsageError(
            f"--before must be an ISO timestamp such as 2026-01-01T00:00:00Z, got {text!r}"
        ) from None


__all__ = ["MoltError", "PurgeResult", "plan", "purge", "parse_before", "resolve_cutoff"]
