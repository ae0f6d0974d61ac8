"""Reading a big JSON list (all_comments.json) one element at a time: same values, same
warnings and same errors as parsing the file whole, in bounded memory."""

from __future__ import annotations

import json
import tracemalloc

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moltctl.ingest import readers
from moltctl.ingest.errors import InputError, Warnings
from moltctl.ingest.readers import _read_json, _stream_list

TRICKY = [
    {"id": "c1", "body_text": "plain"},
    {"id": "c2", "body_text": 'braces in text: }, {"id": "fake"}, ] and }]', "n": 1},
    {"id": "c3", "author": {"name": "a", "meta": {"deep": [1, {"x": "}"}]}}, "tail": "}"},
    {"id": "c4", "body_text": 'escaped quote \\" then }, and \\\\" too', "list": [{}, {}]},
    {"id": "c5", "body_text": "emoji \U0001f916 and accents é ü", "empty": {}},
    {"id": "c6", "replies": [{"id": "r1", "replies": [{"id": "r2"}]}]},
]


def _write(tmp_path, text: str | bytes, name: str = "all_comments.json"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _streamed(path, chunk: int, warns: Warnings | None = None):
    items = _stream_list(path, warns or Warnings(), None, chunk=chunk)
    assert items is not None
    return list(items)


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
@pytest.mark.parametrize("indent", [None, 2])
def test_same_values_as_the_whole_parse(tmp_path, chunk, indent):
    path = _write(tmp_path, json.dumps(TRICKY, indent=indent, ensure_ascii=False))
    assert _streamed(path, chunk) == TRICKY == orjson.loads(path.read_bytes())


@pytest.mark.parametrize("text", ["[]", "  [ ]\n", "\n[\n]\n"])
def test_empty_list(tmp_path, text):
    assert _streamed(_write(tmp_path, text), 3) == []


def test_repairs_count_the_same_warnings(tmp_path):
    """NaN (tolerant parser), NUL and lone surrogates (repaired) as in a whole-file parse."""
    text = (
        '[{"id": "a", "score": NaN, "t": "x}, {"},'
        ' {"id": "b", "body_text": "nul \\u0000 here", "s": "\\ud800 lone"},'
        ' {"id": "c", "ok": "\\ud83e\\udd16"}]'
    )
    path = _write(tmp_path, text)
    whole_w, streamed_w = Warnings(), Warnings()
    whole = _read_json(path, whole_w)
    for chunk in (5, 1 << 20):
        streamed_w = Warnings()
        assert _streamed(path, chunk, streamed_w) == whole
        assert streamed_w.counts == whole_w.counts and streamed_w.total >= 3
        assert streamed_w.first == whole_w.first


# the characters that make a cut look like an element's end, escapes and repairs included
_TRICKY_TEXT = st.text(alphabet='}{],"\\ \x00\nab', max_size=5)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY_TEXT, inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=80, deadline=None)
@given(
    items=st.lists(st.dictionaries(_TRICKY_TEXT, _VALUES, max_size=4), max_size=10),
    chunk=st.sampled_from([3, 40, 1 << 20]),
    indent=st.sampled_from([None, 2]),
)
def test_streamed_is_the_whole_parse_for_any_list(tmp_path_factory, items, chunk, indent):
    """Parsed many at a time where it can, one at a time where a cut or a repair asks: the
    values and the warnings of the whole-file parse, whatever the strings hold."""
    path = _write(tmp_path_factory.mktemp("l"), json.dumps(items, indent=indent))
    whole_w, streamed_w = Warnings(), Warnings()
    assert _streamed(path, chunk, streamed_w) == _read_json(path, whole_w)
    assert streamed_w.counts == whole_w.counts and streamed_w.first == whole_w.first


def test_a_clean_list_is_parsed_many_elements_at_a_time(tmp_path, monkeypatch):
    calls, one = [], readers.parse
    monkeypatch.setattr(readers, "parse", lambda *a, **kw: calls.append(1) or one(*a, **kw))
    items = [{"id": f"c{i}", "body_text": "text }, with braces", "n": i} for i in range(3000)]
    path = _write(tmp_path, json.dumps(items, indent=2))
    assert _streamed(path, 1 << 16) == items
    assert len(calls) < 30, len(calls)  # one per buffer at most: the element cut at its end


@pytest.mark.parametrize(
    "text",
    [
        '[{"id": "a"}, {"id": "b", "x": ',  # truncated inside an element
        '[{"id": "a"}, {"id": "b"}',  # no closing bracket
        '[{"id": "a"}, {"id": "b" "x": 1}, {"id": "c"}]',  # a syntax error in the middle
        '[{"id": "a"}, {"id": "b"},]',  # trailing comma
        '[{"id": "a"}] extra',  # something after the list
        '[{"id": "a"}, 5]',  # not an object
        '[{"id": "a", "body": "unterminated}, {"id": "b"}]',
    ],
)
def test_bad_json_gets_the_whole_parse_error(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as whole:
        items = _read_json(path, Warnings())
        if not all(isinstance(i, dict) for i in items):
            raise InputError(f"{path}: expected a list of objects")
    for chunk in (3, 1 << 20):
        with pytest.raises(InputError) as streamed:
            _streamed(path, chunk)
        assert str(streamed.value) == str(whole.value)
        assert str(path) in str(streamed.value)


@pytest.mark.parametrize("text", ['{"comments": [{"id": "a"}]}', "[1, 2]", '["a"]', "  "])
def test_other_shapes_are_left_to_the_whole_parse(tmp_path, text):
    assert _stream_list(_write(tmp_path, text), Warnings(), None) is None


def test_memory_stays_bounded(tmp_path):
    """A 24 MB list is read with a fraction of that in memory (parsing it whole holds
    the text and every parsed object at once)."""
    one = {"id": "", "post_id": "p", "body_text": "x" * 900, "author": {"name": "n", "k": 3}}
    items = [dict(one, id=f"c{i}") for i in range(24_000)]
    path = _write(tmp_path, orjson.dumps(items, option=orjson.OPT_INDENT_2))
    assert path.stat().st_size > 24_000_000
    del items
    tracemalloc.start()
    try:
        n = 0
        for item in _stream_list(path, Warnings(), None):
            n += 1
            assert item["id"] == f"c{n - 1}"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 24_000
    assert peak < path.stat().st_size // 4, peak  # the whole parse: several times the size


def test_progress_counts_every_byte(tmp_path):
    path = _write(tmp_path, json.dumps(TRICKY, indent=2))
    seen = []
    list(_stream_list(path, Warnings(), seen.append, chunk=100))
    assert sum(seen) == path.stat().st_size
