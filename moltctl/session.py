"""One way into the database for a command: take its lock, connect, check the schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from moltctl import locks, migrations
from moltctl.connection import connect


@contextmanager
def session(
    target,
    lock: int | None = None,
    *,
    shared: bool = False,
    lock_timeout: float = locks.NO_WAIT,
    check_schema: bool = True,
    autocommit: bool = True,
    application_name: str = "moltctl",
) -> Iterator:
    """Yield a connection to ``target``, closed (and the lock released) when the block ends.

    ``lock``: a key from ``locks`` held for the block (``shared`` for side-by-side runs);
    LockedError (exit 3) unless had within ``lock_timeout`` seconds. ``check_schema``: refuse
    (MoltError) unless every migration is applied (``migrations.require_current``), before the
    block reads or writes anything.

    Example::

        with session(target, locks.MAINTENANCE, lock_timeout=locks.NO_WAIT) as conn:
            conn.execute(...)
    """
    with ExitStack() as stack:
        if lock is not None:
            what = locks.NAMES.get(lock, "moltctl")
            stack.enter_context(
                locks.advisory_lock(target, lock, what=what, timeout=lock_timeout, shared=shared)
            )
        conn = stack.enter_context(
            connect(target, autocommit=autocommit, application_name=application_name)
        )
        if check_schema:
            migrations.require_current(conn)
            if not autocommit:
                conn.commit()  # the check's read-only transaction is not the caller's
        yield conn
