"""Connectivity and initial weights of a projection, drawn from the run seed.

Every backend builds its synapses from these functions, so a document and a
seed give the same (post, pre) weights and mask everywhere.
"""
from __future__ import annotations

import numpy as np

from ..errors import NetworkError
from ..ir.validate import size
from .seeds import rng_for


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
    raise NetworkError([(f"projections.{name}.connectivity.type", f"unknown connectivity {c.type!r}")])


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
    else:  # the schema admits no other init
        raise NetworkError([(f"projections.{name}.weights.init", f"unknown init {w.init!r}")])
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
