"""clean: the fast path touches nothing; repairs are counted; --strict refuses them."""

from __future__ import annotations

import pytest

from moltctl.ingest.clean import parse
from moltctl.ingest.errors import InputError, Warnings
from moltctl.ingest.records import Fields


def test_fast_path_keeps_everything():
    w = Warnings()
    assert parse(b'{"t": "fox \\ud83e\\udd8a \xf0\x9f\xa6\x9e"}', "f", w) == {"t": "fox 🦊 🦞"}
    assert w.total == 0


def test_nul_removed_everywhere_and_counted():
    w = Warnings()
    got = parse(b'{"a\\u0000": ["x\\u0000y", {"b": "\\u0000"}]}', "f: line 1", w)
    assert got == {"a": ["xy", {"b": ""}]}
    assert w.counts["nul"] == 3 and w.first["nul"] == "f: line 1"


def test_lone_surrogates_replaced_pairs_kept():
    w = Warnings()
    got = parse(b'["\\ud800 lone", "\\udc00", "pair \\ud83e\\udd8a", "\\ud83e\\ud83e"]', "f", w)
    assert got == ["\ufffd lone", "\ufffd", "pair 🦊", "\ufffd\ufffd"]
    assert w.counts["surrogate"] == 4


def test_nan_and_infinity_become_null():
    w = Warnings()
    assert parse(b'{"s": NaN, "t": [Infinity, -Infinity, 1.5]}', "f", w) == {
        "s": None,
        "t": [None, None, 1.5],
    }
    assert w.counts["nan"] == 3


def test_strict_refuses_the_first_repair():
    with pytest.raises(InputError, match=r"f: line 2: NUL character in text \(refused by"):
        parse(b'"a\\u0000"', "f: line 2", Warnings(strict=True))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty, not JSON"),
        (b"{", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_not_json(data, message):
    with pytest.raises(InputError, match=message):
        parse(data, "f", Warnings())


def test_naive_timestamp_read_as_utc():
    w = Warnings()
    f = Fields({"created_at": "2026-01-30T10:00:00"}, "f: line 3", w)
    assert f.ts("created_at") == "2026-01-30T10:00:00+00:00"
    assert w.counts["naive_ts"] == 1 and "field 'created_at'" in w.first["naive_ts"]
    assert Fields({"t": "2026-01-30T10:00:00Z"}, "f", w).ts("t") == "2026-01-30T10:00:00+00:00"


def test_integer_fields():
    w = Warnings()
    f = Fields({"a": 3.0, "b": 12.6, "c": "12", "d": True, "e": 2**31}, "f: line 1", w)
    assert f.int("a") == 3
    assert f.int("b", rounding=True) == 13  # latency_ms: a float of milliseconds rounds
    for key, message in (
        ("b", "field 'b': expected an integer, got number 12.6"),
        ("c", "field 'c': expected an integer, got string '12'"),
        ("d", "field 'd': expected an integer, got boolean"),
        ("e", "field 'e': 2147483648 is out of range"),
    ):
        with pytest.raises(InputError, match=message):
            f.int(key)
