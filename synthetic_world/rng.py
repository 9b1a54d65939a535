"""Seeded randomness: every random choice in a world comes from an RNG derived here.

A world must be byte-identical for the same seed, whatever order chunks are generated in and
however many worker processes run, so nothing may touch the global `random` state or the clock.
Each chunk and each purpose (people, sources, events) gets its own `random.Random`, seeded from a
string: string seeds are hashed with SHA-512 by `random`, so they do not depend on
PYTHONHASHSEED and differ completely between neighbouring chunks.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def derive_rng(seed: int, purpose: str, index: int = 0) -> random.Random:
    """An independent RNG for one purpose of one chunk of the world with this seed."""
    return random.Random(f"lakecdp-world:{seed}:{purpose}:{index}")


def uuid4_from(rng: random.Random) -> str:
    """A version-4 UUID string drawn from `rng` (uuid.uuid4 would read the OS entropy pool)."""
    value = rng.getrandbits(128)
    value = (value & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class UniqueNumbers:
    """A bijection of [0, modulus): distinct keys always give distinct, random-looking numbers.

    Identifiers that must never collide between people (email suffixes, loyalty numbers, record
    ids) are derived from a person's global index through this permutation, so uniqueness holds
    across chunks without remembering what was already issued.
    """

    modulus: int
    multiplier: int
    offset: int

    @classmethod
    def create(cls, seed: int, purpose: str, modulus: int) -> UniqueNumbers:
        rng = derive_rng(seed, f"unique:{purpose}")
        multiplier = rng.randrange(modulus // 3, modulus)
        # Coprime with powers of ten and of two: odd and not a multiple of five.
        while multiplier % 2 == 0 or multiplier % 5 == 0:
            multiplier += 1
        return cls(modulus, multiplier % modulus or 1, rng.randrange(modulus))

    def __call__(self, key: int) -> int:
        if not 0 <= key < self.modulus:
            raise ValueError(f"key {key} outside [0, {self.modulus}) for a unique number")
        return (key * self.multiplier + self.offset) % self.modulus


# Hot-path draws. `random.Random.randrange`/`choices` cost about a microsecond each in pure
# Python; these use one `random()` call. Fine for spans far below 2**53, which is all we draw.
def below(rng: random.Random, n: int) -> int:
    """A uniform integer in [0, n)."""
    return int(rng.random() * n)


def between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high)."""
    return low + int(rng.random() * (high - low))


def pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


def cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return tuple(out)


def weighted(rng: random.Random, items: Sequence[T], cum_weights: Sequence[float]) -> T:
    """One of `items`, with probability proportional to its weight (given cumulated)."""
    index = bisect_right(cum_weights, rng.random() * cum_weights[-1])
    return items[min(index, len(items) - 1)]
