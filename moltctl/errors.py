"""The one error type for expected failures, and the exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
# another moltctl run holds the lock this command needs (cron can tell it apart)
EXIT_LOCKED = 3


class MoltError(Exception):
    """An expected failure: shown to the user as one line (plus a hint), never a traceback."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(MoltError):
    exit_code = EXIT_USAGE


class LockedError(MoltError):
    exit_code = EXIT_LOCKED


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (database errors carry DETAIL/HINT lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# database errors an operator can do something about: (text in the message, hint)
_DATABASE_HINTS = (
    (
        "out of shared memory",
        "too many partitions or locks for one transaction: raise the server's "
        "max_locks_per_transaction (a restart is needed), or drop empty future partitions "
        "with moltctl create-partition --prune",
    ),
    (
        "lock timeout",
        "another session holds a lock on that table (a long query?): retry when it is done",
    ),
)


def database_hint(message: str) -> str | None:
    """A hint for a database error's first line, when there is a useful one."""
    lowered = message.lower()
    return next((hint for text, hint in _DATABASE_HINTS if text in lowered), None)
