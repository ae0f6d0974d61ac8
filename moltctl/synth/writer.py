"""The writer interface and what every writer shares: serialization, counts, evaluations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from moltctl.synth.config import Config
from moltctl.synth.rand import seeded_rng
from moltctl.synth.records import Records
from moltctl.synth.text import INF_BYTES, LONE_BYTES, NAN_BYTES
from moltctl.synth.world import Observed, World


@dataclass
class RunInfo:
    """What one generated run holds (returned by ``generate_runs`` through ``on_run``)."""

    run_id: str
    path: Path
    created_at: dt.datetime
    posts: int = 0
    comments: int = 0
    agents: int = 0
    submolts: int = 0
    post_evaluations: int = 0
    comment_evaluations: int = 0
    hazards: dict[str, int] = field(default_factory=dict)


def run_id_for(ts: dt.datetime) -> str:
    """The pipeline's run id of a time: UTC, basic ISO-8601, e.g. ``20260130T170118Z``."""
    return ts.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def dumps_factory(hazards: bool, indent: bool = False) -> Callable[[object], bytes]:
    import orjson

    opt = orjson.OPT_INDENT_2 if indent else 0

    def dumps(obj: object) -> bytes:
        return orjson.dumps(obj, option=opt)

    if not hazards:
        return dumps

    def dumps_hz(obj: object) -> bytes:
        data = orjson.dumps(obj, option=opt)
        if b"\xf3\xb0\x80" in data:  # the UTF-8 lead of the private-use markers
            data = (
                data.replace(LONE_BYTES, b"\\ud83e")
                .replace(NAN_BYTES, b"NaN")
                .replace(INF_BYTES, b"Infinity")
            )
        return data

    return dumps_hz


class JsonArray:
    """A JSON array written one element at a time (never held in memory)."""

    def __init__(self, fh, dumps):
        self.fh, self.dumps, self.first = fh, dumps, True
        fh.write(b"[")

    def add(self, obj: object) -> None:
        self.fh.write(b"\n  " if self.first else b",\n  ")
        self.fh.write(self.dumps(obj))
        self.first = False

    def close(self) -> None:
        self.fh.write(b"]" if self.first else b"\n]")


class HazardCounter:
    def __init__(self, info: RunInfo):
        self.info = info

    def hazard(self, name: str | None) -> None:
        if name:
            self.info.hazards[name] = self.info.hazards.get(name, 0) + 1


def evals_of(
    rec: Records, o: Observed, cfg: Config, r: int
) -> tuple[dict | None, list[dict], list[str | None]]:
    p = o.post
    rng = seeded_rng(cfg.seed, "eval", p.g, r)
    transcript = f"{rng.getrandbits(96):024x}"
    pe = rec.post_eval(rng, p, transcript) if rng.random() < cfg.post_eval_fraction else None
    ces = []
    hz = []
    for c in p.comments[: o.n]:
        if rng.random() < cfg.comment_eval_fraction:
            ces.append(rec.comment_eval(rng, p, c))
            hz.append(c.hazard if c.hazard == "nan" else None)
    return pe, ces, hz


class Writer:
    """One run's files: where they go and how they are written (a bundle, or a run directory)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def path(self, out: Path, run_id: str) -> Path:
        raise NotImplementedError

    def write(self, world: World, r: int, t: float, info: RunInfo, stats: dict) -> None:
        raise NotImplementedError
