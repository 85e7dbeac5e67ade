"""The reference's generated numba kernels against the algebra's numpy
evaluator (:mod:`neurohebb.rules.evaluate`), one step, every rule template,
both timings, with and without a connectivity mask.

The state (traces, weights, tags, third factor, voltages) is what a real run
reached after some steps; the step under test uses random pre and post spikes
so every dependency fires."""
from __future__ import annotations

import numpy as np
import pytest

from neurohebb.backends.reference.engine import Engine
from neurohebb.backends.reference.float_model import FloatModel
from neurohebb.ir import from_dict
from neurohebb.rules import TEMPLATES, evaluate

from conformance import cases

RULES = {
    "stdp_additive": cases.stdp_additive,
    "stdp_multiplicative": cases.stdp_multiplicative,
    "stdp_triplet": cases.stdp_triplet,
    "hebbian": cases.hebbian,
    "oja": cases.oja,
    "bcm": cases.bcm,
    "custom": cases.custom,
}


def _doc(kind, timing, masked):
    if kind == "reward_stdp":
        doc = cases._plastic("reward", {"template": "reward_stdp", "a_plus": 0.05, "a_minus": 0.05, "tau_e": 64,
                                        "modulator": "m"},
                             modulators={"m": {"type": "sine", "amplitude": 0.8, "period": 40.0}})
    elif kind == "nonlinear_hebbian":
        doc = cases._plastic("nlh", {"template": "nonlinear_hebbian", "eta": 0.01,
                                     "h": {"name": "tanh", "slope": 0.5}, "x_tau": 8})
    elif kind == "custom_functions":
        doc = cases._plastic("cf", {"template": "custom", "dw": "0.01*u*f(y1)*(x1 - 0.2) - 0.002*y0*w*(v + 0.1)",
                                    "functions": {"f": {"name": "relu", "theta": 0.1}},
                                    "traces": {"x1": {"impulse": 1, "tau": 8}, "y1": {"impulse": 1, "tau": 8}}})
    else:
        doc = RULES[kind]()
    p = doc["projections"]["p"]
    p["rule"]["timing"] = timing
    if masked:
        p["connectivity"] = {"type": "fixed_probability", "p": 0.6}
    return doc


KINDS = sorted(RULES) + ["reward_stdp", "nonlinear_hebbian", "custom_functions"]


def test_every_template_but_the_non_local_one_is_checked():
    covered = {"stdp_pair", "stdp_triplet", "hebbian", "oja", "bcm", "custom", "reward_stdp", "nonlinear_hebbian"}
    # alignment reads partner variables: the reference runs it on the evaluator itself
    assert set(TEMPLATES) - covered == {"alignment"}


@pytest.mark.parametrize("masked", [False, True], ids=["dense", "masked"])
@pytest.mark.parametrize("timing", ["exclusive", "inclusive"])
@pytest.mark.parametrize("kind", KINDS)
def test_kernel_equals_evaluator(kind, timing, masked):
    net = from_dict(_doc(kind, timing, masked))
    eng = Engine(FloatModel(net, seed=5, parallel=False))
    eng.run(40)
    pr = eng.model.projs["p"]
    rng = np.random.default_rng(11)
    x = (rng.random(pr.pre.n) < 0.5).astype(float)
    y = (rng.random(pr.post.n) < 0.5).astype(float)
    r = np.float64(0.7) if pr.rule.modulator else None
    v = rng.normal(0.3, 0.5, pr.post.n)  # a voltage per post neuron (after a reset it would be 0)
    W0, E0 = pr.W.copy(), (pr.E.copy() if pr.rule.de else None)
    out = np.zeros(pr.post.n)
    pr.learn(x, y, r, v, np.zeros(pr.pre.n), True, out)   # the generated kernel (traces updated first)
    L = pr.layout

    def lookup(var, before):
        if var in L.pre_traces:
            return (pr.XTb if before else pr.XTa)[L.pre_traces.index(var)]
        if var in L.post_traces:
            return (pr.YTb if before else pr.YTa)[L.post_traces.index(var)]
        return {"r": np.broadcast_to(r if r is not None else 0.0, (pr.post.n,)), "v": v, "w": W0,
                "e": E0 if E0 is not None else W0}[var]

    W, E = W0.copy(), (E0.copy() if E0 is not None else None)
    dw, de = evaluate.step(pr.rule, lookup, x, y, W, E if E is not None else W, pr.lo, pr.hi, pr.mask)
    assert np.abs(dw).max() > 0, "the step must change something (else the check is empty)"
    np.testing.assert_allclose(pr.W, W, rtol=0, atol=1e-15)
    if E is not None:
        np.testing.assert_allclose(pr.E, E, rtol=0, atol=1e-15)
