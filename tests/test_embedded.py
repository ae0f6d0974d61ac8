"""The embedded server is reachable by the user who runs moltctl only (issue 9 item 3).

Run as root (as CI does): the server itself runs as the ``embedded_postgres`` system user, and
a second, unprivileged user (``nobody``) tries to reach it. Skipped when not root: only root can
act as another user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from moltctl import embedded
from moltctl.errors import MoltError

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as a second, unprivileged user needs root"
)
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _base(tmp_root: Path, length: int) -> Path:
    """A MOLTCTL_HOME whose postgres/ path is about ``length`` characters long."""
    base = tmp_root / "h"
    while len(str(base / "postgres")) < length:
        base = base / "d123456789"
    return base


def _modes(path: Path) -> dict[Path, int]:
    out = {}
    for p in [path, *path.parents]:
        if p.exists():
            out[p] = stat.S_IMODE(p.stat().st_mode)
    return out


def _as_nobody_psql(socket_dir: str) -> subprocess.CompletedProcess:
    psql = shutil.which("psql") or str(
        Path(__import__("embedded_postgres").__file__).parent / "pginstall" / "bin" / "psql"
    )
    return subprocess.run(
        [
            *NOBODY,
            psql,
            f"host={socket_dir} user=postgres dbname=postgres connect_timeout=5",
            "-Atc",
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _as_nobody_connect(socket_path: str) -> subprocess.CompletedProcess:
    code = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print(type(e).__name__)\n"
        "else:\n    print('connected')\n"
    )
    return subprocess.run(
        [*NOBODY, "/usr/bin/python3", "-c", code, socket_path],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def tmp_root():
    # made here and searchable by others (0711: the server's system user must reach the data
    # directory); pytest's own tmp_path sits in a 0700 directory moltctl must not loosen
    root = Path(tempfile.mkdtemp(prefix="moltctl-emb-", dir="/tmp"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def home(tmp_root, monkeypatch):
    def use(length: int) -> Path:
        base = _base(tmp_root, length)
        monkeypatch.setenv("MOLTCTL_HOME", str(base))
        return base

    yield use
    with contextlib.suppress(MoltError):
        embedded.stop()
    # the short socket directory outside the test's tree, when one was made
    shutil.rmtree(embedded.short_socket_dir(embedded.data_dir()), ignore_errors=True)


@pytest.mark.parametrize("length", [40, 120], ids=["short-path", "long-path"])
def test_another_user_cannot_reach_the_server(home, tmp_root, length):
    base = home(length)
    before = _modes(tmp_root)
    uri, pgdata = embedded.ensure_running()
    assert pgdata == base / "postgres"
    socket_dir = embedded.socket_dir_of(pgdata)
    sock = Path(socket_dir) / ".s.PGSQL.5432"
    assert sock.is_socket() and len(str(sock)) < 108
    # the socket's directory: moltctl's, not a symlink, the server user's, nobody else's
    st = os.lstat(socket_dir)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    assert st.st_uid == embedded.server_user()[1]
    # a second local user can neither connect to the socket nor log in through it
    assert _as_nobody_connect(str(sock)).stdout.strip() == "PermissionError"
    r = _as_nobody_psql(socket_dir)
    assert r.returncode != 0 and r.stdout.strip() != "t", (r.stdout, r.stderr)
    # no directory moltctl did not create has changed its mode
    assert _modes(tmp_root) == before
    # the owner still connects
    import psycopg

    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_never_loosens_a_directory_it_did_not_create(home, tmp_root):
    private = tmp_root / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    os.environ["MOLTCTL_HOME"] = str(private / "moltctl")
    with pytest.raises(MoltError) as info:
        embedded.ensure_running()
    assert str(private) in str(info.value) and "embedded_postgres" in str(info.value)
    assert info.value.hint and "MOLTCTL_HOME" in info.value.hint
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert not (private / "moltctl" / "postgres" / "PG_VERSION").exists()


def test_refuses_a_socket_directory_someone_else_made(home, tmp_root, monkeypatch):
    base = home(120)  # too long for base/run: the socket goes to a directory under /tmp
    planted = Path(embedded.short_socket_dir(base / "postgres"))
    shutil.rmtree(planted, ignore_errors=True)
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    try:
        with pytest.raises(MoltError) as info:
            embedded.ensure_running()
        assert str(planted) in str(info.value)
        assert stat.S_IMODE(planted.stat().st_mode) == 0o777  # left as found
    finally:
        shutil.rmtree(planted, ignore_errors=True)
