"""Small networks that together use every IR node type and rule template.

Each case is ``(document dict, run options)``; the suite runs each on every
(backend, precision) and compares with the reference.  Coverage of the IR is
checked by introspection in ``test_conformance.py``, so a new node type or
template without a case fails the suite."""
from __future__ import annotations

import numpy as np

STEPS = 120


def _doc(name, populations, projections, modulators=None, probes=None, steps=STEPS, seed=7):
    return {"format_version": "1.0", "name": name, "populations": populations, "projections": projections,
            "modulators": modulators or {}, "probes": probes or {}, "run": {"steps": steps, "seed": seed}}


LIF = {"type": "lif", "du": 0.2, "dv": 0.1, "vth": 1.0}


def static_network():
    rng = np.random.default_rng(1)
    return _doc("static", {
        "st": {"type": "spike_times", "times": [[1, 5, 9, 40], [2, 60], [], [7, 8, 90]]},
        "po": {"type": "poisson", "n": 8, "rates": 60.0},
        "arrb": {"type": "array", "values": rng.random((STEPS, 4)) < 0.2},
        "lif": {**LIF, "n": 4, "bias": 0.01, "refractory": 2, "v_reset": 0.0, "v_init": [0.0, 0.1, 0.2, 0.3]},
        "lifp": {**LIF, "n": 4, "prescribed": {"type": "spike_times", "times": [[3], [4, 20], [], [30]]}},
    }, {
        "a": {"pre": "st", "post": "lif", "weights": {"init": "constant", "value": 0.6}, "delay": 2},
        "b": {"pre": "po", "post": "lif", "weights": {"init": "uniform", "low": 0.0, "high": 0.3},
              "connectivity": {"type": "fixed_probability", "p": 0.5}},
        "c": {"pre": "arrb", "post": "lif", "weights": {"init": "normal", "mean": 0.2, "std": 0.05},
              "connectivity": {"type": "one_to_one"}},
        "d": {"pre": "lifp", "post": "lif", "weights": {"init": "array", "values": np.full((4, 4), 0.1)},
              "connectivity": {"type": "mask", "values": np.eye(4, dtype=bool) | np.eye(4, k=1, dtype=bool)}},
    }, probes={"v": {"target": "lif", "var": "v", "every": 3}})


def chip_static():
    """A static network every chip target can place: Poisson -> LIF -> LIF."""
    return _doc("chip_static", {
        "inp": {"type": "poisson", "n": 10, "rates": 100.0},
        "a": {**LIF, "n": 5},
        "b": {**LIF, "n": 3},
    }, {
        "p": {"pre": "inp", "post": "a", "weights": {"init": "uniform", "low": 0.1, "high": 0.5}},
        "q": {"pre": "a", "post": "b", "weights": {"init": "uniform", "low": 0.2, "high": 0.8}},
    }, steps=400)


def arbor_network():
    return _doc("arbor", {
        "po": {"type": "poisson", "n": 16, "rates": 80.0},
        "lif": {**LIF, "n": 4},
    }, {
        "g": {"pre": "po", "post": "lif", "sign": "excitatory",
              "weights": {"init": "gaussian_arbor", "amplitude": 0.4, "sigma": 1.5, "pre_shape": [4, 4],
                          "post_shape": [2, 2]},
              "connectivity": {"type": "gaussian_arbor", "p_max": 0.9, "sigma": 2.0, "pre_shape": [4, 4],
                               "post_shape": [2, 2]},
              "bounds": [0.0, 1.0],
              "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.0105}},
    })


def _plastic(name, rule, n_pre=10, n_post=4, rate=70.0, bounds=(0.0, 1.0), modulators=None, extra_probes=None,
             high=0.5):
    probes = {"w": {"target": "p", "var": "weights", "every": 20}, **(extra_probes or {})}
    return _doc(name, {
        "inp": {"type": "poisson", "n": n_pre, "rates": rate},
        "out": {**LIF, "n": n_post, "vth": 0.8},
    }, {
        "p": {"pre": "inp", "post": "out", "sign": "excitatory", "bounds": list(bounds),
              "weights": {"init": "uniform", "low": 0.1, "high": high}, "rule": rule},
    }, modulators=modulators, probes=probes)


def stdp_additive():
    return _plastic("stdp_additive", {"template": "stdp_pair", "a_plus": 0.02, "a_minus": 0.021},
                    extra_probes={"x1": {"target": "p", "var": "x1", "every": 7}})


def stdp_multiplicative():
    return _plastic("stdp_mult", {"template": "stdp_pair", "a_plus": 0.03, "a_minus": 0.032,
                                  "weight_dependence": "multiplicative", "w_max": 1.0})


def stdp_triplet():
    return _plastic("triplet", {"template": "stdp_triplet", "a2_plus": 0.005, "a3_plus": 0.01,
                                "a2_minus": 0.007, "a3_minus": 0.001, "tau_plus": 16, "tau_minus": 32,
                                "tau_x": 64, "tau_y": 128})


def hebbian():
    return _plastic("hebbian", {"template": "hebbian", "eta": 0.004, "x_tau": 8, "y_tau": 8})


def oja():
    return _plastic("oja", {"template": "oja", "eta": 0.004, "x_tau": 8, "y_tau": 8})


def bcm():
    return _plastic("bcm", {"template": "bcm", "eta": 0.02, "tau_theta": 32, "y_target": 0.5, "x_tau": 8,
                            "y_tau": 8})


def custom():
    return _plastic("custom", {"template": "custom", "dw": "0.015625*y0*x1 - 0.015625*x0*y1",
                               "traces": {"x1": {"impulse": 1, "tau": 16}, "y1": {"impulse": 1, "tau": 16}}})


def reward_modulators():
    """reward_stdp read through every modulator source type (one projection each)."""
    mods = {
        "m_pulses": {"type": "pulses", "times": [10, 50, 90], "amplitude": 1.0, "width": 4, "tau": 16},
        "m_const": {"type": "constant", "value": 0.5},
        "m_sine": {"type": "sine", "amplitude": 0.8, "period": 40.0},
        "m_step": {"type": "step", "at": 60, "before": 0.0, "after": 1.0},
        "m_array": {"type": "array", "values": np.linspace(-1, 1, STEPS), "repeat": False},
        "m_pop": {"type": "population", "population": "inp", "gain": 1.0, "baseline": 0.0},
    }
    projs = {}
    pops = {"inp": {"type": "poisson", "n": 10, "rates": 70.0}}
    for k, m in enumerate(mods):
        pops[f"out{k}"] = {**LIF, "n": 3, "vth": 0.8}
        projs[f"p{k}"] = {"pre": "inp", "post": f"out{k}", "sign": "excitatory", "bounds": [0.0, 1.0],
                          "weights": {"init": "uniform", "low": 0.1, "high": 0.5},
                          "rule": {"template": "reward_stdp", "a_plus": 0.05, "a_minus": 0.05, "tau_e": 64,
                                   "modulator": m}}
    return _doc("reward_modulators", pops, projs, modulators=mods,
                probes={"e0": {"target": "p0", "var": "e", "every": 10},
                        "r": {"target": "m_pulses", "var": "r", "every": 5}})


def rate_network():
    rng = np.random.default_rng(2)
    return _doc("rate", {
        "x": {"type": "array", "values": rng.normal(size=(STEPS, 6)), "repeat": False},
        "h": {"type": "rate", "n": 3, "nonlinearity": {"name": "tanh", "slope": 0.5}},
        "hp": {"type": "rate", "n": 3, "prescribed": {"type": "array", "values": rng.random((STEPS, 3))}},
    }, {
        "w": {"pre": "x", "post": "h", "weights": {"init": "normal", "mean": 0.0, "std": 0.3},
              "rule": {"template": "nonlinear_hebbian", "eta": 0.01, "h": {"name": "power", "power": 3}}},
        "b": {"pre": "hp", "post": "h", "weights": {"init": "normal", "mean": 0.0, "std": 0.3},
              "rule": {"template": "alignment", "eta": 0.01, "decay": 0.1, "self": 0.5, "amp": 0.2,
                       "partner": "w2"}},
        "w2": {"pre": "h", "post": "hp", "weights": {"init": "normal", "mean": 0.0, "std": 0.3}},
    }, probes={"w": {"target": "w", "var": "weights", "every": 10}})


def dendritic():
    return _doc("dendritic", {
        "inp": {"type": "poisson", "n": 8, "rates": 150.0},
        "d": {"type": "lif_dendritic", "n": 2, "du": 0.2, "dv": 0.1, "vth": 1.0, "branches": 2, "dd": 0.2,
              "plateau_threshold": 0.5, "plateau_amplitude": 1.0, "plateau_steps": 10, "coupling": [0.05, 0.02]},
    }, {
        "p": {"pre": "inp", "post": "d", "branch": 0, "sign": "excitatory", "bounds": [0.0, 1.0],
              "weights": {"init": "uniform", "low": 0.1, "high": 0.4},
              "rule": {"template": "custom", "dw": "0.01*x0*(d - 0.5)"}},
        "s": {"pre": "inp", "post": "d", "weights": {"init": "constant", "value": 0.05}},
    })


def _env_factory(gain=1.0):
    def step(t, inputs):
        a = inputs["out"]
        return np.asarray([gain * float(a.mean()), float(t % 7 == 0)])
    return step


def external_loop():
    doc = _doc("external", {
        "inp": {"type": "poisson", "n": 6, "rates": 80.0},
        "out": {**LIF, "n": 3, "vth": 0.6},
        "env": {"type": "external", "n": 2, "reads": ["out"]},
    }, {
        "p": {"pre": "inp", "post": "out", "weights": {"init": "uniform", "low": 0.1, "high": 0.4}},
        "fb": {"pre": "env", "post": "out", "weights": {"init": "constant", "value": 0.3}},
    })
    return doc, {"externals": {"env": _env_factory(0.5)}}


def sparse_connectors():
    """fixed_indegree (plastic), fixed_outdegree, from_list (with per-pair weights) and distance."""
    return _doc("sparse_connectors", {
        "inp": {"type": "poisson", "n": 12, "rates": 80.0},
        "out": {**LIF, "n": 6, "vth": 0.8},
    }, {
        "ind": {"pre": "inp", "post": "out", "sign": "excitatory", "bounds": [0.0, 1.0],
                "weights": {"init": "uniform", "low": 0.1, "high": 0.5},
                "connectivity": {"type": "fixed_indegree", "k": 4},
                "rule": {"template": "stdp_pair", "a_plus": 0.02, "a_minus": 0.021}},
        "outd": {"pre": "out", "post": "out", "weights": {"init": "normal", "mean": -0.1, "std": 0.05},
                 "connectivity": {"type": "fixed_outdegree", "k": 2, "allow_self": False}},
        "lst": {"pre": "inp", "post": "out", "weights": {"init": "list", "values": [0.3, 0.5, 0.2, 0.4]},
                "connectivity": {"type": "from_list", "pairs": [[0, 11], [2, 3], [5, 0], [2, 7]]}},
        "dist": {"pre": "inp", "post": "out", "weights": {"init": "uniform", "low": 0.05, "high": 0.2},
                 "connectivity": {"type": "distance", "p_max": 0.9, "scale": 1.5, "max_distance": 2.5,
                                  "pre_shape": [3, 4], "post_shape": [2, 3]}},
    }, probes={"w": {"target": "ind", "var": "weights", "every": 20}})


CASES = {f.__name__: f for f in (static_network, chip_static, arbor_network, sparse_connectors, stdp_additive, stdp_multiplicative, stdp_triplet,
                                 hebbian, oja, bcm, custom, reward_modulators, rate_network, dendritic,
                                 external_loop)}


def case(name):
    out = CASES[name]()
    return out if isinstance(out, tuple) else (out, {})
