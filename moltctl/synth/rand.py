"""Small deterministic helpers: every random draw comes from a seed and a name."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random


def seeded_rng(*parts: object) -> random.Random:
    # str seeds go through sha512 in random.seed (version 2): stable across processes
    return random.Random(":".join(str(p) for p in parts))


def fake_uuid(rng: random.Random, prefix: int | None = None) -> str:
    bits = rng.getrandbits(128)
    h = f"{bits:032x}"
    if prefix is not None:
        h = f"{prefix:08x}" + h[8:]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def mix32(x: int) -> int:
    """murmur3's finalizer: a bijection on 32-bit integers that looks random."""
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    return x ^ (x >> 16)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def iso_naive(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None).isoformat()


def zipf_cum(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))


def zipf_pick(rng: random.Random, cum: list[float], n: int) -> int:
    return bisect.bisect_right(cum, rng.random() * cum[n - 1], 0, n - 1)
