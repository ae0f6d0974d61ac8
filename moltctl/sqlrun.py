"""Run a whole SQL script in one round trip; name its result; say where it failed.

``run_script(conn, "partitions/create_moving_default.sql.j2", params, table=..., ...)`` renders
the template (or takes SQL text as it is), sends every statement in one call, and returns what
the script selects by column name, so a script ends in ``SELECT ... AS moved_rows`` (or counts
a statement's rows with ``WITH d AS (DELETE ... RETURNING 1) SELECT count(*) AS deleted FROM
d``) and the caller reads ``result["moved_rows"]`` instead of counting statements.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from moltctl import sqlfiles
from moltctl.errors import MoltError, first_line

if TYPE_CHECKING:
    import psycopg


class ScriptError(MoltError):
    """A statement of a script failed; ``line`` and ``statement`` say which (when the server
    gave a position), ``cause`` is the database error (its ``sqlstate`` tells kinds apart)."""

    def __init__(self, where: str, cause: psycopg.Error, line: int | None, statement: str | None):
        self.where = where
        self.cause = cause
        self.line = line
        self.statement = statement
        self.reason = first_line(cause)
        at = f"{where}:{line}" if line else where
        shown = f" ({summary(statement)})" if statement else ""
        super().__init__(f"{at}{shown}: {self.reason}")


@contextmanager
def database_errors() -> Iterator[None]:
    """Inside the block, a failed script raises the database error itself, as a statement
    run alone would: for steps whose failure the user is told as "database error: ..." (the
    CLI's one place for unanticipated database errors, with its hints)."""
    try:
        yield
    except ScriptError as exc:
        raise exc.cause from None


def summary(statement: str) -> str:
    """A statement on one line, cut to 80 characters (for an error message)."""
    return " ".join(statement.split())[:80]


def _is_template(text: str) -> bool:
    # a template is a path (no white space); SQL always has some
    return text.endswith((".sql", ".sql.j2")) and not any(c.isspace() for c in text)


def run_script(conn, template_or_sql: str, params: dict | None = None, /, **ctx) -> dict:
    """Run the script in one call (in the caller's transaction); return its results by name.

    ``template_or_sql``: a template under ``sql_templates/`` (rendered with ``ctx``) or SQL
    text. The result holds the columns of the first row of every statement that returns rows
    (a later statement's column wins a name; ``{}`` when none returns any). A failure raises
    ScriptError naming the script, the line and the statement.
    """
    if _is_template(template_or_sql):
        where, sql = template_or_sql, sqlfiles.render(template_or_sql, **ctx)
    else:
        where, sql = "SQL script", template_or_sql
    # Several statements go in one call only through the simple query protocol, which takes no
    # parameters. So values are bound client-side: psycopg's adapters quote each one (the same
    # escaping libpq does; no string formatting of values), which also works where server-side
    # parameters cannot go (CREATE TABLE AS, DDL). The alternative, a first statement setting
    # session-local settings read back with current_setting(), would make every template cast
    # its values from text. The text sent is kept so that the server's error position maps to
    # a line of it.
    # psycopg is imported here, not at the top: `moltctl query NAME --help` reads the query
    # templates through modules that import this one, and --help must not load psycopg
    import psycopg
    from psycopg.rows import dict_row

    cur = psycopg.ClientCursor(conn, row_factory=dict_row)
    sent = cur.mogrify(sql, params) if params else sql
    try:
        cur.execute(sent)
    except psycopg.Error as exc:
        line, statement = locate(sent, exc.diag.statement_position)
        raise ScriptError(where, exc, line, statement) from exc
    result: dict[str, Any] = {}
    while True:
        if cur.description is not None:
            row = cur.fetchone()
            if row is not None:
                result.update(row)
        if not cur.nextset():
            return result


def locate(sql: str, position: int | str | None) -> tuple[int | None, str | None]:
    """The line and the statement of ``sql`` at the server's 1-based error ``position``.

    The server counts characters of the whole text it received, across its statements.
    """
    if not position:
        return None, None
    offset = int(position) - 1
    line = sql.count("\n", 0, offset) + 1
    statement = None
    for start_line, stmt in sqlfiles.split_statements(sql):
        if start_line > line:
            break
        statement = stmt
    return line, statement
