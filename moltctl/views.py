"""The materialized views: generated from ``sql_templates/views/`` and the dimensions table."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from moltctl import migrations, sqlfiles
from moltctl.dimensions import registry
from moltctl.errors import MoltError, UsageError, first_line
from moltctl.rows import keyed

# dependency order (none of them reads another today; refresh and create in this order)
VIEWS = ("hourly_growth", "agent_leaderboard", "dimension_trends")


def definition(conn, name: str, dims: list[dict] | None = None) -> str:
    dims = registry(conn) if dims is None else dims
    return sqlfiles.render(f"views/{name}.sql.j2", dimensions=dims)


def _tag(sql: str) -> str:
    return "moltctl_" + hashlib.sha256(sql.encode()).hexdigest()[:16]


def current_tag(conn, name: str) -> str | None:
    return conn.execute(sqlfiles.render("core/view_comment.sql"), {"name": name}).fetchone()[0]


def sync(conn, names: tuple[str, ...] | list[str] = VIEWS) -> list[str]:
    """(Re)create each view whose rendered definition differs from the one in the database.

    Runs in the caller's transaction; returns the names recreated (created WITH DATA, so a
    recreated view is populated and can be refreshed CONCURRENTLY afterwards).
    """
    dims = registry(conn)
    recreated = []
    for name in names:
        sql = definition(conn, name, dims)
        tag = _tag(sql)
        if current_tag(conn, name) == tag:
            continue
        conn.execute(sqlfiles.render("core/view_drop.sql.j2", name=name))
        for _line, stmt in sqlfiles.split_statements(sql):
            conn.execute(stmt)
        conn.execute(sqlfiles.render("core/view_set_comment.sql.j2", name=name, tag=tag))
        recreated.append(name)
    return recreated


# ---------------------------------------------------------------- refresh


@dataclass
class Refreshed:
    view: str
    method: str  # concurrently | plain | recreated | failed
    seconds: float
    rows: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def refresh_order(conn, names: list[str] | tuple[str, ...]) -> list[str]:
    """``names`` with every view after the views it reads (ties in ``VIEWS`` order)."""
    deps: dict[str, set[str]] = {n: set() for n in names}
    for view, depends_on in conn.execute(sqlfiles.render("core/view_dependencies.sql")):
        if view in deps and depends_on in deps:
            deps[view].add(depends_on)
    rank = {n: i for i, n in enumerate(VIEWS)}
    pending = sorted(deps, key=lambda n: (rank.get(n, len(rank)), n))
    order: list[str] = []
    while pending:
        ready = [n for n in pending if deps[n] <= set(order)]
        if not ready:  # a cycle cannot happen between views; refresh the rest as listed
            ready = pending[:1]
        order.append(ready[0])
        pending.remove(ready[0])
    return order


def refresh_info(conn, names) -> dict[str, dict]:
    return keyed(
        conn.execute(sqlfiles.render("core/view_refresh_info.sql"), {"names": list(names)})
    )


def refresh_one(conn, name: str) -> Refreshed:
    """Sync the view's definition, then REFRESH (CONCURRENTLY where possible), ANALYZE, count,
    and record it in moltctl_view_refreshes. ``conn`` is in autocommit mode."""
    import psycopg

    started = time.perf_counter()
    try:
        with conn.transaction():
            recreated = sync(conn, [name])
            if recreated:
                method = "recreated"  # created WITH DATA just now: nothing to refresh
            else:
                info = refresh_info(conn, [name]).get(name)
                concurrently = bool(info and info["populated"] and info["has_unique_index"])
                conn.execute(
                    sqlfiles.render(
                        "core/view_refresh.sql.j2", name=name, concurrently=concurrently
                    )
                )
                method = "concurrently" if concurrently else "plain"
        conn.execute(sqlfiles.render("core/view_analyze.sql.j2", name=name))
        rows = conn.execute(sqlfiles.render("core/view_count.sql.j2", name=name)).fetchone()[0]
        seconds = time.perf_counter() - started
        conn.execute(
            sqlfiles.render("core/view_record_refresh.sql"),
            {"view_name": name, "duration_ms": seconds * 1000, "row_count": rows},
        )
        return Refreshed(name, method, seconds, rows)
    except (psycopg.Error, MoltError) as exc:
        return Refreshed(name, "failed", time.perf_counter() - started, None, first_line(exc))


def refresh(
    target,
    names: list[str] | tuple[str, ...] | None = None,
    *,
    lock_timeout: float = 0.0,
    on_done=None,
) -> list[Refreshed]:
    """Refresh the named views (all by default) in dependency order under the refresh lock.

    A second refresh-views does not queue behind the first: it raises LockedError (exit 3)
    unless the lock frees within ``lock_timeout`` seconds. A failing view is reported in its
    result and the others still refresh.
    """
    from moltctl import locks
    from moltctl.connection import connect

    wanted = list(dict.fromkeys(names or VIEWS))
    unknown = [n for n in wanted if n not in VIEWS]
    if unknown:
        raise UsageError(
            f"unknown view {unknown[0]!r} (the views are {', '.join(VIEWS)})",
        )
    with (
        locks.advisory_lock(target, locks.REFRESH, what="refresh-views", timeout=lock_timeout),
        connect(target, autocommit=True, application_name="moltctl refresh-views") as conn,
    ):
        migrations.require_current(conn)
        results = []
        for name in refresh_order(conn, wanted):
            done = refresh_one(conn, name)
            results.append(done)
            if on_done:
                on_done(done)
        return results
