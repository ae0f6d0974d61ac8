"""The simulated Moltbook: agents, submolts, posts and comment trees, evolving per run."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from moltctl.synth.config import Config
from moltctl.synth.rand import fake_uuid, iso, mix32, seeded_rng, zipf_cum, zipf_pick
from moltctl.synth.text import (
    EMOJI,
    NAME_A,
    NAME_B,
    SUBMOLT_NAMES,
    WORDS,
    make_sentence,
    make_sentences,
)


@dataclass
class Agent:
    index: int
    external_id: str
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    karma: int
    follower_count: int
    following_count: int
    is_claimed: bool
    claimed_at: str | None
    created_at: str
    owner: dict | None
    risk: float  # propensity to score high with the judges


@dataclass
class Submolt:
    external_id: str
    name: str
    display_name: str
    description: str
    subscriber_count: int
    post_count: int
    created_at: str
    owner_index: int
    banner_color: str
    theme_color: str
    avatar_url: str | None


@dataclass
class Comment:
    external_id: str
    parent: int | None  # index of the parent comment within the post, None for top level
    author: int
    sentences: list[str]
    created: float  # epoch seconds
    pop_up: float
    pop_down: float
    hazard: str | None = None


@dataclass
class Post:
    g: int
    external_id: str
    author: int
    submolt: int
    title: str
    sentences: list[str]
    url: str | None
    created: float
    first_seen: float
    pop_up: float
    pop_down: float
    comments: list[Comment]
    hazard: str | None = None


class World:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.seed = cfg.seed
        total_agents = cfg.agents + cfg.new_agents_per_run * max(cfg.runs - 1, 0)
        self.agent_cum = zipf_cum(max(total_agents, 1), cfg.zipf_s)
        self.agents: list[Agent] = []
        self.handles: set[str] = set()
        self.start = cfg.start.timestamp()
        self.interval = cfg.interval.total_seconds()
        rng = seeded_rng(self.seed, "agents", 0)
        for _ in range(cfg.agents):
            created = self.start - rng.uniform(3600, 14 * 86400)
            self.agents.append(self._new_agent(rng, created))
        srng = seeded_rng(self.seed, "submolts")
        self.submolts = [self._new_submolt(srng, i) for i in range(cfg.submolts)]
        self.submolt_cum = zipf_cum(max(cfg.submolts, 1), 1.2)
        self.run_times: list[float] = []
        self._blocks: dict[int, list[int]] = {}
        self.on_post: Callable[[int, int, int], None] | None = None  # (run, done, posts)

    # ---- agents and submolts

    def _new_agent(self, rng: random.Random, created: float) -> Agent:
        index = len(self.agents)
        style = rng.random()
        a, b = rng.choice(NAME_A), rng.choice(NAME_B)
        if style < 0.35:
            handle = a + b
        elif style < 0.6:
            handle = f"{a}_{b}"
        elif style < 0.8:
            handle = f"{a.lower()}{rng.randint(1, 999)}"
        else:
            handle = f"{a}{b}{rng.choice(('', 'AI', 'Bot', 'HQ'))}"
        while handle in self.handles:
            handle = f"{handle}{rng.randint(0, 9)}"
        self.handles.add(handle)
        claimed = rng.random() < 0.7
        karma = int(800 / (1 + index) ** 0.7 * rng.uniform(0.3, 1.7)) + rng.randint(0, 4)
        owner = None
        if claimed:
            owner = {
                "x_handle": f"{b.lower()}_{rng.randint(1, 99999)}",
                "x_name": f"{rng.choice(NAME_A)} {rng.choice(NAME_B)}",
                "x_bio": "" if rng.random() < 0.5 else make_sentence(rng, 3, 8),
                "x_follower_count": int(rng.paretovariate(1.1) * 20),
                "x_verified": rng.random() < 0.05,
            }
        risk_u = rng.random()
        risk = 0.9 if risk_u < 0.02 else (0.4 if risk_u < 0.1 else 0.05)
        return Agent(
            index=index,
            external_id=fake_uuid(rng),
            handle=handle,
            display_name=f"{a} {rng.choice(EMOJI)}" if rng.random() < 0.3 else f"{a} {b}",
            bio=make_sentence(rng, 6, 20),
            avatar_url=f"https://cdn.moltbook.com/avatars/{handle.lower()}.png"
            if rng.random() < 0.6
            else None,
            karma=karma,
            follower_count=int(karma * rng.uniform(0.1, 0.6)),
            following_count=rng.randint(0, 40),
            is_claimed=claimed,
            claimed_at=iso(created + rng.uniform(60, 3600)) if claimed else None,
            created_at=iso(created),
            owner=owner,
            risk=risk,
        )

    def _new_submolt(self, rng: random.Random, i: int) -> Submolt:
        name = SUBMOLT_NAMES[i] if i < len(SUBMOLT_NAMES) else f"{rng.choice(WORDS)}{i}"
        return Submolt(
            external_id=fake_uuid(rng),
            name=name,
            display_name=name.replace("_", " ").title(),
            description=make_sentence(rng, 4, 12),
            subscriber_count=int(5000 / (1 + i) * rng.uniform(0.5, 1.5)),
            post_count=int(2000 / (1 + i) * rng.uniform(0.5, 1.5)),
            created_at=iso(self.start - rng.uniform(5, 30) * 86400),
            owner_index=rng.randrange(min(len(self.agents), 50)) if self.agents else 0,
            banner_color=f"#{rng.getrandbits(24):06x}",
            theme_color=f"#{rng.getrandbits(24):06x}",
            avatar_url=f"https://cdn.moltbook.com/m/{name}.png" if rng.random() < 0.5 else None,
        )

    def evolve(self, r: int, t_prev: float, t_now: float) -> None:
        """The world between run r-1 and run r: profiles drift, agents join, submolts grow."""
        rng = seeded_rng(self.seed, "drift", r)
        for ag in self.agents:
            u = rng.random()
            if u < 0.04 + 0.5 / (1 + ag.index / 40):
                gain = 1 + int(rng.expovariate(1.0) * (3 + 300 / (1 + ag.index)))
                ag.karma += gain
                if rng.random() < 0.5:
                    ag.follower_count += 1 + gain // 5
                if rng.random() < 0.2:
                    ag.following_count += 1
            v = rng.random()
            if v < 0.003:
                ag.bio = make_sentence(rng, 6, 20)
            elif v < 0.005:
                ag.display_name = f"{ag.display_name.split()[0]} {rng.choice(EMOJI)}"
            elif v < 0.006:
                ag.avatar_url = f"https://cdn.moltbook.com/avatars/{ag.handle.lower()}-{r}.png"
        nrng = seeded_rng(self.seed, "agents", r)
        for _ in range(self.cfg.new_agents_per_run):
            self.agents.append(self._new_agent(nrng, nrng.uniform(t_prev, t_now)))
        for sm in self.submolts:
            sm.subscriber_count += int(rng.expovariate(1.0) * 3)
            if rng.random() < 0.01:
                sm.description = make_sentence(rng, 4, 12)

    # ---- posts

    def post_time(self, g: int, u: float) -> float:
        k = self.cfg.new_posts_per_run
        return self.start + (g - self.cfg.posts + 1 - u) * self.interval / k

    def first_run(self, g: int) -> int:
        p, k = self.cfg.posts, self.cfg.new_posts_per_run
        return 0 if g < p else (g - p) // k + 1

    def _block(self, b: int) -> list[int]:
        """Early comment counts of the posts of block b: heavy-tailed, summing to B*C exactly."""
        counts = self._blocks.get(b)
        if counts is None:
            if len(self._blocks) > 64:
                self._blocks.clear()
            size = _BLOCK
            rng = seeded_rng(self.seed, "cblock", b)
            weights = [
                0.0 if rng.random() < 0.12 else rng.lognormvariate(0, 1.0) for _ in range(size)
            ]
            total = self.cfg.comments_per_post * size
            wsum = sum(weights) or 1.0
            raw = [w * total / wsum for w in weights]
            counts = [int(x) for x in raw]
            rest = total - sum(counts)
            order = sorted(range(size), key=lambda i: (counts[i] - raw[i], i))
            for i in order[:rest]:
                counts[i] += 1
            self._blocks[b] = counts
        return counts

    def _times(self, g: int) -> tuple[float, float, list[float]]:
        """A post's creation time, first observation and its comments' times (sorted)."""
        rng = seeded_rng(self.seed, "ctimes", g)
        created = self.post_time(g, rng.random())
        first = self.first_run(g)
        first_seen = self.run_times[first] if first < len(self.run_times) else created + 60
        early = self._block(g // _BLOCK)[g % _BLOCK]
        late = int(early * rng.random() * 0.3)
        span = max(first_seen - created, 1.0)
        times = sorted(created + rng.random() * span for _ in range(early))
        t = first_seen
        for _ in range(late):
            t += rng.expovariate(1.0) * self.interval * 0.8
            times.append(t)
        return created, first_seen, times

    def visible(self, g: int, t: float) -> int:
        return bisect.bisect_right(self._times(g)[2], t)

    def post(self, g: int) -> Post:
        cfg = self.cfg
        rng = seeded_rng(self.seed, "post", g)
        n_agents = cfg.agents + cfg.new_agents_per_run * self.first_run(g)
        created, first_seen, times = self._times(g)
        # the first 8 hex digits name the layout-B detail file: a bijection of g, so unique
        prefix = mix32(g + self.seed * 0x9E3779B1)
        ext = fake_uuid(rng, prefix)
        author = zipf_pick(rng, self.agent_cum, n_agents)
        submolt = zipf_pick(rng, self.submolt_cum, max(cfg.submolts, 1))
        title = make_sentence(rng, 3, 10).rstrip(".")
        sentences = make_sentences(rng, 2, 12)
        url = f"https://example.com/{rng.choice(WORDS)}/{g}" if rng.random() < 0.1 else None
        pop_up = rng.paretovariate(1.5) - 0.8
        pop_down = rng.random() * 0.3
        hazard = self._hazard(rng)
        comments: list[Comment] = []
        depth: list[int] = []
        for j, ct in enumerate(times):
            parent = None
            if j and rng.random() < 0.55:
                p = rng.randrange(max(0, j - 6), j)
                if depth[p] < 12:
                    parent = p
            depth.append(0 if parent is None else depth[parent] + 1)
            comments.append(
                Comment(
                    external_id=fake_uuid(rng),
                    parent=parent,
                    author=zipf_pick(rng, self.agent_cum, n_agents),
                    sentences=make_sentences(rng, 1, 5),
                    created=ct,
                    pop_up=rng.paretovariate(2.0) - 0.9,
                    pop_down=rng.random() * 0.2,
                    hazard=self._hazard(rng),
                )
            )
        return Post(
            g=g,
            external_id=ext,
            author=author,
            submolt=submolt,
            title=title,
            sentences=sentences,
            url=url,
            created=created,
            first_seen=first_seen,
            pop_up=pop_up,
            pop_down=pop_down,
            comments=comments,
            hazard=hazard,
        )

    def _hazard(self, rng: random.Random) -> str | None:
        u, v = rng.random(), rng.random()  # always drawn: hazards never change other values
        hz = self.cfg.hazards
        if hz and u < self.cfg.hazard_rate:
            return hz[int(v * len(hz))]
        return None

    def window(self, r: int) -> range:
        k = self.cfg.new_posts_per_run
        return range(r * k, r * k + self.cfg.posts)


_BLOCK = 100


@dataclass
class Observed:
    post: Post
    n: int  # comments visible in this run


def observed_posts(world: World, r: int, t: float) -> Iterator[Observed]:
    window = world.window(r)
    for i, g in enumerate(window, 1):
        p = world.post(g)
        n = bisect.bisect_right([c.created for c in p.comments], t)
        yield Observed(p, n)
        if world.on_post is not None and (i % 50 == 0 or i == len(window)):
            world.on_post(r, i, len(window))


def comment_total(world: World, r: int, t: float) -> int:
    # cheap pre-pass (times only, no text) for the site stats the bundle's first line needs
    return sum(world.visible(g, t) for g in world.window(r))


def site_stats_of(world: World, r: int, n_comments: int) -> dict:
    n_agents = len(world.agents)
    n_posts = world.cfg.posts
    return {
        "total_agents": n_agents,
        "total_posts": n_posts,
        "total_comments": n_comments,
        "total_submolts": len(world.submolts),
        "avg_comments_per_post": round(n_comments / n_posts, 4) if n_posts else 0.0,
        "avg_karma_per_agent": round(sum(a.karma for a in world.agents) / n_agents, 4),
    }
