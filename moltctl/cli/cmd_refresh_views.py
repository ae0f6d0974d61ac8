"""refresh-views."""

from __future__ import annotations

from typing import Annotated

import typer

from moltctl.cli.common import LockTimeoutOption, error_line, info, state
from moltctl.cli.output import Format, FormatOption, render
from moltctl.locks import NO_WAIT


def refresh_views(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NAME]...",
            help="Views to refresh (default: all): hourly_growth, agent_leaderboard, "
            "dimension_trends.",
            show_default=False,
        ),
    ] = None,
    lock_timeout: LockTimeoutOption = NO_WAIT,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Recompute the views from the whole history instead of folding in what "
            "changed (repair; the first refresh after init or a view change is full anyway).",
        ),
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Fold what changed since the last refresh into the views (incremental), or --full.

    Only the hours of the snapshots loaded, replaced or purged since then are recomputed, and
    only the agents whose latest score row changed; all views in one transaction, so a reader
    sees them as before or as after, and is never blocked. The method, time, row count and
    changes folded in are recorded for moltctl status. A view that fails is rolled back and
    reported (its changes stay pending), the others still refresh, and the exit code is 1.
    An hourly ingest-file has usually folded its run into agent_leaderboard already.

    Example: moltctl refresh-views; moltctl refresh-views --full agent_leaderboard
    """
    from moltctl import views
    from moltctl.errors import EXIT_ERROR

    st = state(ctx)
    results = views.refresh(st.target(), names or None, full=full, lock_timeout=lock_timeout)
    rows = [
        {
            "view": r.view,
            "method": r.method,
            "seconds": round(r.seconds, 3),
            "rows": r.rows,
            "changes": r.changes,
            "error": r.error,
        }
        for r in results
    ]
    failed = [r for r in results if not r.ok]
    if st.quiet and not failed:
        return  # a report, not data: nothing on success under --quiet (cron)
    if fmt != Format.table or failed:
        render(rows, fmt, title="refresh-views")
    else:
        render(
            [{k: v for k, v in row.items() if k != "error"} for row in rows],
            fmt,
            title="refresh-views",
        )
    if failed:
        for r in failed:
            error_line(f"refreshing {r.view} failed: {r.error}")
        raise typer.Exit(EXIT_ERROR)
    total = sum(r.seconds for r in results)
    info(f"refreshed {len(results)} view(s) in {total:.2f}s", quiet=st.quiet)


def register(app: typer.Typer) -> None:
    app.command("refresh-views")(refresh_views)
