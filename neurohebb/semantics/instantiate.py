"""Connectivity and initial weights of a projection, drawn from the run seed.

Every backend builds its synapses from these functions, so a document and a
seed give the same (post, pre) weights and mask everywhere.  Two views of the
same synapses:

* dense: :func:`initial_weights` -> ((post, pre) weights, boolean mask or None);
* sparse: :func:`initial_synapses` -> (post indices, pre indices, weights), one
  entry per existing synapse sorted by (post, pre), built without a dense
  (post, pre) array (memory proportional to the synapse count).

``fixed_probability`` and ``gaussian_arbor`` connectivity and the random
weight inits of the all-to-all, ``one_to_one``, ``mask``, ``fixed_probability``
and ``gaussian_arbor`` connectivities draw one number per (post, pre) *pair*
(row by row, so the sparse view draws them in blocks of rows and keeps only the
synapses; its time still grows with post x pre).  ``fixed_indegree``,
``fixed_outdegree``, ``from_list`` and ``distance`` draw one weight per
*synapse*, in (post, pre) order (the cost of the first three grows with the
synapse count only; ``distance`` draws its connectivity per pair).
"""
from __future__ import annotations

import numba
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


#: connectivity types whose random inits draw one value per synapse (the others: per (post, pre) pair)
PER_SYNAPSE_TYPES = ("fixed_indegree", "fixed_outdegree", "from_list", "distance")
_BLOCK = 1 << 22  # numbers drawn per block of rows in the sparse view


def _row_blocks(npost, npre):
    rows = max(1, _BLOCK // max(1, npre))
    for a in range(0, npost, rows):
        yield a, min(npost, a + rows)


@numba.njit(cache=True, nogil=True)
def _distinct_sorted(u, n_all, first, exclude_self, out):
    """Row ``r`` of ``out``: ``k`` distinct sorted integers of ``range(n_all)``
    (without ``first + r`` when ``exclude_self`` and ``first + r < n_all``),
    by Floyd's algorithm from the uniforms ``u[r]``."""
    rows, k = u.shape
    seen = np.zeros(n_all, np.bool_)
    for r in range(rows):
        me = first + r
        skip = exclude_self and me < n_all
        n = n_all - 1 if skip else n_all
        for c in range(k):
            jj = n - k + c
            t = np.int64(u[r, c] * (jj + 1))
            if t > jj:
                t = jj
            if seen[t]:
                t = jj
            seen[t] = True
            out[r, c] = t
        for c in range(k):
            seen[out[r, c]] = False
        out[r].sort()
        if skip:
            for c in range(k):
                if out[r, c] >= me:
                    out[r, c] += 1


def _degree(rng, rows, n_all, k, allow_self):
    """(rows, k) sorted distinct partners per row, drawn in blocks."""
    out = np.empty((rows, k), np.int64)
    step = max(1, _BLOCK // max(1, k))
    for a in range(0, rows, step):
        b = min(rows, a + step)
        _distinct_sorted(rng.random((b - a, k)), n_all, a, not allow_self, out[a:b])
    return out


def synapse_indices(net, name, seed) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(post, pre, order)``: the existing synapses' indices (int64), sorted
    by (post, pre), built without a (post, pre) array; ``order[s]`` is the
    position in ``pairs`` of synapse ``s`` for ``from_list`` (else None).
    The same synapses as :func:`connectivity_mask`."""
    pr = net.projections[name]
    npre, npost = size(net, pr.pre), size(net, pr.post)
    c = pr.connectivity
    rng = rng_for(seed, f"connectivity:{name}")
    if c.type == "all_to_all":
        return np.repeat(np.arange(npost), npre), np.tile(np.arange(npre), npost), None
    if c.type == "one_to_one":
        i = np.arange(min(npost, npre))
        return i, i.copy(), None
    if c.type in ("fixed_probability", "gaussian_arbor", "distance"):
        if c.type in ("gaussian_arbor", "distance"):
            pre_c, post_c = _grid_centres(c.pre_shape, c.post_shape)
        posts, pres = [], []
        for a, b in _row_blocks(npost, npre):
            if c.type == "fixed_probability":
                m = rng.random((b - a, npre)) < c.p
                if not c.allow_self:
                    d = np.arange(a, min(b, npre))
                    m[d - a, d] = False
            elif c.type == "gaussian_arbor":
                d2 = ((post_c[a:b, None, :] - pre_c[None, :, :]) ** 2).sum(-1)
                m = rng.random((b - a, npre)) < c.p_max * np.exp(-d2 / (2 * c.sigma**2))
            else:
                d = np.sqrt(((post_c[a:b, None, :] - pre_c[None, :, :]) ** 2).sum(-1))
                prob = c.p_max * np.exp(-d / c.scale)
                if c.max_distance is not None:
                    prob[d > c.max_distance] = 0.0
                m = rng.random((b - a, npre)) < prob
            i, j = np.nonzero(m)
            posts.append(i + a)
            pres.append(j)
        return (np.concatenate(posts) if posts else np.zeros(0, np.int64),
                np.concatenate(pres) if pres else np.zeros(0, np.int64), None)
    if c.type == "mask":
        i, j = np.nonzero(np.asarray(c.values).astype(bool))
        return i, j, None
    if c.type == "fixed_indegree":
        pre = _degree(rng, npost, npre, c.k, c.allow_self)
        return np.repeat(np.arange(npost), c.k), pre.reshape(-1), None
    if c.type == "fixed_outdegree":
        post = _degree(rng, npre, npost, c.k, c.allow_self).reshape(-1)
        pre = np.repeat(np.arange(npre), c.k)
        o = np.lexsort((pre, post))
        return post[o], pre[o], None
    if c.type == "from_list":
        pairs = np.asarray(c.pairs, np.int64).reshape(-1, 2)
        o = np.lexsort((pairs[:, 1], pairs[:, 0]))
        return pairs[o, 0].copy(), pairs[o, 1].copy(), o
    raise NetworkError([(f"projections.{name}.connectivity.type", f"unknown connectivity {c.type!r}")])


def _dense_from(npost, npre, post, pre, values=None, dtype=float):
    if values is None:
        M = np.zeros((npost, npre), bool)
        M[post, pre] = True
        return M
    W = np.zeros((npost, npre), dtype)
    W[post, pre] = values
    return W


def connectivity_mask(net, name, seed) -> np.ndarray | None:
    """Boolean (post, pre) mask, or None for all-to-all."""
    pr = net.projections[name]
    npre, npost = size(net, pr.pre), size(net, pr.post)
    c = pr.connectivity
    rng = rng_for(seed, f"connectivity:{name}")
    if c.type == "all_to_all":
        return None
    if c.type in PER_SYNAPSE_TYPES:
        post, pre, _ = synapse_indices(net, name, seed)
        return _dense_from(npost, npre, post, pre)
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


def _bounds_error(name, pr, n_out, n_all, lo_found, hi_found):
    lo, hi = pr.effective_bounds()
    return NetworkError([(f"projections.{name}.weights",
                          f"{n_out} of {n_all} initial weights lie outside [{lo}, {hi}] "
                          f"(sign {pr.sign}, bounds {pr.bounds}); range found [{lo_found:.4g}, {hi_found:.4g}]. "
                          "Choose an init within the bounds or set clip_to_bounds: true")])


def _synapse_values(net, name, seed, post, pre, order) -> np.ndarray:
    """Initial float64 weight of each synapse (before bounds)."""
    pr = net.projections[name]
    npre, npost = size(net, pr.pre), size(net, pr.post)
    w = pr.weights
    rng = rng_for(seed, f"weights:{name}")
    n = post.size
    per_syn = pr.connectivity.type in PER_SYNAPSE_TYPES

    def drawn(draw):  # draw(shape) -> values of the synapses, in the document's draw order
        if per_syn:
            return draw(n)
        out = np.empty(n)
        starts = np.searchsorted(post, np.arange(npost + 1))
        for a, b in _row_blocks(npost, npre):
            block = draw((b - a, npre))
            s0, s1 = starts[a], starts[b]
            out[s0:s1] = block[post[s0:s1] - a, pre[s0:s1]]
        return out

    if w.init == "constant":
        return np.full(n, float(w.value))
    if w.init == "uniform":
        return drawn(lambda shape: rng.uniform(w.low, w.high, shape))
    if w.init == "normal":
        return drawn(lambda shape: rng.normal(w.mean, w.std, shape))
    if w.init == "gaussian_arbor":
        pre_c, post_c = _grid_centres(w.pre_shape, w.post_shape)
        d2 = ((post_c[post] - pre_c[pre]) ** 2).sum(-1)
        W = w.amplitude * np.exp(-d2 / (2 * w.sigma**2))
        if w.noise:
            W = W + drawn(lambda shape: rng.normal(0.0, w.noise, shape))
        return W
    if w.init == "array":
        return np.asarray(w.values, dtype=float)[post, pre]
    if w.init == "list":
        return np.asarray(w.values, dtype=float).reshape(-1)[order]
    raise NetworkError([(f"projections.{name}.weights.init", f"unknown init {w.init!r}")])


def initial_synapses(net, name, seed, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(post, pre, w)``: the synapses of projection ``name`` sorted by (post,
    pre) and their initial weights, equal to the entries of
    :func:`initial_weights`' dense matrix, without allocating it."""
    pr = net.projections[name]
    post, pre, order = synapse_indices(net, name, seed)
    W = _synapse_values(net, name, seed, post, pre, order)
    lo, hi = pr.effective_bounds()
    outside = (W < lo) | (W > hi)
    if outside.any():
        if not pr.weights.clip_to_bounds:
            raise _bounds_error(name, pr, int(outside.sum()), outside.size, W.min(), W.max())
        W = np.clip(W, lo, hi)
    return post, pre, W.astype(dtype)


def initial_weights(net, name, seed, dtype) -> tuple[np.ndarray, np.ndarray | None]:
    pr = net.projections[name]
    npre, npost = size(net, pr.pre), size(net, pr.post)
    w = pr.weights
    if pr.connectivity.type in PER_SYNAPSE_TYPES:
        post, pre, W = initial_synapses(net, name, seed, np.float64)
        return _dense_from(npost, npre, post, pre, W).astype(dtype), _dense_from(npost, npre, post, pre)
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
            raise _bounds_error(name, pr, int(outside.sum()), outside.size, W.min(), W.max())
    return W.astype(dtype), mask
