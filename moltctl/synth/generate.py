"""``generate_runs``: build the world, then write each run with the chosen writer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from moltctl.synth.bundle import BundleWriter
from moltctl.synth.config import DEFAULT_START, check_config
from moltctl.synth.rand import seeded_rng
from moltctl.synth.rundir import RunDirWriter
from moltctl.synth.world import World, comment_total, site_stats_of
from moltctl.synth.writer import RunInfo, Writer, run_id_for


def generate_runs(
    out_dir: str | Path,
    *,
    runs: int = 3,
    agents: int = 200,
    posts: int = 50,
    comments_per_post: int = 5,
    seed: int = 0,
    start: dt.datetime = DEFAULT_START,
    interval: dt.timedelta = dt.timedelta(hours=1),
    fmt: str = "dir",
    gzip: bool = False,
    dialect: str = "api",
    layout: str = "B",
    new_posts_per_run: int | None = None,
    new_agents_per_run: int | None = None,
    submolts: int | None = None,
    post_eval_fraction: float = 1.0,
    comment_eval_fraction: float = 1.0,
    hazards: Iterable[str] = (),
    hazard_rate: float = 0.01,
    zipf_s: float = 1.0,
    jitter_seconds: int = 120,
    on_run: Callable[[RunInfo], None] | None = None,
    on_progress: Callable[[int, int, int, int], None] | None = None,
) -> list[Path]:
    """Write ``runs`` consecutive pulls into ``out_dir``; return their paths in time order.

    - ``fmt="dir"``: one run directory per pull, ``<out_dir>/<run_id>/`` in ``layout`` "B"
      (``raw/posts_list.json``, ``raw/agents_list.json``, ``raw/submolts_list.json``,
      ``raw/all_comments.json``, ``raw/posts/detail_<8>.json``, ``gold/evals.jsonl``,
      ``gold/comment_evals.jsonl``, ``gold/aggregates.json``, ``meta/snapshot.json``) or "A"
      (``raw/posts_list.json`` envelope, ``raw/post_<id>.json``, ``gold/evals.jsonl``).
    - ``fmt="bundle"``: one NDJSON file per pull, ``<out_dir>/<run_id>.ndjson`` (``.gz`` with
      ``gzip=True``): a ``snapshot`` record first, then ``submolt``, ``agent`` and, per post,
      ``post``, its flat ``comment``s, ``post_evaluation`` and ``comment_evaluation`` records.

    Run ``r`` is at ``start + r * interval`` plus a deterministic 0..``jitter_seconds`` s (its
    run id, e.g. ``20260130T170118Z``). It observes the newest ``posts`` posts (new ones:
    ``new_posts_per_run``, default posts/4) with about ``comments_per_post`` comments each
    (exactly posts x comments_per_post in the first run when posts is a multiple of 100; later
    runs add late replies), ``agents`` agents (+``new_agents_per_run``, default agents/100, per
    run), ``submolts`` submolts. ``dialect``: "api" (API-shaped records), "extracted" (the
    pipeline extractors' form) or "mixed" (per file for directories, per record for bundles).
    ``hazards``: any of HAZARDS, injected into ``hazard_rate`` of posts/comments/evaluations.
    ``on_run`` is called with a ``RunInfo`` (counts) after each run is written;
    ``on_progress(run, runs, posts_written, posts)`` as a run's posts are written (run from 1).
    """
    cfg = check_config(
        runs=runs,
        agents=agents,
        posts=posts,
        comments_per_post=comments_per_post,
        seed=seed,
        start=start,
        interval=interval,
        fmt=fmt,
        gzip=gzip,
        dialect=dialect,
        layout=layout,
        new_posts_per_run=new_posts_per_run,
        new_agents_per_run=new_agents_per_run,
        submolts=submolts,
        post_eval_fraction=post_eval_fraction,
        comment_eval_fraction=comment_eval_fraction,
        hazards=hazards,
        hazard_rate=hazard_rate,
        zipf_s=zipf_s,
        jitter_seconds=jitter_seconds,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = World(cfg)
    if on_progress is not None:
        world.on_post = lambda r, done, total: on_progress(r + 1, cfg.runs, done, total)
    base = cfg.start.timestamp()
    step = cfg.interval.total_seconds()
    jitter = max(0, min(cfg.jitter_seconds, int(step / 2)))
    for r in range(cfg.runs):
        t = base + r * step + seeded_rng(cfg.seed, "run", r).randint(0, jitter)
        world.run_times.append(float(int(t)))
    paths = []
    for r in range(cfg.runs):
        t = world.run_times[r]
        if r:
            world.evolve(r, world.run_times[r - 1], t)
        info = _write_run(world, r, t, out)
        paths.append(info.path)
        if on_run:
            on_run(info)
    return paths


# the one place a format name meets its writer
WRITERS: dict[str, type[Writer]] = {"bundle": BundleWriter, "dir": RunDirWriter}


def _write_run(world: World, r: int, t: float, out: Path) -> RunInfo:
    writer = WRITERS[world.cfg.fmt](world.cfg)
    when = dt.datetime.fromtimestamp(t, dt.UTC)
    run_id = run_id_for(when)
    stats = site_stats_of(world, r, comment_total(world, r, t))
    info = RunInfo(run_id=run_id, path=writer.path(out, run_id), created_at=when)
    writer.write(world, r, t, info, stats)
    return info
