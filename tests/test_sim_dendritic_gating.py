"""The lif_dendritic neuron (docs/ir.md), the rule variable d (docs/rules.md) and the
dendritic_gating experiment (docs/sims.md): closed forms of the branch and soma
equations, the rule factor, the short protocol's targets, and each backend's refusal."""
from __future__ import annotations

import numpy as np
import pytest

import neurohebb as nh
from neurohebb.errors import NetworkError, NotExpressible, UnsupportedFeature
from neurohebb.ir import from_dict
from neurohebb.sims import format_result, run_sim

DD, THETA, AMP, L, CPL, DV = 0.2, 2.5, 40.0, 10, (0.01, 0.02), 0.1


def _doc(times, w=(1.0, 0.5), steps=60, rule=None, soma_w=None, **cell):
    """One neuron, two branches; input neuron k fires at times[k]; projection b0
    (weight w[0]) onto branch 0, b1 (w[1]) onto branch 1, optionally 'soma' (no branch)."""
    spec = {"type": "lif_dendritic", "n": 1, "du": 1.0, "dv": DV, "vth": 1e6, "branches": 2, "dd": DD,
            "plateau_threshold": THETA, "plateau_amplitude": AMP, "plateau_steps": L, "coupling": list(CPL)}
    spec.update(cell)
    doc = {"format_version": "1.0", "name": "t",
           "populations": {"inp": {"type": "spike_times", "times": times}, "n": spec},
           "projections": {"b0": {"pre": "inp", "post": "n", "branch": 0, "weights": {"init": "constant", "value": w[0]}},
                           "b1": {"pre": "inp", "post": "n", "branch": 1, "weights": {"init": "constant", "value": w[1]}}},
           "probes": {"d": {"target": "n", "var": "branch_v"}, "p": {"target": "n", "var": "plateau"},
                      "ib": {"target": "n", "var": "branch_input"}, "v": {"target": "n", "var": "v"},
                      "u": {"target": "n", "var": "u"}},
           "run": {"steps": steps}}
    if rule is not None:
        doc["projections"]["b0"]["rule"] = rule
    if soma_w is not None:
        doc["projections"]["soma"] = {"pre": "inp", "post": "n", "weights": {"init": "constant", "value": soma_w}}
    return doc


def _closed_form(IB, I, steps, dd=DD, theta=THETA, amp=AMP, L=L, cpl=CPL, dv=DV, du=1.0):
    """The docstring's equations in plain numpy (IB: (steps, branches), I: (steps,))."""
    nb = IB.shape[1]
    s, q = np.zeros(nb), np.zeros(nb, int)
    u = v = 0.0
    S, P, D, V = (np.zeros((steps, nb)), np.zeros((steps, nb)), np.zeros((steps, nb)), np.zeros(steps))
    for t in range(steps):
        s = s * (1 - dd) + IB[t]
        q = np.maximum(q - 1, 0)
        q = np.where((q == 0) & (s > theta), L, q)
        p = (q > 0).astype(float)
        d = s + amp * p
        u = u * (1 - du) + I[t]
        v = v * (1 - dv) + u + float(np.dot(cpl, d))
        S[t], P[t], D[t], V[t] = s, p, d, v
    return S, P, D, V


def _inputs(times, w, steps, nb=2):
    """Branch input: all input neurons project to both branches with weights w[b];
    a spike at step t arrives at t + 1."""
    IB = np.zeros((steps, nb))
    for ts in times:
        for t in ts:
            if t + 1 < steps:
                IB[t + 1] += w
    return IB


def test_plateau_starts_at_threshold_lasts_exactly_and_reaches_the_soma():
    times = [[5], [5], [5], [30]]              # 3 x 1.0 = 3 > 2.5 on branch 0; 1.5 on branch 1
    res = nh.run(from_dict(_doc(times)))
    P, D, V = res.probes["p"].data[:, 0], res.probes["d"].data[:, 0], res.probes["v"].data[:, 0]
    # branch 0: plateau from the arrival step 6 for exactly L steps; branch 1 never
    assert np.flatnonzero(P[:, 0]).tolist() == list(range(6, 6 + L))
    assert not P[:, 1].any()
    assert D[6, 0] == pytest.approx(3.0 + AMP)
    assert D[6 + L, 0] == pytest.approx(3.0 * (1 - DD) ** L)          # plateau over: passive again
    # the whole trajectory (branches and soma) against the closed form
    IB = _inputs(times, np.array([1.0, 0.5]), 60)
    S, Pc, Dc, Vc = _closed_form(IB, np.zeros(60), 60)
    np.testing.assert_array_equal(P, Pc)
    np.testing.assert_allclose(D, Dc, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(V, Vc, rtol=1e-12, atol=1e-12)
    # soma: the attenuated plateau; while it lasts, v - v_passive grows as c*A*(1-(1-dv)^k)/dv
    Vp = _closed_form(IB, np.zeros(60), 60, amp=0.0)[3]
    k = np.arange(1, L + 1)
    np.testing.assert_allclose(V[6:6 + L] - Vp[6:6 + L], CPL[0] * AMP * (1 - (1 - DV) ** k) / DV, rtol=1e-10)
    np.testing.assert_allclose(res.probes["ib"].data[:, 0], IB, atol=0)


def test_passive_branch_decays_geometrically_and_below_threshold_no_plateau():
    times = [[3], [3]]                          # 2.0 < 2.5 on branch 0, 1.0 on branch 1
    res = nh.run(from_dict(_doc(times, steps=40)))
    D = res.probes["d"].data[:, 0]
    assert not res.probes["p"].data.any()
    t = np.arange(4, 40)
    np.testing.assert_allclose(D[4:, 0], 2.0 * (1 - DD) ** (t - 4), rtol=1e-12)
    np.testing.assert_allclose(D[4:, 1], 1.0 * (1 - DD) ** (t - 4), rtol=1e-12)
    assert not D[:4].any()


def test_sustained_input_restarts_the_plateau_and_block_disables_it():
    times = [list(range(0, 40))]                # 1.0 per step: s -> 5 > 2.5 for as long as it lasts
    net = from_dict(_doc(times, steps=60))
    P = nh.run(net).probes["p"].data[:, 0, 0]
    IB = _inputs(times, np.array([1.0, 0.5]), 60, nb=2)
    np.testing.assert_array_equal(P, _closed_form(IB, np.zeros(60), 60)[1][:, 0])
    assert P[3] == 0 and P[4:41].all()          # s crosses 2.5 at step 4; no gap when it restarts
    blocked = from_dict(_doc(times, steps=60, plateau_threshold=1e30))
    assert not nh.run(blocked).probes["p"].data.any()


def test_soma_projection_and_refractory_branches_keep_integrating():
    times = [[2, 3, 4, 5]]
    doc = _doc(times, steps=30, soma_w=2.0, vth=1.5, refractory=3, plateau_threshold=100.0)
    res = nh.run(from_dict(doc))
    u = res.probes["u"].data[:, 0]
    assert u[3] == 2.0 and u[7] == 0.0          # du = 1: u is this step's somatic input
    assert res.spikes["n"][:, 0].any()
    # the branch follows its passive equation regardless of the soma's spikes/refractoriness
    IB = _inputs(times, np.array([1.0, 0.5]), 30)
    S = _closed_form(IB, np.zeros(30), 30, theta=100.0)[0]
    np.testing.assert_allclose(res.probes["d"].data[:, 0], S, rtol=1e-12)


def test_somatic_spikes_get_a_raster_plot(tmp_path):
    from neurohebb.plotting import all_plots

    net = from_dict(_doc([[2, 3, 4, 5]], steps=30, soma_w=2.0, vth=1.5, refractory=3))
    res = nh.run(net)
    assert res.spikes["n"].any()
    files = all_plots(res, net, tmp_path, stem="t")
    assert (tmp_path / "t_n_raster.png") in [type(tmp_path)(f) for f in files]


def test_float32_matches_float64():
    times = [[5], [5], [5], [30]]
    d64 = nh.run(from_dict(_doc(times))).probes["d"].data
    doc = _doc(times)
    doc["run"]["dtype"] = "float32"
    d32 = nh.run(from_dict(doc)).probes["d"].data
    assert d32.dtype == np.float32
    np.testing.assert_allclose(d32, d64, rtol=1e-5)


# --------------------------------------------------------------- the rule variable d
def test_rule_factor_d_closed_form():
    """dw = c*u*x1*g(d), g = relu(d - theta): the final weight is w0 + sum_t c x1[t] g(d[t])
    (u products read traces after the step's impulse), per synapse."""
    c, theta = 0.01, 20.0
    rule = {"template": "custom", "dw": f"{c}*u*x1*g(d)", "traces": {"x1": {"tau": 5}},
            "functions": {"g": {"name": "relu", "theta": theta}}}
    times = [[5], [5], [5], [30]]
    doc = _doc(times, rule=rule)
    doc["probes"]["x1"] = {"target": "b0", "var": "x1"}
    res = nh.run(from_dict(doc))
    D = res.probes["d"].data[:, 0, 0]
    X = res.probes["x1"].data                   # (steps, 4 pre)
    expected = 1.0 + c * (X * np.maximum(D - theta, 0)[:, None]).sum(0)
    np.testing.assert_allclose(res.weights["b0"][0], expected, rtol=1e-12)
    assert (res.weights["b0"][0, :3] > 1.0).all()
    # input 3 fires at step 30, after the plateau (steps 6..15): its synapse does not change
    assert res.weights["b0"][0, 3] == 1.0


def test_rule_factor_d_in_event_products():
    """dw = c*x0*(d - 1): event-driven kernel; each arriving spike adds c*(d[t] - 1) with
    d the branch voltage of the arrival step (which already includes that spike)."""
    c = 0.01
    times = [[5, 9], [5], [5], [30]]
    res = nh.run(from_dict(_doc(times, rule={"template": "custom", "dw": f"{c}*x0*(d - 1)"})))
    D = res.probes["d"].data[:, 0, 0]
    expected = [1.0 + c * sum(D[t + 1] - 1 for t in ts) for ts in times]
    np.testing.assert_allclose(res.weights["b0"][0], expected, rtol=1e-12)
    assert D[6] == pytest.approx(3.0 + AMP)     # the plateau step reads the plateau


def test_rule_factor_d_is_the_branch_of_the_projection():
    rule = {"template": "custom", "dw": "0.001*u*d"}
    doc = _doc([[5], [5], [5], [30]], rule=rule)
    doc["projections"]["b0"]["branch"] = 1
    doc["projections"]["b1"]["branch"] = 0
    res = nh.run(from_dict(doc))
    D = res.probes["d"].data[:, 0]
    # b0 now sits on branch 1 (weight 1.0 there), and its rule reads branch 1
    np.testing.assert_allclose(res.weights["b0"][0], 1.0 + 0.001 * D[:, 1].sum(), rtol=1e-12)


@pytest.mark.parametrize("edit,expected", [
    (lambda d: d["projections"]["b0"].pop("branch"), "projections.b0.branch: the rule reads d"),
    (lambda d: d["projections"]["b0"].update(branch=2), "projections.b0.branch: branch 2 does not exist: 'n' has 2 branches (allowed: 0..1"),
    (lambda d: d["populations"]["n"].update(coupling=[0.1, 0.2, 0.3]), "populations.n.coupling: shape (3,); allowed: a number or (2,)"),
    (lambda d: d["populations"].update(m={"type": "lif", "n": 1, "du": 1, "dv": 0.1, "vth": 1})
     or d["projections"]["b1"].update(post="m"), "projections.b1.branch: 'm' is a lif population without dendritic branches"),
])
def test_invalid_documents(edit, expected):
    doc = _doc([[1]], rule={"template": "custom", "dw": "0.001*u*d"})
    edit(doc)
    with pytest.raises(NetworkError, match=expected.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        from_dict(doc)


def test_d_needs_a_dendritic_post():
    doc = _doc([[1]])
    doc["populations"]["m"] = {"type": "lif", "n": 1, "du": 1, "dv": 0.1, "vth": 1}
    doc["projections"]["x"] = {"pre": "inp", "post": "m", "weights": {"init": "constant", "value": 0.1},
                               "rule": {"template": "custom", "dw": "0.001*u*d"}}
    with pytest.raises(NetworkError, match="projections.x.rule: the rule reads d .* needs a lif_dendritic post"):
        from_dict(doc)


# --------------------------------------------------------------- the experiment
def test_short_reaches_targets(tmp_path):
    res = run_sim("dendritic_gating", short=True, out=tmp_path)
    assert res["passed"] is True, format_result(res)
    m = res["metrics"]
    # with Bono & Clopath's depression term, synapses without a plateau only depress (by the
    # voltage their own spikes meet), with or without NMDA; the plateau branches potentiate
    assert m["dw_noplateau_rel"] < 0.0 and m["control_max_dw"] < 0.0
    assert m["dw_plateau_rel"] > 0.05 and m["plateau_min_synapses"] == 9
    # the lowered-threshold control: scattered input starts plateaus, and then its synapses potentiate
    row = {r["key"]: r for r in res["rows"]}["dw_noplateau_rel"]
    assert row["control"] > 0.0 and row["control_ok"] is False
    assert m["pre_spikes_plateau"] == pytest.approx(m["pre_spikes_noplateau"], rel=0.1)
    assert (tmp_path / "dendritic_gating_summary.png").exists()


# --------------------------------------------------------------- refusals
def _net():
    return nh.load(nh.sims.sims_root() / "dendritic_gating" / "network.yaml")


@pytest.mark.parametrize("hardware", ["loihi2", "loihi1"])
def test_compiler_refuses(hardware):
    from neurohebb.compiler import compile_network

    with pytest.raises(NotExpressible, match=f"populations.cells: {hardware} has no multi-compartment neuron"):
        compile_network(_net(), hardware=hardware)


def test_reference_fixed_refuses():
    with pytest.raises(NotExpressible, match="has no multi-compartment neuron"):
        run_sim("dendritic_gating", precision="fixed", short=True)


@pytest.mark.skipif(not nh.backends.available("lava"), reason="lava is not installed")
@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_lava_refuses(precision):
    with pytest.raises(NotExpressible, match="no multi-compartment neuron"):
        nh.run(_net(), backend="lava", precision=precision, steps=10)


@pytest.mark.skipif(not nh.backends.available("nengo"), reason="nengo is not installed")
@pytest.mark.parametrize("precision", ["float", "loihi1"])
def test_nengo_refuses(precision):
    with pytest.raises(UnsupportedFeature, match="nengo has no multi-compartment neuron"):
        nh.run(_net(), backend="nengo", precision=precision, steps=10)


def test_nir_export_refuses():
    pytest.importorskip("nir")
    from neurohebb.nir import NIRConversionError, export_nir

    with pytest.raises(NIRConversionError, match="NIR has no multi-compartment neuron"):
        export_nir(_net())
