"""Instantiate an IR network's arrays: weights, masks, source trains.

Random draws come from one ``numpy.random.Generator`` per named object, seeded
from ``(seed, crc32(kind:name))``, so results do not depend on dict order and
one object's draws do not shift another's.
"""
from __future__ import annotations

import zlib

import numpy as np

from ...errors import NetworkError
from ...ir import schema as S
from ...ir.validate import size


def rng_for(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(key.encode()),)))


def _grid_centres(pre_shape, post_shape):
    """Positions of pre cells and of post cells mapped onto the pre grid."""
    ph, pw = pre_shape
    qh, qw = post_shape
    pre = np.stack(np.meshgrid(np.arange(ph), np.arange(pw), indexing="ij"), -1).reshape(-1, 2).astype(float)
    qi, qj = np.meshgrid(np.arange(qh), np.arange(qw), indexing="ij")
    post = np.stack([(qi + 0.5) * ph / qh - 0.5, (qj + 0.5) * pw / qw - 0.5], -1).reshape(-1, 2)
    return pre, post


def arbor_distance2(pre_shape, post_shape):
    pre, post = _grid_centres(pre_shape, post_shape)
    return ((post[:, None, :] - pre[None, :, :]) ** 2).sum(-1)


def connectivity_mask(net, name, seed) -> np.ndarray | None:
    """Boolean (post, pre) mask, or None for all-to-all."""
    pr = net.projections[name]
    npre, npost = size(net, pr.pre), size(net, pr.post)
    c = pr.connectivity
    rng = rng_for(seed, f"connectivity:{name}")
    if c.type == "all_to_all":
        return None
    if c.type == "one_to_one":
        return np.eye(npost, npre, dtype=bool)
    if c.type == "fixed_probability":
        m = rng.random((npost, npre)) < c.p
        if not c.allow_self:
            np.fill_diagonal(m, False)
        return m
    if c.type == "gaussian_arbor":
        d2 = arbor_distance2(c.pre_shape, c.post_shape)
        return rng.random((npost, npre)) < c.p_max * np.exp(-d2 / (2 * c.sigma**2))
    if c.type == "mask":
        return np.asarray(c.values).astype(bool)
    raise AssertionError(c.type)


def initial_weights(net, name, seed, dtype) -> tuple[np.ndarray, np.ndarray | None]:
    pr = net.projections[name]
    npre, npost = size(net, pr.pre), size(net, pr.post)
    w = pr.weights
    rng = rng_for(seed, f"weights:{name}")
    shape = (npost, npre)
    if w.init == "constant":
        W = np.full(shape, w.value)
    elif w.init == "uniform":
        W = rng.uniform(w.low, w.high, shape)
    elif w.init == "normal":
        W = rng.normal(w.mean, w.std, shape)
    elif w.init == "gaussian_arbor":
        W = w.amplitude * np.exp(-arbor_distance2(w.pre_shape, w.post_shape) / (2 * w.sigma**2))
        if w.noise:
            W = W + rng.normal(0.0, w.noise, shape)
    elif w.init == "array":
        W = np.array(w.values, dtype=float)
    else:  # pragma: no cover
        raise AssertionError(w.init)
    mask = connectivity_mask(net, name, seed)
    if mask is not None:
        W = np.where(mask, W, 0.0)
    lo, hi = pr.effective_bounds()
    outside = (W < lo) | (W > hi)
    if mask is not None:
        outside &= mask
    if outside.any():
        if w.clip_to_bounds:
            W = np.clip(W, lo, hi)
            if mask is not None:
                W = np.where(mask, W, 0.0)
        else:
            raise NetworkError([(f"projections.{name}.weights",
                                 f"{int(outside.sum())} of {outside.size} initial weights lie outside [{lo}, {hi}] "
                                 f"(sign {pr.sign}, bounds {pr.bounds}); range found [{W.min():.4g}, {W.max():.4g}]. "
                                 "Choose an init within the bounds or set clip_to_bounds: true")])
    return W.astype(dtype), mask


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
            v = np.asarray(src.values)
            self.graded = v.dtype.kind == "f" and not np.all((v == 0) | (v == 1))
            self.values = v.astype(dtype)

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
