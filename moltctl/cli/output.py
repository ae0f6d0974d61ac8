"""One ``render(rows, fmt)`` for every command, and the output options, defined once.

For people: ``table`` (one line per row, fitted to the width: ``COLUMNS``, else the terminal,
else 120; text cut with ``…``, numbers right-aligned and rounded per column) and ``records``
(one ``column  value`` line per field, like psql's ``\\x``). For programs: ``json`` (a list),
``ndjson`` (an object per line), ``csv`` and ``tsv`` (tab-separated, ``\\t \\n \\r \\\\`` escaped);
these carry every value whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import enum
import json
import os
import sys
import uuid
from typing import Annotated, Any

import typer

from moltctl.textsafe import csv_cell, visible

GAP = "  "  # between table columns
FALLBACK_WIDTH = 120  # neither COLUMNS nor a terminal (cron mail, a file)
MIN_TEXT = 4  # a text column is never cut narrower than this (…)


class Format(enum.StrEnum):
    table = "table"
    records = "records"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    tsv = "tsv"


FORMAT_HELP = (
    "table, records (one field a line) for people; json, ndjson, csv, tsv for programs "
    "(every value whole)."
)
FormatOption = Annotated[Format, typer.Option("--format", "-f", metavar="FORMAT", help=FORMAT_HELP)]
ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        "-c",
        metavar="A,B,...",
        help="Only these columns, in this order (names or headers); any format.",
        show_default=False,
    ),
]
WideOption = Annotated[
    bool, typer.Option("--wide", "-w", help="Every column in the table, not the default set.")
]


class Tail(str):
    """Text whose end matters more than its start (a sparkline): cut on the left."""

    __slots__ = ()


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


def _json_default(value: Any) -> Any:
    # nested values too (status's latest snapshot, failed runs): ISO times, not str()
    plain = _plain(value)
    return str(value) if plain is value else plain


def to_json(rows: list[dict]) -> str:
    return json.dumps(
        [{k: _plain(v) for k, v in r.items()} for r in rows],
        ensure_ascii=False,
        default=_json_default,
    )


def _text(value: Any) -> str:
    """A value as text for csv/tsv: whole, JSON for objects, empty for null."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# ---------------------------------------------------------------- cells for people


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


class Style:
    """How one column's values are shown: decimals for numbers, precision for times."""

    __slots__ = ("decimals", "numeric", "time")

    def __init__(self, values: list[Any]):
        present = [v for v in values if v is not None]
        self.numeric = bool(present) and all(_is_number(v) for v in present)
        self.decimals = 0
        if self.numeric:
            fractions = [v for v in present if not isinstance(v, int)]
            if fractions:
                top = max(abs(float(v)) for v in present)
                most = 2 if top < 1000 else 1 if top < 100000 else 0
                # as many decimals as the column needs, at most ``most`` (7.5 stays 7.5)
                self.decimals = max(
                    (len(f"{float(v):.{most}f}".rstrip("0").split(".")[1]) for v in fractions),
                    default=0,
                )
        times = [v for v in present if isinstance(v, dt.datetime)]
        self.time = "%Y-%m-%d %H:%M:%S"
        if times and len(times) == len(present):
            utc = [v.astimezone(dt.UTC) for v in times]
            if all(v.second == 0 and v.microsecond == 0 for v in utc):
                self.time = "%Y-%m-%d %H:%M"
            if all(v.hour == 0 and v.minute == 0 and v.second == 0 for v in utc):
                self.time = "%Y-%m-%d"


def cell(value: Any, style: Style | None = None) -> str:
    """One value as people read it: the single place a cell's text is made; scraped text
    cannot drive the terminal (control characters are shown as escapes)."""
    return visible(_cell_text(value, style))


def _cell_text(value: Any, style: Style | None = None) -> str:
    """One value as people read it: the single place a cell's text is made.

    Times in UTC (``Z``), shortened when the whole column allows; numbers rounded to the
    column's decimals; booleans yes/no; objects as compact JSON; null as nothing.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_number(value):
        if style is not None and style.numeric:
            return f"{float(value):.{style.decimals}f}" if style.decimals else f"{value:.0f}"
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.strftime(style.time if style else "%Y-%m-%d %H:%M:%S")
        fmt = style.time if style else "%Y-%m-%d %H:%M:%S"
        text = value.astimezone(dt.UTC).strftime(fmt)
        return text if fmt == "%Y-%m-%d" else text + "Z"
    if isinstance(value, dict | list):
        return json.dumps(_plain(value), ensure_ascii=False, default=str)
    return str(_plain(value))


def _flat(text: str) -> str:
    """One line: a table cell never wraps (runs of whitespace, newlines too, become a space)."""
    return " ".join(text.split()) if any(ch in text for ch in "\n\r\t") else text


def _width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def cut(text: str, width: int, *, left: bool = False) -> str:
    """``text`` in at most ``width`` cells, ending (or, ``left``, starting) with … if cut."""
    if _width(text) <= width:
        return text
    if width <= 0:
        return ""
    from rich.cells import get_character_cell_size

    chars = reversed(text) if left else iter(text)
    kept, used = [], 1  # room for the ellipsis
    for ch in chars:
        size = get_character_cell_size(ch)
        if used + size > width:
            break
        kept.append(ch)
        used += size
    return "…" + "".join(reversed(kept)) if left else "".join(kept) + "…"


def output_width() -> int:
    """COLUMNS when set (also when piped), else the terminal's width, else 120."""
    raw = os.environ.get("COLUMNS", "")
    if raw.strip().isdigit() and int(raw) > 0:
        return int(raw)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream.isatty():
                return os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            continue
    return FALLBACK_WIDTH


def _fit(natural: list[int], flexible: list[bool], width: int) -> list[int]:
    """Column widths within ``width``: the widest text columns give way first."""
    room = width - len(GAP) * (len(natural) - 1)
    if sum(natural) <= room:
        return natural
    fixed = sum(w for w, f in zip(natural, flexible, strict=True) if not f)
    flex = [w for w, f in zip(natural, flexible, strict=True) if f]
    lo, hi = MIN_TEXT, max(flex, default=MIN_TEXT)
    # the largest cap at which the flexible columns fit (each keeps min(width, cap))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fixed + sum(min(w, mid) for w in flex) <= room:
            lo = mid
        else:
            hi = mid - 1
    return [min(w, lo) if f else w for w, f in zip(natural, flexible, strict=True)]


def _bold(text: str) -> str:
    if sys.stdout.isatty() and "NO_COLOR" not in os.environ:
        return f"\x1b[1m{text}\x1b[0m"
    return text


def _table(rows: list[dict], columns: list[str], labels: dict[str, str], out) -> None:
    width = output_width()
    styles = [Style([r.get(c) for r in rows]) for c in columns]
    heads = [labels.get(c, c) for c in columns]
    body = [[_flat(cell(r.get(c), s)) for c, s in zip(columns, styles, strict=True)] for r in rows]
    natural = [max([_width(h)] + [_width(row[i]) for row in body]) for i, h in enumerate(heads)]
    # numbers and times are never cut; text gives way
    flexible = [
        not s.numeric and not any(isinstance(r.get(c), dt.datetime) for r in rows)
        for c, s in zip(columns, styles, strict=True)
    ]
    widths = _fit(natural, flexible, width)
    # when even the narrowest columns do not fit, the last ones are left out (and said so)
    shown = len(columns)
    while shown > 1 and sum(widths[:shown]) + len(GAP) * (shown - 1) > width:
        shown -= 1
    if shown < len(columns):
        hidden = ", ".join(heads[shown:])
        print(
            f"note: {len(columns) - shown} column(s) do not fit in {width} columns ({hidden}):"
            " see --columns, --format records",
            file=sys.stderr,
        )
    widths = [min(w, width) for w in widths[:shown]]

    def line(cells: list[str], header: bool = False) -> str:
        parts = []
        for i, text in enumerate(cells[:shown]):
            w = widths[i]
            text = cut(text, w, left=not header and isinstance(rows[0].get(columns[i]), Tail))
            pad = " " * (w - _width(text))
            last = i == shown - 1
            if styles[i].numeric:
                parts.append(pad + text)
            else:
                parts.append(text if last else text + pad)
        return GAP.join(parts).rstrip()

    out.write(_bold(line(heads, header=True)) + "\n")
    out.write(GAP.join("─" * w for w in widths) + "\n")
    for row in body:
        out.write(line(row) + "\n")
    out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")


def _records(rows: list[dict], columns: list[str], labels: dict[str, str], out) -> None:
    import textwrap

    width = output_width()
    heads = [labels.get(c, c) for c in columns]
    label_w = min(max((_width(h) for h in heads), default=0), max(width // 3, 8))
    value_w = max(width - label_w - len(GAP), 10)
    styles = [Style([r.get(c) for r in rows]) for c in columns]
    for n, r in enumerate(rows, 1):
        if len(rows) > 1:
            head = f"-[ RECORD {n} ]"
            out.write(head + "-" * max(min(width, label_w + 20) - len(head), 0) + "\n")
        for i, (c, h) in enumerate(zip(columns, heads, strict=True)):
            text = cell(r.get(c), styles[i])
            lines: list[str] = []
            for para in text.splitlines() or [""]:
                wrapped = textwrap.wrap(para, value_w, break_on_hyphens=False) or [""]
                lines += [cut(w, value_w) for w in wrapped]
            pad = " " * (label_w - _width(cut(h, label_w)))
            out.write(_bold(cut(h, label_w)) + pad + GAP + lines[0] + "\n")
            for more in lines[1:]:
                out.write(" " * (label_w + len(GAP)) + more + "\n")
    if not rows:
        out.write("(no rows)\n")


def _tsv(value: Any) -> str:
    text = _text(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def render(
    rows: list[dict],
    fmt: Format = Format.table,
    *,
    columns: list[str] | None = None,
    labels: dict[str, str] | None = None,
    title: str | None = None,
) -> None:
    """Write rows to stdout in the chosen format (``labels``: table and records headers)."""
    columns = columns or (list(rows[0].keys()) if rows else [])
    out = sys.stdout
    if fmt == Format.json:
        out.write(to_json([{c: r.get(c) for c in columns} for r in rows]) + "\n")
        return
    if fmt == Format.ndjson:
        for r in rows:
            out.write(to_json([{c: r.get(c) for c in columns}])[1:-1] + "\n")
        return
    if fmt == Format.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(
                [
                    _text(r.get(c)) if _is_number(r.get(c)) else csv_cell(_text(r.get(c)))
                    for c in columns
                ]
            )
        return
    if fmt == Format.tsv:
        out.write("\t".join(_tsv(c) for c in columns) + "\n")
        for r in rows:
            out.write("\t".join(_tsv(r.get(c)) for c in columns) + "\n")
        return
    if title:
        out.write(_bold(cut(title, output_width())) + "\n")
    if fmt == Format.records:
        _records(rows, columns, labels or {}, out)
    else:
        _table(rows, columns, labels or {}, out)


def pick_columns(
    available: list[str], wanted: str | None, labels: dict[str, str] | None = None
) -> list[str]:
    """The columns ``--columns a,b`` names (by column name or table header), in that order."""
    from moltctl.errors import UsageError

    by_label = {v: k for k, v in (labels or {}).items()}
    out = []
    for raw in (wanted or "").split(","):
        name = raw.strip()
        if not name:
            continue
        col = name if name in available else by_label.get(name)
        if col not in available:
            raise UsageError(f"--columns: no column {name!r} (there are: {', '.join(available)})")
        out.append(col)
    if not out:
        raise UsageError("--columns: name at least one column")
    return out
