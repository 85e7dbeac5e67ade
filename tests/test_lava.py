"""Lava backend: the same declaration on Lava's ``Loihi2SimCfg``.

* reference:float vs lava:float (``floating_pt``): identical spikes, weights
  and every probe within 1e-6 relative;
* reference:fixed vs lava:fixed (``fixed_pt``, the compiled integer program
  on Lava's bit-approximate learning engine): identical spikes, integer
  weights, traces, tags and probes, bit for bit;
* Lava's own hard-wired weight-rounding stream (``rounding="lava"``): bit
  for bit with the reference given the same seeds, and statistically equal to
  the reference's default stream over 20 seeds;
* what cannot be lowered is refused (the compiler's messages for Loihi).

Parametrized over every Loihi-expressible rule template (and both timings,
weight dependences, eligibility, third factors) and over network documents
Lava can run (the shipped Song example, an E/I network with delays, masks,
refractoriness, resets, biases and inhibition, several graphs).  Skipped when
lava-nc cannot be imported.
"""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

try:  # Lava before numba's parallel runtime starts (neurohebb.backends.lava copes either way)
    from neurohebb.backends import lava as lb
except Exception as exc:  # ImportError, BackendUnavailable, a broken install
    pytest.skip(f"lava-nc is not importable: {exc}", allow_module_level=True)

import neurohebb as nh  # noqa: E402
from conftest import marked_slow  # noqa: E402
from neurohebb.backends.reference import simulator as ref  # noqa: E402
from neurohebb.backends.reference.fixed import run_program  # noqa: E402
from neurohebb.builder import Builder  # noqa: E402
from neurohebb.errors import BackendUnavailable, NotExpressible, UnsupportedFeature  # noqa: E402
from neurohebb.rules import TEMPLATES  # noqa: E402

RTOL = 1e-6


# ============================================================================ helpers
def assert_equivalent(r, l, precision):
    """float: identical spikes, weights and probes within RTOL of the largest
    reference magnitude; fixed: everything identical."""
    assert set(r.spikes) == set(l.spikes)
    for k in r.spikes:
        bad = np.argwhere(r.spikes[k] != l.spikes[k])
        assert bad.size == 0, f"spikes of {k} differ at (step, neuron) {bad[:5].tolist()}"
    assert set(r.weights) == set(l.weights)
    for k in r.weights:
        np.testing.assert_array_equal(r.initial_weights[k], l.initial_weights[k], err_msg=k)
        if precision == "fixed":
            np.testing.assert_array_equal(r.report["integer_weights"][k], l.report["integer_weights"][k], err_msg=k)
            np.testing.assert_array_equal(r.weights[k], l.weights[k], err_msg=k)
        else:
            scale = max(float(np.abs(r.weights[k]).max()), 1e-300)
            np.testing.assert_allclose(l.weights[k], r.weights[k], rtol=RTOL, atol=RTOL * scale, err_msg=k)
    assert set(r.probes) == set(l.probes)
    for k, a in r.probes.items():
        b = l.probes[k]
        np.testing.assert_array_equal(a.times, b.times, err_msg=k)
        assert a.data.shape == b.data.shape, (k, a.data.shape, b.data.shape)
        if precision == "fixed":
            np.testing.assert_array_equal(b.data, a.data, err_msg=k)
        else:
            scale = max(float(np.abs(a.data).max()) if a.data.size else 0.0, 1e-300)
            np.testing.assert_allclose(b.data, a.data, rtol=RTOL, atol=RTOL * scale, err_msg=k)


def run_both(net, precision, **kw):
    r = ref.run(net, precision=precision, progress=False, **kw)
    l = lb.run(net, precision=precision, progress=False, **kw)
    assert l.backend == "lava" and l.precision == precision
    return r, l


def template_net(rule, steps=150, bounds=(0, 1.0), winit=(0.2, 0.5), n_pre=10, n_post=3, rate=30.0, mod=None,
                 prescribed=False, seed=0, sign="excitatory", delay=0, conn=None):
    b = Builder(rule["template"], steps=steps, seed=seed)
    b.population("inp", type="poisson", n=n_pre, rates=rate)
    post = dict(type="lif", n=n_post, du=0.2, dv=0.1, vth=1.0)
    if prescribed:
        post["prescribed"] = {"type": "poisson", "n": n_post, "rates": rate}
    b.population("out", **post)
    kw = {"connectivity": conn} if conn else {}
    b.projection("p", "inp", "out", sign=sign, bounds=bounds, delay=delay,
                 weights={"init": "uniform", "low": winit[0], "high": winit[1]}, rule=rule, **kw)
    if mod:
        b.modulator("da", **mod)
    b.probe("w", "p", "weights", every=25)
    spec = TEMPLATES[rule["template"]](**rule).expand()
    for t in spec.traces:
        b.probe(f"trace_{t}", "p", t, every=10)
    if spec.de:
        b.probe("e", "p", "e", every=10)
    if not prescribed:
        for v in ("v", "u", "input"):
            b.probe(f"out_{v}", "out", v, every=7)
    b.probe("out_spikes", "out", "spikes", every=3)
    return b.build()


DA = dict(type="sine", period=80, amplitude=0.3, offset=0.2, tau=5)
#: every Loihi-expressible template (nonlinear_hebbian is not: h(v)), both timings, the weight dependences
TEMPLATE_CASES = {
    "stdp_pair": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011)),
    "stdp_pair_inclusive": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011, timing="inclusive")),
    "stdp_pair_multiplicative": dict(rule=dict(template="stdp_pair", a_plus=0.02, a_minus=0.02,
                                               weight_dependence="multiplicative", w_max=1.0)),
    "stdp_pair_van_rossum": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.02,
                                           weight_dependence="van_rossum", w_max=1.0, timing="inclusive")),
    "stdp_triplet": dict(rule=dict(template="stdp_triplet", a2_plus=5e-3, a3_plus=6e-3, a2_minus=7e-3, a3_minus=2e-3)),
    "hebbian": dict(rule=dict(template="hebbian", eta=1e-3, x_tau=10, y_tau=10, decay=2**-7)),
    "oja": dict(rule=dict(template="oja", eta=4e-3, x_tau=10, y_tau=10), sign="mixed", bounds=(-1, 1),
                winit=(-0.3, 0.6)),
    "bcm": dict(rule=dict(template="bcm", eta=2e-3, tau_theta=50, y_target=0.05, x_tau=10, y_tau=10)),
    "reward_stdp": dict(rule=dict(template="reward_stdp", a_plus=1e-2, a_minus=0.5e-2, tau_e=63.5, eta=0.2,
                                  modulator="da"), mod=DA),
    "custom_tau0_brackets": dict(rule=dict(template="custom", dw="0.003*u*x1*(y1 - 0.5) - 0.02*y0*y1",
                                           traces={"x1": {"tau": 5}, "y1": {"tau": 0}})),
    "custom_tag_r_prescribed": dict(
        rule=dict(template="custom", dw="0.1*u*e*r + 0.002*u*y2", de="0.02*y0*x1 - 0.02*x0*y1 - 0.03125*u*e",
                  traces={"x1": {"tau": 10}, "y1": {"tau": 10}, "y2": {"tau": 30, "impulse": 0.5}}, modulator="da"),
        mod=dict(type="pulses", times=[30, 90], amplitude=0.8, width=10, tau=10), prescribed=True),
    "delay_mask_prescribed": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011), delay=2,
                                  prescribed=True, conn={"type": "fixed_probability", "p": 0.6}),
}


def test_every_loihi_expressible_template_is_covered():
    covered = {c["rule"]["template"] for c in TEMPLATE_CASES.values()}
    refused = {"nonlinear_hebbian",  # h(v): see test_compiler_refusals_are_the_compilers
               "alignment"}  # non-local partner variables: tests/test_sim_credit_assignment.py
    assert covered | refused == set(TEMPLATES)


# ============================================================================ equivalence: templates
@pytest.mark.parametrize("precision", ["float", "fixed"])
@pytest.mark.parametrize("case", list(TEMPLATE_CASES))
def test_template_equivalent_to_reference(case, precision):
    net = template_net(**TEMPLATE_CASES[case])
    r, l = run_both(net, precision)
    assert_equivalent(r, l, precision)
    # the case must exercise learning and spiking
    assert np.abs(r.weights["p"] - r.initial_weights["p"]).max() > 0
    assert r.spikes["out"].sum() > 0


# ============================================================================ equivalence: documents
def ei_network(seed=0, steps=150):
    b = Builder("ei", steps=steps, seed=seed)
    b.population("inp", type="poisson", n=12, rates=30.0)
    b.population("st", type="spike_times", times=[[5, 20, 50], [7, 8], [30, 31, 90], []])
    b.population("e", type="lif", n=6, du=0.3, dv=0.15, vth=1.0, refractory=2, v_reset=-0.2,
                 bias=[0.0, 0.01, 0.02, 0.0, 0.05, 0.03], v_init=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    b.population("i", type="lif", n=3, du=0.5, dv=0.2, vth=0.8)
    b.projection("ff", "inp", "e", sign="excitatory", bounds=(0, 1.0), weights={"init": "uniform", "low": 0.2, "high": 0.5},
                 rule={"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.012})
    b.projection("st_e", "st", "e", sign="excitatory", delay=3, weights={"init": "constant", "value": 0.5})
    b.projection("ee", "e", "e", sign="excitatory", bounds=(0, 0.5), weights={"init": "uniform", "low": 0.0, "high": 0.2},
                 connectivity={"type": "fixed_probability", "p": 0.5, "allow_self": False}, delay=1,
                 rule={"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01, "timing": "inclusive"})
    b.projection("ei", "e", "i", sign="excitatory", weights={"init": "constant", "value": 0.6})
    b.projection("ie", "i", "e", sign="inhibitory", weights={"init": "uniform", "low": -0.5, "high": -0.2})
    b.probe("w_ee", "ee", "weights", every=20)
    b.probe("w_ie", "ie", "weights", every=50)
    b.probe("v_e", "e", "v", every=1)
    b.probe("s_st", "st", "spikes", every=5)
    return b.build()


def two_graphs(seed=0, steps=120):
    """Three independent Lava graphs (one of them a lone biased population)."""
    b = Builder("two_graphs", steps=steps, seed=seed)
    b.population("a", type="poisson", n=5, rates=50.0)
    b.population("b", type="lif", n=2, du=0.2, dv=0.1, vth=1.0)
    b.population("c", type="poisson", n=5, rates=50.0)
    b.population("d", type="lif", n=2, du=0.2, dv=0.1, vth=1.0, bias=0.05)
    b.population("lone", type="lif", n=2, du=0.2, dv=0.1, vth=1.0, bias=0.2)
    b.projection("ab", "a", "b", sign="excitatory", bounds=(0, 1), weights={"init": "constant", "value": 0.3},
                 rule={"template": "hebbian", "eta": 1e-3, "x_tau": 10, "y_tau": 10})
    b.projection("cd", "c", "d", sign="excitatory", weights={"init": "constant", "value": 0.3})
    b.modulator("m", type="step", at=30, before=0.0, after=1.0, tau=4)
    b.probe("r", "m", "r", every=10)
    b.probe("lone_u", "lone", "u", every=5)
    return b.build()


def per_post_reward(seed=0, steps=150):
    rng = np.random.default_rng(3)
    b = Builder("per_post", steps=steps, seed=seed)
    b.population("inp", type="poisson", n=8, rates=30.0)
    b.population("out", type="lif", n=3, du=0.2, dv=0.1, vth=1.0)
    b.modulator("da", type="array", values=rng.uniform(-0.5, 1.0, (steps, 3)), scope="per_post", tau=3)
    b.projection("p", "inp", "out", sign="excitatory", bounds=(0, 1.0), weights={"init": "uniform", "low": 0.2, "high": 0.5},
                 rule={"template": "reward_stdp", "a_plus": 1e-2, "a_minus": 0.5e-2, "tau_e": 63.5, "eta": 0.2,
                       "modulator": "da", "timing": "inclusive"})
    b.probe("e", "p", "e", every=10)
    b.probe("r", "da", "r", every=10)
    return b.build()


def song(steps=300):
    net = nh.load("neurohebb/examples/stdp_song.yaml")
    d = nh.ir.to_dict(net)
    d["run"]["steps"] = steps
    d["probes"]["w_hist"]["every"] = 100
    return nh.ir.from_dict(d)


DOCUMENTS = {"stdp_song": song, "ei_network": ei_network, "two_graphs": two_graphs, "per_post_reward": per_post_reward}


@pytest.mark.parametrize("precision", ["float", "fixed"])
@pytest.mark.parametrize("doc", list(DOCUMENTS))
def test_network_documents_equivalent_to_reference(doc, precision):
    net = DOCUMENTS[doc]()
    r, l = run_both(net, precision)
    assert_equivalent(r, l, precision)
    assert any(np.abs(r.weights[k] - r.initial_weights[k]).max() > 0 for k in r.weights)
    if doc == "two_graphs":
        assert l.report["run_config"]["graphs"] == 3


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
SHIPPED = sorted([*ROOT.glob("neurohebb/examples/*.yaml"), *ROOT.glob("sims/*/network.yaml")])


@pytest.mark.parametrize("precision", ["float", "fixed"])
@pytest.mark.parametrize("path", marked_slow(SHIPPED, slow={ROOT / "sims/assemblies/network.yaml"},
                                             ids=[str(p.relative_to(ROOT)) for p in SHIPPED]))
def test_shipped_documents(path, precision):
    """Every shipped network document (examples, sims): Lava runs it (200 steps)
    and agrees with the reference, or refuses it with a reason."""
    net = nh.load(path)
    steps = min(net.run.steps, 200)
    try:
        l = lb.run(net, precision=precision, steps=steps, progress=False)
    except UnsupportedFeature as exc:
        pytest.skip(f"{path.relative_to(ROOT)} ({precision}) is not runnable on Lava: {str(exc).splitlines()[1].strip()}")
    assert_equivalent(ref.run(net, precision=precision, steps=steps, progress=False), l, precision)


def test_timing_of_delays_and_latency():
    """A spike emitted at step s reaches the post neuron (and the synapse's
    learning engine) at s + 1 + delay, as in the reference."""
    b = Builder("latency", steps=30)
    b.population("s", type="spike_times", times=[[5]])
    b.population("y", type="lif", n=1, du=1.0, dv=1.0, vth=0.5)
    b.projection("p", "s", "y", sign="excitatory", bounds=(0, 1), delay=4, weights={"init": "constant", "value": 1.0},
                 rule={"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.25, "timing": "inclusive"})
    b.probe("x1", "p", "x1", every=1)
    net = b.build()
    for precision in ("float", "fixed"):
        # fixed: read back with Lava's Var.get() instead of the models' file (same values)
        l = lb.run(net, precision=precision, progress=False, readback="get" if precision == "fixed" else "file")
        assert l.report["run_config"]["readback"] == ("get" if precision == "fixed" else "file")
        assert np.flatnonzero(l.spikes["y"][:, 0]).tolist() == [10]
        x1 = l.probes["x1"].data[:, 0]
        assert x1[9] == 0 and x1[10] > 0  # the pre trace counts the arriving spike
        assert_equivalent(ref.run(net, precision=precision, progress=False), l, precision)


# ============================================================================ rounding streams
def test_lava_rounding_stream_is_reproduced_by_the_reference():
    """``rounding="lava"`` keeps Lava's hard-wired ConnVarRandom seed 2; the
    reference reproduces it bit for bit with ``reference_seeds(..., "lava")``."""
    net = template_net(**TEMPLATE_CASES["hebbian"])
    l = lb.run(net, precision="fixed", rounding="lava", progress=False)
    program, _ = nh.compile(net, hardware="loihi2")
    r = run_program(program, seeds=lb.reference_seeds(net, rounding="lava"), progress=False)
    assert_equivalent(r, l, "fixed")
    assert l.report["seeds"]["p"]["rounding_seed"] == 2
    d = run_program(program, progress=False)  # the reference's own (seeded) stream: another rounding
    assert not np.array_equal(d.report["integer_weights"]["p"], l.report["integer_weights"]["p"])


@pytest.mark.slow
def test_lava_rounding_stream_statistically_equal_over_20_seeds():
    """Lava's stream vs the reference's: per seed d = mean(w_lava) - mean(w_ref)
    in LSB; both roundings are unbiased, so the mean of d over 20 seeds lies
    within 3 standard errors of 0 (the predicted spread, from the seeds)."""
    seeds = range(20)
    rule = dict(template="hebbian", eta=1e-3, x_tau=10, y_tau=10, decay=2**-7)
    d = []
    for s in seeds:
        net = template_net(rule, steps=120, seed=s, prescribed=True)
        r = ref.run(net, precision="fixed", progress=False)
        l = lb.run(net, precision="fixed", rounding="lava", progress=False)
        np.testing.assert_array_equal(r.spikes["inp"], l.spikes["inp"])
        lsb = r.report["lsb"]["p"]
        d.append((l.weights["p"].mean() - r.weights["p"].mean()) / lsb)
    d = np.asarray(d)
    se = d.std(ddof=1) / math.sqrt(len(d))
    assert np.any(d != 0)  # the streams differ ...
    assert abs(d.mean()) <= 3 * se, (d.mean(), se)  # ... but not in the mean


# ============================================================================ the common API
def test_registry_run_and_compare():
    assert nh.backends.available("lava") and "lava" in nh.backends.names()
    net = template_net(**TEMPLATE_CASES["stdp_pair"])
    l = nh.run(net, backend="lava", precision="fixed", progress=False)
    rep = l.report
    assert rep["run_config"]["select_tag"] == "fixed_pt" and rep["run_config"]["run_cfg"] == "Loihi2SimCfg"
    assert isinstance(rep["compile"], nh.compiler.CompileReport)
    assert "Loihi2FLearningRule" in rep["lowering"]["projections"]["p"]
    res = nh.compare(net, runs=["reference:fixed", "lava:fixed"], seeds=2)
    assert res.get("p", "weight_rmse_lsb", "lava:fixed")["mean"] == 0
    assert res.get("out", "spike_count_corr", "lava:fixed")["mean"] == pytest.approx(1.0)
    fl = nh.run(net, backend="lava", precision="float", progress=False)
    assert fl.report["run_config"]["select_tag"] == "floating_pt"
    rows = fl.report["float_rules"]["p"]
    assert any(not row["exact_as_lava_literal"] for row in rows)  # 0.011 is no m*2^e; the float model uses it anyway


def test_cli_compare_reference_fixed_vs_lava_fixed(tmp_path, capsys):
    from neurohebb.cli import main

    f = tmp_path / "small.yaml"
    net = template_net(**TEMPLATE_CASES["stdp_pair"])
    nh.save(net, f)
    assert main(["compare", str(f), "--runs", "reference:fixed,lava:fixed", "--seeds", "2", "--quiet",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "lava:fixed" in out and "weight_rmse_lsb" in out


def test_import_after_numba_parallel_runtime():
    """Lava's import sets the multiprocessing start method, which fails once
    numba's parallel runtime has run; the backend still imports and runs."""
    code = (
        "import numba, numpy as np\n"
        "@numba.njit(parallel=True)\n"
        "def f(x):\n"
        "    s = 0.0\n"
        "    for i in numba.prange(x.shape[0]):\n"
        "        s += x[i]\n"
        "    return s\n"
        "f(np.ones(100))\n"
        "import neurohebb as nh\n"
        "assert nh.backends.unavailable_reason('lava') is None, nh.backends.unavailable_reason('lava')\n"
        "from neurohebb.builder import Builder\n"
        "b = Builder('t', steps=20)\n"
        "b.population('a', type='poisson', n=3, rates=100.0)\n"
        "b.population('b', type='lif', n=2, du=0.2, dv=0.1, vth=0.5)\n"
        "b.projection('p', 'a', 'b', weights={'init': 'constant', 'value': 0.4})\n"
        "r = nh.run(b.build(), backend='lava', progress=False)\n"
        "print('ok', int(r.spikes['b'].sum()))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.startswith("ok")


# ============================================================================ refusals
def _simple(post=None, **proj):
    b = Builder("t", steps=30)
    b.population("x", type="poisson", n=4, rates=10.0)
    b.population("y", **(post or dict(type="lif", n=2, du=0.1, dv=0.1, vth=1.0)))
    spec = dict(sign="excitatory", bounds=(0, 1), weights={"init": "constant", "value": 0.5})
    spec.update(proj)
    b.projection("p", "x", "y", **spec)
    return b


NLH = {"template": "nonlinear_hebbian", "eta": 1e-3, "h": {"name": "rect_power", "theta": 1, "power": 2}}


def test_compiler_refusals_are_the_compilers():
    net = _simple(rule=NLH).build()
    with pytest.raises(NotExpressible) as compiled:
        nh.compile(net, hardware="loihi2")
    with pytest.raises(NotExpressible) as fixed:
        lb.run(net, precision="fixed")
    assert str(fixed.value) == str(compiled.value)
    with pytest.raises(NotExpressible) as flt:
        lb.run(net, precision="float")
    assert "h(v) is not a Loihi-2 learning-engine variable" in str(flt.value)
    for line in str(compiled.value).splitlines()[1:]:
        assert line in str(flt.value)
    # and a coefficient the fixed engine cannot hold is the compiler's error in fixed, fine in float
    tiny = _simple(rule={"template": "stdp_pair", "a_plus": 1e-7, "a_minus": 1e-7, "timing": "inclusive"}).build()
    with pytest.raises(NotExpressible, match="too small"):
        lb.run(tiny, precision="fixed")
    lb.run(tiny, precision="float", progress=False)


def test_unsupported_features_name_the_place():
    cases = []
    cases.append((_simple(post=dict(type="rate", n=2)).build(), "populations.y: rate neurons have no Lava lowering"))
    b = _simple(post=dict(type="lif", n=2, du=0.1, dv=0.1, vth=1.0))
    b.population("g", type="array", values=np.full((30, 2), 0.5))
    b.projection("q", "g", "y", weights={"init": "constant", "value": 0.1})
    cases.append((b.build(), "populations.g: a graded (non-0/1) array source cannot be sent as spikes"))
    b = _simple(rule={"template": "reward_stdp", "a_plus": 0.01, "a_minus": 0.01, "tau_e": 63.5, "modulator": "m"})
    b.modulator("m", type="population", population="y")
    cases.append((b.build(), "modulators.m: a population modulator (read by p) has no Lava lowering"))
    b = _simple(rule={"template": "reward_stdp", "a_plus": 0.01, "a_minus": 0.01, "tau_e": 63.5, "modulator": "m"})
    b.modulator("m", type="constant", value=0.5)
    b.projection("q", "x", "y", sign="excitatory", bounds=(0, 1), weights={"init": "constant", "value": 0.5},
                 rule={"template": "reward_stdp", "a_plus": 0.01, "a_minus": 0.01, "tau_e": 63.5, "modulator": "m"})
    cases.append((b.build(), "populations.y: three-factor projections p, q end here"))
    for net, msg in cases:
        with pytest.raises(UnsupportedFeature) as ei:
            lb.run(net, precision="float")
        assert msg in str(ei.value)
    with pytest.raises(UnsupportedFeature, match="precision 'loihi1' is not available"):
        lb.run(cases[0][0], precision="loihi1")


def test_board_without_lava_loihi_is_a_clear_error(monkeypatch):
    import lava.magma.core.run_configs as rc

    if lb.board_available():
        pytest.skip("lava-loihi is installed here")
    touched = []
    monkeypatch.setattr(rc, "Loihi2HwCfg", lambda *a, **k: touched.append(1))
    net = template_net(**TEMPLATE_CASES["stdp_pair"])
    with pytest.raises(BackendUnavailable, match="needs lava-loihi") as ei:
        lb.run(net, precision="fixed", board=True)
    assert "is_installed() is False" in str(ei.value) and not touched
    monkeypatch.setenv("NEUROHEBB_LAVA_BOARD", "1")
    with pytest.raises(BackendUnavailable, match="needs lava-loihi"):
        nh.run(net, backend="lava")
