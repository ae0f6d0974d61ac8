"""``init`` and ``migrate``: the orchestration around the migrations.

``migrations`` knows the files and applies them on a connection; this module takes the lock,
connects, and brings what is generated from the schema (the views, the partitions) along.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moltctl import citus, locks, migrations, partitions, sqlfiles, views
from moltctl.errors import MoltError, UsageError
from moltctl.migrations import MigrateResult, Migration, discover, known_version, preview
from moltctl.session import session

TABLES = migrations.SPEC_TABLES
OWN_TABLES = migrations.OWN_TABLES
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
    # where the citus extension is installed: what was laid out (moltctl.citus)
    citus: citus.DistributeResult | None = None


def init(
    target,
    *,
    lock_timeout: float = locks.WAIT,
    months_ahead: int = 3,
    shard_count: int | None = None,
) -> InitResult:
    """Create the schema (or repair what lives outside migrations); on a database with the
    citus extension, lay the tables out over the cluster (``shard_count`` shards each)."""
    with _migrating(target, lock_timeout) as conn:
        version = migrations.current_version(conn)
        if version is not None:
            pending = [s.label for s in migrations.status(conn) if s.state == "pending"]
            conn.commit()
            laid_out = None
            if not pending:  # a schema behind this moltctl is laid out by migrate
                laid_out = citus.distribute(conn, shard_count=shard_count)
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
                created=False,
                version=version,
                pending=pending,
                repaired=repaired,
                partitions=made,
                citus=laid_out,
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
        result = apply_migrations(conn, shard_count=shard_count)
        with conn.transaction():
            names = partitions.ensure_ahead(conn, months_ahead=months_ahead)
        return InitResult(
            created=True,
            version=result.current_version,
            applied=[m.label for m, _ in result.applied],
            partitions=names,
            citus=result.citus,
        )


def migrate(
    target,
    *,
    dry_run: bool = False,
    upto: str | None = None,
    lock_timeout: float = locks.WAIT,
    migrations: list[Migration] | None = None,
    on_applied=None,
    shard_count: int | None = None,
) -> MigrateResult:
    """Apply pending migrations in order under the migrate lock (or, dry-run, list them).

    ``on_applied(migration, milliseconds, notices)`` is called after each one, with the
    messages of the NOTICEs it raised. Once the schema is current, a database with the citus
    extension gets the distributed layout (``moltctl.citus.distribute``).
    """
    found = discover() if migrations is None else migrations
    if upto is not None:
        upto = known_version(upto, found)
    if dry_run:
        with session(target, check_schema=False, autocommit=False) as conn:
            return preview(conn, found, upto=upto)
    with _migrating(target, lock_timeout) as conn:
        return apply_migrations(
            conn, found, upto=upto, on_applied=on_applied, shard_count=shard_count
        )


def migration_status(target) -> list[dict]:
    """``migrate status``: one row per migration, applied, pending, changed or missing."""
    with session(target, check_schema=False, autocommit=False) as conn:
        return [s.as_row() for s in migrations.status(conn)]


def _migrating(target, lock_timeout: float):
    # the schema is what is being made current: no check; migrations manage their transactions
    return session(
        target, locks.MIGRATE, lock_timeout=lock_timeout, check_schema=False, autocommit=False
    )


def apply_migrations(
    conn, found=None, *, upto=None, on_applied=None, shard_count=None
) -> MigrateResult:
    """Apply what is pending on ``conn`` (the caller holds the migrate lock), re-sync the
    generated views, and once nothing is pending lay the tables out on Citus where the
    extension is installed."""
    result = migrations.apply_pending(conn, found, upto=upto, on_applied=on_applied)
    if result.applied:
        # a migration may change what the views are generated from (e.g. a new dimension)
        with conn.transaction():
            views.sync(conn)
    if not any(s.state == "pending" for s in migrations.status(conn, found)):
        result.citus = citus.distribute(conn, shard_count=shard_count)
    elif shard_count is not None:
        raise UsageError("--shard-count needs every migration applied (leave out --to)")
    return result
