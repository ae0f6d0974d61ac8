"""What a command refused by the schema guard looks like."""

from __future__ import annotations

NO_SCHEMA = "the database has no moltctl schema: run moltctl init"


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
