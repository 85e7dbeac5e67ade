"""The reference fixed-point mode against Lava's own bit-approximate models.

The compiler's engine products (``HwProduct.engine_string``, Lava's rule
syntax), trace impulses and integer weights are given to Lava's
``LearningDense`` (``PyLearningDenseModelBitApproximate``), driven by the same
pre and post spike trains as ``FixedSynapses``; weights, traces and tags must
be identical bit for bit.  The fixed-point LIF is checked against
``PyLifModelBitAcc`` the same way.
"""
import numpy as np
import pytest

lava_io = pytest.importorskip("lava.proc.io")  # import before numba's parallel runtime fixes the mp start method

from neurohebb.backends.reference import fixed_kernels as fk  # noqa: E402
from neurohebb.semantics import initial_weights  # noqa: E402
from neurohebb.backends.reference.fixed import FixedSynapses  # noqa: E402
from neurohebb.builder import Builder  # noqa: E402
from neurohebb.compiler import compile_network  # noqa: E402

LAVA_SEED = 11  # LearningDense rng_seed; Lava's weight rounding stream is seed 2


def _lava_learning_dense(pp, W0, pre, post, sign):
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.source import RingBuffer
    from lava.utils.weightutils import SignMode

    kw = {}
    for t, tm in pp.traces.items():
        kw[f"{t}_impulse"] = tm.impulse_hw
        kw[f"{t}_tau"] = tm.tau
    if pp.de:
        kw["dt"] = " + ".join(p.engine_string for p in pp.de).replace("+ -", "- ")
    dw = " + ".join(p.engine_string for p in pp.dw).replace("+ -", "- ")
    rule = Loihi2FLearningRule(dw=dw, rng_seed=LAVA_SEED, **kw)
    src, bap = RingBuffer(data=pre.astype(float)), RingBuffer(data=post.astype(float))
    mode = {"excitatory": SignMode.EXCITATORY, "mixed": SignMode.MIXED, "inhibitory": SignMode.INHIBITORY}[sign]
    ld = LearningDense(weights=W0.astype(float), learning_rule=rule, sign_mode=mode)
    src.s_out.connect(ld.s_in)
    bap.s_out.connect(ld.s_in_bap)
    try:
        ld.run(condition=RunSteps(num_steps=pre.shape[1]), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        return {k: ld.__getattribute__(k).get() for k in ("weights", "x1", "x2", "y1", "y2", "y3", "tag_1")}
    finally:
        ld.stop()


def _case(rule, T=150, npre=6, npost=4, rate=0.15, seed=0, bounds=(0, 1.0), sign="excitatory", winit=(0.2, 0.8)):
    rng = np.random.default_rng(seed)
    pre = rng.random((npre, T)) < rate
    post = rng.random((npost, T)) < rate
    b = Builder("lava_check", steps=T, seed=seed)
    b.population("a", type="spike_times", times=[list(np.flatnonzero(r)) for r in pre])
    b.population("b", type="lif", n=npost, du=0.1, dv=0.1, vth=1,
                 prescribed={"type": "spike_times", "times": [list(np.flatnonzero(r)) for r in post]})
    b.projection("p", "a", "b", sign=sign, bounds=bounds, weights={"init": "uniform", "low": winit[0], "high": winit[1]},
                 rule=rule)
    net = b.build()
    prog, _ = compile_network(net, hardware="loihi2")
    pp = prog.projections["p"]
    W0 = pp.weights.quantize(initial_weights(net, "p", seed, np.float64)[0])
    syn = FixedSynapses(pp, prog.hardware, W0.copy(), None, npre, npost, trace_seed=LAVA_SEED, round_seed=2)
    for k in range(1, T + 1):
        syn.step(k, pre[:, k - 1].astype(np.int64), post[:, k - 1].astype(np.int64))
    lava = _lava_learning_dense(pp, W0, pre, post, pp.weights.sign_mode)
    return syn, lava, W0


CASES = {
    "pair_inclusive": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011, timing="inclusive")),
    "pair_exclusive_emulated": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011)),
    "triplet": dict(rule=dict(template="stdp_triplet", a2_plus=5e-3, a3_plus=6e-3, a2_minus=7e-3, a3_minus=2e-3,
                              timing="inclusive")),
    "hebbian_u": dict(rule=dict(template="hebbian", eta=2e-3, x_tau=10, y_tau=10)),
    "oja_mixed": dict(rule=dict(template="oja", eta=2e-3, x_tau=10, y_tau=10), sign="mixed", bounds=(-1, 1),
                      winit=(-0.5, 0.5)),
    "multiplicative_w_brackets": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011,
                                                weight_dependence="multiplicative", w_max=1.0, timing="inclusive")),
    "custom_tau0_brackets": dict(rule=dict(template="custom", dw="0.003*u*x1*(y1 - 0.5) - 0.02*y0*y1",
                                           traces={"x1": {"tau": 5}, "y1": {"tau": 0}})),
    "tag": dict(rule=dict(template="custom", dw="0.01*u*e", de="0.02*y0*x1 - 0.02*x0*y1 - 0.05*u*e",
                          traces={"x1": {"tau": 10}, "y1": {"tau": 10}}, timing="inclusive")),
    # large steps: weights and the accumulator saturate, traces saturate at 127 (high rate, large impulse)
    "saturating": dict(rule=dict(template="stdp_pair", a_plus=0.2, a_minus=0.05, timing="inclusive"), rate=0.5,
                       winit=(0.6, 0.99)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_learning_engine_bit_exact_with_lava(name):
    syn, lava, W0 = _case(**CASES[name])
    assert (syn.W != W0).sum() > 0, "the case must change weights"
    np.testing.assert_array_equal(lava["weights"], syn.W)
    for t in syn.xnames:
        np.testing.assert_array_equal(lava[t], syn.X[syn.xnames.index(t)])
    for t in syn.ynames:
        np.testing.assert_array_equal(lava[t], syn.Y[syn.ynames.index(t)])
    if syn.has_e:
        assert (syn.E != 0).any()
        np.testing.assert_array_equal(lava["tag_1"], syn.E)
    if name == "saturating":
        sat = syn.saturation()
        assert sat["weight_clips"] > 0 and sum(sat["trace_saturations"].values()) > 0


def test_lif_bit_exact_with_lava():
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF

    T, n = 300, 5
    rng = np.random.default_rng(1)
    I = rng.integers(-200, 900, (n, T))
    du, dv, vth, bm, be = 700, 300, 900, 37, 3
    src = RingBuffer(data=I.astype(float))
    lif = LIF(shape=(n,), du=du, dv=dv, vth=vth, bias_mant=bm, bias_exp=be)
    sink = Sink(shape=(n,), buffer=T)
    src.s_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    try:
        lif.run(condition=RunSteps(num_steps=T), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        S, u, v = sink.data.get(), lif.u.get(), lif.v.get()
    finally:
        lif.stop()
    U, V = np.zeros(n, np.int64), np.zeros(n, np.int64)
    out, cnt = np.zeros(n, np.int64), np.zeros(2, np.int64)
    mine = np.zeros((n, T))
    for k in range(T):
        fk.lif_step(U, V, I[:, k].astype(np.int64), du + 1, dv, 12, 6, np.full(n, bm << be, np.int64), vth << 6, 0,
                    np.zeros(n, np.int64), 0, 2**23, True, out, cnt)
        mine[:, k] = out
    assert S.sum() > 100
    np.testing.assert_array_equal(S, mine)
    np.testing.assert_array_equal(u, U)
    np.testing.assert_array_equal(v, V)
