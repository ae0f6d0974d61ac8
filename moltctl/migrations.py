"""Versioned migrations from ``sql_templates/migrations/NNN_name.sql``.

Each migration runs in a transaction of its own together with its history row, so a failure
rolls back whole and leaves nothing "dirty". A file whose first line is
``-- moltctl:no-transaction`` runs statement by statement in autocommit (for
``CREATE INDEX CONCURRENTLY``); write such files idempotently (``IF NOT EXISTS``) so that a
re-run after a failure completes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from moltctl import sqlfiles
from moltctl.errors import MoltError, UsageError
from moltctl.paths import templates_dir
from moltctl.rows import keyed
from moltctl.sqlrun import ScriptError, run_script, summary

NO_TRANSACTION_MARKER = "-- moltctl:no-transaction"
_FILE = re.compile(r"^(\d+)_([A-Za-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    text: str

    @property
    def checksum(self) -> str:
        return checksum(self.text)

    @property
    def transactional(self) -> bool:
        first = self.text.lstrip().splitlines()[0] if self.text.strip() else ""
        return first.strip() != NO_TRANSACTION_MARKER

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"


@dataclass
class MigrationState:
    version: str
    name: str
    state: str  # applied | pending | changed | missing
    applied_at: object = None
    duration_ms: float | None = None

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"

    def as_row(self) -> dict:
        """What ``migrate status`` and ``status`` show of it."""
        return {
            "version": self.version,
            "name": self.name,
            "state": self.state,
            "applied_at": self.applied_at,
            "duration_ms": self.duration_ms,
        }


@dataclass
class MigrateResult:
    applied: list[tuple[Migration, float]] = field(default_factory=list)
    pending: list[Migration] = field(default_factory=list)
    current_version: str | None = None
    dry_run: bool = False
    # set where the citus extension is installed (moltctl.citus.DistributeResult)
    citus: object = None


def checksum(text: str) -> str:
    """sha256 of the text with line endings and trailing white space normalised away."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def default_dir() -> Path:
    return templates_dir() / "migrations"


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or default_dir()
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _FILE.match(path.name)
        if not m:
            continue
        version = m.group(1)
        if version in found:
            raise MoltError(f"two migrations share version {version} in {directory}")
        found[version] = Migration(version, m.group(2), path, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found, key=int)]


def applied(conn) -> dict[str, dict]:
    """The history rows, keyed by version; empty where the history table does not exist."""
    if not conn.execute(
        sqlfiles.render("migration_history/table_exists.sql"), {"name": "moltctl_migrations"}
    ).fetchone()[0]:
        return {}
    return keyed(conn.execute(sqlfiles.render("migration_history/applied.sql")))


def status(conn, migrations: list[Migration] | None = None) -> list[MigrationState]:
    migrations = discover() if migrations is None else migrations
    done = applied(conn)
    states: list[MigrationState] = []
    known = {m.version for m in migrations}
    for m in migrations:
        row = done.get(m.version)
        if row is None:
            states.append(MigrationState(m.version, m.name, "pending"))
        else:
            state = "applied" if row["checksum"] == m.checksum else "changed"
            states.append(
                MigrationState(m.version, m.name, state, row["applied_at"], row["duration_ms"])
            )
    for version, row in done.items():
        if version not in known:
            states.append(
                MigrationState(
                    version, row["name"], "missing", row["applied_at"], row["duration_ms"]
                )
            )
    return sorted(states, key=lambda s: int(s.version))


def _check(states: list[MigrationState]) -> None:
    changed = [s for s in states if s.state == "changed"]
    if changed:
        raise MoltError(
            f"migration {changed[0].label} was edited after it was applied (checksum differs)",
            hint="restore the applied text and put the change in a new migration",
        )


# the spec's eight tables: a database holding them but no moltctl history was built by hand
SPEC_TABLES = (
    "snapshots",
    "agents",
    "submolts",
    "posts",
    "comments",
    "post_evaluations",
    "comment_evaluations",
    "agent_score_history",
)
# the tables moltctl adds to the spec's (its migrations create them)
OWN_TABLES = (
    "dimensions",
    "agent_observations",
    "submolt_observations",
    "moltctl_view_refreshes",
    "moltctl_view_changes",
)
SPEC_DATABASE = (
    "the database holds the spec's tables but no moltctl schema (built by hand from the spec): "
    "run moltctl adopt"
)
SPEC_DATABASE_HINT = "moltctl adopt --dry-run shows what it would change; nothing was changed"


def is_spec_database(conn) -> bool:
    """The spec's eight tables are there and no moltctl migration is recorded: adopt's case
    (also an adopt that was interrupted before it recorded 001)."""
    if current_version(conn) is not None:
        return False
    found = conn.execute(
        sqlfiles.render("adopt/relations.sql"), {"names": list(SPEC_TABLES)}
    ).fetchall()
    return len([kind for _name, kind in found if kind in ("r", "p")]) == len(SPEC_TABLES)


def refuse_spec_database(conn) -> None:
    """MoltError naming ``moltctl adopt`` if this is a spec-built database (init, migrate)."""
    if is_spec_database(conn):
        raise MoltError(SPEC_DATABASE, hint=SPEC_DATABASE_HINT)


def _refuse_unadopted(conn, states: list[MigrationState]) -> None:
    """A database built by hand from the spec has its tables but no history: 001 would fail on
    them ("relation snapshots already exists"); the way in is ``moltctl adopt``."""
    if current_of(states) is None:
        refuse_spec_database(conn)


def _pending(states: list[MigrationState], migrations: list[Migration], upto: str | None):
    by_version = {m.version: m for m in migrations}
    todo = [by_version[s.version] for s in states if s.state == "pending"]
    if upto is not None:
        todo = [m for m in todo if int(m.version) <= int(upto)]
    return todo


def _run_one(conn, m: Migration) -> float:
    started = time.perf_counter()
    record = sqlfiles.render("migration_history/record.sql")
    conn.commit()  # end the read-only transaction the history check opened
    conn.autocommit = not m.transactional
    # statement by statement, not the whole file in one call: the server gives no error
    # position for most DDL failures ("relation ... does not exist" in an ALTER TABLE), and
    # the file's line of the failing statement is what its author needs; CREATE INDEX
    # CONCURRENTLY (no-transaction migrations) cannot run in a multi-statement call anyway
    try:
        with conn.transaction() if m.transactional else contextlib.nullcontext():
            for line, sql in sqlfiles.split_statements(m.text):
                _execute(conn, m, line, sql)
            duration = (time.perf_counter() - started) * 1000
            conn.execute(record, _record_params(m, duration))
    finally:
        conn.autocommit = False
    return duration


def _record_params(m: Migration, duration: float) -> dict:
    return {
        "version": m.version,
        "name": m.name,
        "checksum": m.checksum,
        "duration_ms": duration,
        "transactional": m.transactional,
    }


def _execute(conn, m: Migration, line: int, sql: str) -> None:
    try:
        run_script(conn, sql)
    except ScriptError as exc:
        at = f"{m.path.name}:{line + (exc.line or 1) - 1}"
        note = "rolled back, nothing applied" if m.transactional else "no-transaction migration"
        raise MoltError(
            f"migration {m.label} failed at {at} ({summary(sql)}): {exc.reason} [{note}]",
            hint="fix the migration file and run moltctl migrate again",
        ) from None


def known_version(text: str, migrations: list[Migration]) -> str:
    """``--to``: a version this moltctl has (``3``, ``003`` or ``003_name``); UsageError if not."""
    head = text.strip().split("_", 1)[0]
    for m in migrations:
        if head.isdigit() and int(head) == int(m.version):
            return m.version
    raise UsageError(
        f"--to {text!r}: no such migration (the versions are "
        f"{', '.join(m.version for m in migrations)})"
    )


def preview(conn, migrations=None, *, upto=None) -> MigrateResult:
    """``migrate --dry-run``: what is pending (up to ``upto``), changing nothing."""
    migrations = discover() if migrations is None else migrations
    states = status(conn, migrations)
    _refuse_unadopted(conn, states)
    _check(states)
    return MigrateResult(
        pending=_pending(states, migrations, upto),
        current_version=current_of(states),
        dry_run=True,
    )


def apply_pending(
    conn, migrations=None, *, upto=None, result=None, on_applied=None
) -> MigrateResult:
    """Apply what is pending on ``conn``; the caller holds the migrate lock.

    ``on_applied(migration, milliseconds, notices)`` is called after each one, with the
    messages of the NOTICEs it raised.
    """
    migrations = discover() if migrations is None else migrations
    result = result or MigrateResult()
    _refuse_unadopted(conn, status(conn, migrations))  # before creating anything
    conn.execute(sqlfiles.render("migration_history/create.sql"))
    conn.commit()
    # read the history only now, under the lock: a concurrent run may have applied it all
    states = status(conn, migrations)
    _check(states)
    for m in _pending(states, migrations, upto):
        # a migration's NOTICEs are meant for the operator (e.g. which tables 003 converted)
        said: list[str] = []

        def heard(diag, said=said):
            said.append(diag.message_primary)

        conn.add_notice_handler(heard)
        try:
            duration = _run_one(conn, m)
        finally:
            conn.remove_notice_handler(heard)
        result.applied.append((m, duration))
        if on_applied:
            on_applied(m, duration, said)
    result.current_version = current_of(status(conn, migrations))
    return result


def current_of(states: list[MigrationState]) -> str | None:
    """The highest version recorded as applied (whatever its state now), or None."""
    done = [s.version for s in states if s.state in ("applied", "changed", "missing")]
    return max(done, key=int) if done else None


def current_version(conn) -> str | None:
    done = applied(conn)
    return max(done, key=int) if done else None


def require_current(conn, migrations: list[Migration] | None = None) -> str:
    """Refuse (MoltError) unless every migration this moltctl knows is applied, unedited, and
    the database records none it does not know; return the schema version.

    Data commands call it once before they read or write anything, so that a database without
    the schema, or behind (or ahead of) this moltctl, gets one line naming the fix instead of
    a "relation does not exist" error part-way. Two small queries (``status``).
    """
    states = status(conn, migrations)
    version = current_of(states)
    if version is None:
        _refuse_unadopted(conn, states)
        raise MoltError(
            "the database has no moltctl schema: run moltctl init",
            hint="if this is not the database you meant, moltctl status shows where moltctl "
            "connected",
        )
    _check(states)
    missing = [s for s in states if s.state == "missing"]
    if missing:
        labels = ", ".join(s.label for s in missing)
        what = f"migration {labels} is" if len(missing) == 1 else f"migrations {labels} are"
        raise MoltError(
            f"{what} applied in the database but unknown to this moltctl: "
            "upgrade moltctl to the version that applied it",
            hint="moltctl migrate status shows the state of each migration",
        )
    pending = [s for s in states if s.state == "pending"]
    if pending:
        labels = ", ".join(s.label for s in pending)
        are = "migration is" if len(pending) == 1 else "migrations are"
        raise MoltError(
            f"the schema is at version {version} and {len(pending)} {are} pending "
            f"({labels}): run moltctl migrate",
            hint="moltctl migrate --dry-run shows the SQL first",
        )
    return version
