"""session(): the lock, the connection and the schema check every data command starts with."""

import threading

import pytest

from moltctl import locks
from moltctl.connection import resolve
from moltctl.errors import EXIT_LOCKED, LockedError, MoltError
from moltctl.session import session

NO_SCHEMA = "the database has no moltctl schema: run moltctl init"


def test_yields_a_connection_closed_after_the_block(target):
    with session(target, application_name="moltctl test") as conn:
        assert conn.autocommit
        assert conn.execute("SELECT current_setting('application_name')").fetchone() == (
            "moltctl test",
        )
    assert conn.closed


def test_closed_and_unlocked_after_an_error_in_the_block(target):
    with pytest.raises(ZeroDivisionError), session(target, locks.MAINTENANCE) as conn:
        1 / 0  # noqa: B018
    assert conn.closed
    with session(target, locks.MAINTENANCE):  # the lock was released: had at once
        pass


def test_a_held_lock_is_locked_error_exit_3(target):
    with (
        locks.advisory_lock(target, locks.MAINTENANCE, what="maintenance"),
        pytest.raises(LockedError) as info,
        session(target, locks.MAINTENANCE),
    ):
        pytest.fail("the block must not run without the lock")
    assert info.value.exit_code == EXIT_LOCKED == 3
    assert str(info.value) == "another moltctl run holds the maintenance lock"


def test_lock_timeout_waits_for_the_holder(target):
    with locks.advisory_lock(target, locks.REFRESH, what="refresh-views") as holder:
        threading.Timer(0.3, holder.close).start()  # closing the session releases the lock
        with session(target, locks.REFRESH, lock_timeout=10) as conn:
            assert not conn.closed


def test_shared_sessions_run_side_by_side_an_exclusive_one_does_not(target):
    with session(target, locks.MAINTENANCE, shared=True):
        with session(target, locks.MAINTENANCE, shared=True):
            pass
        with (
            pytest.raises(LockedError, match="maintenance lock"),
            session(target, locks.MAINTENANCE),
        ):
            pass


def test_refused_without_the_schema_and_nothing_held_after(empty_dsn):
    target = resolve(empty_dsn)
    with pytest.raises(MoltError, match=NO_SCHEMA), session(target, locks.MAINTENANCE):
        pytest.fail("the block must not run on a database without the schema")
    with session(target, locks.MAINTENANCE, check_schema=False) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_refused_when_a_migration_is_pending(empty_dsn):
    from moltctl import schema

    target = resolve(empty_dsn)
    schema.migrate(target, upto="001")
    pending = r"at version 001 and \d+ migrations? (is|are) pending"
    with pytest.raises(MoltError, match=pending), session(target):
        pass


def test_without_autocommit_the_block_starts_outside_a_transaction(target):
    # so that the caller can still set read_only, as queries do
    with session(target, autocommit=False) as conn:
        conn.read_only = True
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
