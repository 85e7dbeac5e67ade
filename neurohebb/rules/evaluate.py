"""The algebra's float semantics in plain numpy: one step of a rule.

This is the readable form of what every float backend computes (the reference's
generated numba kernels are tested against it product by product; the rules
with non-local variables run on it directly)::

    dZ[i, j] = sum_k c_k * D_k * prod_f F_kf          (Z = w for dw, e for de)

with the dependency ``D_k`` = ``y[i]`` (``y0``), ``x[j]`` (``x0``) or 1 (``u``),
and each factor a post-level value ``[i]``, a pre-level value ``[j]`` or a
synaptic value ``[i, j]``, possibly through ``(var + c)`` or a declared
function.  Under ``exclusive`` timing a product with dependency ``x0``/``y0``
reads every trace as it was before this step's impulses; ``u`` products and
``inclusive`` timing read them after.  Every product reads ``w`` and ``e`` before
the step's update.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import nonlinearities


def delta(products, lookup: Callable, x, y, shape, exclusive: bool, traces, functions, dtype=np.float64):
    """``sum_k`` of ``products`` as a (post, pre) array.

    ``lookup(var, before)`` returns the value of ``var`` (post level: (post,),
    pre level: (pre,), synaptic: (post, pre), or a scalar); ``before`` asks for
    a trace's value before this step's impulse.  ``x``, ``y``: the arriving pre
    and the post activity of the step (the dependencies)."""
    dtype = np.dtype(dtype)
    npost, npre = shape
    acc = np.zeros(shape, dtype)
    for p in products:
        before = exclusive and p.dep != "u"
        post = np.full(npost, p.coeff, dtype)
        pre = np.ones(npre, dtype)
        syn = None
        for f in p.factors:
            val = lookup(f.var, before and f.var in traces)
            if f.fn:
                val = nonlinearities.evaluate(functions[f.fn], np.asarray(val, dtype))
            elif f.offset:
                val = val + f.offset
            if f.level == "post":
                post = post * val
            elif f.level == "pre":
                pre = pre * val
            else:
                syn = val if syn is None else syn * val
        if p.dep == "y0":
            post = post * y
        elif p.dep == "x0":
            pre = pre * x
        term = np.outer(post, pre)
        if syn is not None:
            term *= syn
        acc += term
    return acc


def step(rule, lookup, x, y, W, E, lo, hi, mask=None, dtype=np.float64):
    """One learning step in place: ``W <- clip(W + dw, lo, hi)`` (absent
    synapses stay 0) and ``E <- E + de``; returns ``(dw, de)``."""
    excl = rule.timing == "exclusive"
    dw = delta(rule.dw, lookup, x, y, W.shape, excl, rule.traces, rule.functions, dtype)
    de = delta(rule.de, lookup, x, y, W.shape, excl, rule.traces, rule.functions, dtype) if rule.de else None
    W_new = np.clip(W + dw, lo, hi).astype(dtype, copy=False)
    if mask is not None:
        W_new = np.where(mask, W_new, 0).astype(dtype, copy=False)
    if de is not None:
        E += de if mask is None else np.where(mask, de, 0)
    W[...] = W_new
    return dw, de
