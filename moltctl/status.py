"""``status``: what a database holds and how far its schema is."""

from __future__ import annotations

from moltctl import migrations, partitions, schema, sqlfiles, views
from moltctl.rows import dicts


def gather(target) -> dict:
    from moltctl.connection import connect

    with connect(target) as conn:
        server = dicts(conn.execute(sqlfiles.render("core/status_server.sql")))[0]
        states = migrations.status(conn)
        version = migrations.current_of(states)
        info: dict = {
            "server_version": server["server_version"],
            "connection": target.display,
            "connection_source": target.source,
            "database": server["database"],
            "user": server["user"],
            "schema_version": version,
            "initialized": version is not None,
            "migrations": [
                {
                    "version": s.version,
                    "name": s.name,
                    "state": s.state,
                    "applied_at": s.applied_at,
                    "duration_ms": s.duration_ms,
                }
                for s in states
            ],
            "pending": [s.label for s in states if s.state == "pending"],
            "tables": [],
            "latest_snapshot": None,
            "views": [],
        }
        if version is None:
            return info
        counts = conn.execute(sqlfiles.render("core/status_counts.sql.j2", tables=schema.TABLES))
        info["tables"] = dicts(counts)
        latest = dicts(conn.execute(sqlfiles.render("core/status_latest_snapshot.sql")))
        info["latest_snapshot"] = latest[0] if latest else None
        info["views"] = _views(conn)
        for extra in _extensions:
            extra(conn, info)
        return info


def _views(conn) -> list[dict]:
    if not conn.execute(
        sqlfiles.render("core/table_exists.sql"), {"name": "moltctl_view_changes"}
    ).fetchone()[0]:
        return dicts(conn.execute(sqlfiles.render("core/status_views_legacy.sql")))
    rows = []
    for name in views.VIEWS:
        cur = conn.execute(
            sqlfiles.render("core/status_views.sql"),
            {"name": name, "tables": list(views.TABLES[name])},
        )
        rows.extend(dicts(cur))
    return rows


# other modules (partitions) add sections to status by registering a function here
_extensions: list = [partitions.status_section]
