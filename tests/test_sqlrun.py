"""run_script: one call per script, a named result, and where it failed."""

import datetime as dt

import psycopg
import pytest

from moltctl.errors import MoltError
from moltctl.sqlrun import ScriptError, run_script


def test_returns_the_last_selected_row_by_name(conn):
    result = run_script(
        conn,
        "CREATE TEMP TABLE t (a int);\nINSERT INTO t VALUES (1), (2);\n"
        "SELECT count(*) AS n, max(a) AS top FROM t",
    )
    assert result == {"n": 2, "top": 2}


def test_a_script_selecting_nothing_returns_an_empty_dict(conn):
    assert run_script(conn, "CREATE TEMP TABLE t (a int);\n-- only a comment after\n") == {}


def test_values_are_bound_even_in_ddl_and_stay_data(conn):
    evil = "O'Brien'); DROP TABLE snapshots; --"
    result = run_script(
        conn,
        "CREATE TEMP TABLE t AS SELECT %(n)s::int AS n, %(s)s::text AS s;\n"
        "SELECT n AS got_n, s AS got_s FROM t",
        {"n": 5, "s": evil},
    )
    assert result == {"got_n": 5, "got_s": evil}
    assert conn.execute("SELECT to_regclass('snapshots') IS NOT NULL").fetchone()[0]


def test_renders_a_template(conn):
    row = run_script(conn, "dimensions/registry.sql")
    assert {"name", "short_name", "high_threshold"} <= set(row)


def test_failure_names_the_line_and_the_statement(conn):
    with pytest.raises(ScriptError) as info:
        run_script(
            conn,
            "CREATE TEMP TABLE t (a int);\n\nINSERT INTO t VALUES (1);\n"
            "INSERT INTO t\n  SELECT b FROM no_such_table;\nSELECT 1 AS never",
        )
    err = info.value
    assert isinstance(err, MoltError)
    assert err.line == 5
    assert err.statement.startswith("INSERT INTO t\n  SELECT b FROM no_such_table")
    assert str(err).startswith("SQL script:5 (INSERT INTO t SELECT b FROM no_such_table): ")
    assert 'relation "no_such_table" does not exist' in str(err)
    assert isinstance(err.cause, psycopg.errors.UndefinedTable)


def test_failure_in_a_template_names_the_template(conn):
    # no position from the server for a utility statement's lookup: the statement's own line
    expected = (
        r"^partitions/create\.sql\.j2:\d+ \(CREATE TABLE .*\): "
        r'relation "no_such_table" does not exist$'
    )
    with pytest.raises(ScriptError, match=expected):
        run_script(
            conn,
            "partitions/create.sql.j2",
            table="no_such_table",
            partition="x_p2026_01",
            lower=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            upper=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        )


def test_the_script_runs_in_the_callers_transaction(conn):
    with pytest.raises(ScriptError), conn.transaction():
        run_script(conn, "CREATE TABLE half_done (a int);\nSELECT 1/0 AS boom")
    assert conn.execute("SELECT to_regclass('half_done') IS NULL").fetchone()[0]
