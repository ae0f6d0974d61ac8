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

from moltctl import migrations, sqlfiles, views
from moltctl.connection import connect
from moltctl.errors import MoltError, UsageError, first_line
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
    import psycopg

    try:
        _lay_out(conn, result, shard_count)
    except psycopg.Error as exc:
        conn.rollback()
        raise MoltError(
            f"cannot distribute the tables on Citus: {first_line(exc)} "
            "(rolled back: no table was distributed)",
            hint="the workers must be registered and reachable "
            "(SELECT * FROM citus_get_active_worker_nodes()); see docs/citus.md",
        ) from None
    result.shard_count = tables(conn).get(ANCHOR, {}).get("shard_count")
    conn.commit()
    return result


def _lay_out(conn, result: DistributeResult, shard_count: int | None) -> None:
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


# ------------------------------------------------------------------------------ status


def status_section(conn, info: dict) -> None:
    """``status`` on Citus: the nodes, and how each table is held (reference / distributed by
    what / local on the coordinator) with its shards and bytes. Nothing on a plain server."""
    citus_version = version(conn)
    if citus_version is None:
        return
    nodes = dicts(conn.execute(sqlfiles.render("citus/nodes.sql")))
    held = tables(conn)
    sizes = {r["name"]: r for r in dicts(conn.execute(sqlfiles.render("citus/table_sizes.sql")))}
    rows = []
    own = (*migrations.SPEC_TABLES, *migrations.OWN_TABLES, "moltctl_migrations")
    for name in (*own, *sorted(set(held) - set(own))):
        if any(r["table"] == name for r in rows):
            continue
        t = held.get(name)
        if t is None:
            layout = "local (coordinator)"
        elif t["kind"] == "distributed":
            layout = f"distributed by {t['column']}"
        else:
            layout = t["kind"]
        size = sizes.get(name, {})
        rows.append(
            {
                "table": name,
                "layout": layout,
                "colocation_id": t["colocation_id"] if t else None,
                # per table (each partition of a partitioned table has as many)
                "shard_count": t["shard_count"] if t else None,
                "bytes": size.get("bytes", 0) if t else None,
            }
        )
    info["citus"] = {"version": citus_version, "nodes": nodes, "tables": rows}
    sections = info.setdefault("sections", [])
    sections.append({"title": f"Citus {citus_version} nodes", "rows": nodes})
    sections.append({"title": "Citus tables", "rows": rows})


# ------------------------------------------------------------------------- grow the cluster


def _require(conn) -> str:
    found = version(conn)
    if found is None:
        raise MoltError(
            "this database is not on Citus: the citus extension is not installed",
            hint="docs/citus.md: CREATE EXTENSION citus, then moltctl migrate",
        )
    return found


def parse_node(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (port 5432 when left out); UsageError naming the problem otherwise."""

    host, _, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "5432")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"node {text!r}: expected HOST:PORT, e.g. 10.0.0.5:5432")
    return host, int(port)


@dataclass
class AddNodeResult:
    node: str
    added: bool  # False: it was in the cluster already
    node_id: int


def add_node(target, node: str) -> AddNodeResult:
    """Register a worker (``citus_add_node``): the reference tables and metadata are copied to
    it; it holds no shards until ``rebalance``. Idempotent: a known node is left alone."""
    import psycopg

    host, port = parse_node(node)
    with connect(target, autocommit=True, application_name="moltctl cluster") as conn:
        _require(conn)
        params = {"host": host, "port": port}
        found = conn.execute(sqlfiles.render("citus/node_find.sql"), params).fetchone()
        if found:
            return AddNodeResult(f"{host}:{port}", False, found[0])
        try:
            node_id = conn.execute(sqlfiles.render("citus/node_add.sql"), params).fetchone()[0]
        except psycopg.Error as exc:
            raise MoltError(
                f"cannot add node {host}:{port}: {target.scrub(first_line(exc))}",
                hint="the node needs PostgreSQL with shared_preload_libraries = 'citus', this "
                "database created and CREATE EXTENSION citus in it, and must accept the "
                "coordinator's connections (docs/citus.md)",
            ) from None
    return AddNodeResult(f"{host}:{port}", True, node_id)


@dataclass
class RebalanceProgress:
    job_id: int | None
    state: str  # scheduled | running | finished | failed | cancelled | balanced
    done: int = 0
    total: int = 0
    mode: str = "auto"
    error: str | None = None


def _job(conn) -> dict | None:
    rows = dicts(conn.execute(sqlfiles.render("citus/rebalance_status.sql")))
    return rows[-1] if rows else None


def _task_error(job: dict) -> str | None:
    """The message of a task that failed and is being retried, if any."""
    for task in (job.get("details") or {}).get("tasks", []):
        message = (task.get("message") or "").strip()
        if message and task.get("retried", 0) >= 1:
            return " ".join(message.replace("ERROR:", "").split())[:300]
    return None


def rebalance(
    target,
    *,
    mode: str | None = None,
    poll: float = 1.0,
    timeout: float | None = None,
    on_progress=None,
) -> RebalanceProgress:
    """Move shards until every worker holds its share (``citus_rebalance_start``), reporting
    progress until the job is done. Safe to re-run: a rebalance already running is followed
    rather than started twice; balanced shards mean nothing to do.

    ``mode``: Citus's shard transfer mode; default ``auto`` (online, logical replication) when
    the server runs with ``wal_level = logical``, else ``block_writes`` (writes to a shard wait
    while it moves).
    """
    import time

    import psycopg

    with connect(target, autocommit=True, application_name="moltctl cluster") as conn:
        _require(conn)
        if mode is None:
            wal = conn.execute(sqlfiles.render("citus/wal_level.sql")).fetchone()[0]
            mode = "auto" if wal == "logical" else "block_writes"
        job = _job(conn)
        if job is None or job["state"] not in ("scheduled", "running", "cancelling", "failing"):
            try:
                started = conn.execute(
                    sqlfiles.render("citus/rebalance_start.sql"), {"mode": mode}
                ).fetchone()[0]
            except psycopg.Error as exc:
                raise MoltError(
                    f"cannot start the rebalance: {target.scrub(first_line(exc))}"
                ) from None
            if started is None:
                return RebalanceProgress(None, "balanced", mode=mode)
            job = _job(conn)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            progress = RebalanceProgress(
                job["job_id"], job["state"], job["done"] or 0, job["total"] or 0, mode
            )
            progress.error = _task_error(job)
            if on_progress:
                on_progress(progress)
            if job["state"] in ("finished", "failed", "cancelled"):
                break
            if progress.error or (deadline is not None and time.monotonic() > deadline):
                why = progress.error or "still running after the timeout"
                raise MoltError(
                    f"rebalance job {job['job_id']}: {why}",
                    hint="it goes on in the background: moltctl cluster rebalance follows it "
                    "again; SELECT citus_rebalance_stop() stops it",
                )
            time.sleep(poll)
            job = _job(conn)
    if progress.state != "finished":
        raise MoltError(
            f"rebalance job {progress.job_id} {progress.state}",
            hint="SELECT * FROM citus_rebalance_status() shows each move's message",
        )
    return progress
