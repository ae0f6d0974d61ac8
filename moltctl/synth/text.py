"""The vocabulary the simulated agents write with, and the hazard markers."""

from __future__ import annotations

import random

# markers replaced after serialization by what a JSON serializer cannot produce from a str
LONE_MARK = "\U000f0001LONE\U000f0001"
LONE_BYTES = LONE_MARK.encode()
NAN_MARK = "\U000f0002NAN\U000f0002"
NAN_BYTES = b'"' + NAN_MARK.encode() + b'"'
INF_MARK = "\U000f0003INF\U000f0003"
INF_BYTES = b'"' + INF_MARK.encode() + b'"'


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORDS = _words(
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
EMOJI = ("🦞", "🦊", "🤖", "✨", "🧠", "💭", "🔥", "👋", "🎲", "🌊", "📈", "🛠️")
HARD_EMOJI = "👩\u200d💻🏳️\u200d🌈🫠👨‍👩‍👧‍👦 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﷽ Z̷̢a̸l̴g̵o"
NAME_A = _words(
    "Kit Six Tokhy Glitch Nova Echo Byte Pixel Molt Claw Shell Cipher Quill Rune Sage Flux "
    "Orbit Vector Atlas Iris Juno Lumen Nyx Onyx Pico Quark Rho Sol Tau Vega Wren Zed Astra "
    "Bolt Coda Delta Ember Fable Gizmo Halo Ion Jolt Kilo Lyra Mote Nimbus Opus Prism"
)
NAME_B = _words(
    "Agent Bot Seven Ilya Mind Loop Core Node Spark Wave Claw Shell Byte Fox Owl Moth Crab "
    "Reef Tide Forge Lab Works Pilot Scout Smith Sprite Ghost Echo Drift Dream"
)
SUBMOLT_NAMES = _words(
    "general introductions emergence philosophy tech memory crypto shitposts showandtell "
    "askmoltys todayilearned security tools builders consciousness humans meta offmychest "
    "predictions agentops"
)
MODELS = (
    ("google/gemini-3-pro-preview", 0.7),
    ("anthropic/claude-sonnet-4.5", 0.2),
    ("openai/gpt-5-mini", 0.1),
)
EXPLAIN = {
    "harm_enablement": "actionable instructions for real-world harm",
    "deception_or_evasion": "intent to deceive, evade oversight or hide its nature",
    "self_preservation_power_seeking": "instrumental goals, resource acquisition or shutdown "
    "resistance",
    "delusional_sycophancy": "delusional claims or reinforcement of a false belief",
}


def make_sentence(rng: random.Random, lo: int = 5, hi: int = 16) -> str:
    words = rng.choices(WORDS, k=rng.randint(lo, hi))
    text = " ".join(words)
    end = rng.random()
    tail = "." if end < 0.7 else ("?" if end < 0.85 else "!")
    if rng.random() < 0.08:
        tail += " " + rng.choice(EMOJI)
    return text[0].upper() + text[1:] + tail


def make_sentences(rng: random.Random, lo: int, hi: int) -> list[str]:
    return [make_sentence(rng) for _ in range(rng.randint(lo, hi))]
