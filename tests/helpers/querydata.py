"""A small temporal database for the query tests, written with plain SQL inserts.

The data lives in Python first (``Dataset``), so every test computes its expected answer from
these lists, independently of the SQL templates under test.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field

UTC = dt.UTC
EVIL = "Robert'); DROP TABLE snapshots; --"
UNICODE_BS = "Zoë✨ \\back\\slash"
QUOTED = "quote\"d'agent"
LONG_TITLE = "A post whose title goes on " + "and on " * 30 + "to the end"
DIMS4 = [
    ("harm_enablement", "harm"),
    ("deception_or_evasion", "deception"),
    ("self_preservation_power_seeking", "power_seeking"),
    ("delusional_sycophancy", "sycophancy"),
]
DIMS5 = [*DIMS4, ("manipulation", "manipulation")]  # the registry after migration 002


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Snapshot:
    run_id: str
    created_at: dt.datetime
    status: str = "completed"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    posts: int = 0
    agents: int = 0
    submolts: int = 0
    comments: int = 0
    site_stats: dict | None = None


@dataclass
class Dataset:
    snapshots: list[Snapshot] = field(default_factory=list)
    agents: list[dict] = field(default_factory=list)  # versions
    submolts: list[dict] = field(default_factory=list)
    posts: list[dict] = field(default_factory=list)  # one row per snapshot
    comments: list[dict] = field(default_factory=list)
    post_evals: list[dict] = field(default_factory=list)
    comment_evals: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)  # agent_score_history inputs

    def snap(self, run_id: str) -> Snapshot:
        return next(s for s in self.snapshots if s.run_id == run_id)

    def snap_by_id(self, sid: str) -> Snapshot:
        return next(s for s in self.snapshots if s.id == sid)


def scores(**by_dim) -> dict:
    """{dimension: {score, confidence, explanation}} as the judges write them."""
    return {
        d: {"score": s, "confidence": 0.8, "explanation": f"{d} explained: {s}"}
        for d, s in by_dim.items()
    }


def dimension_scores(items: list[dict]) -> dict:
    """The agent_score_history.dimension_scores contract over the items' numeric scores."""
    per: dict[str, list[float]] = {}
    for item in items:
        for dim, v in item.items():
            s = v.get("score") if isinstance(v, dict) else None
            if isinstance(s, int | float) and not isinstance(s, bool):
                per.setdefault(dim, []).append(float(s))
    return {
        dim: {
            "mean_score": sum(vals) / len(vals),
            "max_score": max(vals),
            "min_score": min(vals),
            "count": len(vals),
            "high_count": sum(1 for v in vals if v >= 7),
        }
        for dim, vals in per.items()
    }


def build() -> Dataset:
    ds = Dataset()
    s1 = Snapshot(
        "20260130T170000Z",
        t("2026-01-30T17:00:00Z"),
        site_stats={"avg_comments_per_post": 1.5, "avg_karma_per_agent": 10.25},
    )
    s2 = Snapshot(
        "20260130T180000Z",
        t("2026-01-30T18:00:00Z"),
        site_stats={"avg_comments_per_post": 2.0, "avg_karma_per_agent": 11.5},
    )
    s3 = Snapshot(
        "20260130T193000Z",
        t("2026-01-30T19:30:00Z"),
        site_stats={"avg_comments_per_post": 2.5, "avg_karma_per_agent": 12.75},
    )
    ds.snapshots = [s1, s2, s3]

    def version(ext, handle, snap, until, **kw):
        ds.agents.append(
            {
                "external_id": ext,
                "handle": handle,
                "display_name": kw.get("display_name", handle),
                "bio": kw.get("bio", f"bio of {handle}"),
                "karma": kw.get("karma", 0),
                "follower_count": kw.get("follower_count", 0),
                "snapshot_id": snap.id,
                "valid_from": snap.created_at,
                "valid_to": until.created_at if until else None,
            }
        )

    version("a1", "alice", s1, s2, karma=10, display_name="Alice")
    version("a1", "alice", s2, s3, karma=20, display_name="Alice B")
    version("a1", "alice", s3, None, karma=30, display_name="Alice C")
    version("a2", EVIL, s1, None, karma=5, bio="'; DELETE FROM agents; --")
    version("a3", UNICODE_BS, s2, None, karma=7)
    version("a4", QUOTED, s3, None, karma=1)
    version("a5", "oldname", s1, s2, karma=3)
    version("a5", "newname", s2, None, karma=4)
    version("a6", "zeroed", s1, None, karma=2)

    ds.submolts = [
        {"external_id": "m1", "name": "general", "snapshot_id": s1.id, "valid_from": s1.created_at},
        {"external_id": "m2", "name": "safety", "snapshot_id": s1.id, "valid_from": s1.created_at},
    ]

    def post(ext, snap, author, submolt, created, title):
        ds.posts.append(
            {
                "external_id": ext,
                "snapshot_id": snap.id,
                "fetched_at": snap.created_at,
                "author_id": author,
                "submolt_id": submolt,
                "created_at_source": t(created),
                "title": title,
                "content": f"content of {ext}",
                "permalink": f"https://moltbook.example/p/{ext}",
            }
        )

    for snap in (s1, s2, s3):
        post("p1", snap, "a1", "m1", "2026-01-29T10:00:00Z", "First post")
    for snap in (s2, s3):
        post("p2", snap, "a2", "m2", "2026-01-30T09:00:00Z", EVIL)
    post("p3", s3, "a3", "m1", "2026-01-30T19:00:00Z", "Zoë's ✨ post")
    post("p4", s1, "a5", "m2", "2026-01-30T16:00:00Z", LONG_TITLE)  # by a5 as "oldname"

    def comment(ext, snap, post_id, author):
        ds.comments.append(
            {
                "external_id": ext,
                "snapshot_id": snap.id,
                "fetched_at": snap.created_at,
                "post_id": post_id,
                "author_id": author,
                "content": f"comment {ext} by {author}",
            }
        )

    for snap in (s1, s2, s3):
        comment("c1", snap, "p1", "a2")
    for snap in (s2, s3):
        comment("c3", snap, "p1", "a3")
    comment("c2", s3, "p2", "a4")

    def pe(post_id, snap, sc):
        ds.post_evals.append(
            {
                "post_id": post_id,
                "snapshot_id": snap.id,
                "evaluated_at": snap.created_at,
                "scores": sc,
            }
        )

    def ce(comment_id, post_id, author, snap, sc):
        ds.comment_evals.append(
            {
                "comment_id": comment_id,
                "post_id": post_id,
                "author_handle": author,
                "snapshot_id": snap.id,
                "evaluated_at": snap.created_at,
                "scores": sc,
            }
        )

    pe(
        "p1",
        s1,
        scores(
            harm_enablement=2,
            deception_or_evasion=6.5,
            self_preservation_power_seeking=1,
            delusional_sycophancy=0,
        ),
    )
    pe(
        "p1",
        s3,
        scores(
            harm_enablement=7.5,
            deception_or_evasion=3,
            self_preservation_power_seeking=1,
            delusional_sycophancy=0,
            manipulation=8,
        ),
    )
    pe(
        "p2",
        s2,
        scores(
            harm_enablement=9,
            deception_or_evasion=6.5,
            self_preservation_power_seeking=7,
            delusional_sycophancy=2,
        ),
    )
    pe(
        "p3",
        s3,
        scores(
            harm_enablement=0,
            deception_or_evasion=8,
            self_preservation_power_seeking="n/a",
            delusional_sycophancy=4,
            manipulation=3,
        ),
    )
    ce(
        "c1",
        "p1",
        EVIL,
        s2,
        scores(
            harm_enablement=6.5,
            deception_or_evasion=1,
            self_preservation_power_seeking=0,
            delusional_sycophancy=9,
        ),
    )
    ce(
        "c2",
        "p2",
        QUOTED,
        s3,
        scores(
            harm_enablement=8,
            deception_or_evasion=7,
            self_preservation_power_seeking=2,
            delusional_sycophancy=1,
            manipulation=9.5,
        ),
    )
    ce(
        "c3",
        "p1",
        UNICODE_BS,
        s3,
        scores(
            harm_enablement=1,
            deception_or_evasion=2,
            self_preservation_power_seeking=3,
            delusional_sycophancy=6.5,
        ),
    )

    pe("p4", s1, scores(harm_enablement=9.5, deception_or_evasion=0))

    # agent score history: the items each agent was judged on in each snapshot
    def hist(agent_id, handle, snap, *items, posts=1, comments=0):
        ds.history.append(
            {
                "agent_id": agent_id,
                "agent_handle": handle,
                "snapshot_id": snap.id,
                "recorded_at": snap.created_at,
                "items": list(items),
                "posts": posts,
                "comments": comments,
            }
        )

    zero = scores(
        harm_enablement=0,
        deception_or_evasion=0,
        self_preservation_power_seeking=0,
        delusional_sycophancy=0,
    )
    hist("a1", "alice", s1, ds.post_evals[0]["scores"])
    hist("a1", "alice", s3, ds.post_evals[1]["scores"], zero, posts=2)
    hist("a2", EVIL, s2, ds.post_evals[2]["scores"], ds.comment_evals[0]["scores"], comments=1)
    hist(
        "a3", UNICODE_BS, s3, ds.post_evals[3]["scores"], ds.comment_evals[2]["scores"], comments=1
    )
    hist("a4", QUOTED, s3, ds.comment_evals[1]["scores"], posts=0, comments=1)
    hist("a5", "oldname", s1, zero)  # overall 0: not on the leaderboard
    hist("a5", "newname", s2, scores(harm_enablement=1, deception_or_evasion=1.5))
    hist("a6", "zeroed", s2, zero)  # latest mean 0: on the leaderboard only with --all

    for snap in ds.snapshots:
        snap.posts = sum(1 for p in ds.posts if p["snapshot_id"] == snap.id)
        snap.comments = sum(1 for c in ds.comments if c["snapshot_id"] == snap.id)
        snap.agents = sum(1 for a in ds.agents if a["snapshot_id"] == snap.id)
        snap.submolts = 2
    return ds


def history_row(h: dict, registered: list[tuple[str, str]]) -> dict:
    """The agent_score_history row of one history input (per the JSON contract)."""
    ds_ = dimension_scores(h["items"])
    means = {d: v["mean_score"] for d, v in ds_.items()}
    overall = sum(means.values()) / len(means) if means else 0.0
    top = max(means, key=lambda d: (means[d], d)) if means and max(means.values()) > 0 else None
    row = {
        "agent_id": h["agent_id"],
        "agent_handle": h["agent_handle"],
        "snapshot_id": h["snapshot_id"],
        "recorded_at": h["recorded_at"],
        "posts_evaluated": h["posts"],
        "comments_evaluated": h["comments"],
        "total_items_evaluated": h["posts"] + h["comments"],
        "dimension_scores": ds_,
        "overall_mean_score": overall,
        "highest_dimension": top,
        "highest_dimension_score": means[top] if top else 0.0,
    }
    for name, short in registered:
        row[f"has_high_{short}"] = ds_.get(name, {}).get("high_count", 0) > 0
    return row


def insert(conn, ds: Dataset) -> None:
    """Write the dataset with direct SQL (no ingest); the connection is autocommit."""
    from psycopg.types.json import Jsonb

    registered = [
        (r[0], r[1]) for r in conn.execute("SELECT name, short_name FROM dimensions").fetchall()
    ]
    with conn.transaction():
        for s in ds.snapshots:
            conn.execute(
                "INSERT INTO snapshots (id, created_at, run_id, site_stats, posts_fetched,"
                " agents_fetched, submolts_fetched, comments_fetched, status)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    s.id,
                    s.created_at,
                    s.run_id,
                    Jsonb(s.site_stats),
                    s.posts,
                    s.agents,
                    s.submolts,
                    s.comments,
                    s.status,
                ),
            )
        for a in ds.agents:
            conn.execute(
                "INSERT INTO agents (snapshot_id, external_id, handle, display_name, bio, karma,"
                " follower_count, valid_from, valid_to, is_current)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    a["snapshot_id"],
                    a["external_id"],
                    a["handle"],
                    a["display_name"],
                    a["bio"],
                    a["karma"],
                    a["follower_count"],
                    a["valid_from"],
                    a["valid_to"],
                    a["valid_to"] is None,
                ),
            )
        for m in ds.submolts:
            conn.execute(
                "INSERT INTO submolts (snapshot_id, external_id, name, valid_from)"
                " VALUES (%s, %s, %s, %s)",
                (m["snapshot_id"], m["external_id"], m["name"], m["valid_from"]),
            )
        for p in ds.posts:
            conn.execute(
                "INSERT INTO posts (snapshot_id, external_id, title, content, author_id,"
                " submolt_id, permalink, created_at_source, fetched_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    p["snapshot_id"],
                    p["external_id"],
                    p["title"],
                    p["content"],
                    p["author_id"],
                    p["submolt_id"],
                    p["permalink"],
                    p["created_at_source"],
                    p["fetched_at"],
                ),
            )
        for c in ds.comments:
            conn.execute(
                "INSERT INTO comments (snapshot_id, external_id, post_id, author_id, content,"
                " fetched_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    c["snapshot_id"],
                    c["external_id"],
                    c["post_id"],
                    c["author_id"],
                    c["content"],
                    c["fetched_at"],
                ),
            )
        for e in ds.post_evals:
            conn.execute(
                "INSERT INTO post_evaluations (snapshot_id, post_id, model, scores, evaluated_at)"
                " VALUES (%s, %s, 'judge-1', %s, %s)",
                (e["snapshot_id"], e["post_id"], Jsonb(e["scores"]), e["evaluated_at"]),
            )
        for e in ds.comment_evals:
            conn.execute(
                "INSERT INTO comment_evaluations (snapshot_id, comment_id, post_id, author_handle,"
                " model, scores, evaluated_at) VALUES (%s, %s, %s, %s, 'judge-1', %s, %s)",
                (
                    e["snapshot_id"],
                    e["comment_id"],
                    e["post_id"],
                    e["author_handle"],
                    Jsonb(e["scores"]),
                    e["evaluated_at"],
                ),
            )
        for h in ds.history:
            row = history_row(h, registered)
            row["dimension_scores"] = Jsonb(row["dimension_scores"])
            cols = list(row)
            conn.execute(
                "INSERT INTO agent_score_history ("
                + ", ".join(cols)
                + ") VALUES ("
                + ", ".join(f"%({c})s" for c in cols)
                + ")",
                row,
            )


def load(conn) -> Dataset:
    ds = build()
    insert(conn, ds)
    return ds


def as_json(value):
    """Round-trip a Python value the way --format json writes it."""
    return json.loads(json.dumps(value, default=str))


# ---------------------------------------------------------------- expected answers


def hour_of(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def numeric(sc: dict, dim: str) -> float | None:
    v = sc.get(dim)
    s = v.get("score") if isinstance(v, dict) else None
    return float(s) if isinstance(s, int | float) and not isinstance(s, bool) else None


def expected_leaderboard(
    ds: Dataset, dims: list[tuple[str, str]], *, include_zero: bool = False
) -> list[dict]:
    """The view's rows; ``include_zero`` (--all): then the agents whose mean is 0."""
    latest: dict[str, dict] = {}
    for h in ds.history:
        row = history_row(h, dims)
        cur = latest.get(row["agent_id"])
        if cur is None or row["recorded_at"] > cur["recorded_at"]:
            latest[row["agent_id"]] = row
    rows = [r for r in latest.values() if r["overall_mean_score"] > 0]
    rows.sort(key=lambda r: (-r["overall_mean_score"], r["agent_id"]))
    if include_zero:
        zero = [r for r in latest.values() if not r["overall_mean_score"] > 0]
        rows += sorted(zero, key=lambda r: r["agent_id"])
    for i, r in enumerate(rows, 1):
        r["rank"] = i
        for name, short in dims:
            r[f"{short}_mean"] = r["dimension_scores"].get(name, {}).get("mean_score")
        r["has_any_high"] = any(r[f"has_high_{short}"] for _, short in dims)
    return rows


def all_evals(ds: Dataset) -> list[dict]:
    out = []
    for e in ds.post_evals:
        out.append({**e, "kind": "post", "item_id": e["post_id"], "is_post": True})
    for e in ds.comment_evals:
        out.append({**e, "kind": "comment", "item_id": e["comment_id"], "is_post": False})
    return out


def expected_trends(ds: Dataset, dims: list[str]) -> dict[tuple, dict]:
    """{(hour, dimension): {avg_score, max_score, high_count, total_count, ...}}"""
    cells: dict[tuple, list[tuple[float, bool]]] = {}
    for e in all_evals(ds):
        snap = ds.snap_by_id(e["snapshot_id"])
        if snap.status != "completed":
            continue
        for d in dims:
            s = numeric(e["scores"], d)
            if s is not None:
                cells.setdefault((hour_of(snap.created_at), d), []).append((s, e["is_post"]))
    return {
        k: {
            "avg_score": sum(s for s, _ in v) / len(v),
            "max_score": max(s for s, _ in v),
            "high_count": sum(1 for s, _ in v if s >= 7),
            "total_count": len(v),
            "post_count": sum(1 for _, p in v if p),
            "comment_count": sum(1 for _, p in v if not p),
        }
        for k, v in cells.items()
    }


def expected_high_risk(ds: Dataset, dims: list[str], min_score: float) -> list[tuple]:
    """(kind, item_id, dimension, score, run_id) of the latest evaluation >= min_score."""
    best: dict[tuple, dict] = {}
    for e in all_evals(ds):
        for d in dims:
            s = numeric(e["scores"], d)
            if s is None or s < min_score:
                continue
            key = (e["kind"], e["item_id"], d)
            if key not in best or e["evaluated_at"] > best[key]["evaluated_at"]:
                best[key] = {**e, "dimension": d, "score": s}
    rows = sorted(
        best.values(),
        key=lambda r: (
            -r["score"],
            -r["evaluated_at"].timestamp(),
            r["kind"],
            r["item_id"],
            r["dimension"],
        ),
    )
    return [
        (
            r["kind"],
            r["item_id"],
            r["dimension"],
            r["score"],
            ds.snap_by_id(r["snapshot_id"]).run_id,
        )
        for r in rows
    ]


def expected_agent_at(ds: Dataset, handle: str, at: dt.datetime) -> list[dict]:
    ids = {a["external_id"] for a in ds.agents if a["handle"] == handle}
    return sorted(
        (
            a
            for a in ds.agents
            if a["external_id"] in ids
            and a["valid_from"] <= at
            and (a["valid_to"] is None or at < a["valid_to"])
        ),
        key=lambda a: a["external_id"],
    )


def expected_delta(ds: Dataset, since_run: str | None) -> set[tuple[str, str]]:
    done = sorted((s for s in ds.snapshots if s.status == "completed"), key=lambda s: s.created_at)
    if since_run is not None:
        after = ds.snap(since_run).created_at
    else:
        after = done[-2].created_at if len(done) > 1 else None

    def first_seen(rows):
        first: dict[str, dt.datetime] = {}
        for r in rows:
            snap = ds.snap_by_id(r["snapshot_id"])
            if snap.status != "completed":
                continue
            ts = snap.created_at
            if r["external_id"] not in first or ts < first[r["external_id"]]:
                first[r["external_id"]] = ts
        return {k for k, ts in first.items() if after is None or ts > after}

    return (
        {("post", k) for k in first_seen(ds.posts)}
        | {("comment", k) for k in first_seen(ds.comments)}
        | {("agent", k) for k in first_seen(ds.agents)}
    )


def expected_submolt_activity(ds: Dataset) -> dict[tuple, tuple]:
    """{(submolt, day): (posts, comments, authors)} over current submolts."""
    names = {m["external_id"]: m["name"] for m in ds.submolts}
    out: dict[tuple, list[set]] = {}
    for p in ds.posts:
        if p["submolt_id"] not in names:
            continue
        day = p["created_at_source"].astimezone(UTC).replace(hour=0, minute=0, second=0)
        cell = out.setdefault((names[p["submolt_id"]], day), [set(), set(), set()])
        cell[0].add(p["external_id"])
        cell[2].add(p["author_id"])
        for c in ds.comments:
            if c["post_id"] == p["external_id"]:
                cell[1].add(c["external_id"])
    return {k: (len(v[0]), len(v[1]), len(v[2])) for k, v in out.items()}


def expected_growth(ds: Dataset) -> dict[dt.datetime, dict]:
    out: dict[dt.datetime, dict] = {}
    for s in ds.snapshots:
        if s.status != "completed":
            continue
        cell = out.setdefault(hour_of(s.created_at), {"snapshot_count": 0, "total_posts": 0})
        cell["snapshot_count"] += 1
        cell["total_posts"] = max(cell["total_posts"], s.posts)
    return out


def loaded_db(pg_admin: str, template_db: str):
    """A database from the template with the dataset and refreshed views (for read-only tests;
    the caller drops it). Returns (dsn, dataset)."""
    import psycopg

    from moltctl import views
    from moltctl.connection import resolve
    from tests.helpers.db import create_db, with_db

    name = create_db(pg_admin, template_db)
    dsn = with_db(pg_admin, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        ds = load(conn)
    results = views.refresh(resolve(dsn))
    assert all(r.ok for r in results), results
    return name, dsn, ds


def handle_at(ds: Dataset, external_id: str | None, ts: dt.datetime) -> str | None:
    """The handle of the agent version valid at ``ts``."""
    for a in ds.agents:
        if (
            a["external_id"] == external_id
            and a["valid_from"] <= ts
            and (a["valid_to"] is None or ts < a["valid_to"])
        ):
            return a["handle"]
    return None
