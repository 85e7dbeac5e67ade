"""Random streams derived from the run seed.

Random draws come from one ``numpy.random.Generator`` per named object, seeded
from ``(seed, crc32(kind:name))``, so results do not depend on dict order and
one object's draws do not shift another's.
"""
from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, key: str) -> np.random.Generator:
    """The generator of the object ``key`` (e.g. ``"weights:syn"``) for run seed ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(key.encode()),)))


def derived_seeds(seed: int, name: str) -> tuple[int, int]:
    """(trace seed, rounding seed) of plastic projection ``name``'s fixed-point
    learning engine for run seed ``seed`` (the reference's fixed mode and the
    Lava backend seed Lava's random streams with these)."""
    g = rng_for(seed, f"fixed:{name}")
    return int(g.integers(0, 2**31 - 8)), int(g.integers(0, 2**31 - 8))
