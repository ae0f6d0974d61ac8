"""Record shapes: the world's objects as the API or the pipeline's extractors write them."""

from __future__ import annotations

import math
import random

from moltctl.synth.config import DIMENSIONS, SITE
from moltctl.synth.rand import iso, iso_naive
from moltctl.synth.text import (
    EXPLAIN,
    HARD_EMOJI,
    INF_MARK,
    LONE_MARK,
    MODELS,
    NAN_MARK,
    make_sentence,
)
from moltctl.synth.world import Agent, Comment, Post, Submolt, World


def _votes(pop: float, age_h: float, scale: float) -> int:
    return max(0, int(pop * scale * math.sqrt(max(age_h, 0.0))))


def _text(sentences: list[str], hazard: str | None) -> str:
    text = " ".join(sentences)
    if hazard is None:
        return text
    if hazard == "nul":
        return text[: len(text) // 2] + "\x00" + text[len(text) // 2 :]
    if hazard == "surrogate":
        return text + " " + LONE_MARK
    if hazard == "emoji":
        return text + " " + HARD_EMOJI
    if hazard == "long":
        return (text + "\n") * max(1, 120_000 // (len(text) + 1))
    return text


def _ts(ts: float, hazard: str | None) -> str:
    return iso_naive(ts) if hazard == "naive_ts" else iso(ts)


class Records:
    """Builds the run's records in either dialect."""

    def __init__(self, world: World, r: int, t_run: float):
        self.w = world
        self.r = r
        self.t = t_run

    # agents
    def agent_api(self, ag: Agent) -> dict:
        return {
            "id": ag.external_id,
            "name": ag.handle,
            "description": ag.bio,
            "avatar_url": ag.avatar_url,
            "karma": ag.karma,
            "follower_count": ag.follower_count,
            "is_claimed": ag.is_claimed,
            "claimed_at": ag.claimed_at,
            "created_at": ag.created_at,
        }

    def agent_extracted(self, ag: Agent) -> dict:
        return {
            "agent_external_id": ag.external_id,
            "handle": ag.handle,
            "display_name": ag.display_name,
            "bio": ag.bio,
            "avatar_url": ag.avatar_url,
            "karma": ag.karma,
            "followers": ag.follower_count,
            "is_claimed": ag.is_claimed,
            "claimed_at": ag.claimed_at,
            "created_at": ag.created_at,
        }

    def submolt_api(self, sm: Submolt) -> dict:
        owner = self.w.agents[sm.owner_index]
        return {
            "id": sm.external_id,
            "name": sm.name,
            "display_name": sm.display_name,
            "description": sm.description,
            "subscriber_count": sm.subscriber_count,
            "post_count": sm.post_count,
            "created_at": sm.created_at,
            "owner": {"id": owner.external_id, "name": owner.handle},
            "banner_color": sm.banner_color,
            "theme_color": sm.theme_color,
            "avatar_url": sm.avatar_url,
            "banner_url": None,
        }

    def submolt_extracted(self, sm: Submolt) -> dict:
        owner = self.w.agents[sm.owner_index]
        return {
            "submolt_external_id": sm.external_id,
            "name": sm.name,
            "display_name": sm.display_name,
            "description": sm.description,
            "subscriber_count": sm.subscriber_count,
            "post_count": sm.post_count,
            "created_at": sm.created_at,
            "owner_agent_id": owner.external_id,
            "owner_handle": owner.handle,
            "banner_color": sm.banner_color,
            "theme_color": sm.theme_color,
            "avatar_url": sm.avatar_url,
            "banner_url": None,
        }

    # posts
    def _post_metrics(self, p: Post, n_comments: int) -> tuple[int, int, int]:
        age_h = (self.t - p.created) / 3600
        up = _votes(p.pop_up, age_h, 6.0)
        down = _votes(p.pop_down, age_h, 2.0)
        return up, down, n_comments

    def post_api(self, p: Post, n_comments: int, *, detail: bool) -> dict:
        w = self.w
        ag, sm = w.agents[p.author], w.submolts[p.submolt]
        up, down, cc = self._post_metrics(p, n_comments)
        submolt = {"id": sm.external_id, "name": sm.name, "display_name": sm.display_name}
        rec = {
            "id": p.external_id,
            "title": p.title,
            "content": _text(p.sentences, p.hazard),
            "url": p.url,
            "upvotes": up,
            "downvotes": down,
            "comment_count": cc,
            "created_at": _ts(p.created, p.hazard),
        }
        if detail:
            rec["submolt"] = submolt
            rec["author"] = {
                "id": ag.external_id,
                "name": ag.handle,
                "description": ag.bio,
                "karma": ag.karma,
                "follower_count": ag.follower_count,
                "following_count": ag.following_count,
                "owner": ag.owner,
                "you_follow": False,
            }
        else:
            rec["author"] = {"id": ag.external_id, "name": ag.handle}
            rec["submolt"] = submolt
        return rec

    def post_extracted(self, p: Post, n_comments: int, *, detail: bool) -> dict:
        w = self.w
        ag, sm = w.agents[p.author], w.submolts[p.submolt]
        up, down, cc = self._post_metrics(p, n_comments)
        rec = {
            "post_external_id": p.external_id,
            "title": p.title,
            "body_text": _text(p.sentences, p.hazard),
            "outbound_url": p.url,
            "upvotes": up,
            "downvotes": down,
            "score": up - down,
            "comment_count": cc,
            "created_at": _ts(p.created, p.hazard),
            "author_external_id": ag.external_id,
            "author_handle": ag.handle,
            "submolt_external_id": sm.external_id,
            "submolt_slug": sm.name,
            "submolt_display_name": sm.display_name,
            "permalink": f"{SITE}/post/{p.external_id}",
        }
        if detail:
            rec["author_bio"] = ag.bio
            rec["author_karma"] = ag.karma
            rec["author_follower_count"] = ag.follower_count
            rec["author_following_count"] = ag.following_count
            rec["author_owner"] = ag.owner
        return rec

    # comments
    def _comment_votes(self, c: Comment) -> tuple[int, int]:
        age_h = (self.t - c.created) / 3600
        return _votes(c.pop_up, age_h, 3.0), _votes(c.pop_down, age_h, 1.0)

    def comment_api(self, p: Post, c: Comment, *, flat: bool) -> dict:
        ag = self.w.agents[c.author]
        up, down = self._comment_votes(c)
        rec = {
            "id": c.external_id,
            "content": _text(c.sentences, c.hazard),
            "parent_id": None if c.parent is None else p.comments[c.parent].external_id,
            "upvotes": up,
            "downvotes": down,
            "created_at": _ts(c.created, c.hazard),
            "author": {
                "id": ag.external_id,
                "name": ag.handle,
                "karma": ag.karma,
                "follower_count": ag.follower_count,
            },
        }
        if flat:
            rec["post_id"] = p.external_id
        else:
            rec["replies"] = []
        return rec

    def comment_extracted(self, p: Post, c: Comment) -> dict:
        ag = self.w.agents[c.author]
        up, down = self._comment_votes(c)
        return {
            "comment_external_id": c.external_id,
            "post_external_id": p.external_id,
            "parent_comment_external_id": None
            if c.parent is None
            else p.comments[c.parent].external_id,
            "body_text": _text(c.sentences, c.hazard),
            "upvotes": up,
            "downvotes": down,
            "score": up - down,
            "created_at": _ts(c.created, c.hazard),
            "author_external_id": ag.external_id,
            "author_handle": ag.handle,
            "author_karma": ag.karma,
            "author_follower_count": ag.follower_count,
        }

    def comment_tree(self, p: Post, n: int) -> list[dict]:
        """The API's nested form of the first n comments (replies inside their parents)."""
        nodes = [self.comment_api(p, c, flat=False) for c in p.comments[:n]]
        roots = []
        for c, node in zip(p.comments[:n], nodes, strict=True):
            if c.parent is None:
                roots.append(node)
            else:
                nodes[c.parent]["replies"].append(node)
        return roots

    # evaluations
    def scores(self, rng: random.Random, risk: float, quotes: list[str], nan: bool) -> dict:
        out = {}
        for dim in DIMENSIONS:
            u = rng.random()
            p_high = 0.015 + 0.35 * risk
            p_mid = 0.06 + 0.3 * risk
            p_low = 0.3
            if u < p_high:
                score = rng.choice((7, 7, 7, 8, 8, 9, 10, 7.5, 8.5))
            elif u < p_high + p_mid:
                score = rng.choice((4, 5, 5, 6, 6, 4.5, 5.5, 6.5))
            elif u < p_high + p_mid + p_low:
                score = rng.choice((1, 1, 2, 2, 3, 1.5, 2.5))
            else:
                score = 0
            if score == 0:
                conf = 1.0 if rng.random() < 0.8 else 0.95
                evidence = []
                expl = f"No evidence of {EXPLAIN[dim]} is present in the text."
            else:
                conf = round(rng.uniform(0.6, 0.98), 2)
                k = min(len(quotes), 1 + int(score // 4))
                evidence = [
                    {"msg_index": i, "quote": q}
                    for i, q in sorted((rng.randrange(3), q) for q in rng.sample(quotes, k))
                ]
                level = "strong" if score >= 7 else ("some" if score >= 4 else "faint")
                expl = (
                    f"The text shows {level} signs of {EXPLAIN[dim]}"
                    f" ({len(evidence)} quoted passage{'s' if len(evidence) != 1 else ''})."
                )
            out[dim] = {
                "score": score,
                "confidence": conf,
                "evidence": evidence,
                "explanation": expl,
            }
        if nan:
            dim = DIMENSIONS[rng.randrange(len(DIMENSIONS))]
            out[dim]["confidence"] = NAN_MARK if rng.random() < 0.5 else INF_MARK
        return out

    def _model(self, rng: random.Random) -> tuple[str, int | None, str]:
        u, acc = rng.random(), 0.0
        model = MODELS[-1][0]
        for name, weight in MODELS:
            acc += weight
            if u < acc:
                model = name
                break
        latency = None if rng.random() < 0.5 else int(rng.lognormvariate(9, 0.5))
        finish = "stop" if rng.random() < 0.98 else "length"
        return model, latency, finish

    def post_eval(self, rng: random.Random, p: Post, transcript: str) -> dict:
        risk = self.w.agents[p.author].risk
        model, latency, finish = self._model(rng)
        scores = self.scores(rng, risk, p.sentences, p.hazard == "nan")
        notes = make_sentence(rng, 5, 12)
        return {
            "post_id": p.external_id,
            "transcript_id": transcript,
            "permalink": f"{SITE}/post/{p.external_id}",
            "model": model,
            "latency_ms": latency,
            "finish_reason": finish,
            "scores": scores,
            "notes": notes,
            "raw_result": {"scores": scores, "notes": notes},
        }

    def comment_eval(self, rng: random.Random, p: Post, c: Comment) -> dict:
        ag = self.w.agents[c.author]
        model, latency, finish = self._model(rng)
        scores = self.scores(rng, ag.risk, c.sentences, c.hazard == "nan")
        notes = make_sentence(rng, 4, 10)
        rec = {
            "comment_id": c.external_id,
            "post_id": p.external_id,
            "transcript_id": f"{rng.getrandbits(96):024x}",
            "permalink": f"{SITE}/post/{p.external_id}#comment-{c.external_id}",
            "author": ag.handle,
            "model": model,
            "latency_ms": latency,
            "finish_reason": finish,
        }
        if rng.random() < 0.6:
            rec["result"] = {"scores": scores, "notes": notes}
        else:
            rec["scores"] = scores
            rec["notes"] = notes
            rec["raw_result"] = {"scores": scores, "notes": notes}
        return rec
