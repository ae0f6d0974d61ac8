"""The dimension registry (the ``dimensions`` table): what views and queries are generated from."""

from __future__ import annotations

from moltctl import sqlfiles
from moltctl.rows import dicts


def registry(conn) -> list[dict]:
    """Every registered dimension (name, label, ...), as the views and queries render them."""
    return dicts(conn.execute(sqlfiles.render("dimensions/registry.sql")))
