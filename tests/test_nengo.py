"""Nengo backend: reference:float vs nengo:float, and the nengo_loihi
emulator vs the reference.

* ``nengo.Simulator``: identical spike trains and final weights within 1e-6
  relative, for every rule template (and weight dependence), both timings,
  delays, masks, bounds, eligibility, modulators and the ``every_node``
  fixture, plus every probe.
* ``nengo_loihi`` (emulator): placement, and agreement with the reference at
  tolerances derived from the Loihi-1 discretization (see
  ``test_loihi_*``).
"""
from __future__ import annotations

import numpy as np
import pytest

nengo = pytest.importorskip("nengo")

import neurohebb as nh  # noqa: E402
from neurohebb.backends import nengo as nb  # noqa: E402
from neurohebb.backends.reference import simulator as ref  # noqa: E402
from neurohebb.errors import UnsupportedFeature  # noqa: E402
from neurohebb.ir import from_dict  # noqa: E402

from conftest import every_node_doc  # noqa: E402

RTOL = 1e-6


# ============================================================================ helpers
def run_both(doc, steps=None, seed=None):
    net = from_dict(doc)
    r = ref.run(net, steps=steps, seed=seed, progress=False)
    n = nb.run(net, steps=steps, seed=seed, progress=False)
    return net, r, n


def assert_same(r, n, *, rtol=RTOL, check_probes=True):
    """Identical spikes; weights (and every probe) within ``rtol`` relative to
    the largest magnitude of the reference's values."""
    assert set(r.spikes) == set(n.spikes)
    for k in r.spikes:
        assert r.spikes[k].shape == n.spikes[k].shape, k
        bad = np.argwhere(r.spikes[k] != n.spikes[k])
        assert bad.size == 0, f"spikes of {k} differ at (step, neuron) {bad[:5].tolist()}"
    assert set(r.weights) == set(n.weights)
    for k in r.weights:
        np.testing.assert_array_equal(r.initial_weights[k], n.initial_weights[k])
        scale = max(float(np.abs(r.weights[k]).max()), 1e-300)
        np.testing.assert_allclose(n.weights[k], r.weights[k], rtol=rtol, atol=rtol * scale, err_msg=k)
    if check_probes:
        assert set(r.probes) == set(n.probes)
        for k, a in r.probes.items():
            b = n.probes[k]
            np.testing.assert_array_equal(a.times, b.times, err_msg=k)
            assert a.data.shape == b.data.shape, (k, a.data.shape, b.data.shape)
            scale = max(float(np.abs(a.data).max()) if a.data.size else 0.0, 1e-300)
            np.testing.assert_allclose(b.data, a.data, rtol=rtol, atol=rtol * scale, err_msg=k)


def weights_changed(r, proj):
    return float(np.abs(r.weights[proj] - r.initial_weights[proj]).max())


def spiking_net(rule, *, steps=400, delay=0, n_pre=30, n_post=6, rate=30.0, w=("uniform", 0.0, 0.3),
                bounds=(0.0, 0.5), sign="excitatory", modulators=None, recurrent=None, probes=None, seed=3):
    """Poisson -> LIF (simulated, not prescribed), optionally a plastic LIF -> LIF
    recurrent projection; probes on everything the rule has."""
    init = {"init": "uniform", "low": w[1], "high": w[2]}
    doc = {
        "populations": {
            "inp": {"type": "poisson", "n": n_pre, "rates": rate},
            "out": {"type": "lif", "n": n_post, "du": 0.3, "dv": 0.1, "vth": 1.0, "bias": 0.02, "refractory": 2},
        },
        "projections": {
            "p": {"pre": "inp", "post": "out", "weights": init, "sign": sign, "bounds": list(bounds),
                  "delay": delay, "rule": rule},
        },
        "modulators": modulators or {},
        "probes": {"w": {"target": "p", "var": "weights", "every": 7},
                   "v": {"target": "out", "var": "v"}, "u": {"target": "out", "var": "u", "every": 3},
                   "i": {"target": "out", "var": "input"}},
        "run": {"steps": steps, "seed": seed},
    }
    if recurrent is not None:
        doc["projections"]["rec"] = {"pre": "out", "post": "out", "weights": {"init": "uniform", "low": 0, "high": 0.2},
                                     "connectivity": {"type": "fixed_probability", "p": 0.5, "allow_self": False},
                                     "sign": "excitatory", "bounds": [0, 0.4], "delay": 1, "rule": recurrent}
    rule_expanded = from_dict(doc).projections["p"].rule.expand()
    for tr in rule_expanded.traces:
        doc["probes"][f"tr_{tr}"] = {"target": "p", "var": tr, "every": 2}
    if rule_expanded.de:
        doc["probes"]["e"] = {"target": "p", "var": "e", "every": 5}
    doc["probes"].update(probes or {})
    return doc


def rate_net(rule, *, steps=300, n_pre=12, n_post=4, nonlin=None, w=("normal", 0.0, 0.2), bounds=None, seed=5,
             modulators=None):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(37, n_pre)) * 0.5 + 0.2
    init = {"init": "normal", "mean": w[1], "std": w[2]}
    proj = {"pre": "x", "post": "y", "weights": init, "rule": rule}
    if bounds is not None:
        proj["bounds"] = list(bounds)
        init["clip_to_bounds"] = True
    doc = {
        "populations": {
            "x": {"type": "array", "values": X, "repeat": True},
            "y": {"type": "rate", "n": n_post, "bias": 0.05,
                  "nonlinearity": nonlin or {"name": "linear"}},
        },
        "projections": {"p": proj},
        "modulators": modulators or {},
        "probes": {"w": {"target": "p", "var": "weights", "every": 10},
                   "yv": {"target": "y", "var": "v"}, "yo": {"target": "y", "var": "output", "every": 4},
                   "yi": {"target": "y", "var": "input"}},
        "run": {"steps": steps, "seed": seed},
    }
    for tr in from_dict(doc).projections["p"].rule.expand().traces:
        doc["probes"][f"tr_{tr}"] = {"target": "p", "var": tr}
    return doc


# ============================================================================ registration, API
def test_registered_and_available():
    assert "nengo" in nh.backends.names()
    assert nh.backends.unavailable_reason("nengo") is None
    assert nh.backends.get("nengo").name == "nengo"


def test_unknown_precision_is_clear():
    net = from_dict(spiking_net({"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01}, steps=10))
    with pytest.raises(UnsupportedFeature, match="precision 'fixed' is not available"):
        nb.run(net, precision="fixed", progress=False)


def test_top_level_run_and_result_fields():
    doc = spiking_net({"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.012}, steps=50)
    net = from_dict(doc)
    res = nh.run(net, backend="nengo", progress=False)
    assert isinstance(res, nh.Result)
    assert res.backend == "nengo" and res.precision == "float" and res.steps == 50
    assert res.spikes["out"].dtype == bool and res.spikes["out"].shape == (50, 6)
    assert res.spikes["inp"].shape == (50, 30)
    assert res.weights["p"].shape == (6, 30)
    assert res.report["placement"]["chip"] == []
    assert res.probes["w"].times.tolist() == list(range(0, 50, 7))


# ============================================================================ every template
STDP_RULES = {
    "stdp_pair_additive": {"template": "stdp_pair", "a_plus": 0.02, "a_minus": 0.021},
    "stdp_pair_multiplicative": {"template": "stdp_pair", "a_plus": 0.05, "a_minus": 0.06,
                                 "weight_dependence": "multiplicative", "w_max": 0.5},
    "stdp_pair_van_rossum": {"template": "stdp_pair", "a_plus": 0.02, "a_minus": 0.05,
                             "weight_dependence": "van_rossum", "w_max": 0.5, "tau_plus": 10, "tau_minus": 30},
    "stdp_triplet": {"template": "stdp_triplet", "a2_plus": 0.005, "a3_plus": 0.01, "a2_minus": 0.007,
                     "a3_minus": 0.002},
}


@pytest.mark.parametrize("timing", ["exclusive", "inclusive"])
@pytest.mark.parametrize("name", sorted(STDP_RULES))
def test_stdp_templates(name, timing):
    rule = dict(STDP_RULES[name], timing=timing)
    _, r, n = run_both(spiking_net(rule, delay=2, recurrent=dict(rule)))
    assert r.spikes["out"].sum() > 20, "the post population must spike for the test to mean something"
    assert weights_changed(r, "p") > 1e-3 and weights_changed(r, "rec") > 1e-4
    assert_same(r, n)


def test_reward_stdp_with_modulator():
    rule = {"template": "reward_stdp", "a_plus": 0.05, "a_minus": 0.05, "tau_e": 50, "eta": 0.5, "modulator": "da"}
    mods = {"da": {"type": "pulses", "times": [50, 120, 200, 330], "amplitude": 1.0, "width": 3, "tau": 20}}
    _, r, n = run_both(spiking_net(rule, modulators=mods, bounds=(0, 1),
                                   probes={"r": {"target": "da", "var": "r", "every": 2}}))
    assert weights_changed(r, "p") > 1e-3
    assert np.abs(r.probes["e"].data).max() > 1e-3
    assert_same(r, n)


def test_reward_stdp_per_post_population_modulator():
    rule = {"template": "reward_stdp", "a_plus": 0.05, "a_minus": 0.04, "tau_e": 30, "modulator": "m"}
    mods = {"m": {"type": "population", "population": "out", "gain": 3.0, "baseline": 0.05,
                  "scope": "per_post", "tau": 5}}
    _, r, n = run_both(spiking_net(rule, modulators=mods, bounds=(0, 1), sign="excitatory",
                                   probes={"r": {"target": "m", "var": "r"}}))
    assert weights_changed(r, "p") > 1e-4
    assert_same(r, n)


def test_hebbian():
    rule = {"template": "hebbian", "eta": 2e-3, "x_offset": -0.2, "y_offset": -0.1, "k1": 1e-4, "decay": 1e-3,
            "x_tau": 3, "y_tau": 2}
    _, r, n = run_both(rate_net(rule, bounds=(-0.4, 0.4)))
    assert weights_changed(r, "p") > 1e-2
    assert (np.abs(r.weights["p"]) == 0.4).any(), "the bounds should clip somewhere"
    assert_same(r, n)


def test_oja():
    _, r, n = run_both(rate_net({"template": "oja", "eta": 0.01}))
    assert weights_changed(r, "p") > 1e-2
    assert_same(r, n)


def test_bcm():
    rule = {"template": "bcm", "eta": 0.01, "tau_theta": 20, "y_target": 0.3}
    _, r, n = run_both(rate_net(rule, nonlin={"name": "relu"}))
    assert weights_changed(r, "p") > 1e-3
    assert_same(r, n)


def test_nonlinear_hebbian():
    rule = {"template": "nonlinear_hebbian", "eta": 5e-3, "h": {"name": "rect_power", "theta": 0.1, "power": 2}}
    _, r, n = run_both(rate_net(rule, nonlin={"name": "tanh", "slope": 0.7}))
    assert weights_changed(r, "p") > 1e-4
    assert_same(r, n)


def test_nonlinear_hebbian_no_normalization_on_lif_voltage():
    rule = {"template": "nonlinear_hebbian", "eta": 1e-3, "normalize": "none", "x_tau": 5,
            "h": {"name": "sigmoid", "slope": 4.0, "theta": 0.5}}
    _, r, n = run_both(spiking_net(rule, bounds=(0, 0.5)))
    assert weights_changed(r, "p") > 1e-4
    assert_same(r, n)


def test_custom_rule_with_eligibility_functions_and_r():
    rule = {"template": "custom", "modulator": "m",
            "dw": "0.02*u*e*r - 0.001*u*w*(y2 - 0.2) + 0.003*y0*f(x1)",
            "de": "0.05*y0*x1 - 0.04*x0*(y1 + 0.1)*(w + 0.5) - 0.05*u*e",
            "traces": {"x1": {"impulse": 0.7, "tau": 12}, "y1": {"impulse": 1.0, "tau": 8},
                       "y2": {"impulse": 0.1, "tau": 40}},
            "functions": {"f": {"name": "tanh", "slope": 2.0}}}
    mods = {"m": {"type": "sine", "period": 60, "amplitude": 1.0, "offset": 0.2, "tau": 3}}
    _, r, n = run_both(spiking_net(rule, modulators=mods, bounds=(-0.2, 0.6), sign="mixed"))
    assert weights_changed(r, "p") > 1e-3
    assert_same(r, n)


def test_custom_rule_on_rate_post_with_masks_and_array_modulator():
    rule = {"template": "custom", "modulator": "m", "timing": "inclusive",
            "dw": "0.01*x0*y1*r - 0.002*y0*(x1 + 0.3)*w + 0.001*u*v*x2",
            "traces": {"x1": {"tau": 4}, "x2": {"tau": 0}, "y1": {"impulse": 0.5, "tau": 2}}}
    doc = rate_net(rule, nonlin={"name": "sigmoid"},
                   modulators={"m": {"type": "array", "values": np.linspace(-1, 1, 40).reshape(10, 4),
                                     "scope": "per_post", "repeat": True}})
    doc["projections"]["p"]["connectivity"] = {"type": "fixed_probability", "p": 0.6}
    _, r, n = run_both(doc)
    assert weights_changed(r, "p") > 1e-3
    assert (r.weights["p"][r.initial_weights["p"] == 0] == 0).all()
    assert_same(r, n)


def test_prescribed_post_and_graded_prescribed():
    """Teacher-forced post (the closed-form tests' set-up) and a graded prescribed rate population."""
    doc = {
        "populations": {
            "pre": {"type": "spike_times", "times": [[1, 5, 9, 30], [2, 40], [], [7, 8, 60]]},
            "post": {"type": "lif", "n": 2, "du": 1.0, "dv": 1.0, "vth": 1.0,
                     "prescribed": {"type": "spike_times", "times": [[3, 12, 45], [6, 61]]}},
            "g": {"type": "rate", "n": 2, "prescribed": {"type": "array", "values": np.linspace(0, 1, 20).reshape(10, 2),
                                                          "repeat": True}},
        },
        "projections": {
            "p": {"pre": "pre", "post": "post", "weights": {"init": "constant", "value": 0.5}, "delay": 3,
                  "rule": {"template": "stdp_pair", "a_plus": 0.1, "a_minus": 0.12}},
            "q": {"pre": "pre", "post": "g", "weights": {"init": "constant", "value": 0.1},
                  "rule": {"template": "custom", "dw": "0.1*x0*y1 + 0.05*u*v", "traces": {"y1": {"tau": 3}}}},
        },
        "probes": {"w": {"target": "p", "var": "weights"}, "s": {"target": "post", "var": "spikes"},
                   "go": {"target": "g", "var": "output"}},
        "run": {"steps": 80},
    }
    _, r, n = run_both(doc)
    assert weights_changed(r, "p") > 1e-3 and weights_changed(r, "q") > 1e-3
    assert_same(r, n)


def test_static_projections_delays_and_recurrence():
    doc = spiking_net({"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01}, delay=4)
    doc["populations"]["hid"] = {"type": "lif", "n": 5, "du": 0.5, "dv": 0.2, "vth": 0.8, "v_reset": -0.2,
                                 "v_init": [0.0, 0.1, 0.2, 0.3, 0.4]}
    doc["projections"]["s1"] = {"pre": "out", "post": "hid", "weights": {"init": "uniform", "low": 0, "high": 1},
                                "delay": 5}
    doc["projections"]["s2"] = {"pre": "hid", "post": "out", "weights": {"init": "normal", "std": 0.3}}
    doc["projections"]["s3"] = {"pre": "inp", "post": "hid", "weights": {"init": "uniform", "low": 0, "high": 0.3},
                                "connectivity": {"type": "fixed_probability", "p": 0.3}}
    doc["probes"]["ws"] = {"target": "s1", "var": "weights", "every": 50}
    _, r, n = run_both(doc)
    assert r.spikes["hid"].sum() > 10
    assert_same(r, n)


def test_every_node_fixture():
    _, r, n = run_both(every_node_doc())
    assert_same(r, n)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_node_fixture_other_seeds_and_steps(seed):
    _, r, n = run_both(every_node_doc(), steps=200, seed=seed)
    assert_same(r, n)


@pytest.mark.slow
def test_float32_runs_in_float32():
    doc = every_node_doc()
    doc["run"]["dtype"] = "float32"
    _, r, n = run_both(doc)
    assert n.weights["p_hebb"].dtype == np.float32
    assert_same(r, n, rtol=1e-5)  # float32: the two sum the products in a different order


def test_optional_sim_reset_reproduces():
    """The Nengo processes and the learning operator keep their state in
    signals or rebuild it on reset: a reset simulator reproduces the run."""
    net, h = nb.build(from_dict(spiking_net({"template": "stdp_pair", "a_plus": 0.02, "a_minus": 0.02}, steps=60)))
    with nengo.Simulator(net, dt=h.dt, progress_bar=False) as sim:
        sim.run_steps(60)
        s1 = sim.data[h.spike_probes["out"]].copy()
        w1 = sim.signals[sim.model.sig[h.connections["p"]]["weights"]].copy()
        sim.reset()
        sim.run_steps(60)
        np.testing.assert_array_equal(sim.data[h.spike_probes["out"]], s1)
        np.testing.assert_array_equal(sim.signals[sim.model.sig[h.connections["p"]]["weights"]], w1)


# ============================================================================ embedding
def test_build_embeds_in_a_larger_model():
    """The lowered network is a plain nengo.Network: put it in a larger model,
    read its spikes with a standard synapse, drive one of its populations."""
    doc = spiking_net({"template": "stdp_pair", "a_plus": 0.02, "a_minus": 0.021}, steps=200)
    net = from_dict(doc)
    sub, h = nb.build(net)
    with nengo.Network(seed=1) as model:
        model.networks.append(sub)
        readout = nengo.Node(size_in=6)
        nengo.Connection(h.outputs["out"], readout, synapse=0.01)
        p_read = nengo.Probe(readout)
        p_w = nengo.Probe(h.connections["p"], "weights", sample_every=0.05)
    with nengo.Simulator(model, dt=h.dt, progress_bar=False) as sim:
        sim.run_steps(200)
    r = ref.run(net, progress=False)
    np.testing.assert_array_equal(sim.data[h.spike_probes["out"]] != 0, r.spikes["out"])
    np.testing.assert_allclose(sim.data[p_w][-1], r.weights["p"], rtol=RTOL, atol=1e-12)
    assert sim.data[p_read].shape == (200, 6) and sim.data[p_read].max() > 0
    # a learning-rule probe in Nengo's own terms
    assert "weights" in h.connections["p"].learning_rule.probeable
    assert isinstance(h.connections["p"].learning_rule_type, nb.IRRule)


def test_extra_input_into_a_population():
    """handles.populations[pop].neurons takes input in IR units (gain 1, bias 0)."""
    doc = {"populations": {"out": {"type": "lif", "n": 2, "du": 1.0, "dv": 1.0, "vth": 0.5}},
           "probes": {"v": {"target": "out", "var": "v"}}, "run": {"steps": 10}}
    sub, h = nb.build(from_dict(doc))
    with sub:
        drive = nengo.Node([0.3, 0.6])
        nengo.Connection(drive, h.populations["out"].neurons, synapse=None)
    with nengo.Simulator(sub, dt=h.dt, progress_bar=False) as sim:
        sim.run_steps(10)
    spk = sim.data[h.spike_probes["out"]]
    assert spk[:, 0].sum() == 0 and spk[:, 1].sum() == 10  # 0.3 < 0.5 < 0.6, du = dv = 1


# ============================================================================ nengo_loihi (emulator)
def _loihi():
    return pytest.importorskip("nengo_loihi")


def chip_doc():
    """every_node plus an on-chip LIF population: static host->chip input, a
    learned chip->host projection and a population modulator reading the chip."""
    d = every_node_doc()
    d["populations"]["lif2"] = {"type": "lif", "n": 6, "du": 0.2, "dv": 0.1, "vth": 0.5, "bias": 0.01, "refractory": 2}
    d["populations"]["lif3"] = {"type": "lif", "n": 5, "du": 0.4, "dv": 0.2, "vth": 0.3}
    d["projections"]["p_chip"] = {"pre": "po", "post": "lif2", "weights": {"init": "uniform", "low": 0, "high": 0.2}}
    d["projections"]["p_cc"] = {"pre": "lif2", "post": "lif3", "weights": {"init": "uniform", "low": 0, "high": 0.2}}
    d["projections"]["p_cc2"] = {"pre": "lif2", "post": "lif3", "delay": 3,
                                 "weights": {"init": "uniform", "low": -0.1, "high": 0.1}}
    d["projections"]["p_chip2"] = {"pre": "lif2", "post": "lif", "weights": {"init": "uniform", "low": 0, "high": 0.1},
                                   "sign": "excitatory", "bounds": [0, 1],
                                   "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01}}
    d["modulators"]["mchip"] = {"type": "population", "population": "lif2", "gain": 1.0}
    d["probes"]["r_chip"] = {"target": "mchip", "var": "r"}
    d["probes"]["v2"] = {"target": "lif2", "var": "v", "every": 3}
    d["probes"]["u2"] = {"target": "lif2", "var": "u", "every": 3}
    d["probes"]["w_chip"] = {"target": "p_chip", "var": "weights", "every": 40}
    return d


def test_loihi_placement_report():
    _loihi()
    net = from_dict(chip_doc())
    res = nb.run(net, simulator="nengo_loihi", target="simreal", progress=False)
    pl = res.report["placement"]
    assert pl["chip"] == ["population lif2", "population lif3", "projection p_chip (on-chip synapses fed by host spikes)",
                          "projection p_cc (on-chip synapses)",
                          "projection p_cc2 (on-chip synapses fed by host spikes)"]
    host = " | ".join(pl["host"])
    for name in ("p_hebb", "p_pair", "p_rew", "p_cust", "p_chip2"):
        assert f"projection {name} (learned" in host
    assert "post of a learned projection" in pl["why"]["lif"]
    assert "prescribed" in pl["why"]["lifp"]
    assert "rate neurons" in pl["why"]["rate"]
    assert "source" in pl["why"]["po"]
    assert "PES" in pl["why"]["p_pair"]
    assert res.report["simulator"] == "nengo_loihi.Simulator(target='simreal')"


def test_loihi_nothing_on_chip_is_a_clear_error():
    _loihi()
    with pytest.raises(UnsupportedFeature, match="no population can run on the Loihi chip"):
        nb.run(from_dict(every_node_doc()), simulator="nengo_loihi", progress=False)


def test_loihi_float32_is_rejected():
    _loihi()
    d = chip_doc()
    d["run"]["dtype"] = "float32"
    with pytest.raises(UnsupportedFeature, match="float32"):
        nb.run(from_dict(d), precision="loihi1", progress=False)


def test_loihi_simreal_reproduces_the_reference():
    """target='simreal' runs nengo-loihi's chip model in float32 without
    discretization: with the IR LIF on the compartments, the host<->chip
    latencies compensated and the rules on the host, spikes are identical and
    weights/probes agree to float32 precision."""
    _loihi()
    net = from_dict(chip_doc())
    r = ref.run(net, progress=False)
    n = nb.run(net, simulator="nengo_loihi", target="simreal", progress=False)
    assert r.spikes["lif2"].sum() > 50 and r.spikes["lif3"].sum() > 20
    assert_same(r, n, rtol=1e-6)


def _hw_lsb_report(res):
    return res.report["discretization"]["projections"]


def test_loihi_weight_quantization_follows_loihi1_yaml():
    """On-chip weights (decoded back to IR units) differ from the IR's by at
    most half a weight LSB, LSB = step * w_max / (2**bits - 1) * 2**(exponent
    shift) with bits and step from hardware_configs/loihi1.yaml (8 bits,
    mixed-sign on even levels: 0.39% of max|W|)."""
    _loihi()
    from neurohebb.hardware import load_hardware

    hw = load_hardware("loihi1").weights
    net = from_dict(chip_doc())
    n = nb.run(net, precision="loihi1", progress=False)
    rep = _hw_lsb_report(n)
    assert set(rep) == {"p_chip", "p_cc", "p_cc2"}
    for k, q in rep.items():
        assert q["lsb_source"] == "hardware_configs/loihi1.yaml"
        step = hw.initial_step["mixed"] if q["mixed_sign"] else 1
        lsb = step * q["block_w_max"] / (2 ** hw.bits - 1) * 2.0 ** q["weight_exp"]
        assert q["lsb"] == pytest.approx(lsb)
        err = np.abs(n.weights[k] - n.initial_weights[k]).max()
        assert err == pytest.approx(q["max_abs_error"])
        assert err <= 0.5 * lsb * (1 + 1e-4), (k, err / lsb)  # 1e-4: float32 scale factors
        assert err >= 0.25 * lsb  # it is quantized (not silently float)
    # the chip's weights are what the Result reports for static on-chip projections
    assert n.probes["w_chip"].data.shape[0] == 3


def emulator_doc(seed, steps=1000):
    """Poisson -> chip LIF (recurrent) -> chip LIF (delay 2) -> host LIF with
    pair STDP (from the chip and from the input); moderate rates (25-55 Hz)."""
    return {
        "populations": {
            "inp": {"type": "poisson", "n": 100, "rates": 20.0},
            "a": {"type": "lif", "n": 50, "du": 0.3, "dv": 0.1, "vth": 5.0, "bias": 0.01, "refractory": 2},
            "b": {"type": "lif", "n": 30, "du": 0.2, "dv": 0.05, "vth": 5.0, "refractory": 1},
            "c": {"type": "lif", "n": 20, "du": 0.3, "dv": 0.1, "vth": 10.0},
        },
        "projections": {
            "ia": {"pre": "inp", "post": "a", "weights": {"init": "uniform", "low": 0, "high": 0.15},
                   "sign": "excitatory"},
            "aa": {"pre": "a", "post": "a", "weights": {"init": "normal", "std": 0.05},
                   "connectivity": {"type": "fixed_probability", "p": 0.3, "allow_self": False}},
            "ab": {"pre": "a", "post": "b", "weights": {"init": "uniform", "low": 0, "high": 0.1},
                   "sign": "excitatory", "delay": 2},
            "bc": {"pre": "b", "post": "c", "weights": {"init": "uniform", "low": 0, "high": 0.3},
                   "sign": "excitatory", "bounds": [0, 0.6],
                   "rule": {"template": "stdp_pair", "a_plus": 0.005, "a_minus": 0.006}},
            "ic": {"pre": "inp", "post": "c", "weights": {"init": "uniform", "low": 0, "high": 0.2},
                   "sign": "excitatory", "bounds": [0, 0.4],
                   "rule": {"template": "stdp_pair", "a_plus": 0.005, "a_minus": 0.006}},
        },
        "run": {"steps": steps, "seed": seed},
    }


def _count_corr(a, b):
    a, b = a.sum(0).astype(float), b.sum(0).astype(float)
    return float(np.corrcoef(a, b)[0, 1])


def _rmse(a, b):
    return float(np.sqrt(((a - b) ** 2).mean()))


def loihi_vs_reference(seeds=(0, 1, 2, 3), k_perturb=8):
    """For each seed: the emulator's spike-count correlation (chip and host
    populations) and learned-weight RMSE against the reference, and the same
    metrics for ``k_perturb`` reference runs whose on-chip weights carry an
    independent uniform error in +-LSB/2 (the Loihi-1 weight discretization,
    LSB from loihi1.yaml as decoded per projection)."""
    import copy

    chip_projs = ("ia", "aa", "ab")
    out = {"emu": {}, "base": {}}
    for seed in seeds:
        d = emulator_doc(seed)
        net = from_dict(d)
        r0 = ref.run(net, progress=False)
        emu = nb.run(net, simulator="nengo_loihi", progress=False)
        q = emu.report["discretization"]["projections"]
        base = []
        for k in range(k_perturb):
            rng = np.random.default_rng(1000 + k)
            dq = copy.deepcopy(d)
            for p in chip_projs:
                W = r0.initial_weights[p]
                Wp = W + rng.uniform(-0.5, 0.5, W.shape) * q[p]["lsb"] * (W != 0)
                if d["projections"][p].get("sign") == "excitatory":
                    Wp = np.maximum(Wp, 0)
                dq["projections"][p]["weights"] = {"init": "array", "values": Wp}
                dq["projections"][p].pop("connectivity", None)
            base.append(ref.run(from_dict(dq), progress=False))
        for pop in ("a", "b", "c"):
            out["emu"].setdefault(pop, []).append(_count_corr(emu.spikes[pop], r0.spikes[pop]))
            out["base"].setdefault(pop, []).append([_count_corr(x.spikes[pop], r0.spikes[pop]) for x in base])
        for p in ("bc", "ic"):
            out["emu"].setdefault(p, []).append(_rmse(emu.weights[p], r0.weights[p]))
            out["base"].setdefault(p, []).append([_rmse(x.weights[p], r0.weights[p]) for x in base])
            out.setdefault("change", {}).setdefault(p, []).append(_rmse(r0.weights[p], r0.initial_weights[p]))
    return out


def test_loihi_emulator_vs_reference_within_the_discretization_spread():
    """nengo_loihi's discretized emulator against the float reference.

    Tolerance: the deviation the Loihi-1 weight discretization itself causes.
    The reference is re-run with its on-chip weights perturbed by independent
    uniform errors of +-LSB/2 (8 runs per seed); the emulator's metric,
    averaged over 4 seeds, must lie within 4 standard deviations of that
    ensemble's mean (sd pooled over seeds).  The emulator also rounds vth,
    bias and the decays and truncates u and v every step; measured, these
    add little (docs/backends/nengo.md)."""
    _loihi()
    m = loihi_vs_reference()
    for key in ("a", "b", "c", "bc", "ic"):
        emu = float(np.mean(m["emu"][key]))
        base = np.asarray(m["base"][key])
        mean, sd = float(base.mean()), float(np.sqrt(base.var(axis=1).mean()))
        assert abs(emu - mean) <= 4 * sd, (key, emu, mean, sd)
    # and in absolute terms: the chip populations keep their per-neuron spike counts
    assert min(m["emu"]["a"]) > 0.98 and min(m["emu"]["b"]) > 0.95
    # learned weights differ by less than the learning changed them
    for p in ("bc", "ic"):
        assert np.mean(m["emu"][p]) < np.mean(m["change"][p])


def test_identical_populations_merged_by_the_nengo_optimizer():
    """Nengo's optimizer merges the operators of equal neuron types; per-neuron
    parameters (bias, v_init, prescribed trains) must survive that."""
    lif = {"type": "lif", "n": 4, "du": 0.3, "dv": 0.1, "vth": 0.6, "bias": [0.0, 0.05, 0.1, 0.2],
           "v_init": [0.0, 0.1, 0.2, 0.3], "refractory": 1}
    doc = {
        "populations": {
            "inp": {"type": "poisson", "n": 5, "rates": 100.0},
            "l1": dict(lif), "l2": dict(lif),
            "r1": {"type": "rate", "n": 3, "bias": [0.1, 0.2, 0.3], "nonlinearity": {"name": "relu"}},
            "r2": {"type": "rate", "n": 3, "bias": [0.1, 0.2, 0.3], "nonlinearity": {"name": "relu"}},
            "q1": {"type": "lif", "n": 2, "du": 1, "dv": 1, "vth": 1,
                   "prescribed": {"type": "spike_times", "times": [[1, 4], [2]]}},
            "q2": {"type": "lif", "n": 2, "du": 1, "dv": 1, "vth": 1,
                   "prescribed": {"type": "spike_times", "times": [[1, 4], [2]]}},
        },
        "projections": {
            "a": {"pre": "inp", "post": "l1", "weights": {"init": "uniform", "low": 0, "high": 0.3}},
            "b": {"pre": "inp", "post": "l2", "weights": {"init": "uniform", "low": 0, "high": 0.3}},
            "c": {"pre": "l1", "post": "r1", "weights": {"init": "normal", "std": 0.5}},
            "d": {"pre": "l2", "post": "r2", "weights": {"init": "normal", "std": 0.5}},
            "e": {"pre": "inp", "post": "q1", "weights": {"init": "constant", "value": 0.1},
                  "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01}},
            "f": {"pre": "inp", "post": "q2", "weights": {"init": "constant", "value": 0.1},
                  "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01}},
        },
        "probes": {"v1": {"target": "l1", "var": "v"}, "v2": {"target": "l2", "var": "v"},
                   "o1": {"target": "r1", "var": "output"}, "o2": {"target": "r2", "var": "output"}},
        "run": {"steps": 60},
    }
    _, r, n = run_both(doc)
    assert r.spikes["l1"].sum() > 5 and r.spikes["q2"].sum() == 3
    assert_same(r, n)
