"""The stock semantics (``semantics="stock"``): what Lava's own process
classes compute for a document (the lava backend's ``lowering="stock"``, what a
Loihi 2 board runs), as opposed to the document's semantics.

Each departure is a named part, so its effect can be measured alone
(``stock_parts=("timing",)``); ``semantics="stock"`` applies all of them:

``timing``
    LearningDense pairs the pre spike emitted at ``t`` with the post spike of
    ``t`` (the document pairs the spike arriving at ``t``, emitted at
    ``t - 1 - delay``), and Dense delivers ``W @ a_pre[t]`` at ``t + 1`` with
    the weights *before* step ``t``'s learning (the document: after).
``refractory``
    LIF populations run without their refractory period (Lava's LIF has none).
``latency``
    host input (sources, prescribed trains) reaches the chip
    ``latency`` steps late (the embedded-IO crossing).
``sparse_zero``
    (fixed) a synapse of a masked plastic projection whose initial integer
    weight is 0 is removed (LearningSparse: ``truncate_weights`` calls
    ``eliminate_zeros``).
``literals``
    (float) rule coefficients are the literals ``m * 2^e`` Lava's grammar
    holds, and weights are clipped only at 0 by the sign mode, not to the
    projection's bounds.

Always (not departures, but Lava's own arithmetic): the weight-rounding
stream has Lava's hard-wired seed 2, and static fixed-point weights pass
Dense's first-step ``clip_weights`` / ``truncate_weights``.
"""
from __future__ import annotations

from ...semantics.stock import LAVA_ROUND_SEED, lava_literal, seeds_for  # noqa: F401  (used and re-exported)

import dataclasses

import numpy as np

from ...errors import UnsupportedFeature

SEMANTICS = ("document", "stock")
PARTS_FIXED = ("timing", "refractory", "latency", "sparse_zero")
PARTS_FLOAT = ("timing", "refractory", "latency", "literals")
#: the declared host -> chip latency (steps), as the lava backend's stock lowering
DEFAULT_LATENCY = 1


def parts_of(semantics, stock_parts, precision) -> frozenset:
    """The departures applied: none for ``document``, every one (or
    ``stock_parts``) for ``stock``."""
    if semantics not in SEMANTICS:
        raise UnsupportedFeature(f"reference backend: semantics {semantics!r} unknown; known: {', '.join(SEMANTICS)}")
    allowed = PARTS_FIXED if precision == "fixed" else PARTS_FLOAT
    if semantics == "document":
        if stock_parts:
            raise UnsupportedFeature("reference backend: stock_parts needs semantics='stock'")
        return frozenset()
    parts = allowed if stock_parts is None else tuple(stock_parts)
    bad = [p for p in parts if p not in allowed]
    if bad:
        raise UnsupportedFeature(f"reference backend: stock part(s) {', '.join(bad)} unknown for {precision}; "
                                 f"known: {', '.join(allowed)}")
    return frozenset(parts)


class ShiftedTrain:
    """A source train delayed by ``lag`` steps (zeros before)."""

    def __init__(self, train, lag):
        self.train, self.lag = train, int(lag)
        self.src = train.src
        self.graded = train.graded
        self.n = train.n

    def check_steps(self, steps, path):
        self.train.check_steps(steps, path)

    def at(self, t):
        if t < self.lag:
            return np.zeros(self.n, self.train.dtype)
        return self.train.at(t - self.lag)


def shift(train, parts, latency):
    return ShiftedTrain(train, latency) if "latency" in parts and latency else train


def lif_map(lm, parts):
    """The LIF map without its refractory period when ``refractory`` applies."""
    return dataclasses.replace(lm, refractory=0) if "refractory" in parts and lm.refractory else lm


def sparse_mask(mask, Wi, parts):
    """LearningSparse keeps only the synapses with a nonzero initial weight."""
    if mask is None or "sparse_zero" not in parts:
        return mask
    return mask & (np.asarray(Wi) != 0)


def static_weights(Wi, sign_mode, bits=8):
    """Lava's Dense (fixed) at its first step: ``clip_weights`` to ``bits``
    bits for the sign mode, then ``truncate_weights`` (mixed sign drops one LSB)
    (lava/utils/weightutils.py)."""
    W = np.asarray(Wi, np.int64)
    if sign_mode == "excitatory":
        W = np.clip(W, 0, 2**bits - 1)
    elif sign_mode == "inhibitory":
        W = np.clip(W, -(2**bits - 1), 0)
    else:
        W = np.clip(W, -(2**bits), 2**bits - 1)
        W = (W >> 1) << 1
    return W.astype(Wi.dtype)


def sign_bounds(sign):
    inf = float("inf")
    return {"excitatory": (0.0, inf), "inhibitory": (-inf, 0.0)}.get(sign, (-inf, inf))


def literal_rule(spec, network=None):
    """The projection's expanded rule with each coefficient replaced by its Lava
    literal (inclusive timing: Lava's float engine cannot rewrite exclusive
    timing, the lava backend refuses it)."""
    from ...rules.algebra import Product

    rule = spec.rule.expand()

    def lit(prods):
        out = []
        for p in prods:
            m, e = lava_literal(p.coeff)
            out.append(Product(m * 2.0**e, p.dep, p.factors))
        return tuple(out)

    return dataclasses.replace(rule, dw=lit(rule.dw), de=lit(rule.de))
