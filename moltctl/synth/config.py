"""What ``generate_runs`` accepts: the choices, their defaults, and their validation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from moltctl.errors import UsageError

DIMENSIONS = (
    "harm_enablement",
    "deception_or_evasion",
    "self_preservation_power_seeking",
    "delusional_sycophancy",
)
FORMATS = ("dir", "bundle")
DIALECTS = ("api", "extracted", "mixed")
LAYOUTS = ("A", "B")
HAZARDS = ("nul", "surrogate", "emoji", "nan", "naive_ts", "long")
DEFAULT_START = dt.datetime(2026, 1, 30, 17, 0, tzinfo=dt.UTC)
SITE = "https://www.moltbook.com"


@dataclass(frozen=True)
class Config:
    runs: int
    agents: int
    posts: int
    comments_per_post: int
    seed: int
    start: dt.datetime
    interval: dt.timedelta
    fmt: str
    gzip: bool
    dialect: str
    layout: str
    new_posts_per_run: int
    new_agents_per_run: int
    submolts: int
    post_eval_fraction: float
    comment_eval_fraction: float
    hazards: tuple[str, ...]
    hazard_rate: float
    zipf_s: float
    jitter_seconds: int


def check_config(**kw) -> Config:
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise UsageError(msg)

    need(kw["runs"] >= 1, "runs must be at least 1")
    need(kw["agents"] >= 1, "agents must be at least 1")
    need(kw["posts"] >= 0, "posts must not be negative")
    need(kw["comments_per_post"] >= 0, "comments per post must not be negative")
    need(kw["fmt"] in FORMATS, f"format must be one of {', '.join(FORMATS)}")
    need(kw["dialect"] in DIALECTS, f"dialect must be one of {', '.join(DIALECTS)}")
    need(kw["layout"] in LAYOUTS, f"layout must be one of {', '.join(LAYOUTS)}")
    need(not kw["gzip"] or kw["fmt"] == "bundle", "--gzip applies to bundles only")
    need(kw["interval"].total_seconds() >= 1, "interval must be at least one second")
    hazards = tuple(dict.fromkeys(h.strip() for h in kw["hazards"] if h.strip()))
    bad = [h for h in hazards if h not in HAZARDS]
    need(not bad, f"unknown hazard {', '.join(bad)}; choose from {', '.join(HAZARDS)}")
    need(0 <= kw["hazard_rate"] <= 1, "hazard rate must be between 0 and 1")
    for name in ("post_eval_fraction", "comment_eval_fraction"):
        need(0 <= kw[name] <= 1, f"{name.replace('_', ' ')} must be between 0 and 1")
    start = kw["start"]
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    posts = kw["posts"]
    new_posts = kw["new_posts_per_run"]
    new_posts = max(1, posts // 4) if new_posts is None else new_posts
    need(new_posts >= 1, "new posts per run must be at least 1")
    new_agents = kw["new_agents_per_run"]
    new_agents = kw["agents"] // 100 if new_agents is None else new_agents
    need(new_agents >= 0, "new agents per run must not be negative")
    n_sub = kw["submolts"]
    n_sub = max(3, min(200, kw["agents"] // 250)) if n_sub is None else n_sub
    need(n_sub >= 1, "submolts must be at least 1")
    return Config(
        runs=kw["runs"],
        agents=kw["agents"],
        posts=posts,
        comments_per_post=kw["comments_per_post"],
        seed=kw["seed"],
        start=start.astimezone(dt.UTC),
        interval=kw["interval"],
        fmt=kw["fmt"],
        gzip=kw["gzip"],
        dialect=kw["dialect"],
        layout=kw["layout"],
        new_posts_per_run=new_posts,
        new_agents_per_run=new_agents,
        submolts=n_sub,
        post_eval_fraction=kw["post_eval_fraction"],
        comment_eval_fraction=kw["comment_eval_fraction"],
        hazards=hazards,
        hazard_rate=kw["hazard_rate"],
        zipf_s=kw["zipf_s"],
        jitter_seconds=kw["jitter_seconds"],
    )
