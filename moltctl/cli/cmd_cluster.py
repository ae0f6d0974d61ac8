"""cluster add-node / rebalance: grow a Citus cluster (docs/citus.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from moltctl.cli.common import info, state

cluster_app = typer.Typer(
    help="Grow a Citus cluster: add a worker, then move shards onto it.\n\n"
    "Example: moltctl cluster add-node 10.0.0.7:5432 && moltctl cluster rebalance",
    no_args_is_help=True,
)


@cluster_app.command("add-node")
def add_node(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="The worker as HOST:PORT.", show_default=False)],
) -> None:
    """Register a worker with the cluster (it takes shards at the next rebalance).

    The worker needs Citus loaded, this database created and CREATE EXTENSION citus in it.
    Safe to re-run: a node already in the cluster is left alone.

    Example: moltctl cluster add-node 10.0.0.7:5432
    """
    from moltctl import citus

    st = state(ctx)
    result = citus.add_node(st.target(), node)
    if result.added:
        info(
            f"added {result.node} (node {result.node_id}): run moltctl cluster rebalance to "
            "move shards onto it",
            quiet=st.quiet,
        )
    else:
        info(f"{result.node} is already in the cluster (node {result.node_id})", quiet=st.quiet)


@cluster_app.command("rebalance")
def rebalance(
    ctx: typer.Context,
    mode: Annotated[
        str | None,
        typer.Option(
            "--transfer-mode",
            help="Citus shard transfer mode: auto (online; needs wal_level=logical), "
            "force_logical or block_writes. Default: auto where wal_level is logical, "
            "else block_writes.",
            show_default=False,
        ),
    ] = None,
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help="Seconds between progress reports.")
    ] = 2.0,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Stop waiting after this many seconds."),
    ] = None,
) -> None:
    """Move shards until the workers hold equal shares, with progress until the job is done.

    Safe to re-run: a rebalance already running is followed, not started twice; a balanced
    cluster means nothing to do.

    Example: moltctl cluster rebalance
    """
    from moltctl import citus

    st = state(ctx)
    seen: set = set()

    def progress(p) -> None:
        key = (p.state, p.done, p.total)
        if key not in seen:
            seen.add(key)
            info(f"rebalance job {p.job_id}: {p.state}, {p.done}/{p.total} tasks", quiet=st.quiet)

    if mode is not None and mode not in ("auto", "force_logical", "block_writes"):
        from moltctl.errors import UsageError

        raise UsageError(f"--transfer-mode {mode!r}: expected auto, force_logical or block_writes")
    result = citus.rebalance(
        st.target(), mode=mode, poll=poll, timeout=timeout, on_progress=progress
    )
    if result.state == "balanced":
        info("the shards are already balanced: nothing to move", quiet=st.quiet)
    else:
        info(
            f"rebalance job {result.job_id} finished ({result.done} tasks, {result.mode})",
            quiet=st.quiet,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(cluster_app, name="cluster")
