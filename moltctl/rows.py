"""Result rows as dicts keyed by column name (what the core returns and the CLI renders)."""

from __future__ import annotations


def dicts(cur) -> list[dict]:
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def keyed(cur) -> dict:
    """The rows keyed by their first column."""
    return {row[next(iter(row))]: row for row in dicts(cur)}
