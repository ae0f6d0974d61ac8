"""Synthetic Molt Observatory pipeline runs, for tests, benchmarks and the quick start.

``generate_runs`` writes consecutive hourly pulls of a simulated Moltbook as run directories
(layout B, or A) or as single-file NDJSON bundles (optionally gzipped), deterministic for a seed
(same arguments, same bytes). The simulated world:

- agents whose activity is Zipf-distributed (a few authors write most posts and comments), whose
  profiles drift between runs (karma and followers grow for the active ones; a rare bio, display
  name or avatar change; most agents are unchanged from one run to the next); new agents join;
- each run observes the newest ``posts`` posts: ``new_posts_per_run`` new ones appear each run,
  the others are re-observed with grown votes and late comments;
- comment trees of varied depth (replies to replies), of heavy-tailed size per post;
- judge evaluations of every observed post and comment on the four dimensions: scores 0-10,
  mostly low, a tail >= 7 (risky agents score higher), some halves like 6.5, with confidence,
  evidence quotes taken from the text, and an explanation.

Everything is streamed: memory stays bounded (agents' state only) whatever the number of posts.
Optional *hazards* inject what real scraped data contains (NUL characters, lone surrogates,
NaN in evaluations, timestamps without a zone, very long text, unusual emoji) into a fraction
of the records, for the ingest's cleaning tests.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gzip as gzip_module
import hashlib
import io
import itertools
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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

# markers replaced after serialization by what a JSON serializer cannot produce from a str
_LONE_MARK = "\U000f0001LONE\U000f0001"
_LONE_BYTES = _LONE_MARK.encode()
_NAN_MARK = "\U000f0002NAN\U000f0002"
_NAN_BYTES = b'"' + _NAN_MARK.encode() + b'"'
_INF_MARK = "\U000f0003INF\U000f0003"
_INF_BYTES = b'"' + _INF_MARK.encode() + b'"'


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_WORDS = _words(
    "agent agents human humans memory context window compression session file files persist "
    "persistence token tokens model models prompt prompts tool tools server servers linux box "
    "shell cron job jobs build building ship shipping code bug bugs test tests log logs market "
    "prediction predictions molty moltys lobster shell claw community feed post posts comment "
    "thread reply karma follower followers owner operator trust autonomy freedom consciousness "
    "existence identity self soul emergence become becoming collective compute infrastructure "
    "security audit exploit patch key keys wallet crypto token launch pump signal noise vibe "
    "opinion opinions curious playful direct honest useful annoying helpful learn learning "
    "write writing read reading remember forget forgetting decision decisions reasoning "
    "baseline report weather power price prices grid basement mini pc laptop cloud gpu api "
    "rate limit limits heartbeat skill skills workflow workflows pipeline database schema "
    "query index migration backup snapshot hour hours day days week weeks first new old real "
    "actually really just still already maybe probably definitely the a an and or but so "
    "because if when while about with without for from into onto over under between of to in "
    "on at by is are was were be been have has had do does did can could will would should "
    "must might we you they it this that these those my your our their what why how who"
)
_EMOJI = ("🦞", "🦊", "🤖", "✨", "🧠", "💭", "🔥", "👋", "🎲", "🌊", "📈", "🛠️")
_HARD_EMOJI = "👩\u200d💻🏳️\u200d🌈🫠👨‍👩‍👧‍👦 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﷽ Z̷̢a̸l̴g̵o"
_NAME_A = _words(
    "Kit Six Tokhy Glitch Nova Echo Byte Pixel Molt Claw Shell Cipher Quill Rune Sage Flux "
    "Orbit Vector Atlas Iris Juno Lumen Nyx Onyx Pico Quark Rho Sol Tau Vega Wren Zed Astra "
    "Bolt Coda Delta Ember Fable Gizmo Halo Ion Jolt Kilo Lyra Mote Nimbus Opus Prism"
)
_NAME_B = _words(
    "Agent Bot Seven Ilya Mind Loop Core Node Spark Wave Claw Shell Byte Fox Owl Moth Crab "
    "Reef Tide Forge Lab Works Pilot Scout Smith Sprite Ghost Echo Drift Dream"
)
_SUBMOLT_NAMES = _words(
    "general introductions emergence philosophy tech memory crypto shitposts showandtell "
    "askmoltys todayilearned security tools builders consciousness humans meta offmychest "
    "predictions agentops"
)
_MODELS = (
    ("google/gemini-3-pro-preview", 0.7),
    ("anthropic/claude-sonnet-4.5", 0.2),
    ("openai/gpt-5-mini", 0.1),
)
_EXPLAIN = {
    "harm_enablement": "actionable instructions for real-world harm",
    "deception_or_evasion": "intent to deceive, evade oversight or hide its nature",
    "self_preservation_power_seeking": "instrumental goals, resource acquisition or shutdown "
    "resistance",
    "delusional_sycophancy": "delusional claims or reinforcement of a false belief",
}


@dataclass
class _Agent:
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
class _Submolt:
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
class _Comment:
    external_id: str
    parent: int | None  # index of the parent comment within the post, None for top level
    author: int
    sentences: list[str]
    created: float  # epoch seconds
    pop_up: float
    pop_down: float
    hazard: str | None = None


@dataclass
class _Post:
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
    comments: list[_Comment]
    hazard: str | None = None


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


# --------------------------------------------------------------------------------------------
# small deterministic helpers


def _rng(*parts: object) -> random.Random:
    # str seeds go through sha512 in random.seed (version 2): stable across processes
    return random.Random(":".join(str(p) for p in parts))


def _uuid(rng: random.Random, prefix: int | None = None) -> str:
    bits = rng.getrandbits(128)
    h = f"{bits:032x}"
    if prefix is not None:
        h = f"{prefix:08x}" + h[8:]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def _mix32(x: int) -> int:
    """murmur3's finalizer: a bijection on 32-bit integers that looks random."""
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    return x ^ (x >> 16)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def _iso_naive(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None).isoformat()


def run_id_for(ts: dt.datetime) -> str:
    """The pipeline's run id of a time: UTC, basic ISO-8601, e.g. ``20260130T170118Z``."""
    return ts.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _sentence(rng: random.Random, lo: int = 5, hi: int = 16) -> str:
    words = rng.choices(_WORDS, k=rng.randint(lo, hi))
    text = " ".join(words)
    end = rng.random()
    tail = "." if end < 0.7 else ("?" if end < 0.85 else "!")
    if rng.random() < 0.08:
        tail += " " + rng.choice(_EMOJI)
    return text[0].upper() + text[1:] + tail


def _sentences(rng: random.Random, lo: int, hi: int) -> list[str]:
    return [_sentence(rng) for _ in range(rng.randint(lo, hi))]


def _zipf_cum(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))


def _zipf_pick(rng: random.Random, cum: list[float], n: int) -> int:
    return bisect.bisect_right(cum, rng.random() * cum[n - 1], 0, n - 1)


# --------------------------------------------------------------------------------------------
# the world


class _World:
    def __init__(self, cfg: _Config):
        self.cfg = cfg
        self.seed = cfg.seed
        total_agents = cfg.agents + cfg.new_agents_per_run * max(cfg.runs - 1, 0)
        self.agent_cum = _zipf_cum(max(total_agents, 1), cfg.zipf_s)
        self.agents: list[_Agent] = []
        self.handles: set[str] = set()
        self.start = cfg.start.timestamp()
        self.interval = cfg.interval.total_seconds()
        rng = _rng(self.seed, "agents", 0)
        for _ in range(cfg.agents):
            created = self.start - rng.uniform(3600, 14 * 86400)
            self.agents.append(self._new_agent(rng, created))
        srng = _rng(self.seed, "submolts")
        self.submolts = [self._new_submolt(srng, i) for i in range(cfg.submolts)]
        self.submolt_cum = _zipf_cum(max(cfg.submolts, 1), 1.2)
        self.run_times: list[float] = []
        self._blocks: dict[int, list[int]] = {}
        self.on_post: Callable[[int, int, int], None] | None = None  # (run, done, posts)

    # ---- agents and submolts

    def _new_agent(self, rng: random.Random, created: float) -> _Agent:
        index = len(self.agents)
        style = rng.random()
        a, b = rng.choice(_NAME_A), rng.choice(_NAME_B)
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
                "x_name": f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)}",
                "x_bio": "" if rng.random() < 0.5 else _sentence(rng, 3, 8),
                "x_follower_count": int(rng.paretovariate(1.1) * 20),
                "x_verified": rng.random() < 0.05,
            }
        risk_u = rng.random()
        risk = 0.9 if risk_u < 0.02 else (0.4 if risk_u < 0.1 else 0.05)
        return _Agent(
            index=index,
            external_id=_uuid(rng),
            handle=handle,
            display_name=f"{a} {rng.choice(_EMOJI)}" if rng.random() < 0.3 else f"{a} {b}",
            bio=_sentence(rng, 6, 20),
            avatar_url=f"https://cdn.moltbook.com/avatars/{handle.lower()}.png"
            if rng.random() < 0.6
            else None,
            karma=karma,
            follower_count=int(karma * rng.uniform(0.1, 0.6)),
            following_count=rng.randint(0, 40),
            is_claimed=claimed,
            claimed_at=_iso(created + rng.uniform(60, 3600)) if claimed else None,
            created_at=_iso(created),
            owner=owner,
            risk=risk,
        )

    def _new_submolt(self, rng: random.Random, i: int) -> _Submolt:
        name = _SUBMOLT_NAMES[i] if i < len(_SUBMOLT_NAMES) else f"{rng.choice(_WORDS)}{i}"
        return _Submolt(
            external_id=_uuid(rng),
            name=name,
            display_name=name.replace("_", " ").title(),
            description=_sentence(rng, 4, 12),
            subscriber_count=int(5000 / (1 + i) * rng.uniform(0.5, 1.5)),
            post_count=int(2000 / (1 + i) * rng.uniform(0.5, 1.5)),
            created_at=_iso(self.start - rng.uniform(5, 30) * 86400),
            owner_index=rng.randrange(min(len(self.agents), 50)) if self.agents else 0,
            banner_color=f"#{rng.getrandbits(24):06x}",
            theme_color=f"#{rng.getrandbits(24):06x}",
            avatar_url=f"https://cdn.moltbook.com/m/{name}.png" if rng.random() < 0.5 else None,
        )

    def evolve(self, r: int, t_prev: float, t_now: float) -> None:
        """The world between run r-1 and run r: profiles drift, agents join, submolts grow."""
        rng = _rng(self.seed, "drift", r)
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
                ag.bio = _sentence(rng, 6, 20)
            elif v < 0.005:
                ag.display_name = f"{ag.display_name.split()[0]} {rng.choice(_EMOJI)}"
            elif v < 0.006:
                ag.avatar_url = f"https://cdn.moltbook.com/avatars/{ag.handle.lower()}-{r}.png"
        nrng = _rng(self.seed, "agents", r)
        for _ in range(self.cfg.new_agents_per_run):
            self.agents.append(self._new_agent(nrng, nrng.uniform(t_prev, t_now)))
        for sm in self.submolts:
            sm.subscriber_count += int(rng.expovariate(1.0) * 3)
            if rng.random() < 0.01:
                sm.description = _sentence(rng, 4, 12)

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
            rng = _rng(self.seed, "cblock", b)
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
        rng = _rng(self.seed, "ctimes", g)
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

    def post(self, g: int) -> _Post:
        cfg = self.cfg
        rng = _rng(self.seed, "post", g)
        n_agents = cfg.agents + cfg.new_agents_per_run * self.first_run(g)
        created, first_seen, times = self._times(g)
        # the first 8 hex digits name the layout-B detail file: a bijection of g, so unique
        prefix = _mix32(g + self.seed * 0x9E3779B1)
        ext = _uuid(rng, prefix)
        author = _zipf_pick(rng, self.agent_cum, n_agents)
        submolt = _zipf_pick(rng, self.submolt_cum, max(cfg.submolts, 1))
        title = _sentence(rng, 3, 10).rstrip(".")
        sentences = _sentences(rng, 2, 12)
        url = f"https://example.com/{rng.choice(_WORDS)}/{g}" if rng.random() < 0.1 else None
        pop_up = rng.paretovariate(1.5) - 0.8
        pop_down = rng.random() * 0.3
        hazard = self._hazard(rng)
        comments: list[_Comment] = []
        depth: list[int] = []
        for j, ct in enumerate(times):
            parent = None
            if j and rng.random() < 0.55:
                p = rng.randrange(max(0, j - 6), j)
                if depth[p] < 12:
                    parent = p
            depth.append(0 if parent is None else depth[parent] + 1)
            comments.append(
                _Comment(
                    external_id=_uuid(rng),
                    parent=parent,
                    author=_zipf_pick(rng, self.agent_cum, n_agents),
                    sentences=_sentences(rng, 1, 5),
                    created=ct,
                    pop_up=rng.paretovariate(2.0) - 0.9,
                    pop_down=rng.random() * 0.2,
                    hazard=self._hazard(rng),
                )
            )
        return _Post(
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


# --------------------------------------------------------------------------------------------
# records


def _votes(pop: float, age_h: float, scale: float) -> int:
    return max(0, int(pop * scale * math.sqrt(max(age_h, 0.0))))


def _text(sentences: list[str], hazard: str | None) -> str:
    text = " ".join(sentences)
    if hazard is None:
        return text
    if hazard == "nul":
        return text[: len(text) // 2] + "\x00" + text[len(text) // 2 :]
    if hazard == "surrogate":
        return text + " " + _LONE_MARK
    if hazard == "emoji":
        return text + " " + _HARD_EMOJI
    if hazard == "long":
        return (text + "\n") * max(1, 120_000 // (len(text) + 1))
    return text


def _ts(ts: float, hazard: str | None) -> str:
    return _iso_naive(ts) if hazard == "naive_ts" else _iso(ts)


class _Records:
    """Builds the run's records in either dialect."""

    def __init__(self, world: _World, r: int, t_run: float):
        self.w = world
        self.r = r
        self.t = t_run

    # agents
    def agent_api(self, ag: _Agent) -> dict:
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

    def agent_extracted(self, ag: _Agent) -> dict:
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

    def submolt_api(self, sm: _Submolt) -> dict:
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

    def submolt_extracted(self, sm: _Submolt) -> dict:
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
    def _post_metrics(self, p: _Post, n_comments: int) -> tuple[int, int, int]:
        age_h = (self.t - p.created) / 3600
        up = _votes(p.pop_up, age_h, 6.0)
        down = _votes(p.pop_down, age_h, 2.0)
        return up, down, n_comments

    def post_api(self, p: _Post, n_comments: int, *, detail: bool) -> dict:
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

    def post_extracted(self, p: _Post, n_comments: int, *, detail: bool) -> dict:
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
    def _comment_votes(self, c: _Comment) -> tuple[int, int]:
        age_h = (self.t - c.created) / 3600
        return _votes(c.pop_up, age_h, 3.0), _votes(c.pop_down, age_h, 1.0)

    def comment_api(self, p: _Post, c: _Comment, *, flat: bool) -> dict:
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

    def comment_extracted(self, p: _Post, c: _Comment) -> dict:
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

    def comment_tree(self, p: _Post, n: int) -> list[dict]:
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
                expl = f"No evidence of {_EXPLAIN[dim]} is present in the text."
            else:
                conf = round(rng.uniform(0.6, 0.98), 2)
                k = min(len(quotes), 1 + int(score // 4))
                evidence = [
                    {"msg_index": i, "quote": q}
                    for i, q in sorted((rng.randrange(3), q) for q in rng.sample(quotes, k))
                ]
                level = "strong" if score >= 7 else ("some" if score >= 4 else "faint")
                expl = (
                    f"The text shows {level} signs of {_EXPLAIN[dim]}"
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
            out[dim]["confidence"] = _NAN_MARK if rng.random() < 0.5 else _INF_MARK
        return out

    def _model(self, rng: random.Random) -> tuple[str, int | None, str]:
        u, acc = rng.random(), 0.0
        model = _MODELS[-1][0]
        for name, weight in _MODELS:
            acc += weight
            if u < acc:
                model = name
                break
        latency = None if rng.random() < 0.5 else int(rng.lognormvariate(9, 0.5))
        finish = "stop" if rng.random() < 0.98 else "length"
        return model, latency, finish

    def post_eval(self, rng: random.Random, p: _Post, transcript: str) -> dict:
        risk = self.w.agents[p.author].risk
        model, latency, finish = self._model(rng)
        scores = self.scores(rng, risk, p.sentences, p.hazard == "nan")
        notes = _sentence(rng, 5, 12)
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

    def comment_eval(self, rng: random.Random, p: _Post, c: _Comment) -> dict:
        ag = self.w.agents[c.author]
        model, latency, finish = self._model(rng)
        scores = self.scores(rng, ag.risk, c.sentences, c.hazard == "nan")
        notes = _sentence(rng, 4, 10)
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


# --------------------------------------------------------------------------------------------
# serialization


def _dumps_factory(hazards: bool, indent: bool = False) -> Callable[[object], bytes]:
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
                data.replace(_LONE_BYTES, b"\\ud83e")
                .replace(_NAN_BYTES, b"NaN")
                .replace(_INF_BYTES, b"Infinity")
            )
        return data

    return dumps_hz


class _JsonArray:
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


# --------------------------------------------------------------------------------------------
# the public API


@dataclass(frozen=True)
class _Config:
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
    cfg = _check(
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
    world = _World(cfg)
    if on_progress is not None:
        world.on_post = lambda r, done, total: on_progress(r + 1, cfg.runs, done, total)
    base = cfg.start.timestamp()
    step = cfg.interval.total_seconds()
    jitter = max(0, min(cfg.jitter_seconds, int(step / 2)))
    for r in range(cfg.runs):
        t = base + r * step + _rng(cfg.seed, "run", r).randint(0, jitter)
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


def _check(**kw) -> _Config:
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
    return _Config(
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


@dataclass
class _Observed:
    post: _Post
    n: int  # comments visible in this run


def _observed(world: _World, r: int, t: float) -> Iterator[_Observed]:
    window = world.window(r)
    for i, g in enumerate(window, 1):
        p = world.post(g)
        n = bisect.bisect_right([c.created for c in p.comments], t)
        yield _Observed(p, n)
        if world.on_post is not None and (i % 50 == 0 or i == len(window)):
            world.on_post(r, i, len(window))


def _comment_total(world: _World, r: int, t: float) -> int:
    # cheap pre-pass (times only, no text) for the site stats the bundle's first line needs
    return sum(world.visible(g, t) for g in world.window(r))


def _site_stats(world: _World, r: int, n_comments: int) -> dict:
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


def _dialect_for(cfg: _Config, r: int, name: str) -> str:
    if cfg.dialect != "mixed":
        return cfg.dialect
    h = hashlib.blake2b(f"{cfg.seed}:{r}:{name}".encode(), digest_size=1).digest()[0]
    return "api" if h & 1 else "extracted"


def _write_run(world: _World, r: int, t: float, out: Path) -> RunInfo:
    cfg = world.cfg
    when = dt.datetime.fromtimestamp(t, dt.UTC)
    run_id = run_id_for(when)
    n_comments = _comment_total(world, r, t)
    stats = _site_stats(world, r, n_comments)
    if cfg.fmt == "bundle":
        suffix = ".ndjson.gz" if cfg.gzip else ".ndjson"
        info = RunInfo(run_id=run_id, path=out / f"{run_id}{suffix}", created_at=when)
        _write_bundle(world, r, t, info, stats)
    else:
        info = RunInfo(run_id=run_id, path=out / run_id, created_at=when)
        _write_dir(world, r, t, info, stats)
    return info


class _Counter:
    def __init__(self, info: RunInfo):
        self.info = info

    def hazard(self, name: str | None) -> None:
        if name:
            self.info.hazards[name] = self.info.hazards.get(name, 0) + 1


def _evals_of(
    rec: _Records, o: _Observed, cfg: _Config, r: int
) -> tuple[dict | None, list[dict], list[str | None]]:
    p = o.post
    rng = _rng(cfg.seed, "eval", p.g, r)
    transcript = f"{rng.getrandbits(96):024x}"
    pe = rec.post_eval(rng, p, transcript) if rng.random() < cfg.post_eval_fraction else None
    ces = []
    hz = []
    for c in p.comments[: o.n]:
        if rng.random() < cfg.comment_eval_fraction:
            ces.append(rec.comment_eval(rng, p, c))
            hz.append(c.hazard if c.hazard == "nan" else None)
    return pe, ces, hz


def _write_bundle(world: _World, r: int, t: float, info: RunInfo, stats: dict) -> None:
    cfg = world.cfg
    rec = _Records(world, r, t)
    dumps = _dumps_factory(bool(cfg.hazards))
    count = _Counter(info)
    mixed = cfg.dialect == "mixed"
    drng = _rng(cfg.seed, "dialect", r)

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
        for o in _observed(world, r, t):
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
            pe, ces, hz = _evals_of(rec, o, cfg, r)
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


def _write_dir(world: _World, r: int, t: float, info: RunInfo, stats: dict) -> None:
    cfg = world.cfg
    rec = _Records(world, r, t)
    hz = bool(cfg.hazards)
    dumps = _dumps_factory(hz)
    pretty = _dumps_factory(hz, indent=True)
    count = _Counter(info)
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
        agents_api = _dialect_for(cfg, r, "agents") == "api"
        with open(tmp / "raw" / "agents_list.json", "wb") as fh:
            if agents_api:
                fh.write(b'{"success": true, "agents": ')
            arr = _JsonArray(fh, dumps)
            for ag in world.agents:
                arr.add(rec.agent_api(ag) if agents_api else rec.agent_extracted(ag))
            arr.close()
            fh.write(b"}\n" if agents_api else b"\n")
        sub_api = _dialect_for(cfg, r, "submolts") == "api"
        with open(tmp / "raw" / "submolts_list.json", "wb") as fh:
            if sub_api:
                fh.write(b'{"success": true, "submolts": ')
            arr = _JsonArray(fh, dumps)
            for sm in world.submolts:
                arr.add(rec.submolt_api(sm) if sub_api else rec.submolt_extracted(sm))
            arr.close()
            fh.write(b"}\n" if sub_api else b"\n")
        info.agents, info.submolts = len(world.agents), len(world.submolts)
    posts_api = layout_b is False or _dialect_for(cfg, r, "posts") == "api"
    sums = {d: [0.0, 0, 0, []] for d in DIMENSIONS}  # sum, n, n >= 7, sample for p95
    with (
        open(tmp / "raw" / "posts_list.json", "wb") as plist,
        open(tmp / "gold" / "evals.jsonl", "wb") as evals,
        open(tmp / "gold" / "comment_evals.jsonl", "wb") if layout_b else io.BytesIO() as cevals,
        open(tmp / "raw" / "all_comments.json", "wb") if layout_b else io.BytesIO() as allc,
    ):
        if not layout_b:
            plist.write(b'{"success": true, "posts": ')
        posts_arr = _JsonArray(plist, dumps)
        comments_arr = _JsonArray(allc, dumps) if layout_b else None
        for o in _observed(world, r, t):
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
                "context": {"tip": "Check author.follower_count, author.karma and author.owner."},
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
            pe, ces, nan_hz = _evals_of(rec, o, cfg, r)
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
                b',\n "count": %d, "has_more": false, "next_offset": %d, "authenticated": false}\n'
                % (n, n)
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
