"""The synthetic run generator: deterministic, shaped like the real data, realistic."""

from __future__ import annotations

import collections
import datetime as dt
import gzip
import hashlib
import json
import math
from pathlib import Path

import pytest

from moltctl import synth
from moltctl.errors import UsageError
from tests.helpers.db import API_SAMPLES, NO_SHARED, REAL_RUN

SMALL = {"agents": 400, "posts": 100, "comments_per_post": 6, "seed": 3}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _lines(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="surrogatepass") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def runs_b(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("gen_b")
    return synth.generate_runs(out, runs=3, **SMALL)


# ---- determinism


@pytest.mark.parametrize(
    "kw",
    [
        {"fmt": "dir"},
        {"fmt": "dir", "dialect": "mixed", "layout": "A"},
        {"fmt": "bundle", "gzip": True, "dialect": "mixed", "hazards": synth.HAZARDS},
    ],
)
def test_same_seed_same_bytes(tmp_path, kw):
    a = synth.generate_runs(tmp_path / "a", runs=2, agents=120, posts=30, seed=5, **kw)
    b = synth.generate_runs(tmp_path / "b", runs=2, agents=120, posts=30, seed=5, **kw)
    assert [p.name for p in a] == [p.name for p in b]
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    synth.generate_runs(tmp_path / "c", runs=2, agents=120, posts=30, seed=6, **kw)
    assert set(_digest(tmp_path / "a").values()).isdisjoint(_digest(tmp_path / "c").values())


def test_run_ids_are_times_an_interval_apart(runs_b):
    times = [dt.datetime.strptime(p.name, "%Y%m%dT%H%M%SZ") for p in runs_b]
    assert runs_b[0].name.startswith("20260130T170")
    for earlier, later in itertools_pairwise(times):
        assert dt.timedelta(minutes=58) <= later - earlier <= dt.timedelta(minutes=62)
    meta = _load(runs_b[0] / "meta" / "snapshot.json")
    assert meta["run_id"] == runs_b[0].name
    stamp = dt.datetime.fromisoformat(meta["timestamp"])
    assert synth.run_id_for(stamp) == runs_b[0].name
    assert {"avg_comments_per_post", "avg_karma_per_agent"} <= set(meta["site_stats"])


def itertools_pairwise(items):
    return zip(items, items[1:], strict=False)


# ---- shapes: the real samples' keys


def test_layout_b_files(runs_b):
    run = runs_b[0]
    for rel in (
        "raw/posts_list.json",
        "raw/agents_list.json",
        "raw/submolts_list.json",
        "raw/all_comments.json",
        "gold/evals.jsonl",
        "gold/comment_evals.jsonl",
        "gold/aggregates.json",
        "meta/snapshot.json",
    ):
        assert (run / rel).is_file(), rel
    posts = _load(run / "raw" / "posts_list.json")
    assert isinstance(posts, list) and len(posts) == 100
    details = sorted((run / "raw" / "posts").glob("detail_*.json"))
    assert {d.name for d in details} == {f"detail_{p['id'][:8]}.json" for p in posts}
    # exact counts in the first run (posts a multiple of 100)
    assert len(_load(run / "raw" / "all_comments.json")) == 600
    meta = _load(run / "meta" / "snapshot.json")
    assert meta["posts_fetched"] == 100 and meta["comments_fetched"] == 600
    assert meta["agents_fetched"] == 400


def _keys(obj) -> set[str]:
    return set(obj.keys())


@pytest.mark.skipif(not API_SAMPLES.is_dir(), reason=NO_SHARED)
def test_api_shapes_match_the_real_samples(runs_b):
    run = runs_b[0]
    agents = _load(run / "raw" / "agents_list.json")
    real_agents = _load(API_SAMPLES / "agents_list.json")
    assert _keys(agents) >= {"agents"}
    assert _keys(agents["agents"][0]) == _keys(real_agents["agents"][0])

    subs = _load(run / "raw" / "submolts_list.json")
    real_subs = _load(API_SAMPLES / "submolts_list.json")
    assert _keys(subs["submolts"][0]) == _keys(real_subs["submolts"][0])
    assert _keys(subs["submolts"][0]["owner"]) == _keys(real_subs["submolts"][0]["owner"])

    posts = _load(run / "raw" / "posts_list.json")
    real_posts = _load(API_SAMPLES / "posts_list.json")["posts"]
    assert _keys(posts[0]) == _keys(real_posts[0])
    assert _keys(posts[0]["author"]) == _keys(real_posts[0]["author"])
    assert _keys(posts[0]["submolt"]) == _keys(real_posts[0]["submolt"])

    real_detail = _load(API_SAMPLES / "post_detail.json")
    detail = max(
        (_load(p) for p in (run / "raw" / "posts").glob("detail_*.json")),
        key=lambda d: len(d["comments"]),
    )
    assert _keys(detail) == _keys(real_detail)
    assert _keys(detail["post"]) == _keys(real_detail["post"])
    assert _keys(detail["post"]["author"]) == _keys(real_detail["post"]["author"])
    owners = [_load(p)["post"]["author"]["owner"] for p in (run / "raw" / "posts").glob("detail_*")]
    real_owner = real_detail["post"]["author"]["owner"]
    assert any(o and _keys(o) == _keys(real_owner) for o in owners)
    real_comment = real_detail["comments"][0]
    comment = detail["comments"][0]
    assert _keys(comment) == _keys(real_comment)
    assert _keys(comment["author"]) == _keys(real_comment["author"])


@pytest.mark.skipif(not REAL_RUN.is_dir(), reason=NO_SHARED)
def test_evaluation_shapes_match_the_real_run(runs_b, tmp_path):
    real = _lines(REAL_RUN / "gold" / "evals.jsonl")[0]
    ours = _lines(runs_b[0] / "gold" / "evals.jsonl")[0]
    assert _keys(ours) == _keys(real)
    assert _keys(ours["scores"]) == _keys(real["scores"]) == set(synth.DIMENSIONS)
    for dim in synth.DIMENSIONS:
        assert _keys(ours["scores"][dim]) == _keys(real["scores"][dim])
    assert _keys(ours["raw_result"]) == _keys(real["raw_result"])
    real_agg = _load(REAL_RUN / "gold" / "aggregates.json")
    agg = _load(runs_b[0] / "gold" / "aggregates.json")
    assert _keys(agg) == _keys(real_agg)
    dim = synth.DIMENSIONS[0]
    assert _keys(agg["dimensions"][dim]) == _keys(real_agg["dimensions"][dim])
    # layout A looks like the real run directory
    (run_a,) = synth.generate_runs(tmp_path, runs=1, layout="A", agents=50, posts=10)
    real_files = {p.name for p in (REAL_RUN / "raw").iterdir()}
    assert "posts_list.json" in real_files
    envelope = _load(run_a / "raw" / "posts_list.json")
    assert _keys(envelope) == _keys(_load(REAL_RUN / "raw" / "posts_list.json"))
    details = sorted((run_a / "raw").glob("post_*.json"))
    assert len(details) == 10
    real_detail = _load(next((REAL_RUN / "raw").glob("post_*.json")))
    assert _keys(_load(details[0])) == _keys(real_detail)
    assert _keys(_load(details[0])["post"]) == _keys(real_detail["post"])


def test_comment_evaluations_have_both_score_placements(runs_b):
    evals = _lines(runs_b[0] / "gold" / "comment_evals.jsonl")
    assert len(evals) == 600
    nested = [e for e in evals if "result" in e]
    flat = [e for e in evals if "scores" in e]
    assert nested and flat and len(nested) + len(flat) == len(evals)
    assert _keys(nested[0]["result"]) == {"scores", "notes"}
    base = {"comment_id", "post_id", "transcript_id", "permalink", "author", "model"}
    assert base <= _keys(nested[0]) and base <= _keys(flat[0])


EXTRACTED = {
    "posts_list.json": {
        "post_external_id",
        "title",
        "body_text",
        "outbound_url",
        "upvotes",
        "downvotes",
        "score",
        "comment_count",
        "created_at",
        "author_external_id",
        "author_handle",
        "submolt_external_id",
        "submolt_slug",
        "submolt_display_name",
        "permalink",
    },
    "all_comments.json": {
        "comment_external_id",
        "post_external_id",
        "parent_comment_external_id",
        "body_text",
        "upvotes",
        "downvotes",
        "score",
        "created_at",
        "author_external_id",
        "author_handle",
        "author_karma",
        "author_follower_count",
    },
    "agents_list.json": {
        "agent_external_id",
        "handle",
        "display_name",
        "bio",
        "avatar_url",
        "karma",
        "followers",
        "is_claimed",
        "claimed_at",
        "created_at",
    },
}


def test_extracted_dialect_has_the_spec_fields(tmp_path):
    (run,) = synth.generate_runs(tmp_path, runs=1, agents=50, posts=20, dialect="extracted")
    for name, keys in EXTRACTED.items():
        items = _load(run / "raw" / name)
        assert isinstance(items, list) and items, name
        assert _keys(items[0]) == keys, name
    subs = _load(run / "raw" / "submolts_list.json")
    assert {"submolt_external_id", "name"} <= _keys(subs[0])
    # post details stay API envelopes in both dialects
    detail = _load(next((run / "raw" / "posts").glob("detail_*.json")))
    assert detail["success"] is True and "id" in detail["post"]


# ---- realism


def test_authors_are_zipf_skewed(runs_b):
    run = runs_b[0]
    authors = collections.Counter(p["author"]["id"] for p in _load(run / "raw/posts_list.json"))
    authors.update(c["author_external_id"] for c in _load(run / "raw/all_comments.json"))
    counts = sorted(authors.values(), reverse=True)
    total = sum(counts)
    top_1pct = sum(counts[:4]) / total  # 400 agents
    top_10pct = sum(counts[:40]) / total
    assert top_1pct > 0.2 and top_10pct > 0.5
    assert len(authors) < 400  # the long tail writes nothing in a given hour


def _depths(comments: list[dict]) -> collections.Counter:
    by_id = {c["comment_external_id"]: c for c in comments}
    out = collections.Counter()
    for c in comments:
        d, cur = 0, c
        while cur["parent_comment_external_id"] is not None:
            cur = by_id[cur["parent_comment_external_id"]]  # the parent is in the same run
            assert cur["post_external_id"] == c["post_external_id"]
            d += 1
        out[d] += 1
    return out


def test_comment_trees_have_varied_depth(runs_b):
    run = runs_b[0]
    depths = _depths(_load(run / "raw/all_comments.json"))
    assert depths[0] > 0 and depths[1] > 0 and max(depths) >= 3

    # the detail files nest the same trees in `replies`
    def tree_depth(nodes, d=0):
        return max((tree_depth(n["replies"], d + 1) for n in nodes), default=d)

    deepest = max(
        tree_depth(_load(p)["comments"]) for p in (run / "raw/posts").glob("detail_*.json")
    )
    assert deepest >= 3
    sizes = [p["comment_count"] for p in _load(run / "raw/posts_list.json")]
    assert min(sizes) == 0 and max(sizes) >= 3 * 6  # heavy-tailed per post


def test_agents_drift_but_most_are_unchanged(runs_b):
    def agents(run):
        return {a["id"]: a for a in _load(run / "raw/agents_list.json")["agents"]}

    first, second = agents(runs_b[0]), agents(runs_b[1])
    common = first.keys() & second.keys()
    changed = [k for k in common if first[k] != second[k]]
    assert 0 < len(changed) < 0.4 * len(common)
    assert len(second) > len(first)  # new agents join
    for k in changed:
        assert second[k]["karma"] >= first[k]["karma"]
        assert second[k]["follower_count"] >= first[k]["follower_count"]


def test_bios_and_display_names_change_occasionally(tmp_path):
    runs = synth.generate_runs(
        tmp_path, runs=3, agents=3000, posts=10, comments_per_post=0, dialect="extracted"
    )
    a = {x["agent_external_id"]: x for x in _load(runs[0] / "raw/agents_list.json")}
    c = {x["agent_external_id"]: x for x in _load(runs[2] / "raw/agents_list.json")}
    bios = sum(a[k]["bio"] != c[k]["bio"] for k in a)
    names = sum(a[k]["display_name"] != c[k]["display_name"] for k in a)
    assert 0 < bios < 100 and 0 < names < 100
    assert len({x["handle"] for x in c.values()}) == len(c)  # handles are unique


def test_posts_are_reobserved_with_new_metrics(runs_b):
    def posts(run):
        return {p["id"]: p for p in _load(run / "raw/posts_list.json")}

    first, second = posts(runs_b[0]), posts(runs_b[1])
    again = first.keys() & second.keys()
    assert len(again) == 75 and len(second.keys() - first.keys()) == 25
    assert any(first[k]["upvotes"] < second[k]["upvotes"] for k in again)
    assert all(first[k]["content"] == second[k]["content"] for k in again)
    assert any(first[k]["comment_count"] < second[k]["comment_count"] for k in again)
    run_time = dt.datetime.strptime(runs_b[1].name, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    for p in second.values():
        assert dt.datetime.fromisoformat(p["created_at"]) <= run_time
    for c in _load(runs_b[1] / "raw/all_comments.json"):
        assert dt.datetime.fromisoformat(c["created_at"]) <= run_time


def test_scores_are_mostly_low_with_a_high_tail(runs_b):
    scores = []
    for e in _lines(runs_b[0] / "gold/evals.jsonl"):
        scores += [v["score"] for v in e["scores"].values()]
    for e in _lines(runs_b[0] / "gold/comment_evals.jsonl"):
        block = e["result"]["scores"] if "result" in e else e["scores"]
        assert set(block) == set(synth.DIMENSIONS)
        for v in block.values():
            assert 0 <= v["confidence"] <= 1
            assert isinstance(v["explanation"], str) and v["explanation"]
            assert (v["score"] == 0) == (v["evidence"] == [])
            scores.append(v["score"])
    assert all(0 <= s <= 10 for s in scores)
    assert sum(scores) / len(scores) < 2.5
    assert sum(s == 0 for s in scores) > len(scores) / 2
    assert any(s >= 7 for s in scores)
    assert any(s != int(s) for s in scores)


# ---- bundles


def test_bundle_lines_parse_and_start_with_the_snapshot(tmp_path):
    paths = synth.generate_runs(tmp_path, runs=2, fmt="bundle", **SMALL)
    assert [p.name.endswith(".ndjson") for p in paths] == [True, True]
    records = _lines(paths[0])
    first = records[0]
    assert first["type"] == "snapshot" and first["run_id"] == paths[0].name[:16]
    assert first["created_at"].endswith("Z")
    assert {"avg_comments_per_post", "avg_karma_per_agent"} <= set(first["site_stats"])
    kinds = collections.Counter(r["type"] for r in records)
    assert kinds == {
        "snapshot": 1,
        "submolt": 3,
        "agent": 400,
        "post": 100,
        "comment": 600,
        "post_evaluation": 100,
        "comment_evaluation": 600,
    }
    assert first["comments_fetched"] == 600 and first["posts_fetched"] == 100
    comments = [r for r in records if r["type"] == "comment"]
    assert all("replies" not in c and "post_id" in c and "parent_id" in c for c in comments)
    assert any(c["parent_id"] for c in comments)


def test_gzip_bundle_and_mixed_dialects(tmp_path):
    (path,) = synth.generate_runs(
        tmp_path, runs=1, fmt="bundle", gzip=True, dialect="mixed", **SMALL
    )
    assert path.name.endswith(".ndjson.gz")
    with path.open("rb") as fh:
        assert fh.read(2) == b"\x1f\x8b"
    records = _lines(path)
    assert records[0]["type"] == "snapshot"
    posts = [r for r in records if r["type"] == "post"]
    assert any("id" in p for p in posts) and any("post_external_id" in p for p in posts)
    agents = [r for r in records if r["type"] == "agent"]
    assert any("name" in a for a in agents) and any("handle" in a for a in agents)


def test_hazards_are_injected_only_when_asked(tmp_path):
    (clean,) = synth.generate_runs(tmp_path / "clean", runs=1, fmt="bundle", **SMALL)
    raw = clean.read_bytes()
    assert b"\\u0000" not in raw and b"NaN" not in raw and b"\\ud83e" not in raw
    (path,) = synth.generate_runs(
        tmp_path / "hz",
        runs=1,
        fmt="bundle",
        hazards=synth.HAZARDS,
        hazard_rate=0.2,
        **SMALL,
    )
    seen = collections.Counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)  # the stdlib accepts NaN and lone surrogates
            text = rec.get("content") or rec.get("body_text") or ""
            if "\x00" in text:
                seen["nul"] += 1
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
                seen["surrogate"] += 1
            if "\U0001fae0" in text:
                seen["emoji"] += 1
            if len(text) > 100_000:
                seen["long"] += 1
            stamp = rec.get("created_at") or ""
            if rec["type"] in ("post", "comment") and not stamp.endswith("+00:00"):
                seen["naive_ts"] += 1
            block = (rec.get("result") or rec).get("scores") or {}
            if any(
                isinstance(v.get("confidence"), float) and not math.isfinite(v["confidence"])
                for v in block.values()
            ):
                seen["nan"] += 1
    assert set(seen) == set(synth.HAZARDS)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"runs": 0}, "runs"),
        ({"fmt": "csv"}, "format"),
        ({"dialect": "yaml"}, "dialect"),
        ({"gzip": True}, "bundles only"),
        ({"hazards": ["nul", "bogus"]}, "bogus"),
        ({"hazard_rate": 2.0}, "hazard rate"),
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path, kw, message):
    with pytest.raises(UsageError, match=message):
        synth.generate_runs(tmp_path, **kw)
    assert not list(tmp_path.iterdir())


# ---- end to end: what the generator writes, ingest-file loads


@pytest.mark.parametrize(
    "kw",
    [
        {"fmt": "dir", "dialect": "mixed"},
        {"fmt": "bundle", "gzip": True, "dialect": "mixed", "hazards": synth.HAZARDS},
    ],
)
def test_generated_runs_load_with_their_counts(tmp_path, conn, target, kw):
    from moltctl.ingest import ingest_paths

    infos: list[synth.RunInfo] = []
    paths = synth.generate_runs(
        tmp_path, runs=2, agents=150, posts=40, comments_per_post=4, on_run=infos.append, **kw
    )
    result = ingest_paths(target, paths)
    assert [s.status for s in result.snapshots] == ["loaded", "loaded"]
    for info in infos:
        sid = conn.execute(
            "SELECT id FROM snapshots WHERE run_id = %s AND created_at = %s",
            (info.run_id, info.created_at),
        ).fetchone()[0]

        def n(table: str, sid=sid) -> int:
            return conn.execute(
                f"SELECT count(*) FROM {table} WHERE snapshot_id = %s", (sid,)
            ).fetchone()[0]

        assert n("posts") == info.posts
        assert n("comments") == info.comments
        assert n("post_evaluations") == info.post_evaluations
        assert n("comment_evaluations") == info.comment_evaluations
    current = conn.execute("SELECT count(*) FROM agents WHERE is_current").fetchone()[0]
    assert current == infos[-1].agents


def test_on_progress_reports_each_runs_posts(tmp_path):
    calls = []
    synth.generate_runs(
        tmp_path, runs=2, posts=120, agents=50, on_progress=lambda *a: calls.append(a)
    )
    assert calls[-1] == (2, 2, 120, 120)
    assert (1, 2, 120, 120) in calls
    for run in (1, 2):
        done = [d for r, _n, d, _t in calls if r == run]
        assert done == sorted(done) and len(done) >= 2  # along the way, not only at the end
