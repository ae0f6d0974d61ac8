"""The views as moltctl made them before migration 005: materialized views of the same
definitions (for tests of databases installed back then)."""

from __future__ import annotations

from moltctl import dimensions, views


def create(conn) -> None:
    """Replace the views with materialized views of their definitions, in the caller's
    transaction (what ``migrate`` then converts)."""
    dims = dimensions.registry(conn)
    for name in views.VIEWS:
        views.drop(conn, name)
        conn.execute(f"CREATE MATERIALIZED VIEW {name} AS {views.select_sql(name, dims)}")
