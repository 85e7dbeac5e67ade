import math
import re

import numpy as np
import pytest

import neurohebb as nh


def assert_same_results(a, b):
    """Two results are bit-identical: the same spike trains, final weights and probes."""
    assert a.spikes.keys() == b.spikes.keys()
    for k in a.spikes:
        np.testing.assert_array_equal(a.spikes[k], b.spikes[k])
    for k in a.weights:
        np.testing.assert_array_equal(a.weights[k], b.weights[k])
    for k in a.probes:
        np.testing.assert_array_equal(a.probes[k].data, b.probes[k].data)


# a number in text, not the digit of a name such as x1 or y0
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def assert_close_docs(a, b, rtol, atol=0.0, path="doc"):
    """Two nested documents (dicts, lists, numbers, arrays, strings) agree: the same
    structure and text, every float within ``rtol``/``atol`` (numbers inside strings,
    such as a rule's coefficients, too).  For a stored document compared with the code
    that recomputes it: the floats may differ in the last digits between library versions."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_close_docs(a[k], b[k], rtol, atol, f"{path}.{k}")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close_docs(x, y, rtol, atol, f"{path}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, err_msg=path)
    elif isinstance(a, str) and isinstance(b, str):
        assert _NUMBER.split(a) == _NUMBER.split(b), f"{path}: {a!r} != {b!r}"
        for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
            assert math.isclose(float(x), float(y), rel_tol=rtol, abs_tol=atol), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, float) or isinstance(b, float):
        assert not isinstance(a, bool) and not isinstance(b, bool), f"{path}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=rtol, abs_tol=atol), f"{path}: {a!r} != {b!r} (rtol {rtol})"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def marked_slow(values, slow, ids=None):
    """``values`` as pytest params for ``parametrize``; those in ``slow`` carry the
    ``slow`` marker (run by ``make test-slow`` and CI, skipped by ``make test``)."""
    ids = ids or [None] * len(values)
    return [pytest.param(v, id=i, marks=[pytest.mark.slow] if v in slow else []) for v, i in zip(values, ids)]


def every_node_doc():
    """A document that uses every population, weight, connectivity, modulator,
    probe and rule template type at least once."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 16))
    return {
        "format_version": "1.0",
        "name": "every_node",
        "description": "round-trip fixture",
        "populations": {
            "st": {"type": "spike_times", "times": [[1, 5, 9], [2], [], [7, 8]]},
            "po": {"type": "poisson", "n": 16, "rates": 40.0},
            "po2": {"type": "poisson", "rates": [10.0, 20.0, 30.0, 40.0]},
            "arr": {"type": "array", "values": X, "repeat": True},
            "arrb": {"type": "array", "values": (rng.random((200, 4)) < 0.1)},
            "lif": {"type": "lif", "n": 4, "du": 0.2, "dv": 0.1, "vth": 0.5, "bias": 0.01, "refractory": 2,
                    "v_reset": -0.1, "v_init": [0.0, 0.1, 0.2, 0.3]},
            "lifp": {"type": "lif", "n": 4, "du": 0.2, "dv": 0.1, "vth": 1.0,
                     "prescribed": {"type": "spike_times", "times": [[3], [4, 20], [], [30]]}},
            "rate": {"type": "rate", "n": 16, "nonlinearity": {"name": "tanh", "slope": 0.5}},
            "rate2": {"type": "rate", "n": 1, "bias": 0.1},
            "grid": {"type": "rate", "n": 4, "nonlinearity": {"name": "rect_power", "theta": 0.1, "power": 2}},
        },
        "projections": {
            "p_hebb": {"pre": "arr", "post": "rate", "weights": {"init": "normal", "std": 0.1},
                       "connectivity": {"type": "fixed_probability", "p": 0.5},
                       "bounds": [-1, 1], "rule": {"template": "hebbian", "eta": 1e-3, "x_offset": -0.1, "k1": 1e-4, "decay": 1e-3}},
            "p_oja": {"pre": "arr", "post": "rate2", "weights": {"init": "uniform", "low": -0.1, "high": 0.1},
                      "rule": {"template": "oja", "eta": 0.01}},
            "p_bcm": {"pre": "arr", "post": "grid", "weights": {"init": "gaussian_arbor", "amplitude": 0.2, "sigma": 1.5,
                      "pre_shape": [4, 4], "post_shape": [2, 2], "noise": 0.01},
                      "rule": {"template": "bcm", "eta": 1e-3, "tau_theta": 50, "y_target": 0.5}},
            "p_pair": {"pre": "po", "post": "lif", "sign": "excitatory", "bounds": [0, 0.5],
                       "weights": {"init": "constant", "value": 0.1},
                       "connectivity": {"type": "gaussian_arbor", "sigma": 2.0, "pre_shape": [4, 4], "post_shape": [2, 2]},
                       "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.012, "weight_dependence": "multiplicative", "w_max": 0.5}},
            "p_trip": {"pre": "po2", "post": "lifp", "sign": "excitatory", "delay": 2,
                       "weights": {"init": "constant", "value": 0.2}, "connectivity": {"type": "one_to_one"},
                       "rule": {"template": "stdp_triplet", "timing": "inclusive"}},
            "p_rew": {"pre": "st", "post": "lif", "sign": "excitatory", "bounds": [0, 1],
                      "weights": {"init": "array", "values": np.full((4, 4), 0.3)},
                      "connectivity": {"type": "mask", "values": np.eye(4, dtype=bool)},
                      "rule": {"template": "reward_stdp", "a_plus": 0.1, "a_minus": 0.1, "modulator": "da"}},
            "p_nl": {"pre": "arr", "post": "grid", "weights": {"init": "normal", "std": 0.05},
                     "rule": {"template": "nonlinear_hebbian", "eta": 1e-3, "h": {"name": "rect_power", "theta": 1, "power": 2}}},
            "p_cust": {"pre": "arrb", "post": "lif", "sign": "inhibitory", "weights": {"init": "constant", "value": -0.1},
                       "bounds": [-0.5, None],
                       "rule": {"template": "custom", "dw": "-0.01*y0*x1 + 0.01*x0*(y1 - 0.5) - 0.001*u*r*w + 0.001*u*f(y2)",
                                "traces": {"x1": {"impulse": 1, "tau": 10}, "y1": {"impulse": 0.5, "tau": 5}, "y2": {"tau": 3}},
                                "functions": {"f": {"name": "sigmoid"}}, "modulator": "mpop"}},
            "p_static": {"pre": "lif", "post": "rate", "weights": {"init": "uniform", "low": 0, "high": 0.1}},
        },
        "modulators": {
            "da": {"type": "pulses", "times": [10, 40], "amplitude": 0.5, "width": 2, "tau": 20},
            "mpop": {"type": "population", "population": "lif", "gain": 2.0, "baseline": 0.1, "scope": "per_post"},
            "m_arr": {"type": "array", "values": np.linspace(0, 1, 10), "repeat": True},
            "m_const": {"type": "constant", "value": 1.0},
            "m_sine": {"type": "sine", "period": 25, "amplitude": 0.3},
            "m_step": {"type": "step", "at": 30},
        },
        "probes": {
            "w_pair": {"target": "p_pair", "var": "weights", "every": 10},
            "e_rew": {"target": "p_rew", "var": "e", "every": 5},
            "x1_pair": {"target": "p_pair", "var": "x1"},
            "v_lif": {"target": "lif", "var": "v"},
            "rate_out": {"target": "rate", "var": "output", "every": 2},
            "r_da": {"target": "da", "var": "r"},
            "s_lif": {"target": "lif", "var": "spikes"},
        },
        "run": {"dt": 1.0, "steps": 120, "seed": 7},
    }


@pytest.fixture
def every_node():
    return every_node_doc()


@pytest.fixture
def tiny_doc():
    return {
        "populations": {"a": {"type": "poisson", "n": 3, "rates": 10.0},
                        "b": {"type": "lif", "n": 2, "du": 0.1, "dv": 0.1, "vth": 1.0}},
        "projections": {"p": {"pre": "a", "post": "b", "weights": {"init": "uniform", "low": 0, "high": 1},
                              "sign": "excitatory",
                              "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01}}},
        "run": {"steps": 50},
    }


@pytest.fixture
def nh_module():
    return nh
