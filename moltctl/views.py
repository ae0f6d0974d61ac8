"""The materialized views: generated from ``sql_templates/views/`` and the dimensions table."""

from __future__ import annotations

import hashlib

from moltctl import sqlfiles

# dependency order (none of them reads another today; refresh and create in this order)
VIEWS = ("hourly_growth", "agent_leaderboard", "dimension_trends")


def dimensions(conn) -> list[dict]:
    cur = conn.execute(sqlfiles.render("core/dimensions.sql"))
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def definition(conn, name: str, dims: list[dict] | None = None) -> str:
    dims = dimensions(conn) if dims is None else dims
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
    dims = dimensions(conn)
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
