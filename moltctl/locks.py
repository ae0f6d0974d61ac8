"""Session-level advisory locks, each on a connection of its own, polled with a timeout."""

from __future__ import annotations

import time
from contextlib import contextmanager

from moltctl import sqlfiles
from moltctl.connection import connect
from moltctl.errors import LockedError

# one key per kind of work; ingest-file, purge and create-partition share MAINTENANCE
# (ingest in shared mode, so ingests run side by side; purge and create-partition exclusively)
MIGRATE = 0x6D6F6C74_0001
MAINTENANCE = 0x6D6F6C74_0002
REFRESH = 0x6D6F6C74_0003
# what a LockedError calls each lock
NAMES = {MIGRATE: "migrate", MAINTENANCE: "maintenance", REFRESH: "refresh-views"}

# --lock-timeout defaults, deliberately two: work that adds data or schema (ingest-file, init,
# migrate) waits for the run ahead of it, since skipping it loses the work; maintenance that can
# simply run again later (purge, create-partition, refresh-views) does not wait and exits 3 at
# once, so that cron tells "busy" from "failed"
WAIT = 60.0
NO_WAIT = 0.0


@contextmanager
def advisory_lock(target, key: int, *, what: str, timeout: float = 0.0, shared: bool = False):
    """Hold the lock for the block. Raise LockedError (exit 3) if not had within ``timeout`` s."""
    conn = connect(target, autocommit=True, application_name=f"moltctl {what} lock")
    try:
        sql = sqlfiles.render("locks/try_shared.sql" if shared else "locks/try.sql")
        deadline = time.monotonic() + timeout
        delay = 0.05
        while not conn.execute(sql, {"key": key}).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"another moltctl run holds the {what} lock"
                    + (f" (waited {timeout:g}s)" if timeout else ""),
                    hint="wait for it to finish, or raise --lock-timeout",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        yield conn
    finally:
        # closing the session releases its session-level locks, even on error
        conn.close()
