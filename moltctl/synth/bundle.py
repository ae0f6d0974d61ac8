"""The NDJSON bundle writer: a ``snapshot`` record, then the run's records in order."""

from __future__ import annotations

import gzip as gzip_module
import io
from pathlib import Path

from moltctl.synth.rand import seeded_rng
from moltctl.synth.records import Records
from moltctl.synth.world import World, observed_posts
from moltctl.synth.writer import HazardCounter, RunInfo, Writer, dumps_factory, evals_of


class BundleWriter(Writer):
    """One NDJSON file per run (``<run_id>.ndjson``, ``.ndjson.gz`` with gzip)."""

    def path(self, out: Path, run_id: str) -> Path:
        return out / f"{run_id}{'.ndjson.gz' if self.cfg.gzip else '.ndjson'}"

    def write(self, world: World, r: int, t: float, info: RunInfo, stats: dict) -> None:
        cfg = world.cfg
        rec = Records(world, r, t)
        dumps = dumps_factory(bool(cfg.hazards))
        count = HazardCounter(info)
        mixed = cfg.dialect == "mixed"
        drng = seeded_rng(cfg.seed, "dialect", r)

        def api() -> bool:
            return drng.random() < 0.5 if mixed else cfg.dialect == "api"

        tmp = info.path.with_name(info.path.name + ".tmp")
        raw = open(tmp, "wb")  # noqa: SIM115 - closed below, after the gzip layer
        fh = (
            gzip_module.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3)
            if cfg.gzip
            else raw
        )
        buf = io.BytesIO()

        def emit(kind: str, obj: dict) -> None:
            buf.write(dumps({"type": kind, **obj}))
            buf.write(b"\n")
            if buf.tell() > 1 << 20:
                fh.write(buf.getvalue())
                buf.seek(0)
                buf.truncate()

        try:
            emit(
                "snapshot",
                {
                    "run_id": info.run_id,
                    "created_at": info.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "site_stats": stats,
                    "posts_fetched": cfg.posts,
                    "agents_fetched": len(world.agents),
                    "submolts_fetched": len(world.submolts),
                    "comments_fetched": stats["total_comments"],
                },
            )
            for sm in world.submolts:
                emit("submolt", rec.submolt_api(sm) if api() else rec.submolt_extracted(sm))
            for ag in world.agents:
                emit("agent", rec.agent_api(ag) if api() else rec.agent_extracted(ag))
            info.submolts, info.agents = len(world.submolts), len(world.agents)
            for o in observed_posts(world, r, t):
                p = o.post
                emit(
                    "post",
                    rec.post_api(p, o.n, detail=True)
                    if api()
                    else rec.post_extracted(p, o.n, detail=True),
                )
                count.hazard(p.hazard if p.hazard != "nan" else None)
                for c in p.comments[: o.n]:
                    emit(
                        "comment",
                        rec.comment_api(p, c, flat=True) if api() else rec.comment_extracted(p, c),
                    )
                    count.hazard(c.hazard if c.hazard != "nan" else None)
                pe, ces, hz = evals_of(rec, o, cfg, r)
                if pe is not None:
                    emit("post_evaluation", pe)
                    info.post_evaluations += 1
                    count.hazard("nan" if p.hazard == "nan" else None)
                for ce, h in zip(ces, hz, strict=True):
                    emit("comment_evaluation", ce)
                    count.hazard(h)
                info.comment_evaluations += len(ces)
                info.posts += 1
                info.comments += o.n
            fh.write(buf.getvalue())
        finally:
            if fh is not raw:
                fh.close()
            raw.close()
        tmp.replace(info.path)
