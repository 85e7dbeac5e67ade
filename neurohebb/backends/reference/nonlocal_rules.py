"""Rules with non-local variables (``wT``, ``xp``, ``vp``, ``bx``, ``bv``, ``xi``;
see :mod:`neurohebb.rules.algebra`) on the reference float backend.

The generated kernels see only one projection; these rules also read their
``partner`` projection, so they are evaluated here with numpy, product by
product, with the algebra's semantics (every product reads the state before
the step's updates; then ``w += dw`` clipped to the bounds, ``e += de``; absent
synapses stay 0; then the next step's input ``out += W(t+1) @ x_next``).

Partner variables are taken before any learning of the step (:func:`snapshot`
runs before the projections learn): ``wT`` is the partner's weight before its
own update this step, ``xp`` its arriving pre activity ``a_pre[t - 1 - delay]``
(the activity its post's ``v`` was computed from), ``vp`` its post's ``v[t]``.
``xi`` is drawn from a generator seeded by ``(seed, "noise:<projection>")``,
one standard normal number per synapse and step, shared by every product of
that step.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedFeature
from ...rules import evaluate
from ...semantics import rng_for


def setup(projs, seed):
    """Give every projection with a non-local rule its noise generator."""
    for name, pr in projs.items():
        if pr.rule is not None and pr.rule.nonlocal_vars():
            pr.nl_rng = rng_for(seed, f"noise:{name}")
            pr.nl_state = None


def users(projs):
    """``[(projection, partner projection)]`` of the rules with non-local variables."""
    return [(pr, projs.get(pr.rule.partner)) for pr in projs.values()
            if pr.rule is not None and pr.rule.nonlocal_vars()]


def snapshot(pairs, buf, t):
    """Before the step's learning: each user's partner state (W copy, arriving
    pre activity, post v) and its noise draw."""
    for pr, q in pairs:
        st = {}
        used = pr.rule.used_vars() | {f.var for p in pr.rule.products() for f in p.factors}
        if q is not None:
            if "wT" in used:
                st["wT"] = q.W.T.copy()
            b = buf[q.pre.name]
            st["xp"] = b[(t - 1 - q.delay) % b.shape[0]].copy()
            st["vp"] = q.post.v.copy()
        if "xi" in used:
            st["xi"] = pr.nl_rng.standard_normal(pr.W.shape).astype(pr.dtype, copy=False)
        pr.nl_state = st


def learn(pr, x_arr, y, r, v, xnext, out, d=None):
    """One step of a non-local rule on projection ``pr`` (traces already updated)."""
    rule, st, W, dt = pr.rule, pr.nl_state, pr.W, pr.dtype
    L = pr.layout
    cache = {}

    def base(var, before):
        if var in L.pre_traces:
            return (pr.XTb if before else pr.XTa)[L.pre_traces.index(var)]
        if var in L.post_traces:
            return (pr.YTb if before else pr.YTa)[L.post_traces.index(var)]
        if var == "r":
            return np.broadcast_to(np.asarray(r, dt), (pr.post.n,))
        if var == "v":
            return v
        if var == "d":
            return d
        if var == "w":
            return W
        if var == "e":
            return pr.E
        if var in ("wT", "xp", "vp", "xi"):
            return st[var]
        if var == "bx":  # sum_i w_ij xp_i
            if "bx" not in cache:
                cache["bx"] = W.T @ st["xp"]
            return cache["bx"]
        if var == "bv":  # sum_j w_ij vp_j
            if "bv" not in cache:
                cache["bv"] = W @ st["vp"]
            return cache["bv"]
        raise UnsupportedFeature(f"projections.{pr.name}.rule: unknown variable {var!r}")

    evaluate.step(rule, base, x_arr, y, W, pr.E, pr.lo, pr.hi, pr.mask, dt)
    out += W @ np.asarray(xnext, dt)
