"""A real Citus cluster for the tests marked ``citus``: a coordinator and two workers of the
machine's PostgreSQL 15 on 127.0.0.1, started once per session and deleted at the end.

Each test gets a fresh database created on every node, with ``CREATE EXTENSION citus`` on
each (Citus does not propagate ``CREATE DATABASE``) and the workers registered on the
coordinator. The extension is built by ``.ci/citus-setup``; without it (or without the
PostgreSQL 15 server) the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PG15 = Path(os.environ.get("MOLTCTL_TEST_PG15_BIN", "/usr/lib/postgresql/15/bin"))
HOST = "127.0.0.1"
# a throw-away cluster: no durability, small memory, room for Citus's background workers
SETTINGS = {
    "shared_preload_libraries": "citus",
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "100",
    "max_worker_processes": "32",
    "max_prepared_transactions": "100",
    "citus.shard_count": "4",
    "log_min_messages": "warning",
}
# the system users the servers may run as when the tests run as root (PostgreSQL refuses it)
RUN_AS_CANDIDATES = ("postgres", "moltctl_pg", "embedded_postgres")

_counter = itertools.count()


def missing_reason() -> str | None:
    """Why a cluster cannot run here, or None."""
    if not (PG15 / "postgres").exists():
        return f"PostgreSQL 15 server not installed ({PG15}/postgres): run .ci/citus-setup"
    libdir = subprocess.run(
        [PG15 / "pg_config", "--pkglibdir"], capture_output=True, text=True
    ).stdout.strip()
    if not libdir or not (Path(libdir) / "citus.so").exists():
        return f"Citus not installed into PostgreSQL 15 ({libdir}/citus.so): run .ci/citus-setup"
    if os.geteuid() == 0 and _run_as() is None:
        return "running as root and no unprivileged system user to run PostgreSQL 15"
    return None


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in RUN_AS_CANDIDATES:
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Node:
    data: Path
    port: int
    log: Path

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={HOST} port={self.port} user=postgres dbname={dbname}"


@dataclass
class Cluster:
    base: Path
    run_as: str | None
    coordinator: Node
    workers: list[Node]
    spare: list[Node] = field(default_factory=list)

    @property
    def nodes(self) -> list[Node]:
        return [self.coordinator, *self.workers]

    def create_database(self, name: str | None = None, *, citus: bool = True) -> str:
        """A fresh database on every node, the extension on the workers; on the coordinator
        too, with the workers registered, unless ``citus`` is False (a single-server
        database until ``enable_citus``). Returns the coordinator's DSN for it."""
        name = name or f"moltctl_c{os.getpid()}_{next(_counter)}"
        for node in self.workers + self.spare:
            _exec(node.conninfo(), f'CREATE DATABASE "{name}"')
            _exec(node.conninfo(name), "CREATE EXTENSION citus")
        _exec(self.coordinator.conninfo(), f'CREATE DATABASE "{name}"')
        dsn = self.coordinator.conninfo(name)
        if citus:
            self.enable_citus(dsn)
        return dsn

    def enable_citus(self, dsn: str) -> None:
        """What an operator does to turn a database on the coordinator into a cluster's."""
        _exec(dsn, "CREATE EXTENSION citus")
        _exec(dsn, f"SELECT citus_set_coordinator_host('{HOST}', {self.coordinator.port})")
        for w in self.workers:
            _exec(dsn, f"SELECT citus_add_node('{HOST}', {w.port})")

    def drop_database(self, name: str) -> None:
        for node in self.nodes + self.spare:
            with contextlib.suppress(Exception):  # best effort at teardown
                _exec(node.conninfo(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        for node in self.nodes + self.spare:
            subprocess.run(
                [PG15 / "pg_ctl", "-D", node.data, "-m", "immediate", "stop"],
                capture_output=True,
                user=self.run_as,
            )
        shutil.rmtree(self.base, ignore_errors=True)


def _exec(conninfo: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql)


def _start_node(base: Path, name: str, run_as: str | None) -> Node:
    node = Node(base / name, _free_port(), base / f"{name}.log")
    subprocess.run(
        [PG15 / "initdb", "-D", node.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        check=True, capture_output=True, user=run_as,
    )  # fmt: skip
    with open(node.data / "postgresql.conf", "a", encoding="utf-8") as conf:
        for key, value in SETTINGS.items():
            conf.write(f"{key} = '{value}'\n")
    # HOME: the server's own libpq (connections to other nodes) looks for ~/.postgresql there
    done = subprocess.run(
        [PG15 / "pg_ctl", "-D", node.data, "-w", "-l", node.log,
         "-o", f"-p {node.port} -k {base}", "start"],
        capture_output=True, text=True, user=run_as, env={**os.environ, "HOME": str(base)},
    )  # fmt: skip
    if done.returncode != 0:
        log = node.log.read_text(errors="replace") if node.log.exists() else ""
        raise RuntimeError(f"PostgreSQL 15 node {name} did not start: {done.stderr}{log}")
    return node


def start(workers: int = 2, spare: int = 0) -> Cluster:
    """Start a coordinator, ``workers`` workers and ``spare`` unregistered nodes."""
    run_as = _run_as()
    base = Path(tempfile.mkdtemp(prefix="moltctl-citus-"))
    if run_as:
        shutil.chown(base, user=run_as)
    started: list[Node] = []
    try:
        for name in ["coordinator", *(f"worker{i}" for i in range(1, workers + spare + 1))]:
            started.append(_start_node(base, name, run_as))
    except BaseException:
        Cluster(base, run_as, started[0] if started else None, started[1:]).stop()
        raise
    cluster = Cluster(base, run_as, started[0], started[1 : workers + 1], started[workers + 1 :])
    _wait_ready(cluster)
    return cluster


def _wait_ready(cluster: Cluster, seconds: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + seconds
    for node in cluster.nodes + cluster.spare:
        while True:
            try:
                _exec(node.conninfo(), "SELECT 1")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def citus_cluster():
    """The session's cluster (coordinator + 2 workers + 1 spare node for add-node tests)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    cluster = start(workers=2, spare=1)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def citus_dsn(citus_cluster):
    """DSN (on the coordinator) of a fresh database on the 3-node cluster, not initialized."""
    dsn = citus_cluster.create_database()
    yield dsn
    citus_cluster.drop_database(dsn.rsplit("dbname=", 1)[1])


@pytest.fixture
def citus_later_dsn(citus_cluster):
    """Like ``citus_dsn`` but without the extension on the coordinator yet (a single-server
    database); ``citus_cluster.enable_citus(dsn)`` makes it the cluster's."""
    dsn = citus_cluster.create_database(citus=False)
    yield dsn
    citus_cluster.drop_database(dsn.rsplit("dbname=", 1)[1])
