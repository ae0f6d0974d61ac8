"""Render SQL from ``sql_templates/``: Jinja renders structure, values stay bound parameters."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from moltctl.paths import templates_dir

_SAFE_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """Quote an identifier (names come from a registry, but quote anyway)."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: str) -> str:
    """A string literal for structure that cannot be a parameter (view definitions, DDL).

    Only registry names reach this (dimension names are CHECKed to ``^[a-z][a-z0-9_]*$``);
    anything else is refused rather than escaped.
    """
    if not _SAFE_IDENT.match(str(value)):
        raise ValueError(f"refusing to inline {value!r} into SQL")
    return "'" + str(value) + "'"


def ts_literal(value) -> str:
    """A timestamptz literal from a datetime (partition bounds cannot be parameters)."""
    import datetime as dt

    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError(f"refusing to inline {value!r}: not an aware datetime")
    return "'" + value.isoformat() + "'"


def make_env(*extra_dirs: Path):
    import jinja2

    dirs = [str(d) for d in extra_dirs] + [str(templates_dir())]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["ident"] = ident
    env.filters["literal"] = literal
    env.filters["ts_literal"] = ts_literal
    return env


@functools.cache
def _env():
    return make_env()


def render(template: str, /, **context: Any) -> str:
    """Render ``sql_templates/<template>`` (a plain ``.sql`` file renders to itself)."""
    return _env().get_template(template).render(**context)


def split_statements(sql: str) -> list[tuple[int, str]]:
    """Split a script into (line number, statement) pairs.

    Knows quotes, quoted identifiers, dollar quotes and both comment styles, so a ``;``
    inside any of them does not split.
    """
    out: list[tuple[int, str]] = []
    i, n, start = 0, len(sql), 0
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "/" and sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif c == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", sql[i:])
            if m:
                tag = m.group(0)
                j = sql.find(tag, i + len(tag))
                i = n if j < 0 else j + len(tag)
            else:
                i += 1
        elif c == ";":
            _emit(out, sql, start, i)
            i += 1
            start = i
        else:
            i += 1
    _emit(out, sql, start, n)
    return out


def _emit(out: list[tuple[int, str]], sql: str, start: int, end: int) -> None:
    chunk = sql[start:end]
    if not _has_code(chunk):
        return
    lead = len(chunk) - len(chunk.lstrip())
    line = sql.count("\n", 0, start + lead) + 1
    out.append((line, chunk.strip()))


def _has_code(chunk: str) -> bool:
    stripped = re.sub(r"--[^\n]*", "", chunk)
    stripped = re.sub(r"/\*.*?\*/", "", stripped, flags=re.S)
    return bool(stripped.strip())
