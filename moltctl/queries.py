"""Canned analyses: ``sql_templates/queries/NAME.sql.j2`` plus user directories of the same kind.

Each template starts with a header, YAML in a Jinja comment (so it never reaches the SQL)::

    {#
    description: What the query answers (one line).
    limit: 50                       # default --limit (omit: all rows)
    format: table                   # or records: the default --format for people
    columns: [rank, agent_handle]   # the table's default columns ("{param}" fills a value)
    labels: {agent_handle: handle}  # table headers
    params:
      - name: agent                 # becomes --agent
        type: text                  # int | float | timestamp | text | choice | bool
        required: true
        help: Agent handle (exact).
      - name: dimension
        type: choice
        choices_from: dimensions    # a registry in the database (dimensions, snapshots)
    chart:                          # optional: a sparkline per group in table mode
      group: dimension
      x: hour
      y: avg_score
    #}

(JSON is YAML too; docs/queries.md has the whole format). Safe by construction: every value
is validated by its type, then bound as ``%(name)s``; the template sees only ``given.<name>``
(was it set), ``values.<name>`` (comparable, e.g. ``values.min_score >= 7``, but refusing to
render as text), ``ref.<name>`` (the registry row of a registry choice, e.g. the dimension, for
identifiers through the ``ident`` / ``literal`` filters) and ``dimensions`` (the registry).
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from moltctl import sqlfiles
from moltctl.dimensions import registry
from moltctl.errors import MoltError, UsageError, first_line
from moltctl.paths import templates_dir
from moltctl.rows import dicts
from moltctl.session import session
from moltctl.timestamps import parse_utc
from moltctl.views import VIEWS

SUFFIX = ".sql.j2"
TYPES = ("int", "float", "timestamp", "text", "choice", "bool")
# registries a choice may come from: the value is looked up in the database, then bound
REGISTRIES = ("dimensions", "snapshots")
# names every query command has already
RESERVED = ("format", "limit", "show_sql", "columns", "wide", "help", "templates", "list", "ctx")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_QUERY_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_META_KEYS = {"description", "params", "limit", "chart", "example", "columns", "labels", "format"}
# how a query is shown to people by default (--format overrides)
LAYOUTS = ("table", "records")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_PARAM_KEYS = {
    "name",
    "type",
    "default",
    "help",
    "choices",
    "choices_from",
    "required",
    "min",
    "max",
}
SPARKS = "▁▂▃▄▅▆▇█"


@dataclass
class Param:
    name: str
    type: str = "text"
    default: Any = None
    help: str = ""
    choices: list[str] | None = None
    choices_from: str | None = None
    required: bool = False
    min: float | None = None
    max: float | None = None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def metavar(self) -> str:
        if self.type == "choice" and self.choices:
            return "|".join(self.choices)
        return {
            "int": "INTEGER",
            "float": "NUMBER",
            "timestamp": "TIMESTAMP",
            "text": "TEXT",
            "choice": self.choices_from.rstrip("s").upper() if self.choices_from else "CHOICE",
        }.get(self.type, "")

    def describe(self) -> str:
        """The --help text: the header's help plus what the value may be."""
        parts = [self.help.strip()] if self.help else []
        if self.type == "choice" and self.choices_from == "dimensions":
            parts.append("A registered dimension (name or short name).")
        elif self.type == "choice" and self.choices_from == "snapshots":
            parts.append("A snapshot run id.")
        elif self.type == "timestamp":
            parts.append("ISO 8601; without an offset it is UTC.")
        if self.required:
            parts.append("(required)")
        elif self.default is not None and self.type != "bool":
            parts.append(f"(default: {self.default})")
        return " ".join(parts)


@dataclass
class QueryTemplate:
    name: str
    path: Path
    text: str
    description: str
    params: list[Param]
    limit: int | None = None
    chart: dict | None = None
    builtin: bool = True
    example: str | None = None
    columns: list[str] | None = None  # the table's default columns (None: all)
    labels: dict[str, str] = field(default_factory=dict)  # column -> table header
    layout: str = "table"  # table | records: the default --format

    @property
    def source(self) -> str:
        return "built-in" if self.builtin else str(self.path)


@dataclass
class QueryResult:
    template: QueryTemplate
    sql: str
    params: dict
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    executed: bool = False
    notes: list[str] = field(default_factory=list)  # e.g. a view read that misses snapshots
    default_columns: list[str] = field(default_factory=list)  # the table's, of ``columns``


# ---------------------------------------------------------------- discovery and headers


def builtin_dir() -> Path:
    return templates_dir() / "queries"


def template_dirs(cli_dirs: list[str] | tuple[str, ...] | None = None, env=None) -> list[Path]:
    """User directories, strongest first: ``--templates`` (repeatable), then MOLTCTL_TEMPLATES
    (``os.pathsep``-separated). Each must exist."""
    env = os.environ if env is None else env
    out: list[Path] = []
    given = [(d, "--templates") for d in (cli_dirs or ())]
    given += [
        (d, "MOLTCTL_TEMPLATES") for d in (env.get("MOLTCTL_TEMPLATES") or "").split(os.pathsep)
    ]
    for raw, where in given:
        if not raw:
            continue
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise UsageError(f"{where}: {raw!r} is not a directory")
        out.append(path)
    return out


def discover(user_dirs: list[Path] | None = None) -> dict[str, QueryTemplate]:
    """Every query by name; a user directory adds queries and overrides built-in ones (the
    first user directory wins over later ones)."""
    found: dict[str, QueryTemplate] = {}
    for directory, builtin in [(builtin_dir(), True)] + [
        (d, False) for d in reversed(user_dirs or [])
    ]:
        for path in sorted(directory.glob("*" + SUFFIX)):
            name = path.name[: -len(SUFFIX)]
            if name.startswith("_") or not _QUERY_NAME.match(name):
                continue
            found[name] = load(path, builtin=builtin)
    return dict(sorted(found.items()))


def load(path: Path, *, builtin: bool = False) -> QueryTemplate:
    text = path.read_text(encoding="utf-8")
    name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    try:
        meta = parse_header(text)
        return _template(name, path, text, meta, builtin)
    except ValueError as exc:
        raise MoltError(
            f"query template {path}: {exc}",
            hint="the header is a YAML mapping in a {# ... #} comment at the top "
            "(see docs/queries.md)",
        ) from None


def parse_header(text: str) -> dict:
    """The header mapping of a template: the YAML (or JSON, a subset of it) in the first
    ``{# ... #}`` comment. A syntax error names the line of the file."""
    m = re.match(r"\s*\{#(.*?)#\}", text, re.S)
    if not m:
        raise ValueError("no header: the file must start with a {# ... #} comment")
    first_line_no = text.count("\n", 0, m.start(1)) + 1  # the file line the header starts on
    try:
        meta = _yaml(m.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {first_line_no + mark.line}: " if mark is not None else ""
        if "mapping values are not allowed" in problem:
            problem += " (quote a value that contains ': ')"
        raise ValueError(f"{where}header is not valid YAML: {problem}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError("header must be a mapping")
    return meta


# libyaml's loader when PyYAML has it: the pure-Python one takes ~2 ms a header, and every
# query run and --help reads all of them
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=256)
def _yaml_cached(body: str) -> Any:
    return yaml.load(body, Loader=_LOADER)  # noqa: S506 - a safe loader


def _yaml(body: str) -> Any:
    """The header's YAML, parsed once per text (a copy: callers may keep what they get)."""
    import copy

    return copy.deepcopy(_yaml_cached(body))


def _template(name: str, path: Path, text: str, meta: dict, builtin: bool) -> QueryTemplate:
    unknown = set(meta) - _META_KEYS
    if unknown:
        raise ValueError(f"unknown header key(s): {', '.join(sorted(unknown))}")
    if not isinstance(meta.get("description"), str) or not meta["description"].strip():
        raise ValueError("header needs a description")
    params = []
    for i, raw in enumerate(meta.get("params") or []):
        if not isinstance(raw, dict):
            raise ValueError(f"param #{i + 1} is not a mapping")
        params.append(_param(raw))
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ValueError("two params share a name")
    limit = meta.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise ValueError("limit must be a non-negative integer")
    chart = meta.get("chart")
    if chart is not None and (not isinstance(chart, dict) or set(chart) != {"group", "x", "y"}):
        raise ValueError("chart needs exactly group, x and y (column names)")
    example = meta.get("example")
    if example is not None and not isinstance(example, str):
        raise ValueError("example must be a string (the options after the query name)")
    columns = meta.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns)
    ):
        raise ValueError("columns must be a list of column names")
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in labels.items()
    ):
        raise ValueError("labels must map column names to headers (text)")
    if len(set(labels.values())) != len(labels):
        raise ValueError("two columns share a label")
    layout = meta.get("format", "table")
    if layout not in LAYOUTS:
        raise ValueError(f"format must be one of {', '.join(LAYOUTS)}")
    return QueryTemplate(
        name,
        path,
        text,
        meta["description"].strip(),
        params,
        limit,
        chart,
        builtin,
        example,
        columns,
        labels,
        layout,
    )


def _param(raw: dict) -> Param:
    unknown = set(raw) - _PARAM_KEYS
    if unknown:
        raise ValueError(f"param {raw.get('name')!r}: unknown key(s) {', '.join(sorted(unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"param name {name!r} must match [a-z][a-z0-9_]*")
    if name in RESERVED:
        raise ValueError(f"param name {name!r} is reserved")
    ptype = raw.get("type", "text")
    if ptype not in TYPES:
        raise ValueError(f"param {name}: type {ptype!r} is not one of {', '.join(TYPES)}")
    p = Param(
        name=name,
        type=ptype,
        help=str(raw.get("help") or ""),
        choices=[str(c) for c in raw["choices"]] if raw.get("choices") is not None else None,
        choices_from=raw.get("choices_from"),
        required=bool(raw.get("required", False)),
        min=raw.get("min"),
        max=raw.get("max"),
    )
    if ptype == "choice":
        if (p.choices is None) == (p.choices_from is None):
            raise ValueError(f"param {name}: a choice needs either choices or choices_from")
        if p.choices_from is not None and p.choices_from not in REGISTRIES:
            raise ValueError(f"param {name}: choices_from must be one of {', '.join(REGISTRIES)}")
    elif p.choices is not None or p.choices_from is not None:
        raise ValueError(f"param {name}: choices only go with type choice")
    if raw.get("default") is not None:
        if ptype == "bool":
            raise ValueError(f"param {name}: a bool is a flag and has no default")
        if p.choices_from is None:
            try:
                convert(p, str(raw["default"]))
            except UsageError as exc:
                raise ValueError(f"default of {exc.message}") from None
        p.default = raw["default"]
    return p


_SCALAR_INT = re.compile(r"^[+-]?\d+$")
_SCALAR_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


# ---------------------------------------------------------------- typed values


def convert(p: Param, raw: str) -> Any:
    """One raw option value to its typed value, or a one-line UsageError (exit 2)."""
    where = p.option
    if "\x00" in raw:
        raise UsageError(f"{where}: the value contains a NUL character")
    if p.type == "int":
        if not _SCALAR_INT.match(raw.strip()):
            raise UsageError(f"{where}: {raw!r} is not an integer")
        value: Any = int(raw.strip())
    elif p.type == "float":
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not _SCALAR_FLOAT.match(raw.strip()):
            raise UsageError(f"{where}: {raw!r} is not a number")
    elif p.type == "timestamp":
        try:
            value = parse_utc(raw)
        except (ValueError, OverflowError):
            raise UsageError(f"{where}: {raw!r} is not a timestamp (ISO 8601)") from None
    elif p.type == "choice" and p.choices is not None:
        if raw not in p.choices:
            raise UsageError(f"{where}: {raw!r} is not one of {', '.join(p.choices)}")
        value = raw
    else:
        value = raw
    if p.type in ("int", "float"):
        if p.min is not None and value < p.min:
            raise UsageError(f"{where}: {raw!r} is below the minimum {p.min:g}")
        if p.max is not None and value > p.max:
            raise UsageError(f"{where}: {raw!r} is above the maximum {p.max:g}")
    return value


def validate(tpl: QueryTemplate, raw: dict[str, Any]) -> dict[str, Any]:
    """Typed values of every param (defaults filled in), checked before anything runs."""
    unknown = set(raw) - {p.name for p in tpl.params}
    if unknown:
        raise UsageError(f"query {tpl.name} has no option --{sorted(unknown)[0]}")
    values: dict[str, Any] = {}
    for p in tpl.params:
        given = raw.get(p.name)
        if p.type == "bool":
            values[p.name] = bool(given)
            continue
        if given is None:
            if p.required:
                raise UsageError(f"{p.option} is required for query {tpl.name}")
            given = None if p.default is None else str(p.default)
        values[p.name] = None if given is None else convert(p, str(given))
    return values


def check_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, int) and not isinstance(limit, bool):
        value = limit
    elif isinstance(limit, str) and _SCALAR_INT.match(limit.strip()):
        value = int(limit)
    else:
        raise UsageError(f"--limit: {limit!r} is not an integer")
    if value < 0:
        raise UsageError(f"--limit: {value} is below the minimum 0")
    return value


# ---------------------------------------------------------------- rendering


class TemplateValueError(Exception):
    pass


class Guarded:
    """A validated value the template may test and compare but never render into SQL."""

    __slots__ = ("_name", "_value")

    def __init__(self, name: str, value: Any):
        self._name = name
        self._value = value

    def _other(self, other):
        return other._value if isinstance(other, Guarded) else other

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other):
        return self._value == self._other(other)

    def __ne__(self, other):
        return self._value != self._other(other)

    def __lt__(self, other):
        return self._value < self._other(other)

    def __le__(self, other):
        return self._value <= self._other(other)

    def __gt__(self, other):
        return self._value > self._other(other)

    def __ge__(self, other):
        return self._value >= self._other(other)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        raise TemplateValueError(self._name)

    __html__ = __str__

    def __repr__(self) -> str:
        raise TemplateValueError(self._name)


@functools.lru_cache(maxsize=16)
def _env(directory: str):
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=FileSystemLoader([directory, str(builtin_dir()), str(templates_dir())]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["ident"] = sqlfiles.ident
    env.filters["literal"] = sqlfiles.literal
    return env


@functools.lru_cache(maxsize=64)
def _compiled(directory: str, text: str):
    """The compiled template (compiling is most of the cost of rendering; cache by text)."""
    return _env(directory).from_string(text)


def render(
    tpl: QueryTemplate,
    values: dict[str, Any],
    *,
    refs: dict[str, dict] | None = None,
    dimensions: list[dict] | None = None,
    limit: int | None = None,
) -> tuple[str, dict]:
    """(SQL, bound params) of a template for validated values; no database needed."""
    import jinja2

    refs = refs or {}
    values = {p.name: values.get(p.name) for p in tpl.params} | dict(values)
    params = dict(values)
    for name, row in refs.items():
        params[name] = row["_value"]
    params["limit"] = limit
    context = {
        "given": {name: v is not None and v is not False for name, v in values.items()}
        | {"limit": limit is not None},
        "values": {name: Guarded(name, v) for name, v in params.items()},
        "ref": {p.name: None for p in tpl.params if p.choices_from is not None}
        | {name: {k: v for k, v in row.items() if k != "_value"} for name, row in refs.items()},
        "dimensions": list(dimensions or []),
    }
    try:
        sql = _compiled(str(tpl.path.parent), tpl.text).render(**context)
    except TemplateValueError as exc:
        raise MoltError(
            f"query template {tpl.path.name} tries to write the value of --{exc} into the SQL",
            hint=f"bind it as %({exc})s; use values.{exc} only in {{% if %}} tests",
        ) from None
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise MoltError(
            f"query template {tpl.path.name}"
            + (f":{line}" if line else "")
            + f": {type(exc).__name__}: {exc}"
        ) from None
    sql = sql.strip().rstrip(";").strip()
    if limit is not None and "%(limit)s" not in sql:
        sql = f"SELECT * FROM (\n{sql}\n) AS q\nLIMIT %(limit)s"
    used = set(re.findall(r"%\((\w+)\)s", sql))
    return sql + "\n", {k: v for k, v in params.items() if k in used}


def resolve_refs(conn, tpl: QueryTemplate, values: dict[str, Any]) -> dict[str, dict]:
    """Look each registry choice up in the database; an unknown value is a UsageError."""
    refs: dict[str, dict] = {}
    for p in tpl.params:
        if p.choices_from is None or values.get(p.name) is None:
            continue
        raw = values[p.name]
        if p.choices_from == "dimensions":
            rows = dicts(
                conn.execute(sqlfiles.render("query_support/dimension_ref.sql"), {"value": raw})
            )
            if not rows:
                known = [d["name"] for d in registry(conn)]
                raise UsageError(
                    f"{p.option}: {raw!r} is not a registered dimension "
                    f"({', '.join(known) or 'none registered'})"
                )
            rows[0]["_value"] = rows[0]["name"]
        else:  # snapshots
            rows = dicts(
                conn.execute(sqlfiles.render("query_support/snapshot_ref.sql"), {"value": raw})
            )
            if not rows:
                raise UsageError(f"{p.option}: no snapshot has run id {raw!r}")
            rows[0]["_value"] = rows[0]["run_id"]
        refs[p.name] = rows[0]
    return refs


def run(
    target,
    name: str,
    raw: dict[str, Any],
    *,
    limit: Any = None,
    show_sql: bool = False,
    user_dirs: list[Path] | None = None,
) -> QueryResult:
    """Validate, render and (unless ``show_sql``) run one query in a read-only transaction."""
    from psycopg.rows import dict_row  # here: `moltctl query NAME --help` imports this module

    templates = discover(user_dirs)
    if name not in templates:
        raise unknown_query(name, templates)
    tpl = templates[name]
    values = validate(tpl, raw)
    limit = check_limit(limit) if limit is not None else tpl.limit

    with session(target, autocommit=False) as conn:
        conn.read_only = True
        dims = registry(conn)
        refs = resolve_refs(conn, tpl, values)
        sql, params = render(tpl, values, refs=refs, dimensions=dims, limit=limit)
        result = QueryResult(tpl, sql, params)
        if show_sql:
            return result
        try:
            cur = conn.cursor(row_factory=dict_row).execute(sql, params)
        except Exception as exc:
            _explain(exc, tpl)
            raise
        if cur.description is None:
            raise MoltError(f"query {name} returned no result set")
        result.columns = [c.name for c in cur.description]
        result.rows = cur.fetchall()
        result.executed = True
        result.default_columns = default_columns(tpl, result.columns, values, refs)
        result.notes = stale_views(conn, sql)
        conn.rollback()
    return result


def unknown_query(name: str, names) -> UsageError:
    """The error for a query name that does not exist, with the closest one as a hint."""
    import difflib

    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    hint = "moltctl query --list shows the queries there are"
    if close:
        hint = f"did you mean {close[0]}? ({hint})"
    return UsageError(f"no query named {name!r}", hint=hint)


def default_columns(
    tpl: QueryTemplate, columns: list[str], values: dict[str, Any], refs: dict[str, dict]
) -> list[str]:
    """The header's ``columns`` that the result has, in their order (all without a list).

    ``{param}`` in a name is the given value (for a dimension, its short name, as the view's
    column names use), e.g. ``{dimension}_mean``; a name whose param is not given is left out.
    """
    if tpl.columns is None:
        return list(columns)

    def fill(name: str) -> str | None:
        out = name
        for param in _PLACEHOLDER.findall(name):
            ref = refs.get(param)
            value = ref.get("short_name", ref["_value"]) if ref else values.get(param)
            if value is None or value is False:
                return None
            out = out.replace("{" + param + "}", str(value))
        return out

    present = set(columns)
    shown: list[str] = []
    for name in tpl.columns:
        col = fill(name)
        if col is not None and col in present and col not in shown:
            shown.append(col)
    return shown


def stale_views(conn, sql: str) -> list[str]:
    """A note per view ``sql`` reads that has changes logged it has not folded in yet.

    An analyst reading a leaderboard after an ingest without ``refresh-views`` otherwise gets
    yesterday's answer without a word.
    """
    read = [v for v in VIEWS if re.search(rf"\b{v}\b", sql)]
    if not read:
        return []
    rows = conn.execute(
        sqlfiles.render("query_support/views_stale.sql"), {"names": read}
    ).fetchall()
    notes = []
    for name, refreshed_at, changed_at, pending in rows:
        changed = f"{changed_at:%Y-%m-%d %H:%M:%S%z}"
        if refreshed_at is None:
            said = f"{name} has not been refreshed by moltctl; the latest snapshot was loaded at"
            said += f" {changed}"
        else:
            said = f"{name} was last refreshed at {refreshed_at:%Y-%m-%d %H:%M:%S%z}, before the"
            said += f" latest snapshot was loaded at {changed} ({pending} change(s) pending)"
        notes.append(f"{said}: run moltctl refresh-views")
    return notes


def _explain(exc: Exception, tpl: QueryTemplate) -> None:
    import psycopg

    if isinstance(exc, psycopg.errors.UndefinedColumn | psycopg.errors.UndefinedTable):
        first = first_line(exc)
        raise MoltError(
            f"query {tpl.name}: {first}",
            hint="the views may predate a migration: run moltctl refresh-views",
        ) from None
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        raise MoltError(f"query {tpl.name} tried to write: queries run read-only") from None


def listing(user_dirs: list[Path] | None = None) -> list[dict]:
    """One row per query: name, description, options, source."""
    rows = []
    for tpl in discover(user_dirs).values():
        opts = []
        for p in tpl.params:
            opt = p.option if p.type == "bool" else f"{p.option} {p.metavar}"
            opts.append(opt if p.required else f"[{opt}]")
        rows.append(
            {
                "name": tpl.name,
                "description": tpl.description,
                "options": " ".join(opts),
                "source": tpl.source,
            }
        )
    return rows


# ---------------------------------------------------------------- charts


def sparkline(values: list[float | None]) -> str:
    """▁▂▃▄▅▆▇█ scaled between the series' own minimum and maximum (a gap is a space)."""
    nums = [float(v) for v in values if v is not None]
    if not nums:
        return ""
    lo, hi = min(nums), max(nums)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif hi == lo:
            out.append(SPARKS[len(SPARKS) // 2 - 1])
        else:
            out.append(SPARKS[round((float(v) - lo) / (hi - lo) * (len(SPARKS) - 1))])
    return "".join(out)


def chart_rows(result: QueryResult) -> list[dict] | None:
    """For a template with a ``chart``: one row per group with a sparkline of y over x (and
    y's last, min and max value)."""
    chart = result.template.chart
    if not chart or not result.rows:
        return None
    group, x, y = chart["group"], chart["x"], chart["y"]
    if not {group, x, y} <= set(result.columns):
        return None
    series: dict[Any, list[tuple[Any, Any]]] = {}
    for r in result.rows:
        series.setdefault(r[group], []).append((r[x], r[y]))
    out = []
    for key, points in series.items():
        points.sort(key=lambda p: p[0])
        ys = [None if v is None else float(v) for _, v in points]
        nums = [v for v in ys if v is not None]
        out.append(
            {
                group: key,
                "last": ys[-1],
                "min": min(nums) if nums else None,
                "max": max(nums) if nums else None,
                "trend": sparkline(ys),
                "points": len(points),
                "from": points[0][0],
                "to": points[-1][0],
            }
        )
    return out
