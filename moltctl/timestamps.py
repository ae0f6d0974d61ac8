"""The one timestamp parser: ISO 8601 text (options, headers, records) to a datetime."""

from __future__ import annotations

import datetime as dt


def parse_time(text: str) -> dt.datetime:
    """``text`` as a datetime: ISO 8601 (``Z``/``z`` or an offset; a bare date is midnight;
    blanks around it ignored). Naive when the text names no zone: the caller decides what
    that means (UTC, with or without a warning). ValueError when it does not parse.

    Example: ``parse_time("2026-01-30T17:01:18Z")``
    """
    try:
        return dt.datetime.fromisoformat(text)  # the common case, in one call (ingest's hot path)
    except ValueError:
        pass
    s = text.strip()
    if s[-1:] in ("Z", "z"):
        s = s[:-1] + "+00:00"
    return dt.datetime.fromisoformat(s)


def as_utc(ts: dt.datetime) -> dt.datetime:
    """A naive time read as UTC; an aware one as it is."""
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts


def parse_utc(text: str) -> dt.datetime:
    """``parse_time`` with a naive time read as UTC (what every option and header means)."""
    return as_utc(parse_time(text))
