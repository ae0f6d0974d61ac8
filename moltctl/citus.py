"""Citus: lay moltctl's tables out over a cluster when the ``citus`` extension is installed.

``distribute`` runs after the migrations (``init``, ``migrate``); it does nothing on a plain
PostgreSQL. The plan (docs/citus.md): the small tables every query joins are reference tables
(a copy on every node); the high-volume ones are hash-distributed and all co-located, so a
post, its comments and their evaluations live on one shard, as do an agent's versions,
observations and score history. Everything else (moltctl's bookkeeping, the materialized
views) stays local on the coordinator. Idempotent: a table already laid out is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moltctl import sqlfiles, views
from moltctl.errors import MoltError
from moltctl.rows import dicts

REFERENCE = ("snapshots", "dimensions")
# (table, distribution column), the first one anchors the co-location group
DISTRIBUTED = (
    ("posts", "external_id"),
    ("comments", "post_id"),
    ("post_evaluations", "post_id"),
    ("comment_evaluations", "post_id"),
    ("agents", "external_id"),
    ("agent_observations", "external_id"),
    ("agent_score_history", "agent_id"),
    ("submolts", "external_id"),
    ("submolt_observations", "external_id"),
)
ANCHOR = DISTRIBUTED[0][0]


@dataclass
class DistributeResult:
    citus_version: str | None = None
    # tables laid out now: name -> "reference" | "distributed by <column>"
    laid_out: dict[str, str] = field(default_factory=dict)
    moved_rows: dict[str, int] = field(default_factory=dict)
    shard_count: int | None = None


def version(conn) -> str | None:
    """The citus extension's version in this database, or None (a plain PostgreSQL)."""
    row = conn.execute(sqlfiles.render("citus/installed.sql")).fetchone()
    return row[0] if row else None


def tables(conn) -> dict[str, dict]:
    """How Citus holds each (non-partition) table it knows, by name."""
    return {r["name"]: r for r in dicts(conn.execute(sqlfiles.render("citus/tables.sql")))}


def _count(conn, table: str) -> int:
    return conn.execute(sqlfiles.render("citus/count.sql.j2", table=table)).fetchone()[0]


def distribute(conn, *, shard_count: int | None = None) -> DistributeResult:
    """Lay out moltctl's tables on Citus (no-op without the extension); rows already in a
    table are moved into its shards by Citus and counted before and after.

    One transaction: a failure leaves every table as it was.
    """
    result = DistributeResult(citus_version=version(conn))
    conn.commit()
    if result.citus_version is None:
        if shard_count is not None:
            raise MoltError(
                "--shard-count needs Citus: the citus extension is not installed in this database",
                hint="CREATE EXTENSION citus (see docs/citus.md), or leave --shard-count out",
            )
        return result
    with conn.transaction():
        known = tables(conn)
        todo_ref = [t for t in REFERENCE if known.get(t, {}).get("kind") != "reference"]
        todo_dist = [
            (t, c) for t, c in DISTRIBUTED if known.get(t, {}).get("kind") != "distributed"
        ]
        before = {t: _count(conn, t) for t in todo_ref + [t for t, _ in todo_dist]}
        for t in todo_ref:
            conn.execute(sqlfiles.render("citus/create_reference.sql.j2", table=t))
            result.laid_out[t] = "reference"
        for t, column in todo_dist:
            follow = t != ANCHOR or known.get(ANCHOR, {}).get("kind") == "distributed"
            conn.execute(
                sqlfiles.render(
                    "citus/create_distributed.sql.j2",
                    table=t,
                    column=column,
                    colocate_with=ANCHOR if follow else None,
                    shard_count=shard_count,
                ),
                {"shard_count": shard_count},
            )
            result.laid_out[t] = f"distributed by {column}"
        for t, rows in before.items():
            after = _count(conn, t)
            if after != rows:
                raise MoltError(
                    f"distributing {t} on Citus: {rows} rows before, {after} after; rolled back",
                    hint="nothing was changed; report this with the Citus version",
                )
            if rows:
                result.moved_rows[t] = rows
                conn.execute(sqlfiles.render("citus/truncate_local.sql.j2", table=t))
        if result.laid_out:
            # Citus recreates the materialized views over a table it distributes, without
            # moltctl's definition tag: recreate them as moltctl made them
            views.sync(conn)
    result.shard_count = tables(conn).get(ANCHOR, {}).get("shard_count")
    conn.commit()
    return result
