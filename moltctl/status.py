"""``status``: what a database holds and how far its schema is."""

from __future__ import annotations

from moltctl import citus, migrations, partitions, schema, sqlfiles, views
from moltctl.rows import dicts
from moltctl.session import session


def gather(target) -> dict:
    # status reports on any database, with or without the schema
    with session(target, check_schema=False, autocommit=False) as conn:
        server = dicts(conn.execute(sqlfiles.render("status/server.sql")))[0]
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
            "migrations": [s.as_row() for s in states],
            "pending": [s.label for s in states if s.state == "pending"],
            "tables": [],
            "latest_snapshot": None,
            "failed_runs": [],
            "views": [],
        }
        if version is None:
            # built by hand from the spec: the way in is adopt, not init
            info["spec_database"] = migrations.is_spec_database(conn)
            return info
        counts = conn.execute(sqlfiles.render("status/counts.sql.j2", tables=schema.TABLES))
        info["tables"] = dicts(counts)
        latest = dicts(conn.execute(sqlfiles.render("status/latest_snapshot.sql")))
        info["latest_snapshot"] = latest[0] if latest else None
        # never shown as data: listed apart, with the first line of their error
        info["failed_runs"] = dicts(conn.execute(sqlfiles.render("status/failed_runs.sql")))
        info["views"] = _views(conn)
        for extra in _extensions:
            extra(conn, info)
        return info


def _views(conn) -> list[dict]:
    if not conn.execute(
        sqlfiles.render("migration_history/table_exists.sql"), {"name": "moltctl_view_changes"}
    ).fetchone()[0]:
        return dicts(conn.execute(sqlfiles.render("status/views_legacy.sql")))
    rows = []
    for name in views.VIEWS:
        cur = conn.execute(
            sqlfiles.render("status/views.sql"),
            {"name": name, "tables": list(views.TABLES[name])},
        )
        rows.extend(dicts(cur))
    return rows


# other modules (partitions) add sections to status by registering a function here
_extensions: list = [partitions.status_section, citus.status_section]
