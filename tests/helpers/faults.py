"""Helpers for the fault suite (tests/test_fault_commands.py): moltctl in a real process, killed
or run side by side, and the invariants that must hold whatever happened to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg


def sigint_default() -> None:
    """In a child about to run moltctl: SIGINT as at a terminal. A test run started in the
    background inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(dsn: str, *args: str) -> subprocess.Popen:
    """``python -m moltctl --dsn DSN ARGS...`` in a process of its own (text pipes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MOLTCTL_DSN", "DATABASE_URL")}
    env["NO_COLOR"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "moltctl", "--dsn", dsn, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=sigint_default,
    )


def finish(proc: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def generate(out: Path, *args: str) -> list[str]:
    """Bundles written by ``moltctl generate --format bundle`` (paths, oldest first)."""
    r = subprocess.run(
        [sys.executable, "-m", "moltctl", "generate", str(out), "--format", "bundle", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def wait_sessions_gone(conn, pattern: str = "moltctl%", timeout: float = 30) -> None:
    """The server ends a killed client's sessions (rolling back their transactions)."""
    deadline = time.monotonic() + timeout
    while conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s AND pid <> "
        "pg_backend_pid()",
        (pattern,),
    ).fetchone()[0]:
        assert time.monotonic() < deadline, "a killed moltctl's session is still there"
        time.sleep(0.05)


def _rows(conn, sql: str, params=None) -> list:
    return conn.execute(sql, params).fetchall()


def assert_invariants(dsn: str) -> None:
    """What must hold after any crash or race: no partial snapshot (every snapshot row is
    completed, or failed with no rows at all; content rows belong to a completed snapshot);
    SCD2: at most one current version per agent/submolt, no overlapping versions."""
    content = ("posts", "comments", "post_evaluations", "comment_evaluations")
    with psycopg.connect(dsn) as conn:
        assert _rows(conn, "SELECT run_id, status FROM snapshots WHERE status <> ALL "
                     "(ARRAY['completed', 'failed'])") == []  # fmt: skip
        for table in (*content, "agent_score_history"):
            orphans = _rows(
                conn,
                f"SELECT count(*) FROM {table} x LEFT JOIN snapshots s ON s.id = x.snapshot_id "
                "WHERE s.status IS DISTINCT FROM 'completed'",
            )
            assert orphans == [(0,)], f"{table}: rows of a snapshot that is not completed"
        for table in ("agents", "submolts"):
            assert (
                _rows(
                    conn,
                    f"SELECT external_id FROM {table} GROUP BY 1 "
                    "HAVING count(*) FILTER (WHERE is_current) > 1",
                )
                == []
            ), f"{table}: more than one current version"
            assert (
                _rows(
                    conn,
                    f"SELECT a.external_id FROM {table} a JOIN {table} b "
                    "ON a.external_id = b.external_id AND a.id < b.id "
                    "AND tstzrange(a.valid_from, a.valid_to) "
                    "&& tstzrange(b.valid_from, b.valid_to)",
                )
                == []
            ), f"{table}: overlapping versions"


def counts(dsn: str) -> dict:
    tables = ("snapshots", "agents", "submolts", "posts", "comments", "post_evaluations",
              "comment_evaluations", "agent_score_history")  # fmt: skip
    with psycopg.connect(dsn) as conn:
        out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        out["runs"] = [
            tuple(r) for r in conn.execute("SELECT run_id, status FROM snapshots ORDER BY 1")
        ]
    return out
