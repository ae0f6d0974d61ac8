"""Result rows as dicts keyed by column name (what the core returns and the CLI renders)."""

from __future__ import annotations


def dicts(cur) -> list[dict]:
    """The rest of an executed cursor's rows, each a dict (psycopg's ``dict_row``)."""
    # psycopg here, not at the top: `moltctl query NAME --help` imports this module
    from psycopg.rows import dict_row

    cur.row_factory = dict_row  # applies to the current result too
    return cur.fetchall()


def keyed(cur) -> dict:
    """The rows keyed by their first column."""
    return {row[next(iter(row))]: row for row in dicts(cur)}
