"""The change log the incremental views fold in (``moltctl_view_changes``, migration 005).

Ingest and purge call these in the transaction that makes the change, so the log holds exactly
the committed changes; ``views.refresh`` reads and consumes it (and ``views.fold_at_ingest``,
in the ingest's transaction). Kept apart from ``views`` so that purge needs nothing else of it.
"""

from __future__ import annotations

import datetime as dt

from moltctl import sqlfiles

KINDS = ("loaded", "replaced", "removed", "purged")


def snapshot(conn, sid, created_at: dt.datetime, kind: str) -> None:
    """Log that snapshot ``sid`` (of time ``created_at``) was loaded, replaced or removed."""
    if kind not in KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    conn.execute(
        sqlfiles.render("views/log_snapshot.sql"),
        {"kind": kind, "sid": sid, "created_at": created_at},
    )


def purged_before(conn, upto: dt.datetime) -> None:
    """Log that a purge step removes (some of) what lies before ``upto``: one row for the
    range, however many snapshots it holds. Call it before the step deletes anything."""
    conn.execute(sqlfiles.render("views/log_purged.sql"), {"upto": upto})
