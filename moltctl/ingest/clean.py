"""Parse JSON fast (orjson) and clean what PostgreSQL refuses, counting every repair.

The fast path parses with orjson and touches nothing. Only where the raw bytes show a NUL
escape, or orjson refuses the text (lone surrogates, NaN/Infinity), does a slower path walk
the parsed value and repair it: NUL characters are removed, lone surrogates become U+FFFD
(valid surrogate pairs, i.e. emoji, are decoded by the parser and stay intact), NaN and
Infinity become null. Each repair is counted in :class:`Warnings`.
"""

from __future__ import annotations

import json
import re

from moltctl.ingest.errors import InputError, TooDeep, Warnings

_NUL_ESCAPE = re.compile(rb"\\u0000")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean_str(s: str, where: str, warns: Warnings) -> str:
    if "\x00" in s:
        warns.add("nul", where, s.count("\x00"))
        s = s.replace("\x00", "")
    if _LONE_SURROGATE.search(s):
        n = len(_LONE_SURROGATE.findall(s))
        warns.add("surrogate", where, n)
        s = _LONE_SURROGATE.sub("\ufffd", s)
    return s


def _walk(value, where: str, warns: Warnings):
    if isinstance(value, str):
        return _clean_str(value, where, warns)
    if isinstance(value, dict):
        return {_clean_str(k, where, warns): _walk(v, where, warns) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, where, warns) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        warns.add("nan", where)
        return None
    return value


def _describe(exc: Exception, data: bytes) -> str:
    msg = str(exc).split(":")[0].strip() or type(exc).__name__
    if not data.strip():
        return "empty, not JSON"
    return f"not valid JSON ({msg})"


INCOMPLETE = object()  # parse(..., cut=True): the text is not one whole JSON value
MAX_DEPTH = 1024  # orjson's limit; the stdlib parser (tolerant path) gets no deeper


def _too_deep(where: str) -> InputError:
    return TooDeep(f"{where}: JSON nested deeper than {MAX_DEPTH} levels")


def parse(data: bytes, where: str, warns: Warnings, *, cut: bool = False):
    """Parse one JSON text; repair and count what PostgreSQL would refuse.

    ``cut``: the text is a piece cut after a ``}`` of a bigger text; INCOMPLETE (nothing
    counted) when it ends inside its value, i.e. the cut was too early.
    """
    import orjson

    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if cut and exc.pos >= len(data):  # ran out of text inside the value
            return INCOMPLETE
        if str(exc).startswith("depth limit exceeded"):
            raise _too_deep(where) from None
        # tolerant path: lone surrogates and NaN/Infinity are valid for the stdlib parser
        try:
            text = data.decode("utf-8", errors="strict")
            value = json.loads(text)
        except RecursionError:
            raise _too_deep(where) from None
        except json.JSONDecodeError as jexc:
            # a piece ending in "}" runs out either inside a string or after a nested value
            if cut and (jexc.pos >= len(text) or jexc.msg.startswith("Unterminated string")):
                return INCOMPLETE
            raise InputError(f"{where}: {_describe(exc, data)}") from None
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{where}: {_describe(exc, data)}") from None
        return _walk_bounded(value, where, warns)
    if _NUL_ESCAPE.search(data):
        return _walk_bounded(value, where, warns)
    return value


def parse_objects(data: bytes) -> list[dict] | None:
    """The objects of ``data``, a comma-separated run of JSON objects (a piece of a list), in
    one parse; None where the one-at-a-time :func:`parse` must decide (a repair to count, an
    error to place, an element that is not an object, a cut inside an element)."""
    import orjson

    if _NUL_ESCAPE.search(data):
        return None
    try:
        values = orjson.loads(b"[" + data + b"]")
    except orjson.JSONDecodeError:
        return None
    for v in values:
        if type(v) is not dict:
            return None
    return values


def _walk_bounded(value, where: str, warns: Warnings):
    try:
        return _walk(value, where, warns)
    except RecursionError:
        raise _too_deep(where) from None
