"""status."""

from __future__ import annotations

import typer

from moltctl.cli.common import state, warn
from moltctl.cli.output import Format, FormatOption, render, to_json


def status(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Server, connection, schema version, row counts, latest snapshot, failed runs.

    Also the materialized views and the partitions; the password is shown as ***. Failed runs
    are listed apart, with the first line of their error and how to retry them (never as the
    latest snapshot).

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
        # a table shows what an operator checks at a glance; the other formats every field
        glance = ["view", "method", "last_refresh", "rows", "pending_snapshots", "pending_purges"]
        shown = glance if fmt in (Format.table, Format.records) else list(info["views"][0])
        render(
            info["views"],
            fmt,
            title="views",
            columns=[c for c in shown if c in info["views"][0]],
            labels={
                "last_refresh": "refreshed",
                "pending_snapshots": "pending",
                "pending_purges": "purges",
            },
        )
    failed = info.get("failed_runs") or []
    if failed:
        # the run id names the run's time; the table keeps to what fits a terminal
        render(
            failed, fmt, title="failed runs (not loaded)", columns=["run_id", "failed_at", "error"]
        )
    for section in info.get("sections", []):
        render(section["rows"], fmt, title=section["title"])
    for message in info.get("warnings", []):
        warn(message)
    if failed:
        warn(
            f"{len(failed)} run(s) failed to load (listed above): fix the input, then retry "
            "with moltctl ingest-file --replace PATH (the run directory or bundle)"
        )
    if info.get("spec_database"):
        warn("the database was built from the spec by hand: run moltctl adopt")
    elif not info["initialized"]:
        warn("the database is not initialized: run moltctl init")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
