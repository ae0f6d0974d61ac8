"""moltctl.cli.output: cells, cutting, fitting and every format, on rows made here."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json

import pytest
from rich.cells import cell_len

from moltctl.cli.output import Format, Style, Tail, cell, cut, output_width, render

ROWS = [
    {
        "id": 1,
        "name": "Zoë✨ wide",
        "score": decimal.Decimal("7.5"),
        "mean": 3.214285,
        "at": dt.datetime(2026, 1, 30, 17, 0, tzinfo=dt.UTC),
        "ok": True,
        "text": "line one\n\tline two " + "long " * 40,
        "obj": {"k": "v"},
    },
    {
        "id": 22,
        "name": None,
        "score": decimal.Decimal("10"),
        "mean": 0.5,
        "at": dt.datetime(2026, 1, 30, 18, 0, tzinfo=dt.UTC),
        "ok": False,
        "text": "a\\b",
        "obj": None,
    },
]


def _out(capsys, fmt, width=None, monkeypatch=None, **kw):
    if width is not None:
        monkeypatch.setenv("COLUMNS", str(width))
    render(ROWS, fmt, **kw)
    return capsys.readouterr().out


def test_cut_counts_cells_and_keeps_the_end_when_asked():
    assert cut("abcdef", 6) == "abcdef"
    assert cut("abcdef", 4) == "abc…"
    assert cut("✨✨✨", 4) == "✨…"  # a wide character takes two cells
    assert cell_len(cut("✨✨✨", 4)) <= 4
    assert cut("▁▂▃▄▅", 3, left=True) == "…▄▅"


def test_cells_round_per_column_and_shorten_times():
    scores = Style([decimal.Decimal("7.5"), decimal.Decimal("10"), None])
    assert [cell(v, scores) for v in (decimal.Decimal("7.5"), decimal.Decimal("10"))] == [
        "7.5",
        "10.0",
    ]
    means = Style([3.214285, 0.5])
    assert cell(3.214285, means) == "3.21" and cell(0.5, means) == "0.50"
    assert cell(12, Style([12, 3])) == "12"
    hours = [dt.datetime(2026, 1, 30, h, tzinfo=dt.UTC) for h in (17, 18)]
    assert cell(hours[0], Style(hours)) == "2026-01-30 17:00Z"
    days = [dt.datetime(2026, 1, d, tzinfo=dt.UTC) for d in (1, 2)]
    assert cell(days[0], Style(days)) == "2026-01-01"
    assert cell(True) == "yes" and cell(None) == "" and cell({"a": 1}) == '{"a": 1}'


def test_columns_env_is_the_width_when_piped(monkeypatch):
    monkeypatch.setenv("COLUMNS", "77")
    assert output_width() == 77
    monkeypatch.delenv("COLUMNS")
    assert output_width() == 120  # pytest's capture is no terminal


@pytest.mark.parametrize("width", [40, 80, 120])
def test_table_fits_and_keeps_one_line_per_row(capsys, monkeypatch, width):
    lines = _out(capsys, Format.table, width, monkeypatch).splitlines()
    assert all(cell_len(ln) <= width for ln in lines), lines
    assert len(lines) == 2 + len(ROWS) + 1 and lines[-1] == "(2 rows)"
    assert "…" in lines[2]  # the long text is cut, not wrapped
    # numbers are right-aligned: the id column ends where its header ends
    assert lines[0].startswith("id") and lines[3].startswith("22") and lines[2].startswith(" 1")


def test_labels_and_columns(capsys, monkeypatch):
    out = _out(
        capsys, Format.table, 80, monkeypatch, columns=["mean", "id"], labels={"mean": "avg"}
    )
    assert out.splitlines()[0].split() == ["avg", "id"]


def test_records_wrap_whole_values(capsys, monkeypatch):
    lines = _out(capsys, Format.records, 60, monkeypatch).splitlines()
    assert all(cell_len(ln) <= 60 for ln in lines)
    assert lines[0] == "-[ RECORD 1 ]" + "-" * (len("score") + 20 - len("-[ RECORD 1 ]"))
    text = " ".join(ln.strip() for ln in lines if ln.startswith("text") or ln.startswith(" "))
    assert "long long" in text and "…" not in text
    assert sum("long" in ln for ln in lines) > 1  # wrapped over several lines


def test_json_ndjson_csv_tsv_carry_values_whole(capsys):
    render(ROWS, Format.json)
    as_json = json.loads(capsys.readouterr().out)
    assert as_json[0]["text"] == ROWS[0]["text"] and as_json[0]["score"] == 7.5
    render(ROWS, Format.ndjson)
    assert [json.loads(ln) for ln in capsys.readouterr().out.splitlines()] == as_json
    render(ROWS, Format.csv)
    parsed = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert parsed[1][6] == ROWS[0]["text"] and parsed[1][7] == '{"k": "v"}'
    render(ROWS, Format.tsv)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # newlines and tabs inside values are escaped
    assert lines[1].split("\t")[6].startswith("line one\\n\\tline two")
    assert lines[2].split("\t")[6] == "a\\\\b"
    assert lines[2].split("\t")[1] == ""  # null is empty


def test_tail_is_cut_on_the_left(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "20")
    render([{"group": "g", "trend": Tail("▁▂▃▄▅▆▇█" * 4)}], Format.table)
    row = capsys.readouterr().out.splitlines()[2]
    assert row.endswith("▅▆▇█") and "…" in row
