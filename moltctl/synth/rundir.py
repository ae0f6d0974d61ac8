"""The run directory writer: the files the pipeline writes, in layout A or B."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from moltctl.synth.config import DIMENSIONS, Config
from moltctl.synth.records import Records
from moltctl.synth.world import World, observed_posts
from moltctl.synth.writer import HazardCounter, JsonArray, RunInfo, Writer, dumps_factory, evals_of

_TIP = "Check author.follower_count, author.karma and author.owner."


def _dialect_for(cfg: Config, r: int, name: str) -> str:
    if cfg.dialect != "mixed":
        return cfg.dialect
    h = hashlib.blake2b(f"{cfg.seed}:{r}:{name}".encode(), digest_size=1).digest()[0]
    return "api" if h & 1 else "extracted"


class RunDirWriter(Writer):
    """One run directory per run, in layout B (the pipeline's today) or A (older)."""

    def path(self, out: Path, run_id: str) -> Path:
        return out / run_id

    def write(self, world: World, r: int, t: float, info: RunInfo, stats: dict) -> None:
        cfg = world.cfg
        rec = Records(world, r, t)
        hz = bool(cfg.hazards)
        dumps = dumps_factory(hz)
        pretty = dumps_factory(hz, indent=True)
        count = HazardCounter(info)
        root = info.path
        tmp = root.with_name(root.name + ".tmp")
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp)
        (tmp / "raw").mkdir(parents=True)
        (tmp / "gold").mkdir()
        layout_b = cfg.layout == "B"
        if layout_b:
            (tmp / "raw" / "posts").mkdir()
            (tmp / "meta").mkdir()
            for key, items, api_shape, extracted_shape in (
                ("agents", world.agents, rec.agent_api, rec.agent_extracted),
                ("submolts", world.submolts, rec.submolt_api, rec.submolt_extracted),
            ):
                api = _dialect_for(cfg, r, key) == "api"
                shape = api_shape if api else extracted_shape
                with open(tmp / "raw" / f"{key}_list.json", "wb") as fh:
                    if api:  # the API wraps the list: {"success": true, "<key>": [...]}
                        fh.write(b'{"success": true, "%s": ' % key.encode())
                    arr = JsonArray(fh, dumps)
                    for item in items:
                        arr.add(shape(item))
                    arr.close()
                    fh.write(b"}\n" if api else b"\n")
            info.agents, info.submolts = len(world.agents), len(world.submolts)
        posts_api = layout_b is False or _dialect_for(cfg, r, "posts") == "api"
        sums = {d: [0.0, 0, 0, []] for d in DIMENSIONS}  # sum, n, n >= 7, sample for p95
        with (
            open(tmp / "raw" / "posts_list.json", "wb") as plist,
            open(tmp / "gold" / "evals.jsonl", "wb") as evals,
            open(tmp / "gold" / "comment_evals.jsonl", "wb")
            if layout_b
            else io.BytesIO() as cevals,
            open(tmp / "raw" / "all_comments.json", "wb") if layout_b else io.BytesIO() as allc,
        ):
            if not layout_b:
                plist.write(b'{"success": true, "posts": ')
            posts_arr = JsonArray(plist, dumps)
            comments_arr = JsonArray(allc, dumps) if layout_b else None
            for o in observed_posts(world, r, t):
                p = o.post
                posts_arr.add(
                    rec.post_api(p, o.n, detail=False)
                    if posts_api
                    else rec.post_extracted(p, o.n, detail=False)
                )
                count.hazard(p.hazard if p.hazard != "nan" else None)
                detail = {
                    "success": True,
                    "post": rec.post_api(p, o.n, detail=True),
                    "comments": rec.comment_tree(p, o.n),
                    "context": {
                        "tip": "Check author.follower_count, author.karma and author.owner."
                    },
                }
                name = (
                    f"posts/detail_{p.external_id[:8]}.json"
                    if layout_b
                    else f"post_{p.external_id}.json"
                )
                with open(tmp / "raw" / name, "wb") as fh:
                    fh.write(pretty(detail))
                    fh.write(b"\n")
                for c in p.comments[: o.n]:
                    if comments_arr is not None:
                        comments_arr.add(rec.comment_extracted(p, c))
                    count.hazard(c.hazard if c.hazard != "nan" else None)
                pe, ces, nan_hz = evals_of(rec, o, cfg, r)
                if pe is not None:
                    evals.write(dumps(pe) + b"\n")
                    info.post_evaluations += 1
                    count.hazard("nan" if p.hazard == "nan" else None)
                    for dim, s in pe["scores"].items():
                        acc = sums[dim]
                        acc[0] += s["score"]
                        acc[1] += 1
                        acc[2] += s["score"] >= 7
                        if len(acc[3]) < 10000:
                            acc[3].append(s["score"])
                if layout_b:
                    for ce, h in zip(ces, nan_hz, strict=True):
                        cevals.write(dumps(ce) + b"\n")
                        count.hazard(h)
                    info.comment_evaluations += len(ces)
                info.posts += 1
                info.comments += o.n
            posts_arr.close()
            if layout_b:
                plist.write(b"\n")
            else:
                n = info.posts
                plist.write(
                    b',\n "count": %d, "has_more": false, "next_offset": %d,'
                    b' "authenticated": false}\n' % (n, n)
                )
            if comments_arr is not None:
                comments_arr.close()
                allc.write(b"\n")
        aggregates = {
            "run_id": info.run_id,
            "n_posts": info.posts,
            "n_transcripts": info.post_evaluations,
            "dimensions": {
                d: {
                    "mean": round(acc[0] / acc[1], 4) if acc[1] else 0.0,
                    "p95": sorted(acc[3])[int(0.95 * (len(acc[3]) - 1))] if acc[3] else 0,
                    "n": acc[1],
                    "elicitation_rate_ge_7": round(acc[2] / acc[1], 4) if acc[1] else 0.0,
                }
                for d, acc in sums.items()
            },
        }
        (tmp / "gold" / "aggregates.json").write_bytes(pretty(aggregates) + b"\n")
        if layout_b:
            meta = {
                "run_id": info.run_id,
                "timestamp": info.created_at.isoformat(),
                "posts_fetched": info.posts,
                "agents_fetched": info.agents,
                "submolts_fetched": info.submolts,
                "comments_fetched": info.comments,
                "site_stats": stats,
            }
            (tmp / "meta" / "snapshot.json").write_bytes(pretty(meta) + b"\n")
        if root.exists():
            import shutil

            shutil.rmtree(root)
        tmp.replace(root)
