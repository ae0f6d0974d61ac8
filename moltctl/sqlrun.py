"""Run a whole SQL script; name its results; say where it failed.

``run_script(conn, "partitions/create_moving_default.sql.j2", params, table=..., ...)`` renders
the template (or takes SQL text as it is), runs its statements in the caller's transaction and
returns what the script selects by column name, so a script ends in
``SELECT ... AS moved_rows`` (or counts a statement's rows with
``WITH d AS (DELETE ... RETURNING 1) SELECT count(*) AS deleted FROM d``) and the caller
reads ``result["moved_rows"]`` instead of counting statements.
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
    """Run the script in the caller's transaction, a statement at a time; return its results
    by name.

    ``template_or_sql``: a template under ``sql_templates/`` (rendered with ``ctx``) or SQL
    text. The result holds the columns of the first row of every statement that returns rows
    (a later statement's column wins a name; ``{}`` when none returns any). A failure raises
    ScriptError naming the script, the line and the statement.
    """
    if _is_template(template_or_sql):
        where, sql = template_or_sql, sqlfiles.render(template_or_sql, **ctx)
    else:
        where, sql = "SQL script", template_or_sql
    # Values are bound client-side: psycopg's adapters quote each one (the same
    # escaping libpq does; no string formatting of values), which also works where server-side
    # parameters cannot go (CREATE TABLE AS, DDL). The alternative, a first statement setting
    # session-local settings read back with current_setting(), would make every template cast
    # its values from text.
    # psycopg is imported here, not at the top: `moltctl query NAME --help` reads the query
    # templates through modules that import this one, and --help must not load psycopg
    import psycopg
    from psycopg.rows import dict_row

    cur = psycopg.ClientCursor(conn, row_factory=dict_row)
    sent = cur.mogrify(sql, params) if params else sql
    result: dict[str, Any] = {}
    # one statement per execute: Citus refuses several commands in one query string once it
    # plans them ("cannot insert multiple commands into a prepared statement"), and the line
    # of a failing statement is then known even where the server gives no error position;
    # never prepared (psycopg prepares a query it ran prepare_threshold times)
    for line, statement in sqlfiles.split_statements(sent):
        try:
            cur.execute(statement, prepare=False)
        except psycopg.Error as exc:
            at = exc.diag.statement_position  # 1-based, within this statement, when given
            if at:
                line += statement.count("\n", 0, int(at) - 1)
            raise ScriptError(where, exc, line, statement) from exc
        if cur.description is not None:
            row = cur.fetchone()
            if row is not None:
                result.update(row)
    return result
