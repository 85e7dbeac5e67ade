"""Synapse layout of a projection on the reference: dense or sparse.

``layout`` in a projection chooses: ``dense`` (a (post, pre) matrix),
``sparse`` (one entry per existing synapse) or ``auto`` (the default): sparse
when the connectivity's density (synapses / (post x pre)) is below
:data:`AUTO_DENSITY`, dense for all-to-all and dense masks.  Results do not
depend on the layout.  A function of the document alone, so the memory
estimate (:mod:`neurohebb.ir.limits`) and the reference agree.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import UnsupportedFeature
from .sizes import size

#: density below which ``layout: auto`` stores a projection sparsely (measured:
#: benchmarks/bench_sparse.py, docs/performance.md)
AUTO_DENSITY = 0.3


def density(net, name) -> float | None:
    """The expected fraction of (post, pre) pairs that are synapses, from the
    parameters alone (for ``distance`` with ``max_distance``, an upper bound;
    None when only drawing would tell: ``gaussian_arbor``, ``distance``
    without a cut-off)."""
    pr = net.projections[name]
    c = pr.connectivity
    npre, npost = size(net, pr.pre), size(net, pr.post)
    pairs = max(1, npre * npost)
    if c.type == "all_to_all":
        return 1.0
    if c.type == "one_to_one":
        return min(npre, npost) / pairs
    if c.type == "fixed_probability":
        return float(c.p)
    if c.type == "fixed_indegree":
        return c.k * npost / pairs
    if c.type == "fixed_outdegree":
        return c.k * npre / pairs
    if c.type == "from_list":
        return len(np.asarray(c.pairs).reshape(-1, 2)) / pairs
    if c.type == "mask":
        return float(np.asarray(c.values).astype(bool).mean())
    if c.type == "distance" and c.max_distance is not None:
        # at most p_max x the pre cells within max_distance of a post cell (one cell per unit area)
        return min(1.0, c.p_max * math.pi * (c.max_distance + 1.0) ** 2 / max(1, npre))
    return None


def sparse_refusal(net, name) -> str | None:
    """Why projection ``name`` cannot be stored sparsely (None: it can)."""
    pr = net.projections[name]
    if pr.rule is not None and pr.rule.expand().nonlocal_vars():
        return ("its rule reads partner variables (non-local: wT, xp, vp or xi), which the reference evaluates on "
                "dense (post, pre) arrays")
    for k, q in net.projections.items():
        qr = q.rule.expand() if q.rule is not None else None
        if qr is not None and getattr(qr, "partner", None) == name and qr.nonlocal_vars():
            return f"it is the partner of {k!r}, whose non-local rule reads its dense weights"
    return None


def choose(net, name) -> str:
    """``"dense"`` or ``"sparse"`` for projection ``name`` (``layout`` field;
    ``auto``: sparse below :data:`AUTO_DENSITY`).  A forced ``sparse`` the
    reference cannot do raises :class:`UnsupportedFeature`."""
    pr = net.projections[name]
    why = sparse_refusal(net, name)
    if pr.layout == "sparse":
        if why:
            raise UnsupportedFeature(f"projections.{name}.layout: sparse is not supported here: {why}; use layout: "
                                     "dense or auto")
        return "sparse"
    if pr.layout == "dense" or why:
        return "dense"
    d = density(net, name)
    return "sparse" if d is not None and d < AUTO_DENSITY else "dense"




def expected_synapses(net, name) -> int:
    """The synapse count of projection ``name`` (expected, for random connectivity;
    post x pre when the density is unknown before drawing)."""
    pr = net.projections[name]
    pairs = size(net, pr.pre) * size(net, pr.post)
    d = density(net, name)
    return int(round(pairs * (1.0 if d is None else d)))
