"""Neurons, traces, delays and sources of the reference simulator against their
difference equations (neurohebb/ir/schema.py, neurohebb/rules/algebra.py).

* a spike emitted at step s arrives at s + 1 + delay (input and traces);
* LIF:  u[t] = u[t-1](1-du) + I[t];  v[t] = v[t-1](1-dv) + u[t] + bias;
  spike if v > vth, then v = v_reset and v is held for ``refractory`` steps;
* traces: z[t] = exp(-1/tau) z[t-1] + impulse a[t]  (tau 0: z = impulse a).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import neurohebb as nh
from neurohebb.ir import from_dict


def run_doc(doc, steps, seed=0):
    doc = dict(doc)
    doc.setdefault("format_version", "1.0")
    return nh.run(from_dict(doc), steps=steps, seed=seed, progress=False)


def spike_matrix(times, steps):
    s = np.zeros((steps, len(times)))
    for j, ts in enumerate(times):
        s[list(ts), j] = 1.0
    return s


# ============================================================================ traces
@pytest.mark.parametrize("delay", [0, 2])
def test_traces_against_recursion(delay):
    steps = 60
    pre = [[3, 4, 10, 30], [0, 12, 13, 14, 40]]
    post = [[5, 6, 25], [20, 21, 50]]
    traces = {"x1": {"impulse": 0.7, "tau": 10.0}, "x2": {"impulse": 1.0, "tau": 0.0},
              "y1": {"impulse": 1.3, "tau": 5.0}, "y2": {"impulse": 0.25, "tau": 40.0}}
    rule = {"template": "custom", "dw": "1e-6*y0*x1*y2 - 1e-6*x0*y1*x2", "traces": traces}
    doc = {"populations": {"pre": {"type": "spike_times", "times": pre},
                           "post": {"type": "lif", "n": 2, "du": 1, "dv": 1, "vth": 1,
                                    "prescribed": {"type": "spike_times", "times": post}}},
           "projections": {"p": {"pre": "pre", "post": "post", "weights": {"init": "constant", "value": 0.5},
                                 "delay": delay, "rule": rule}},
           "probes": {k: {"target": "p", "var": k} for k in traces}}
    res = run_doc(doc, steps)
    S_pre = spike_matrix(pre, steps)
    arriving = np.vstack([np.zeros((1 + delay, 2)), S_pre[: steps - 1 - delay]])
    activity = {"x1": arriving, "x2": arriving, "y1": spike_matrix(post, steps), "y2": spike_matrix(post, steps)}
    for k, tr in traces.items():
        d = math.exp(-1.0 / tr["tau"]) if tr["tau"] else 0.0
        z = np.zeros(2)
        expected = []
        for t in range(steps):
            z = d * z + tr["impulse"] * activity[k][t]
            expected.append(z.copy())
        np.testing.assert_allclose(res.probes[k].data, np.array(expected), rtol=1e-12, atol=1e-300, err_msg=k)
    # the pre trace jumps at the ARRIVAL step 3 + 1 + delay of the spike emitted at 3
    x1 = res.probes["x1"].data[:, 0]
    assert x1[3 + delay] == 0 and x1[4 + delay] == pytest.approx(0.7, rel=1e-15)


def test_trace_of_graded_activity():
    steps = 30
    X = np.random.default_rng(0).uniform(0, 2, (steps, 2))
    rule = {"template": "custom", "dw": "0*u*x1*y1", "traces": {"x1": {"impulse": 0.5, "tau": 3.0},
                                                                  "y1": {"impulse": 2.0, "tau": 7.0}}}
    Y = np.random.default_rng(1).uniform(0, 2, (steps, 1))
    doc = {"populations": {"x": {"type": "array", "values": X},
                           "y": {"type": "rate", "n": 1, "prescribed": {"type": "array", "values": Y}}},
           "projections": {"p": {"pre": "x", "post": "y", "weights": {"init": "constant", "value": 0.1}, "rule": rule}},
           "probes": {"x1": {"target": "p", "var": "x1"}, "y1": {"target": "p", "var": "y1"}}}
    res = run_doc(doc, steps)
    for name, a, imp, tau in [("x1", np.vstack([np.zeros((1, 2)), X[:-1]]), 0.5, 3.0), ("y1", Y, 2.0, 7.0)]:
        z, out = np.zeros(a.shape[1]), []
        for t in range(steps):
            z = math.exp(-1 / tau) * z + imp * a[t]
            out.append(z.copy())
        np.testing.assert_allclose(res.probes[name].data, out, rtol=1e-12)


# ============================================================================ LIF
def lif_reference(I, *, du, dv, vth, bias=0.0, refractory=0, v_reset=0.0, v_init=0.0):
    steps, n = I.shape
    u = np.zeros(n)
    v = np.broadcast_to(np.asarray(v_init, float), (n,)).copy()
    bias = np.broadcast_to(np.asarray(bias, float), (n,))
    refr = np.zeros(n, int)
    V, U, S = [], [], []
    for t in range(steps):
        u = u * (1 - du) + I[t]
        for i in range(n):
            if refr[i] > 0:
                refr[i] -= 1  # v held at v_reset
            else:
                v[i] = v[i] * (1 - dv) + u[i] + bias[i]
        spk = v > vth
        v[spk] = v_reset
        refr[spk] = refractory
        V.append(v.copy())
        U.append(u.copy())
        S.append(spk)
    return np.array(V), np.array(U), np.array(S)


def lif_doc(pre_times, W, lif, delay=0):
    return {"populations": {"src": {"type": "spike_times", "times": pre_times},
                            "lif": {"type": "lif", "n": W.shape[0], **lif}},
            "projections": {"p": {"pre": "src", "post": "lif", "weights": {"init": "array", "values": W},
                                  "delay": delay}},
            "probes": {"v": {"target": "lif", "var": "v"}, "u": {"target": "lif", "var": "u"},
                       "i": {"target": "lif", "var": "input"}}}


def input_current(pre_times, W, steps, delay):
    """I[t] = sum_j W[:, j] s_j[t - 1 - delay], summed in column order like the simulator."""
    S = spike_matrix(pre_times, steps)
    I = np.zeros((steps, W.shape[0]))
    for t in range(1 + delay, steps):
        for j in np.flatnonzero(S[t - 1 - delay]):
            I[t] += W[:, j]
    return I


PRE = [[2, 3, 4, 5, 6, 20, 21, 22, 23, 24, 25, 26, 60], [4, 5, 6, 7, 8, 9, 10, 40, 41, 42], [15, 45, 46, 47, 48]]
W_LIF = np.array([[0.4, 0.25, -0.3], [0.15, 0.35, 0.5]])


@pytest.mark.parametrize("refractory,v_reset", [(0, 0.0), (3, -0.2)])
def test_lif_difference_equation(refractory, v_reset):
    steps = 90
    lif = dict(du=0.3, dv=0.1, vth=1.0, bias=[0.02, -0.01], refractory=refractory, v_reset=v_reset, v_init=[0.1, 0.0])
    res = run_doc(lif_doc(PRE, W_LIF, lif), steps)
    I = input_current(PRE, W_LIF, steps, 0)
    V, U, S = lif_reference(I, **lif)
    np.testing.assert_allclose(res.probes["i"].data, I, rtol=1e-15, atol=0)
    np.testing.assert_allclose(res.probes["u"].data, U, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.probes["v"].data, V, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(res.spikes["lif"], S)
    assert S.sum() >= 4  # both neurons spike (several times): reset/refractory are exercised
    assert np.all(S.any(axis=0))


@pytest.mark.parametrize("R", [0, 1, 4])
def test_lif_refractory_period(R):
    """A neuron driven far above threshold (bias 5 > vth) spikes every R + 1 steps
    and holds v at v_reset during the R refractory steps."""
    steps = 40
    doc = {"populations": {"lif": {"type": "lif", "n": 1, "du": 0.5, "dv": 0.5, "vth": 1.0, "bias": 5.0,
                                   "refractory": R, "v_reset": -0.5}},
           "probes": {"v": {"target": "lif", "var": "v"}}}
    res = run_doc(doc, steps)
    spikes = np.flatnonzero(res.spikes["lif"][:, 0])
    np.testing.assert_array_equal(spikes, np.arange(0, steps, R + 1))
    v = res.probes["v"].data[:, 0]
    np.testing.assert_array_equal(v[spikes], -0.5)
    for s in spikes:
        np.testing.assert_array_equal(v[s: s + R + 1][: steps - s], -0.5)


@pytest.mark.parametrize("d", [1, 4])
def test_delay_shifts_response(d):
    steps = 80
    lif = dict(du=0.3, dv=0.1, vth=1.0)
    r0 = run_doc(lif_doc(PRE, W_LIF, lif), steps)
    rd = run_doc(lif_doc(PRE, W_LIF, lif, delay=d), steps)
    for var in ("v", "u", "i"):
        a0, ad = r0.probes[var].data, rd.probes[var].data
        np.testing.assert_array_equal(ad[d:], a0[:-d])
        np.testing.assert_array_equal(ad[:d], 0.0)
    np.testing.assert_array_equal(rd.spikes["lif"][d:], r0.spikes["lif"][:-d])
    assert r0.spikes["lif"].sum() > 0
    # and it matches the difference equation with I[t] = W s[t - 1 - d]
    V, _, _ = lif_reference(input_current(PRE, W_LIF, steps, d), **lif)
    np.testing.assert_allclose(rd.probes["v"].data, V, rtol=1e-12, atol=1e-15)


def test_one_step_latency_for_rate_neurons():
    steps = 10
    X = np.arange(1.0, steps + 1)[:, None] * np.array([[1.0, -0.5]])
    doc = {"populations": {"x": {"type": "array", "values": X}, "y": {"type": "rate", "n": 1, "bias": 0.25}},
           "projections": {"p": {"pre": "x", "post": "y", "weights": {"init": "array", "values": [[0.3, 0.8]]},
                                 "delay": 2}},
           "probes": {"y": {"target": "y", "var": "output"}}}
    y = run_doc(doc, steps).probes["y"].data[:, 0]
    expected = np.array([0.25 + (X[t - 3] @ [0.3, 0.8] if t >= 3 else 0.0) for t in range(steps)])
    np.testing.assert_allclose(y, expected, rtol=1e-14)


# ============================================================================ determinism, Poisson
def plastic_doc():
    return {"populations": {"pre": {"type": "poisson", "n": 50, "rates": 20.0},
                            "post": {"type": "lif", "n": 5, "du": 0.3, "dv": 0.1, "vth": 1.0}},
            "projections": {"p": {"pre": "pre", "post": "post", "sign": "excitatory", "bounds": [0, 0.5],
                                  "weights": {"init": "uniform", "low": 0.05, "high": 0.3},
                                  "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.0105}}},
            "probes": {"w": {"target": "p", "var": "weights", "every": 100}}}


def test_determinism_same_seed_bit_identical():
    a = run_doc(plastic_doc(), 2000, seed=5)
    b = run_doc(plastic_doc(), 2000, seed=5)
    assert a.spikes["post"].sum() > 10
    for k in a.spikes:
        np.testing.assert_array_equal(a.spikes[k], b.spikes[k])
    np.testing.assert_array_equal(a.weights["p"], b.weights["p"])
    np.testing.assert_array_equal(a.initial_weights["p"], b.initial_weights["p"])
    np.testing.assert_array_equal(a.probes["w"].data, b.probes["w"].data)
    c = run_doc(plastic_doc(), 2000, seed=6)
    assert not np.array_equal(a.spikes["pre"], c.spikes["pre"])
    assert not np.array_equal(a.initial_weights["p"], c.initial_weights["p"])
    assert not np.array_equal(a.weights["p"], c.weights["p"])
    # the run's own seed is used when none is passed
    doc = plastic_doc()
    doc["run"] = {"seed": 5, "steps": 2000}
    d = nh.run(from_dict(doc), progress=False)
    np.testing.assert_array_equal(a.spikes["pre"], d.spikes["pre"])


@pytest.mark.parametrize("rates,dt,seed", [(50.0, 1.0, 0), (50.0, 0.5, 1), ([5.0, 40.0, 120.0], 1.0, 2)])
def test_poisson_rate_within_3_sigma(rates, dt, seed):
    steps, n = 4000, 3
    doc = {"populations": {"p": {"type": "poisson", "n": n, "rates": rates}}, "run": {"dt": dt}}
    s = run_doc(doc, steps, seed=seed).spikes["p"]
    assert s.shape == (steps, n) and s.dtype == bool
    p = np.broadcast_to(np.asarray(rates, float) * dt / 1000.0, (n,))
    counts = s.sum(axis=0)
    mean, sd = steps * p, np.sqrt(steps * p * (1 - p))
    assert np.all(np.abs(counts - mean) < 3 * sd), (counts, mean, sd)
    tot_mean, tot_sd = mean.sum(), np.sqrt((sd**2).sum())
    assert abs(counts.sum() - tot_mean) < 3 * tot_sd


def test_poisson_time_varying_rates():
    """rates of shape (steps, n): rate 0 gives no spike, rate 1000 Hz (p = 1) always spikes."""
    steps = 200
    R = np.zeros((steps, 2))
    R[50:100, 0] = 1000.0
    R[120:, 1] = 1000.0
    s = run_doc({"populations": {"p": {"type": "poisson", "rates": R}}}, steps, seed=3).spikes["p"]
    np.testing.assert_array_equal(s, R > 0)
