"""``init``: create the whole schema on a fresh database, or say it is already there."""

from __future__ import annotations

from dataclasses import dataclass, field

from moltctl import locks, migrations, partitions, sqlfiles, views
from moltctl.errors import MoltError

TABLES = (
    "snapshots",
    "agents",
    "submolts",
    "posts",
    "comments",
    "post_evaluations",
    "comment_evaluations",
    "agent_score_history",
)
OWN_TABLES = (
    "dimensions",
    "agent_observations",
    "submolt_observations",
    "moltctl_view_refreshes",
    "moltctl_view_changes",
)
# the views and the tables behind them
VIEWS = tuple(dict.fromkeys([*views.VIEWS, *(t for ts in views.TABLES.values() for t in ts)]))


@dataclass
class InitResult:
    created: bool
    version: str | None
    pending: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)


def init(target, *, lock_timeout: float = 60.0, months_ahead: int = 3) -> InitResult:
    from moltctl.connection import connect

    with (
        locks.advisory_lock(target, locks.MIGRATE, what="migrate", timeout=lock_timeout),
        connect(target) as conn,
    ):
        version = migrations.current_version(conn)
        if version is not None:
            pending = [s.label for s in migrations.status(conn) if s.state == "pending"]
            conn.commit()
            # idempotent repair of what lives outside migrations (generated views, partitions)
            with conn.transaction():
                repaired = views.sync(conn)
                before = set(partitions.existing(conn))
                made = [
                    p
                    for p in partitions.ensure_ahead(conn, months_ahead=months_ahead)
                    if p not in before
                ]
            return InitResult(
                created=False, version=version, pending=pending, repaired=repaired, partitions=made
            )
        clash = [
            r[0]
            for r in conn.execute(
                sqlfiles.render("core/existing_tables.sql"),
                {"names": list(TABLES + OWN_TABLES + VIEWS)},
            ).fetchall()
        ]
        if clash:
            raise MoltError(
                "database already holds "
                + ", ".join(clash)
                + " not created by moltctl; refusing to initialize",
                hint="point --dsn at an empty database, or drop those objects first",
            )
        result = migrations.apply_pending(conn)
        with conn.transaction():
            names = partitions.ensure_ahead(conn, months_ahead=months_ahead)
        return InitResult(
            created=True,
            version=result.current_version,
            applied=[m.label for m, _ in result.applied],
            partitions=names,
        )
