"""status."""

from __future__ import annotations

import typer

from moltctl.cli.common import state, warn
from moltctl.cli.output import Format, FormatOption, render, to_json


def status(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Server, connection (password hidden), schema version, row counts, latest snapshot, views.

    Example: moltctl status --format json
    """
    from moltctl import status as core

    info = core.gather(state(ctx).target())
    if fmt == Format.json:
        typer.echo(to_json([info])[1:-1])
        return
    summary = [
        {"item": "server", "value": f"PostgreSQL {info['server_version']}"},
        {"item": "connection", "value": f"{info['connection']} ({info['connection_source']})"},
        {"item": "schema version", "value": info["schema_version"] or "not initialized"},
        {"item": "pending migrations", "value": ", ".join(info["pending"]) or "none"},
    ]
    snap = info.get("latest_snapshot")
    if snap:
        summary.append(
            {
                "item": "latest snapshot",
                "value": f"{snap['run_id']} ({snap['created_at']}, {snap['status']})",
            }
        )
    render(summary, fmt, title="moltctl status")
    if info["tables"]:
        render(info["tables"], fmt, title="tables")
    if info["views"]:
        render(info["views"], fmt, title="views")
    for section in info.get("sections", []):
        render(section["rows"], fmt, title=section["title"])
    for message in info.get("warnings", []):
        warn(message)
    if not info["initialized"]:
        warn("the database is not initialized: run moltctl init")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
