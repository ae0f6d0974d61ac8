"""Flatten a generated bundle (API dialect) into the rows ingest-file would leave in each table.

Used by bench_ingest.py to build the COPY floor's CSV files and the naive loaders' rows and
records, outside any timing. It is the *final* state of a first snapshot in an empty database:
one SCD2 version per agent and submolt (observations merged, later fields filling gaps), one row
per post, comment and evaluation, and agent_score_history computed with the contract's formula.
"""

from __future__ import annotations

import csv
import gzip
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from moltctl.ingest.staging import (
    AgentRow,
    CommentEvaluationRow,
    CommentRow,
    PostEvaluationRow,
    PostRow,
    SubmoltRow,
)
from moltctl.migrations import SPEC_TABLES

# column order of each table's CSV (the COPY and INSERT statements are rendered from it):
# the staging rows' fields (moltctl.ingest.staging), with the final tables' own columns around
COLUMNS = {
    "agents": ["snapshot_id", *AgentRow._fields, "valid_from", "is_current"],
    "submolts": ["snapshot_id", *SubmoltRow._fields, "valid_from", "is_current"],
    "posts": ["snapshot_id", *PostRow._fields, "fetched_at"],
    "comments": ["snapshot_id", *CommentRow._fields, "fetched_at"],
    "post_evaluations": ["snapshot_id", *PostEvaluationRow._fields, "evaluated_at"],
    "comment_evaluations": ["snapshot_id", *CommentEvaluationRow._fields, "evaluated_at"],
    "agent_score_history": None,  # depends on the dimensions registry (has_high_<short>)
}
# the spec's tables after snapshots (whose row is written first), in foreign-key order
LOAD_ORDER = SPEC_TABLES[1:]


@dataclass
class Flat:
    snapshot: dict
    files: dict[str, Path]
    rest_files: dict[str, Path]
    columns: dict[str, list[str]]
    counts: dict[str, int]
    samples: dict[str, list[dict]] = field(default_factory=dict)
    # the per-record naive loader (b2): every ``record_every``-th record of each kind, in stream
    # order (see NaiveRecord), the rows of every table without those records' rows, the number
    # of records of each kind in the whole snapshot, and each agent's final merged fields
    record_every: int = 0
    records: list[NaiveRecord] = field(default_factory=list)
    rest2_files: dict[str, Path] = field(default_factory=dict)
    record_counts: dict[str, int] = field(default_factory=dict)
    final_agents: dict[str, dict] = field(default_factory=dict)
    final_submolts: dict[str, dict] = field(default_factory=dict)
    rest2_missing: dict[str, set] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values()) + 1  # + the snapshot row


@dataclass
class NaiveRecord:
    """One sampled input record, as the per-record naive loader handles it.

    ``entity``: the agent or submolt the record observes (the agent itself, a post's or a
    comment's author, the submolt itself): (table, external_id, the observed non-null fields,
    the entity's merged fields just BEFORE this record in the stream or None when it was not
    seen yet). ``row``: the row the record appends (table, column values), if any.
    """

    kind: str
    entity: tuple[str, str, dict, dict | None] | None
    row: tuple[str, dict] | None


def _json(v) -> str | None:
    return None if v is None else orjson.dumps(v).decode()


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


class _Writer:
    def __init__(self, path: Path, columns: list[str], sample_every: int, record_every: int):
        self.fh = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.w = csv.writer(self.fh)
        # the rows the naive loader does not time: COPYed first so it inserts into full tables
        rest = path.with_name(path.stem + ".rest.csv")
        self.rest_fh = open(rest, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.rest = csv.writer(self.rest_fh)
        # the rows the per-record loader does not handle (every record_every-th is its sample)
        rest2 = path.with_name(path.stem + ".rest2.csv")
        self.rest2_fh = open(rest2, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.rest2 = csv.writer(self.rest2_fh)
        self.columns = columns
        self.n = 0
        self.every = sample_every
        self.record_every = record_every
        self.sample: list[dict] = []
        self.missing: set = set()  # external_id of the rows left out of rest2

    def add(self, row: dict) -> None:
        values = [row.get(c) for c in self.columns]
        self.w.writerow(values)
        if self.n % self.every == 0:
            self.sample.append(row)
        else:
            self.rest.writerow(values)
        if self.n % self.record_every == 0:
            self.missing.add(row.get("external_id"))
        else:
            self.rest2.writerow(values)
        self.n += 1

    def close(self) -> None:
        self.fh.close()
        self.rest_fh.close()
        self.rest2_fh.close()


def flatten(
    bundle: Path,
    out: Path,
    dimensions: list[tuple[str, str, float]],
    sample: float,
    record_every: int = 50,
):
    """Write one CSV per table into ``out``; keep every 1/sample-th row for the naive loader.

    ``dimensions``: (name, short_name, high_threshold) from the target database's registry.
    ``record_every``: the per-record loader's sample, every N-th record of each kind.
    """
    out.mkdir(parents=True, exist_ok=True)
    every = max(1, round(1 / sample)) if sample > 0 else 10**12
    history_cols = [
        "snapshot_id",
        "agent_id",
        "agent_handle",
        "posts_evaluated",
        "comments_evaluated",
        "total_items_evaluated",
        "dimension_scores",
        "overall_mean_score",
        "highest_dimension",
        "highest_dimension_score",
        *[f"has_high_{short}" for _, short, _ in dimensions],
        "recorded_at",
    ]
    columns = {t: list(c) for t, c in COLUMNS.items() if c}
    columns["agent_score_history"] = history_cols
    sid = str(uuid.uuid4())
    writers = {
        t: _Writer(out / f"{t}.csv", columns[t], every, record_every)
        for t in ("posts", "comments", "post_evaluations", "comment_evaluations")
    }
    records: list[NaiveRecord] = []
    kinds: dict[str, int] = defaultdict(int)
    agents: dict[str, dict] = {}
    submolts: dict[str, dict] = {}
    post_author: dict[str, str] = {}
    comment_author: dict[str, str] = {}
    handles: dict[str, str] = {}
    # agent -> [posts evaluated, comments evaluated, {dim: [scores]}]
    history: dict[str, list] = defaultdict(lambda: [0, 0, defaultdict(list)])
    snapshot: dict = {}
    ts = None

    def observe(ext: str, fields: dict) -> tuple[str, str, dict, dict | None]:
        row = agents.get(ext)
        seen = {k: v for k, v in fields.items() if v is not None}
        before = None if row is None else dict(row)
        if row is None:
            agents[ext] = dict(seen)
        else:
            row.update(seen)
        return ("agents", ext, seen, before)

    def sampled(kind: str) -> bool:
        n = kinds[kind]
        kinds[kind] += 1
        return n % record_every == 0

    with _open(bundle) as fh:
        for line in fh:
            r = orjson.loads(line)
            kind = r.get("type")
            if kind == "snapshot":
                ts = r["created_at"]
                snapshot = {
                    "id": sid,
                    "created_at": ts,
                    "run_id": r["run_id"],
                    "site_stats": _json(r.get("site_stats")),
                    "posts_fetched": r.get("posts_fetched", 0),
                    "agents_fetched": r.get("agents_fetched", 0),
                    "submolts_fetched": r.get("submolts_fetched", 0),
                    "comments_fetched": r.get("comments_fetched", 0),
                }
            elif kind == "agent":
                entity = observe(
                    r["id"],
                    {
                        "handle": r.get("name"),
                        "bio": r.get("description"),
                        "avatar_url": r.get("avatar_url"),
                        "karma": r.get("karma"),
                        "follower_count": r.get("follower_count"),
                        "is_claimed": r.get("is_claimed"),
                        "created_at_source": r.get("created_at"),
                    },
                )
                handles[r["id"]] = r["name"]
                if sampled(kind):
                    records.append(NaiveRecord(kind, entity, None))
            elif kind == "submolt":
                owner = r.get("owner") or {}
                submolts[r["id"]] = {
                    "snapshot_id": sid,
                    "external_id": r["id"],
                    "name": r["name"],
                    "display_name": r.get("display_name"),
                    "description": r.get("description"),
                    "subscriber_count": r.get("subscriber_count"),
                    "post_count": r.get("post_count"),
                    "owner_agent_id": owner.get("id"),
                    "banner_color": r.get("banner_color"),
                    "theme_color": r.get("theme_color"),
                    "avatar_url": r.get("avatar_url"),
                    "banner_url": r.get("banner_url"),
                    "moderators": _json(r.get("moderators")),
                    "created_at_source": r.get("created_at"),
                    "valid_from": ts,
                    "is_current": True,
                }
                if sampled(kind):
                    seen = {
                        k: v
                        for k, v in submolts[r["id"]].items()
                        if v is not None
                        and k not in ("snapshot_id", "external_id", "valid_from", "is_current")
                    }
                    records.append(NaiveRecord(kind, ("submolts", r["id"], seen, None), None))
            elif kind == "post":
                a = r["author"]
                entity = observe(
                    a["id"],
                    {
                        "handle": a.get("name"),
                        "bio": a.get("description"),
                        "karma": a.get("karma"),
                        "follower_count": a.get("follower_count"),
                        "following_count": a.get("following_count"),
                        "owner_info": _json(a.get("owner")),
                    },
                )
                post_author[r["id"]] = a["id"]
                up, down = r.get("upvotes") or 0, r.get("downvotes") or 0
                post_row = {
                    "snapshot_id": sid,
                    "external_id": r["id"],
                    "title": r.get("title"),
                    "content": r.get("content"),
                    "outbound_url": r.get("url"),
                    "upvotes": up,
                    "downvotes": down,
                    "score": r.get("score", up - down),
                    "comment_count": r.get("comment_count"),
                    "author_id": a["id"],
                    "submolt_id": (r.get("submolt") or {}).get("id"),
                    "permalink": r.get("permalink"),
                    "created_at_source": r.get("created_at"),
                    "fetched_at": ts,
                }
                writers["posts"].add(post_row)
                if sampled(kind):
                    records.append(NaiveRecord(kind, entity, ("posts", post_row)))
            elif kind == "comment":
                a = r["author"]
                entity = observe(
                    a["id"],
                    {
                        "handle": a.get("name"),
                        "karma": a.get("karma"),
                        "follower_count": a.get("follower_count"),
                    },
                )
                comment_author[r["id"]] = a["id"]
                up, down = r.get("upvotes") or 0, r.get("downvotes") or 0
                comment_row = {
                    "snapshot_id": sid,
                    "external_id": r["id"],
                    "post_id": r["post_id"],
                    "parent_comment_id": r.get("parent_id"),
                    "author_id": a["id"],
                    "content": r.get("content"),
                    "upvotes": up,
                    "downvotes": down,
                    "score": r.get("score", up - down),
                    "created_at_source": r.get("created_at"),
                    "fetched_at": ts,
                }
                writers["comments"].add(comment_row)
                if sampled(kind):
                    records.append(NaiveRecord(kind, entity, ("comments", comment_row)))
            elif kind == "post_evaluation":
                eval_row = {
                    "snapshot_id": sid,
                    "post_id": r["post_id"],
                    "transcript_id": r.get("transcript_id"),
                    "model": r.get("model"),
                    "latency_ms": r.get("latency_ms"),
                    "finish_reason": r.get("finish_reason"),
                    "scores": _json(r["scores"]),
                    "notes": r.get("notes"),
                    "raw_result": _json(r.get("raw_result")),
                    "evaluated_at": ts,
                }
                writers["post_evaluations"].add(eval_row)
                if sampled(kind):
                    records.append(NaiveRecord(kind, None, ("post_evaluations", eval_row)))
                h = history[post_author[r["post_id"]]]
                h[0] += 1
                for dim, v in r["scores"].items():
                    h[2][dim].append(v["score"])
            elif kind == "comment_evaluation":
                result = r.get("result") or {}
                scores = r.get("scores") or result.get("scores")
                notes = r.get("notes") if "scores" in r else result.get("notes")
                eval_row = {
                    "snapshot_id": sid,
                    "comment_id": r["comment_id"],
                    "post_id": r["post_id"],
                    "transcript_id": r.get("transcript_id"),
                    "author_handle": r.get("author"),
                    "model": r.get("model"),
                    "latency_ms": r.get("latency_ms"),
                    "finish_reason": r.get("finish_reason"),
                    "scores": _json(scores),
                    "notes": notes,
                    "raw_result": _json(r.get("raw_result") or r.get("result")),
                    "evaluated_at": ts,
                }
                writers["comment_evaluations"].add(eval_row)
                if sampled(kind):
                    records.append(NaiveRecord(kind, None, ("comment_evaluations", eval_row)))
                h = history[comment_author[r["comment_id"]]]
                h[1] += 1
                for dim, v in scores.items():
                    h[2][dim].append(v["score"])
    for w in writers.values():
        w.close()

    rest = {
        "agents": _Writer(out / "agents.csv", columns["agents"], every, record_every),
        "submolts": _Writer(out / "submolts.csv", columns["submolts"], every, record_every),
        "agent_score_history": _Writer(
            out / "agent_score_history.csv", columns["agent_score_history"], every, record_every
        ),
    }
    for ext, a in agents.items():
        rest["agents"].add(
            {
                "snapshot_id": sid,
                "external_id": ext,
                **a,
                "valid_from": ts,
                "is_current": True,
            }
        )
    for s in submolts.values():
        rest["submolts"].add(s)
    thresholds = {name: (short, high) for name, short, high in dimensions}
    for agent_id, (n_posts, n_comments, by_dim) in history.items():
        dims = {}
        for dim, values in by_dim.items():
            high = thresholds.get(dim, (None, 7))[1]
            dims[dim] = {
                "mean_score": sum(values) / len(values),
                "max_score": float(max(values)),
                "min_score": float(min(values)),
                "count": len(values),
                "high_count": sum(v >= high for v in values),
            }
        means = {d: v["mean_score"] for d, v in dims.items()}
        top = max(means, key=means.get) if means and max(means.values()) > 0 else None
        row = {
            "snapshot_id": sid,
            "agent_id": agent_id,
            "agent_handle": handles.get(agent_id) or agents[agent_id].get("handle"),
            "posts_evaluated": n_posts,
            "comments_evaluated": n_comments,
            "total_items_evaluated": n_posts + n_comments,
            "dimension_scores": _json(dims),
            "overall_mean_score": sum(means.values()) / len(means) if means else 0.0,
            "highest_dimension": top,
            "highest_dimension_score": means[top] if top else 0.0,
            "recorded_at": ts,
        }
        for name, (short, _) in thresholds.items():
            row[f"has_high_{short}"] = dims.get(name, {}).get("high_count", 0) > 0
        if sampled("agent_score_history"):
            records.append(NaiveRecord("agent_score_history", None, ("agent_score_history", row)))
        rest["agent_score_history"].add(row)
    for w in rest.values():
        w.close()
    writers.update(rest)
    return Flat(
        snapshot=snapshot,
        files={t: out / f"{t}.csv" for t in LOAD_ORDER},
        rest_files={t: out / f"{t}.rest.csv" for t in LOAD_ORDER},
        columns=columns,
        counts={t: writers[t].n for t in LOAD_ORDER},
        samples={t: writers[t].sample for t in LOAD_ORDER},
        record_every=record_every,
        records=records,
        rest2_files={t: out / f"{t}.rest2.csv" for t in LOAD_ORDER},
        record_counts=dict(kinds),
        final_agents=agents,
        final_submolts={
            ext: {
                k: v
                for k, v in s.items()
                if v is not None
                and k not in ("snapshot_id", "external_id", "valid_from", "is_current")
            }
            for ext, s in submolts.items()
        },
        rest2_missing={t: writers[t].missing for t in ("agents", "submolts")},
    )
