"""Activity of source populations (and prescribed populations), step by step.

The trains are drawn from the run seed and the population's name, so every
backend that takes its input from :class:`SourceTrain` sees the same spikes.
"""
from __future__ import annotations

import numpy as np

from ..errors import NetworkError
from ..ir import schema as S
from .seeds import rng_for


class SourceTrain:
    """Activity of a source (or a prescribed population) step by step."""

    CHUNK = 1024

    def __init__(self, src, n, dt, seed, key, dtype):
        self.src, self.n, self.dt, self.dtype = src, n, dt, dtype
        self.rng = rng_for(seed, key)
        self.graded = False
        if isinstance(src, S.SpikeTimes):
            self.events: dict[int, list[int]] = {}
            for k, ts in enumerate(src.times):
                for t in ts:
                    self.events.setdefault(int(t), []).append(k)
        elif isinstance(src, S.Poisson):
            r = np.asarray(src.rates, dtype=float)
            self.p = r * dt / 1000.0
            self._chunk_start = -1
            self._chunk = None
        elif isinstance(src, S.ArraySource):
            self.graded = src.graded
            self.values = np.asarray(src.values).astype(dtype)

    def check_steps(self, steps, path):
        if isinstance(self.src, S.ArraySource) and not self.src.repeat and self.values.shape[0] < steps:
            raise NetworkError([(f"{path}.values", f"covers {self.values.shape[0]} steps but the run has {steps}; "
                                                   "give more rows or set repeat: true")])

    def at(self, t: int) -> np.ndarray:
        src = self.src
        if isinstance(src, S.SpikeTimes):
            out = np.zeros(self.n, self.dtype)
            idx = self.events.get(t)
            if idx:
                out[idx] = 1
            return out
        if isinstance(src, S.Poisson):
            c0 = (t // self.CHUNK) * self.CHUNK
            if c0 != self._chunk_start:
                steps = np.arange(c0, c0 + self.CHUNK)
                if self.p.ndim == 2:
                    p = self.p[steps % self.p.shape[0]]
                else:
                    p = np.broadcast_to(self.p, (self.n,))
                self._chunk = (self.rng.random((self.CHUNK, self.n)) < p).astype(self.dtype)
                self._chunk_start = c0
            return self._chunk[t - c0]
        v = self.values
        return v[t % v.shape[0]]
