"""query: canned analyses, one subcommand per template, options built from the template header.

The subcommands are made when ``query`` is invoked (not at start-up): ``QueryGroup`` lists the
templates of ``sql_templates/queries/`` plus the user directories (``--templates DIR`` before
NAME, or ``MOLTCTL_TEMPLATES``) and turns each header parameter into a real option.
"""

from __future__ import annotations

import inspect
import json
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from moltctl.cli.common import info, state
from moltctl.cli.output import (
    FORMAT_HELP,
    ColumnsOption,
    Format,
    FormatOption,
    Style,
    Tail,
    WideOption,
    cell,
    pick_columns,
    render,
)

QUERY_HELP = (
    "Run a canned analysis (a SQL template): moltctl query NAME [OPTIONS].\n\n"
    "moltctl query --list shows every query; moltctl query NAME --help its options. "
    "Add or override queries with --templates DIR or MOLTCTL_TEMPLATES.\n\n"
    "Example: moltctl query leaderboard --dimension harm --limit 10"
)


def _user_dirs(ctx) -> list:
    from moltctl import queries

    group_ctx = ctx
    while group_ctx is not None and not isinstance(group_ctx.command, QueryGroup):
        group_ctx = group_ctx.parent
    cli_dirs = (group_ctx.params.get("templates") if group_ctx is not None else None) or []
    return queries.template_dirs(cli_dirs)


class QueryGroup(TyperGroup):
    """A group whose subcommands come from the query templates, read on demand."""

    def list_commands(self, ctx) -> list[str]:
        from moltctl import queries

        static = [n for n in self.commands if n != "list"]
        return [*static, "list", *queries.discover(_user_dirs(ctx))]

    def get_command(self, ctx, cmd_name: str):
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        from moltctl import queries

        templates = queries.discover(_user_dirs(ctx))
        tpl = templates.get(cmd_name)
        return None if tpl is None else _build(tpl)

    def resolve_command(self, ctx, args):
        name = args[0]
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            from moltctl import queries

            raise queries.unknown_query(name, self.list_commands(ctx))
        return super().resolve_command(ctx, args)


def _build(tpl):
    """A Typer command for one template: its params as options, plus the common ones."""
    app = typer.Typer(add_completion=False)
    params = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    ]
    annotations: dict[str, Any] = {"ctx": typer.Context}
    for p in tpl.params:
        if p.type == "bool":
            ann = Annotated[bool, typer.Option(p.option, help=p.describe())]
            default: Any = False
        else:
            ann = Annotated[
                str | None,
                typer.Option(p.option, help=p.describe(), metavar=p.metavar, show_default=False),
            ]
            default = None
        params.append(
            inspect.Parameter(
                p.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann
            )
        )
        annotations[p.name] = ann
    limit_help = "Show at most N rows " + (
        f"(default: {tpl.limit})." if tpl.limit is not None else "(default: all)."
    )
    default_fmt = Format(tpl.layout)
    fmt_option = Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help=f"{FORMAT_HELP} (default: {default_fmt.value})",
            show_default=False,
        ),
    ]
    common = {
        "fmt": (fmt_option, None),
        "columns": (ColumnsOption, None),
        "wide": (WideOption, False),
        "limit": (
            Annotated[
                str | None,
                typer.Option("--limit", "-n", metavar="N", help=limit_help, show_default=False),
            ],
            None,
        ),
        "show_sql": (
            Annotated[
                bool,
                typer.Option(
                    "--show-sql",
                    help="Print the rendered SQL and the bound parameters; run nothing.",
                ),
            ],
            False,
        ),
    }
    for name, (ann, default) in common.items():
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
        )
        annotations[name] = ann

    def callback(ctx: typer.Context, **kwargs):
        output = {k: kwargs.pop(k) for k in ("fmt", "columns", "wide")}
        output["fmt"] = output["fmt"] or default_fmt
        limit = kwargs.pop("limit")
        show_sql = kwargs.pop("show_sql")
        _run(ctx, tpl, kwargs, limit=limit, show_sql=show_sql, **output)

    callback.__signature__ = inspect.Signature(params)
    callback.__annotations__ = annotations
    callback.__name__ = tpl.name.replace("-", "_")
    opts = tpl.example
    if opts is None:
        opts = " ".join(f"{p.option} {p.metavar}" for p in tpl.params if p.required)
    doc = f"{tpl.description}\n\nExample: moltctl query {tpl.name}" + (f" {opts}" if opts else "")
    if not tpl.builtin:
        doc += f"\n\nTemplate: {tpl.path}"
    app.command(tpl.name, help=doc)(callback)
    return typer.main.get_command(app)


def _run(
    ctx, tpl, raw: dict, *, fmt: Format, columns: str | None, wide: bool, limit, show_sql: bool
) -> None:
    from moltctl import queries

    raw = {k: v for k, v in raw.items() if v is not None and v is not False}
    # typed validation first: a bad value is a one-line error before any connection
    queries.validate(tpl, raw)
    if limit is not None:
        queries.check_limit(limit)
    result = queries.run(
        state(ctx).target(),
        tpl.name,
        raw,
        limit=limit,
        show_sql=show_sql,
        user_dirs=_user_dirs(ctx),
    )
    if show_sql:
        typer.echo(result.sql.rstrip())
        shown = {k: _param_text(v) for k, v in result.params.items()}
        typer.echo("-- params: " + json.dumps(shown, ensure_ascii=False))
        return
    for note in result.notes:
        info(f"note: {note}", quiet=state(ctx).quiet)
    if columns is not None:
        shown = pick_columns(result.columns, columns, tpl.labels)
    elif fmt == Format.table and not wide:
        chart = queries.chart_rows(result)
        if chart is not None:
            for row in chart:
                row["trend"] = Tail(row["trend"])  # too narrow: the newest points stay
            ends = [min(r["from"] for r in chart), max(r["to"] for r in chart)]
            span = " to ".join(cell(v, Style(ends)) for v in ends)
            title = f"{tpl.chart['y']} by {tpl.chart['x']}, {span} (--wide: every row)"
            group = tpl.chart["group"]
            render(chart, fmt, columns=[group, "last", "min", "max", "trend"], title=title)
            return
        shown = result.default_columns or result.columns
    else:
        shown = result.columns
    render(result.rows, fmt, columns=shown, labels=tpl.labels)


def _param_text(value):
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


query_app = typer.Typer(
    cls=QueryGroup,
    help=QUERY_HELP,
    invoke_without_command=True,
    no_args_is_help=False,
)


@query_app.callback()
def query(
    ctx: typer.Context,
    templates: Annotated[
        list[str] | None,
        typer.Option(
            "--templates",
            metavar="DIR",
            help="A directory of NAME.sql.j2 templates adding or overriding queries "
            "(repeatable; also MOLTCTL_TEMPLATES, separated by ':').",
            show_default=False,
        ),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", "-l", help="List the queries with their descriptions.")
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Run a canned analysis (see moltctl query --list).

    Example: moltctl query leaderboard --dimension harm --limit 10
    """
    if ctx.invoked_subcommand is not None:
        return
    _list(ctx, fmt)


def _list(ctx, fmt: Format) -> None:
    from moltctl import queries

    rows = queries.listing(_user_dirs(ctx))
    columns = list(rows[0]) if rows else None
    if fmt == Format.table and columns and all(r["source"] == "built-in" for r in rows):
        columns.remove("source")  # a column of "built-in" says nothing
    render(rows, fmt, columns=columns)


@query_app.command("list")
def list_queries(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """List the queries with their descriptions and options.

    Example: moltctl query list --format json
    """
    _list(ctx, fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(query_app, name="query", help=QUERY_HELP)
