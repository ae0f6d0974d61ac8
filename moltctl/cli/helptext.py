"""--help as people read it: no Python types as value labels, paragraphs that fit the
terminal, commands in workflow order.

Recent typer labels every parameter with its Python type: ``--quiet -q <bool>`` (a flag takes
no value; ``--quiet=true`` is an error), an argument as ``paths... <list[Path]>`` and in the
usage line as ``{paths}...``. ``plain_labels()`` keeps the labels that say what to type
(``<float>``, ``<table|json|csv>``, a metavar) and drops the others; arguments are named in
capitals (``PATHS...``), as click and most CLIs do. It also keeps the docstrings' line
breaks after the first paragraph, which at 80 columns breaks every line in two:
``reflow_paragraphs()`` joins a paragraph's lines so the terminal wraps it (a paragraph that
starts with ``\b`` keeps its lines, as in click).
"""

from __future__ import annotations

# the order of `moltctl --help`: how a user meets the commands. Commands not named here
# (a new one, before it is added) come after these, in the order they were registered.
COMMAND_ORDER = (
    "init",
    "migrate",
    "status",
    "ingest-file",
    "refresh-views",
    "query",
    "purge",
    "create-partition",
    "generate",
    "server",
    "adopt",
)


def ordered(names: list[str]) -> list[str]:
    """``names`` in COMMAND_ORDER, unknown ones last (stable)."""
    rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
    return sorted(names, key=lambda n: rank.get(n, len(rank)))


# typer's Python type names as the values people type (click's words)
_VALUE_LABELS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "Path": "PATH"}


def _value_label(label: str | None) -> str | None:
    if not label or not (label.startswith("<") and label.endswith(">")):
        return label  # a metavar, written by hand
    inner = label[1:-1]
    base = inner.removesuffix(" range")
    if base in _VALUE_LABELS:
        return _VALUE_LABELS[base]
    return f"[{inner}]" if "|" in inner else inner.upper()


def _argument_name(param) -> str:
    if param.metavar is not None:
        return param.metavar  # written by hand: shown as is
    name = (param.name or "").upper()
    return f"{name}..." if param.nargs != 1 else name


def _reflow(paragraphs: list[str], markup_mode=None) -> str:
    return "\n\n".join(
        p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines())
        for p in paragraphs
    )


def install() -> None:
    """Apply both (once; an older typer needs neither and is left alone). The reflow is put
    in when help is first formatted: typer.rich_utils loads rich's markdown and syntax
    modules (0.1-0.2 s), which a command that shows no help never needs."""
    plain_labels()
    from typer import core

    for cls in (core.TyperCommand, core.TyperGroup):
        if getattr(cls.format_help, "_moltctl", False):
            continue

        def format_help(self, ctx, formatter, _format=cls.format_help):
            _install_reflow()
            return _format(self, ctx, formatter)

        format_help._moltctl = True
        cls.format_help = format_help


def _install_reflow() -> None:
    from typer import rich_utils

    if hasattr(rich_utils, "_fix_linebreaks"):
        rich_utils._fix_linebreaks = _reflow


def plain_labels() -> None:
    from typer import core

    option_type = getattr(core.TyperOption, "display_type_rich", None)
    if option_type is None or getattr(option_type, "_moltctl", False):
        return  # an older typer shows no type labels; or done already

    def flag_has_no_label(self, ctx):
        if self.is_flag or self.count:
            return None
        return _value_label(option_type(self, ctx))

    def usage_name(self) -> str:
        name = _argument_name(self)
        return name if self.required or self.metavar is not None else f"[{name}]"

    flag_has_no_label._moltctl = True
    core.TyperOption.display_type_rich = flag_has_no_label
    core.TyperArgument.display_type_rich = lambda self, ctx: None  # its name says what it is
    core.TyperArgument.display_name_raw = property(lambda self: self.metavar or self.name.upper())
    core.TyperArgument._rich_display_name = _argument_name
    core.TyperArgument._usage_display_name = usage_name
