"""One ``render(rows, fmt)`` for every command: a table on a terminal, json or csv for pipes."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import enum
import json
import sys
import uuid
from typing import Annotated, Any

import typer

from moltctl.textsafe import csv_cell, visible


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="Output format: table (for people), json or csv (for pipes)."
    ),
]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def to_json(rows: list[dict]) -> str:
    return json.dumps(
        [{k: _plain(v) for k, v in r.items()} for r in rows], ensure_ascii=False, default=str
    )


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"
    return str(value)


def render(
    rows: list[dict],
    fmt: Format = Format.table,
    *,
    columns: list[str] | None = None,
    title: str | None = None,
    extra_renderers: dict[str, Any] | None = None,
) -> None:
    """Write rows to stdout in the chosen format."""
    columns = columns or (list(rows[0].keys()) if rows else [])
    out = sys.stdout
    if fmt == Format.json:
        out.write(to_json([{c: r.get(c) for c in columns} for r in rows]) + "\n")
        return
    if fmt == Format.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(
                [
                    csv_cell(
                        json.dumps(_plain(r.get(c)), default=str)
                        if isinstance(r.get(c), dict | list)
                        else ("" if r.get(c) is None else _plain(r.get(c)))
                    )
                    for c in columns
                ]
            )
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=None if out.isatty() else 200)
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(Text(c), overflow="fold")
    for r in rows:
        # Text, not str: data is never read as rich markup (a handle like "[bold]x" stays as is)
        table.add_row(*[Text(visible(_cell(r.get(c)))) for c in columns])
    console.print(table)
    if not rows:
        console.print("(no rows)", style="dim")
