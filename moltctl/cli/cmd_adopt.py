"""adopt: take over a database built by hand from the spec."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from moltctl.cli.common import LockTimeoutOption, info, state, stdin_is_terminal
from moltctl.cli.output import Format, FormatOption, render
from moltctl.errors import UsageError
from moltctl.locks import WAIT


class Repair(enum.StrEnum):
    chain = "chain"


def adopt(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what it found and would do; change nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (required when not on a terminal).")
    ] = False,
    repair: Annotated[
        Repair | None,
        typer.Option(
            "--repair",
            help="Repair SCD2 violations instead of refusing: chain = each version ends where "
            "the next one starts (docs/adopt.md).",
            show_default=False,
        ),
    ] = None,
    lock_timeout: LockTimeoutOption = WAIT,
    months_ahead: Annotated[
        int, typer.Option("--months-ahead", min=0, help="Monthly partitions to create ahead.")
    ] = 3,
    fmt: FormatOption = Format.table,
) -> None:
    """Take over a database built by hand from the spec, in place, nothing lost.

    Recognises the spec's tables (keeping the columns and indexes you added), converts them
    to moltctl's schema one table per transaction (the big tables are attached as partitions,
    not copied), records the migrations, and proves with row counts and checksums of every
    column that no row or value was lost. Asks on a terminal; --yes otherwise.

    Example: moltctl adopt --dry-run
    """
    from moltctl import adopt as core

    st = state(ctx)
    if not (dry_run or yes or stdin_is_terminal()):
        raise UsageError(
            "adopt changes the database in place: pass --yes to go ahead "
            "(moltctl adopt --dry-run shows the plan first)"
        )

    def ask(plan) -> bool:
        for line in plan_lines(plan):
            info(line)
        return typer.confirm("adopt this database now?", default=False, err=True)

    result = core.adopt(
        st.target(),
        dry_run=dry_run,
        repair=repair.value if repair else None,
        confirm=None if (yes or dry_run) else ask,
        progress=None if st.quiet else info,
        lock_timeout=lock_timeout,
        months_ahead=months_ahead,
    )
    if dry_run:
        typer.echo("\n".join(plan_lines(result.plan)))
        return
    if result.cancelled:
        info("cancelled: nothing changed")
        raise typer.Exit(1)
    info(
        f"adopted: schema version {result.version} ({len(result.applied)} migrations recorded), "
        f"{len(result.partitions)} partition(s) created ahead, {result.seconds:.1f} s",
        quiet=st.quiet,
    )
    rows = [
        {
            "table": c.table,
            "rows_before": c.rows_before,
            "rows_after": c.rows_after,
            "checksum_before": c.checksum_before,
            "checksum_after": c.checksum_after,
            "same": c.ok,
            "done": c.action,
        }
        for c in result.checks
    ]
    render(rows, fmt, title="nothing lost: rows and checksums of every column you had")
    if result.changes:
        render(result.changes, fmt, title=f"values changed (originals in {core.CHANGES})")


def plan_lines(plan) -> list[str]:
    """The plan as text (--dry-run prints it; a terminal shows it before asking)."""
    from moltctl import adopt as core

    out = ["Found a schema built from the spec:"]
    for t, info_ in plan.tables.items():
        extra = []
        if info_.extra_columns:
            extra.append("your columns kept: " + ", ".join(info_.extra_columns))
        if info_.extra_indexes:
            extra.append("your indexes kept: " + ", ".join(i["name"] for i in info_.extra_indexes))
        if info_.missing_indexes:
            extra.append("spec indexes missing (created): " + ", ".join(info_.missing_indexes))
        if info_.done:
            extra.append("already converted by an interrupted adopt")
        out.append(f"  {t}: {info_.rows} row(s)" + ("; " + "; ".join(extra) if extra else ""))
    out.append(
        "  materialized views: "
        + (", ".join(plan.views) if plan.views else "none")
        + "; extensions: "
        + ", ".join(plan.extensions)
    )
    if core.SPEC_002_COLUMN in plan.tables["agent_score_history"].extra_columns:
        out.append(
            f"  agent_score_history.{core.SPEC_002_COLUMN} (the spec's 002) is kept as it is"
        )
    if plan.blockers:
        out.append("Cannot adopt (nothing will change until these are fixed):")
        out += [f"  - {b}" for b in plan.blockers]
    if plan.violations:
        verb = f"repaired by --repair {plan.repair}" if plan.repair else "refused without --repair"
        out.append(f"SCD2 violations ({len(plan.violations)}, {verb}):")
        out += [
            f"  - {v.table} {v.external_id}: {v.kind} (version from {v.valid_from:%Y-%m-%d %H:%M}"
            + (f" to {v.valid_to:%Y-%m-%d %H:%M})" if v.valid_to else ", open)")
            for v in plan.violations
        ]
    out.append("Will change (README, Where moltctl differs from the spec):")
    out += [f"  {c}" for c in plan.changes()]
    out.append("Will check:")
    out += [f"  - {c}" for c in plan.checks()]
    out.append(
        f"Will rewrite {plan.rewrite_rows} row(s) in place and attach {plan.attach_rows} row(s) "
        "as partitions without copying them."
    )
    return out


def register(app: typer.Typer) -> None:
    app.command("adopt")(adopt)
