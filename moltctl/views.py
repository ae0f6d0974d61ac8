"""The views hourly_growth, agent_leaderboard, dimension_trends: tables (and a view over them)
generated from ``sql_templates/views/`` and the dimensions table, maintained by refresh-views.

``refresh`` folds in only what changed since the last refresh (the change log ``viewlog``
writes): the hour buckets of the snapshots loaded, replaced or purged are recomputed, and the
agents whose latest score row changed are rewritten. ``full=True`` recomputes everything from
the history, as does the first refresh after a view was (re)created. All the views refresh in
one transaction, each in a savepoint: a reader sees a view as it was or as it is after the
refresh, never half of it, and is never blocked. See docs/incremental-views.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass

from moltctl import locks, sqlfiles
from moltctl.dimensions import registry
from moltctl.errors import MoltError, UsageError, first_line
from moltctl.rows import dicts
from moltctl.session import session

# refresh and create in this order (none reads another)
VIEWS = ("hourly_growth", "agent_leaderboard", "dimension_trends")
# views made of hour buckets (a change recomputes the hours it touched)
HOURLY = ("hourly_growth", "dimension_trends")
# the tables behind each view (dropped with it, counted in its size)
TABLES = {
    "hourly_growth": ("hourly_growth",),
    "agent_leaderboard": ("agent_leaderboard_rows", "agent_leaderboard_blocks"),
    "dimension_trends": ("dimension_trends",),
}
# agent_leaderboard's rank blocks: every BLOCK-th sort key (a rank reads at most BLOCK - 1
# index entries besides its block)
BLOCK = 64
_HOUR = dt.timedelta(hours=1)


def definition(conn, name: str, dims: list[dict] | None = None) -> str:
    """The DDL of view ``name`` (its tag decides whether the database has the current one)."""
    dims = registry(conn) if dims is None else dims
    return sqlfiles.render(f"views/{name}.sql.j2", dimensions=dims, only=None, block=BLOCK)


def select_sql(name: str, dims: list[dict]) -> str:
    """The view's definition as one query: what a full recompute gives (tests compare)."""
    return sqlfiles.render(f"views/{name}_select.sql.j2", dimensions=dims, only=None)


def _tag(sql: str) -> str:
    return "moltctl_" + hashlib.sha256(sql.encode()).hexdigest()[:16]


def current_tag(conn, name: str) -> str | None:
    return conn.execute(sqlfiles.render("core/view_comment.sql"), {"name": name}).fetchone()[0]


def _script(conn, sql: str, params: dict | None = None) -> None:
    for _line, stmt in sqlfiles.split_statements(sql):
        conn.execute(stmt, params if "%(" in stmt else None)


def sync(conn, names: tuple[str, ...] | list[str] = VIEWS, dims: list[dict] | None = None):
    """(Re)create each view whose generated definition differs from the one in the database
    (a materialized view of moltctl before 005 included), and fill it from the history.

    Runs in the caller's transaction; returns the names recreated. The refresh bookkeeping of
    a recreated view is cleared, so that the next refresh-views is a full one.
    """
    dims = registry(conn) if dims is None else dims
    recreated = []
    for name in names:
        sql = definition(conn, name, dims)
        tag = _tag(sql)
        if current_tag(conn, name) == tag:
            continue
        drop(conn, name)
        _script(conn, sql)
        kind = "VIEW" if name == "agent_leaderboard" else "TABLE"
        conn.execute(sqlfiles.render("core/view_set_comment.sql.j2", kind=kind, name=name, tag=tag))
        rebuild(conn, name, dims)
        conn.execute(sqlfiles.render("core/view_forget_refresh.sql"), {"name": name})
        recreated.append(name)
    return recreated


def drop(conn, name: str) -> None:
    """Drop view ``name`` as moltctl made it (a materialized view before 005), and its tables."""
    kinds = dict(
        conn.execute(
            sqlfiles.render("core/view_relkinds.sql"), {"names": [name, *TABLES[name]]}
        ).fetchall()
    )
    conn.execute(
        sqlfiles.render(
            "core/view_drop.sql.j2", name=name, kind=kinds.get(name), tables=TABLES[name]
        )
    )


# ---------------------------------------------------------------- refresh


@dataclass
class Refreshed:
    view: str
    method: str  # incremental | full | failed
    seconds: float
    rows: int | None = None
    error: str | None = None
    changes: int = 0  # change-log entries folded in

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Change:
    id: int
    kind: str
    snapshot_id: object
    created_at: dt.datetime
    upto: dt.datetime | None
    pending: list[str]


def pending_changes(conn, names) -> list[Change]:
    cur = conn.execute(sqlfiles.render("views/changes_pending.sql"), {"names": list(names)})
    return [Change(**row) for row in dicts(cur)]


def _floor_hour(t: dt.datetime) -> dt.datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def hour_ranges(changes: list[Change]) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """The whole hours the changes touch, as disjoint ranges [lo, hi) (two lists, for SQL)."""
    spans = []
    for c in changes:
        if c.upto is None:
            lo = _floor_hour(c.created_at)
            spans.append((lo, lo + _HOUR))
        else:
            hi = _floor_hour(c.upto)
            spans.append((_floor_hour(c.created_at), hi if hi == c.upto else hi + _HOUR))
    merged: list[list[dt.datetime]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [m[0] for m in merged], [m[1] for m in merged]


def rebuild(conn, name: str, dims: list[dict] | None = None) -> None:
    """Recompute view ``name`` from the whole history (``--full``), in the caller's transaction."""
    dims = registry(conn) if dims is None else dims
    if name in HOURLY:
        sql = sqlfiles.render("views/hours_refresh.sql.j2", name=name, full=True, only=None)
    else:
        sql = sqlfiles.render(
            "views/agent_leaderboard_refresh.sql.j2", dimensions=dims, full=True, block=BLOCK
        )
    _script(conn, sql)
    for table in TABLES[name]:
        conn.execute(sqlfiles.render("core/view_analyze.sql.j2", name=table))


def _incremental(conn, name: str, changes: list[Change], dims: list[dict]) -> None:
    if not changes:
        return
    if name in HOURLY:
        lo, hi = hour_ranges(changes)
        sids = [
            r[0]
            for r in conn.execute(sqlfiles.render("views/snapshots_in.sql"), {"lo": lo, "hi": hi})
        ]
        sql = sqlfiles.render("views/hours_refresh.sql.j2", name=name, full=False, only=True)
        _script(conn, sql, {"lo": lo, "hi": hi, "sids": sids})
        return
    gone = [c.snapshot_id for c in changes if c.kind in ("replaced", "removed")]
    ranges = [c for c in changes if c.upto is not None]
    agents = []
    if gone or ranges:  # (the query reads every stored row: not for a plain load)
        agents = [
            r[0]
            for r in conn.execute(
                sqlfiles.render("views/agent_leaderboard_gone.sql"),
                {
                    "sids": gone,
                    "lo": [c.created_at for c in ranges],
                    "hi": [c.upto for c in ranges],
                },
            )
        ]
    loaded = [c.snapshot_id for c in changes if c.kind == "loaded"]
    if not agents and not loaded:
        return
    sql = sqlfiles.render(
        "views/agent_leaderboard_refresh.sql.j2",
        dimensions=dims,
        full=False,
        block=BLOCK,
        single=not agents and len(loaded) == 1,
        again=bool(agents),
    )
    _script(conn, sql, {"agents": agents, "sids": loaded})
    if conn.execute(sqlfiles.render("views/agent_leaderboard_big.sql.j2", block=BLOCK)).fetchone()[
        0
    ]:
        _script(conn, sqlfiles.render("views/agent_leaderboard_split.sql.j2", block=BLOCK))
    conn.execute(sqlfiles.render("views/agent_leaderboard_ahead.sql"))


def _refresh_one(conn, name: str, *, full: bool, changes: list[Change], dims) -> Refreshed:
    """One view, in a savepoint of the refresh's transaction."""
    import psycopg

    started = time.perf_counter()
    mine = [c for c in changes if name in c.pending]
    try:
        with conn.transaction():
            recreated = sync(conn, [name], dims)
            state = conn.execute(
                sqlfiles.render("core/view_last_refresh.sql"), {"name": name}
            ).fetchone()
            if recreated:
                method = "full"  # sync filled it from the history just now
            elif full or state is None or state[0] is None:
                method = "full"
                rebuild(conn, name, dims)
            else:
                method = "incremental"
                _fold(conn, name, mine, dims)
            return _done(conn, name, method, mine, started)
    except (psycopg.Error, MoltError) as exc:
        return Refreshed(name, "failed", time.perf_counter() - started, None, first_line(exc))


def _fold(conn, name: str, mine: list[Change], dims) -> None:
    """The incremental step, planned for the few rows it reads (refresh_planner.sql.j2)."""
    _script(conn, sqlfiles.render("views/refresh_planner.sql.j2", incremental=True))
    _incremental(conn, name, mine, dims)
    _script(conn, sqlfiles.render("views/refresh_planner.sql.j2", incremental=False))


def _done(conn, name: str, method: str, mine: list[Change], started: float) -> Refreshed:
    """Consume the changes folded in and record the refresh (the caller's transaction)."""
    _script(
        conn,
        sqlfiles.render("views/changes_consume.sql"),
        {"name": name, "ids": [c.id for c in mine]},
    )
    rows = conn.execute(sqlfiles.render(f"views/{name}_count.sql")).fetchone()[0]
    seconds = time.perf_counter() - started
    conn.execute(
        sqlfiles.render("core/view_record_refresh.sql"),
        {
            "view_name": name,
            "duration_ms": seconds * 1000,
            "row_count": rows,
            "method": method,
            "changes": len(mine),
        },
    )
    return Refreshed(name, method, seconds, rows, changes=len(mine))


def fold_at_ingest(conn, sid) -> Refreshed | None:
    """Fold snapshot ``sid``, loaded in the caller's transaction and logged, into
    agent_leaderboard there and then, so that the leaderboard is current when the ingest
    commits and refresh-views has only the hour views left to do.

    Only the case an hourly ingest is: the view is current (refreshed by moltctl before, its
    definition unchanged) and this load is its only pending change; and only if no refresh
    holds the refresh lock (a transaction-level try: the ingest never waits for a refresh; a
    refresh-views started meanwhile finds the lock held until the ingest commits, as it would
    another refresh's). Otherwise returns None and the change stays pending for refresh-views,
    as does a fold that fails (rolled back to a savepoint, the ingest goes on; the result says
    why, method "failed"). The fold is refresh-views' own incremental step, with its
    settings; the refresh is recorded with method "ingest".
    """
    import psycopg

    started = time.perf_counter()
    name = "agent_leaderboard"
    got = conn.execute(sqlfiles.render("locks/try_xact.sql"), {"key": locks.REFRESH}).fetchone()
    if not got[0]:
        return None
    try:
        with conn.transaction():
            # the cheap checks first (a fresh database fails the first)
            state = conn.execute(
                sqlfiles.render("core/view_last_refresh.sql"), {"name": name}
            ).fetchone()
            if state is None or state[0] is None:
                return None
            mine = pending_changes(conn, [name])
            if [(c.kind, str(c.snapshot_id)) for c in mine] != [("loaded", str(sid))]:
                return None
            dims = registry(conn)
            if current_tag(conn, name) != _tag(definition(conn, name, dims)):
                return None
            _script(conn, sqlfiles.render("views/refresh_settings.sql"))
            _fold(conn, name, mine, dims)
            return _done(conn, name, "ingest", mine, started)
    except psycopg.Error as exc:
        return Refreshed(name, "failed", time.perf_counter() - started, None, first_line(exc))


def refresh(
    target,
    names: list[str] | tuple[str, ...] | None = None,
    *,
    full: bool = False,
    lock_timeout: float = 0.0,
    on_done=None,
) -> list[Refreshed]:
    """Fold the changes logged since the last refresh into the named views (all by default);
    ``full``: recompute them from the whole history. Under the refresh lock.

    A second refresh-views does not queue behind the first: it raises LockedError (exit 3)
    unless the lock frees within ``lock_timeout`` seconds. One transaction (repeatable read:
    every view sees the same history and change log); a view that fails is rolled back to
    how it was, reported in its result, and keeps its pending changes; the others commit.
    """
    import psycopg

    wanted = list(dict.fromkeys(names or VIEWS))
    unknown = [n for n in wanted if n not in VIEWS]
    if unknown:
        raise UsageError(
            f"unknown view {unknown[0]!r} (the views are {', '.join(VIEWS)})",
        )
    with session(
        target, locks.REFRESH, lock_timeout=lock_timeout, application_name="moltctl refresh-views"
    ) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        results = []
        with conn.transaction():
            _script(conn, sqlfiles.render("views/refresh_settings.sql"))
            dims = registry(conn)
            changes = pending_changes(conn, wanted)
            for name in (n for n in VIEWS if n in wanted):
                results.append(_refresh_one(conn, name, full=full, changes=changes, dims=dims))
        for done in results:
            if on_done:
                on_done(done)
        return results
