"""``init`` and ``migrate``: the orchestration around the migrations.

``migrations`` knows the files and applies them on a connection; this module takes the lock,
connects, and brings what is generated from the schema (the views, the partitions) along.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moltctl import locks, migrations, partitions, sqlfiles, views
from moltctl.errors import MoltError
from moltctl.migrations import MigrateResult, Migration, discover, known_version, preview
from moltctl.session import session

# the spec's eight tables (moltctl's schema keeps their names)
TABLES = migrations.SPEC_TABLES
OWN_TABLES = ("dimensions", "agent_observations", "submolt_observations", "moltctl_view_refreshes")
VIEWS = views.VIEWS


@dataclass
class InitResult:
    created: bool
    version: str | None
    pending: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)


def init(target, *, lock_timeout: float = locks.WAIT, months_ahead: int = 3) -> InitResult:
    with _migrating(target, lock_timeout) as conn:
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
                sqlfiles.render("schema/existing_tables.sql"),
                {"names": list(TABLES + OWN_TABLES + VIEWS)},
            ).fetchall()
        ]
        if clash:
            migrations.refuse_spec_database(conn)
            raise MoltError(
                "database already holds "
                + ", ".join(clash)
                + " not created by moltctl; refusing to initialize",
                hint="point --dsn at an empty database, or drop those objects first",
            )
        result = apply_migrations(conn)
        with conn.transaction():
            names = partitions.ensure_ahead(conn, months_ahead=months_ahead)
        return InitResult(
            created=True,
            version=result.current_version,
            applied=[m.label for m, _ in result.applied],
            partitions=names,
        )


def migrate(
    target,
    *,
    dry_run: bool = False,
    upto: str | None = None,
    lock_timeout: float = locks.WAIT,
    migrations: list[Migration] | None = None,
    on_applied=None,
) -> MigrateResult:
    """Apply pending migrations in order under the migrate lock (or, dry-run, list them).

    ``on_applied(migration, milliseconds, notices)`` is called after each one, with the
    messages of the NOTICEs it raised.
    """
    found = discover() if migrations is None else migrations
    if upto is not None:
        upto = known_version(upto, found)
    if dry_run:
        with session(target, check_schema=False, autocommit=False) as conn:
            return preview(conn, found, upto=upto)
    with _migrating(target, lock_timeout) as conn:
        return apply_migrations(conn, found, upto=upto, on_applied=on_applied)


def migration_status(target) -> list[dict]:
    """``migrate status``: one row per migration, applied, pending, changed or missing."""
    with session(target, check_schema=False, autocommit=False) as conn:
        return [s.as_row() for s in migrations.status(conn)]


def _migrating(target, lock_timeout: float):
    # the schema is what is being made current: no check; migrations manage their transactions
    return session(
        target, locks.MIGRATE, lock_timeout=lock_timeout, check_schema=False, autocommit=False
    )


def apply_migrations(conn, found=None, *, upto=None, on_applied=None) -> MigrateResult:
    """Apply the pending migrations on ``conn``, then re-generate the views they change (what
    every caller that migrates needs: migrate, init, adopt)."""
    result = migrations.apply_pending(conn, found, upto=upto, on_applied=on_applied)
    if result.applied:
        # a migration may change what the views are generated from (e.g. a new dimension)
        with conn.transaction():
            views.sync(conn)
    return result
