"""NIR import/export (neurohebb/nir.py, docs/nir.md).

* neurohebb -> NIR -> neurohebb is lossless over every population, weight,
  connectivity, modulator, probe and rule-template type (in memory and through
  an .nir file), and the result runs bit-identically;
* a tool that ignores metadata["neurohebb"] reads the static network, which
  runs like the original without its rules;
* NIR graphs written with the nir package's own constructors (read from .nir
  files) import with the documented discretization; a CubaLIF / LI neuron's
  voltage matches the closed-form continuous solution within the reported error;
* unsupported nodes, per-neuron parameters neurohebb cannot hold, and
  inconsistent options raise NeurohebbError subclasses naming node and type.

Time convention (docs/nir.md): step t covers (t dt, (t+1) dt]; the state after
step t is the continuous state at (t+1) dt; a spike emitted at step s is a unit
pulse of integral dt delivered at (s+1) dt.
"""
from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")

import neurohebb as nh  # noqa: E402
from neurohebb import nir as nhnir  # noqa: E402
from neurohebb.errors import NeurohebbError  # noqa: E402
from neurohebb.ir import from_dict, load, save, to_dict  # noqa: E402
from neurohebb.nir import KEY, NIRConversionError, NIRConversionWarning  # noqa: E402
from neurohebb.rules import TEMPLATES  # noqa: E402

from conftest import assert_same_results, every_node_doc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _canon(net):
    return json.dumps(to_dict(net), sort_keys=True)


def _run(doc_or_net, steps=None, **kw):
    net = doc_or_net if isinstance(doc_or_net, nh.Network) else from_dict(doc_or_net)
    return nh.run(net, steps=steps, progress=False, **kw)


def _with_probe(net, name, target, var):
    d = to_dict(net)
    d.setdefault("probes", {})[name] = {"target": target, "var": var}
    return from_dict(d)


# ============================================================================ the module itself
def test_module_uses_the_top_level_nir_package():
    # neurohebb/nir.py does `import nir`; in Python 3 that is absolute, so it is
    # the installed package, not neurohebb.nir itself
    assert nhnir.nir is sys.modules["nir"]
    assert nhnir.nir is not nhnir
    assert Path(nhnir.nir.__file__).parent.name == "nir"
    assert Path(nhnir.nir.__file__).resolve() != Path(nhnir.__file__).resolve()
    assert hasattr(nhnir.nir, "NIRGraph") and hasattr(nhnir.nir, "CubaLIF")
    assert issubclass(NIRConversionError, NeurohebbError)


# ============================================================================ lossless round trip
def test_fixture_covers_every_type():
    doc = every_node_doc()
    assert {p["type"] for p in doc["populations"].values()} == {"spike_times", "poisson", "array", "lif", "rate"}
    # alignment needs a partner projection pair: test_alignment_rule_round_trips_through_nir
    assert {p["rule"]["template"] for p in doc["projections"].values() if "rule" in p} == set(TEMPLATES) - {"alignment"}


def test_alignment_rule_round_trips_through_nir():
    """The non-local alignment template (sims/credit_assignment) travels in the metadata."""
    from neurohebb.sims import sims_root

    net = nh.load(sims_root() / "credit_assignment" / "network.yaml")
    assert any(p.rule is not None and p.rule.template == "alignment" for p in net.projections.values())
    back = nhnir.from_nir(nhnir.to_nir(net))
    assert to_dict(back) == to_dict(net)


def test_round_trip_in_memory_is_lossless():
    net = from_dict(every_node_doc())
    with warnings.catch_warnings():
        warnings.simplefilter("error", NIRConversionWarning)
        graph = nhnir.to_nir(net)
        back = nhnir.from_nir(graph)
    assert to_dict(back) == to_dict(net)
    assert _canon(back) == _canon(net)


def test_round_trip_through_an_nir_file_is_lossless_and_runs_identically(tmp_path):
    net = from_dict(every_node_doc())
    path = tmp_path / "every.nir"
    nir.write(path, nhnir.to_nir(net))
    back = nhnir.from_nir(nir.read(path))
    assert _canon(back) == _canon(net)
    for name, pr in net.projections.items():
        if pr.rule is not None:
            assert str(back.projections[name].rule.expand()) == str(pr.rule.expand())
    assert_same_results(_run(net), _run(back))
    # and from the path directly, twice (deterministic)
    again = nhnir.from_nir(path)
    assert _canon(again) == _canon(net)
    nir.write(tmp_path / "again.nir", nhnir.to_nir(again))
    assert _canon(nhnir.from_nir(tmp_path / "again.nir")) == _canon(net)


def test_exported_graph_structure_and_metadata(tmp_path):
    net = from_dict(every_node_doc())
    path = tmp_path / "every.nir"
    nir.write(path, nhnir.to_nir(net))
    g = nir.read(path)
    types = {k: type(v).__name__ for k, v in g.nodes.items()}
    for src in ("st", "po", "po2", "arr", "arrb"):
        assert types[src] == "Input"
    assert types["lif"] == types["lifp"] == "CubaLIF"
    for r in ("rate", "rate2", "grid"):
        assert types[r] == "Affine" and types[f"{r}__latency"] == "Delay"
        np.testing.assert_array_equal(g.nodes[r].weight, np.eye(net.populations[r].n))
        np.testing.assert_allclose(g.nodes[f"{r}__latency"].delay, 1e-3)  # dt = 1 ms, in seconds
    for p in net.projections:
        assert types[p] == "Linear"
    assert types["p_trip__delay"] == "Delay"
    np.testing.assert_allclose(g.nodes["p_trip__delay"].delay, 2e-3)
    assert ("p_trip", "p_trip__delay") in g.edges and ("p_trip__delay", "lifp") in g.edges
    # the weights are the ones the reference backend draws with run.seed
    res = _run(net, steps=1)
    np.testing.assert_array_equal(g.nodes["p_hebb"].weight, res.initial_weights["p_hebb"])
    # CubaLIF parameters: exact inverse of du, dv; r chosen so that the weights are unchanged
    lif = g.nodes["lif"]
    np.testing.assert_allclose(lif.tau_syn, -1e-3 / np.log(1 - 0.2))
    np.testing.assert_allclose(lif.tau_mem, -1e-3 / np.log(1 - 0.1))
    np.testing.assert_allclose(lif.v_threshold, 0.5)
    np.testing.assert_allclose(lif.v_reset, -0.1)
    np.testing.assert_allclose(lif.v_leak, 0.01 / 0.1)
    # the neurohebb pieces travel under one key, as JSON text + arrays
    m = g.nodes["p_pair"].metadata[KEY]
    assert json.loads(m["spec"])["rule"]["template"] == "stdp_pair"
    gm = g.metadata[KEY]
    skel = json.loads(gm["spec"])
    assert set(skel["modulators"]) == set(net.modulators) and set(skel["probes"]) == set(net.probes)
    assert skel["populations"] == list(net.populations)
    assert json.loads(g.nodes["arr"].metadata[KEY]["spec"])["values"].startswith("npz:")
    assert g.nodes["arr"].metadata[KEY]["arrays"]["populations__arr__values"].shape == (50, 16)


LIF_VARIANTS = [  # du, dv, bias, NIR type, which methods must clamp a decay of 0 or 1
    (0.2, 0.1, 0.0, "CubaLIF", ()),
    (0.3, 0.3, 0.05, "CubaLIF", ()),  # equal time constants
    (1.0, 0.1, 0.02, "LIF", ()),
    (1.0, 0.0, 0.0, "IF", ()),
    (1.0, 0.0, 0.02, "LIF", ("exact", "euler")),  # bias without leak: no IF
    (0.0, 0.1, 0.0, "CubaLIF", ("exact", "euler")),  # a current that never decays
    (0.2, 0.0, 0.0, "CubaLIF", ("exact", "euler")),
    (1.0, 1.0, 0.1, "LIF", ("exact",)),  # no memory at all: tau_mem = dt/20.7 under exact, dt under Euler
    (0.5, 1.0, 0.0, "CubaLIF", ("exact",)),
]


@pytest.mark.parametrize("method", ["exact", "euler"])
@pytest.mark.parametrize("du,dv,bias,ntype,clamps", LIF_VARIANTS)
def test_lif_variants_round_trip(du, dv, bias, ntype, clamps, method, tmp_path):
    doc = {"format_version": "1.0", "name": "v",
           "populations": {"src": {"type": "poisson", "n": 3, "rates": 200.0},
                           "out": {"type": "lif", "n": 2, "du": du, "dv": dv, "vth": 0.4, "bias": bias}},
           "projections": {"p": {"pre": "src", "post": "out", "weights": {"init": "uniform", "low": 0, "high": 0.3},
                                 "delay": 1}},
           "run": {"dt": 0.5, "steps": 300, "seed": 3, "dtype": "float32"}}
    net = from_dict(doc)
    graph, rep = nhnir.export_nir(net, method=method, time_unit="ms")
    assert type(graph.nodes["out"]).__name__ == ntype
    clamped = method in clamps
    assert bool(rep.approximations()) == clamped
    nir.write(tmp_path / "v.nir", graph)
    back, rep2 = nhnir.import_nir(tmp_path / "v.nir")
    assert rep2.used_metadata and _canon(back) == _canon(net)
    assert_same_results(_run(net), _run(back))
    # what another tool sees: the static network at the same dt, method and unit
    static, _ = nhnir.import_nir(tmp_path / "v.nir", 0.5, method=method, time_unit="ms", ignore_metadata=True)
    s = static.populations["out"]
    if not clamped:
        assert s.du == pytest.approx(du, abs=1e-12) and s.dv == pytest.approx(dv, abs=1e-12)
        np.testing.assert_allclose(s.bias, bias, atol=1e-12)
        W = _run(net, steps=1).initial_weights["p"]
        np.testing.assert_allclose(static.projections["p"].weights.values, W, rtol=1e-6)
        assert static.projections["p"].delay == 1
        assert rep.max_error() < 1e-9 if method == "exact" else rep.errors["out"]["roundtrip"] < 1e-12
    else:
        assert abs(s.du - du) < 1e-8 and abs(s.dv - dv) < 1e-8


def test_dt_and_unit_are_kept(tmp_path):
    doc = every_node_doc()
    doc["run"]["dt"] = 0.25
    doc["run"]["dtype"] = "float32"
    net = from_dict(doc)
    for unit in ("s", "ms"):
        with pytest.warns(NIRConversionWarning, match=r"lif \(CubaLIF\): impulse 0.1"):  # Euler vs continuous
            graph = nhnir.to_nir(net, time_unit=unit, method="euler")
        nir.write(tmp_path / f"{unit}.nir", graph)
        back, rep = nhnir.import_nir(tmp_path / f"{unit}.nir")
        assert _canon(back) == _canon(net)
        assert (rep.dt, rep.time_unit, rep.method) == (0.25, unit, "euler")
    tau = nir.read(tmp_path / "ms.nir").nodes["lif"].tau_syn[0]
    assert tau == pytest.approx(0.25 / 0.2)  # Euler: dt/du, in ms


def test_graph_without_a_leaf_gets_output_nodes(tmp_path):
    doc = {"format_version": "1.0",
           "populations": {"s": {"type": "poisson", "n": 2, "rates": 50.0},
                           "a": {"type": "lif", "n": 2, "du": 0.5, "dv": 0.2, "vth": 0.5}},
           "projections": {"in": {"pre": "s", "post": "a", "weights": {"init": "constant", "value": 0.6}},
                           "rec": {"pre": "a", "post": "a", "weights": {"init": "constant", "value": -0.1},
                                   "rule": {"template": "hebbian", "eta": 0.01}}},
           "run": {"steps": 200}}
    net = from_dict(doc)
    nir.write(tmp_path / "r.nir", nhnir.to_nir(net))
    g = nir.read(tmp_path / "r.nir")
    assert any(type(v).__name__ == "Output" for v in g.nodes.values())
    back = nhnir.from_nir(g)
    assert _canon(back) == _canon(net)
    assert_same_results(_run(net), _run(back))


# ============================================================================ the static view
STATIC_DOC = {
    "format_version": "1.0", "name": "static",
    "populations": {
        "st": {"type": "spike_times", "times": [[2, 9, 10, 30], [5, 6], [40]]},
        "po": {"type": "poisson", "n": 8, "rates": 60.0},
        "ar": {"type": "array", "values": np.abs(np.random.default_rng(1).normal(size=(30, 3))), "repeat": True},
        "cuba": {"type": "lif", "n": 5, "du": 0.3, "dv": 0.15, "vth": 0.3, "bias": 0.01},
        "leaky": {"type": "lif", "n": 4, "du": 1.0, "dv": 0.2, "vth": 0.25, "v_reset": 0.05},
        "integ": {"type": "lif", "n": 3, "du": 1.0, "dv": 0.0, "vth": 0.8},
        "readout": {"type": "rate", "n": 2},
        "mid": {"type": "rate", "n": 2},
    },
    "projections": {
        "a": {"pre": "st", "post": "cuba", "weights": {"init": "uniform", "low": 0, "high": 0.4}, "delay": 2,
              "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01}},
        "b": {"pre": "po", "post": "cuba", "weights": {"init": "normal", "mean": 0.05, "std": 0.05},
              "connectivity": {"type": "fixed_probability", "p": 0.5}},
        "c": {"pre": "ar", "post": "leaky", "weights": {"init": "uniform", "low": 0, "high": 0.2}},
        "d": {"pre": "cuba", "post": "leaky", "weights": {"init": "constant", "value": 0.1}, "delay": 1},
        "e": {"pre": "leaky", "post": "integ", "weights": {"init": "uniform", "low": 0, "high": 0.5}},
        "f": {"pre": "cuba", "post": "cuba", "weights": {"init": "constant", "value": -0.05}},
        "g": {"pre": "integ", "post": "readout", "weights": {"init": "uniform", "low": -1, "high": 1}},
        "h": {"pre": "ar", "post": "mid", "weights": {"init": "uniform", "low": 0, "high": 0.3}},
        "i": {"pre": "mid", "post": "leaky", "weights": {"init": "uniform", "low": 0, "high": 0.3}},
    },
    "probes": {"v_cuba": {"target": "cuba", "var": "v"}, "out": {"target": "readout", "var": "output"}},
    "run": {"steps": 400, "seed": 5},
}


def _strip_rules(net):
    d = to_dict(net)
    for p in d["projections"].values():
        p.pop("rule", None)
    return from_dict(d)


def test_a_tool_ignoring_the_key_reads_the_static_network(tmp_path):
    net = from_dict(STATIC_DOC)
    nir.write(tmp_path / "s.nir", nhnir.to_nir(net))
    inputs = {k: to_dict(net)["populations"][k] for k in ("st", "po", "ar")}
    static, rep = nhnir.import_nir(tmp_path / "s.nir", 1.0, ignore_metadata=True, inputs=inputs)
    assert not rep.used_metadata and not rep.approximations()
    assert rep.max_error() < 1e-12
    assert all(p.rule is None for p in static.projections.values())
    assert {static.populations[k].type for k in ("cuba", "leaky", "integ")} == {"lif"}
    assert static.projections["a"].delay == 2 and static.projections["d"].delay == 1
    # ar -> h -> mid (Affine identity) -> Delay(dt) -> i -> leaky: one projection with i @ h, one step later
    assert static.projections["h"].pre == "ar" and static.projections["h"].post == "leaky"
    assert static.projections["h"].delay == 1
    # the rate population is an Affine(identity) -> Delay(dt): it comes back as the linear readout that feeds
    # the graph's Output node, at the same step
    ro = [k for k, p in static.populations.items() if p.type == "rate"]
    assert "mid" not in static.populations
    assert len(ro) == 1
    # run settings are not in NIR: run both with the same steps and seed
    orig = _run(_strip_rules(net))
    imp = _run(_with_probe(static, "v_cuba", "cuba", "v"), steps=net.run.steps, seed=net.run.seed)
    for k in ("cuba", "leaky", "integ"):
        np.testing.assert_array_equal(imp.spikes[k], orig.spikes[k])
    np.testing.assert_allclose(imp.probes["v_cuba"].data, orig.probes["v_cuba"].data, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(imp.probes[ro[0]].data, orig.probes["out"].data, rtol=1e-9, atol=1e-12)
    assert orig.spikes["integ"].sum() > 0 and orig.spikes["leaky"].sum() > 0


def test_a_tool_that_drops_the_metadata(tmp_path):
    net = from_dict(STATIC_DOC)
    nir.write(tmp_path / "s.nir", nhnir.to_nir(net))
    g = nir.read(tmp_path / "s.nir")
    g.metadata = {}
    for node in g.nodes.values():
        node.metadata = {}
    nir.write(tmp_path / "bare.nir", g)
    with pytest.warns(NIRConversionWarning, match="silent poisson source"):
        bare = nhnir.from_nir(tmp_path / "bare.nir", dt=1.0)
    ignored, _ = nhnir.import_nir(tmp_path / "s.nir", 1.0, ignore_metadata=True)
    assert _canon(bare) == _canon(ignored)
    assert all(p.rule is None for p in bare.projections.values())


# ============================================================================ graphs built with nir's constructors
def _cuba(n, ts, tm, r=1.0, vl=0.0, vth=1.0, vr=0.0, w_in=1.0):
    f = lambda x: np.full(n, float(x))  # noqa: E731
    return nir.CubaLIF(tau_syn=f(ts), tau_mem=f(tm), r=f(r), v_leak=f(vl), v_threshold=f(vth), v_reset=f(vr),
                       w_in=f(w_in))


def test_import_a_graph_written_with_the_nir_package(tmp_path):
    rng = np.random.default_rng(0)
    W1, b1 = rng.uniform(0, 1, (4, 3)), np.array([0.1, 0.0, 0.2, 0.0])
    W2, W3 = rng.uniform(0, 1, (2, 4)), rng.uniform(-1, 1, (3, 2))
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([3])}),
            "fc1": nir.Affine(weight=W1, bias=b1),
            "layer1": _cuba(4, 5e-3, 10e-3, r=2.0, vl=0.1, vth=0.5, w_in=1.5),
            "fc2": nir.Linear(weight=W2),
            "d2": nir.Delay(delay=np.full(2, 3e-3)),
            "layer2": nir.LIF(tau=np.full(2, 20e-3), r=np.full(2, 20.0), v_leak=np.zeros(2),
                              v_threshold=np.ones(2), v_reset=np.zeros(2)),
            "fc3": nir.Linear(weight=W3),
            "li": nir.LI(tau=np.array([10e-3, 20e-3, 40e-3]), r=np.ones(3), v_leak=np.zeros(3)),
            "if": nir.IF(r=np.full(2, 100.0), v_threshold=np.full(2, 2.0)),
            "out": nir.Output(output_type={"output": np.array([3])}),
            "spk": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "fc1"), ("fc1", "layer1"), ("layer1", "fc2"), ("fc2", "d2"), ("d2", "layer2"),
               ("layer2", "fc3"), ("fc3", "li"), ("li", "out"), ("layer2", "if"), ("if", "spk")],
    )
    path = tmp_path / "built.nir"
    nir.write(path, g)
    inputs = {"in": {"type": "poisson", "n": 3, "rates": 100.0}}
    net, rep = nhnir.import_nir(path, dt=1.0, inputs=inputs)
    P = net.populations
    assert P["in"].type == "poisson" and P["in"].rates == 100.0
    dt = 1e-3
    a, b = np.exp(-dt / 5e-3), np.exp(-dt / 10e-3)
    assert (P["layer1"].type, P["layer1"].du, P["layer1"].dv) == ("lif", pytest.approx(1 - a), pytest.approx(1 - b))
    # CubaLIF: gain w_in * r * dt * (a - b) / (tau_syn - tau_mem), and v_leak + the Affine bias fold into bias
    gain1 = 1.5 * 2.0 * dt * (a - b) / (5e-3 - 10e-3)
    np.testing.assert_allclose(net.projections["fc1"].weights.values, gain1 * W1, rtol=1e-12)
    np.testing.assert_allclose(P["layer1"].bias, (1 - b) * (0.1 + 2.0 * 1.5 * b1), rtol=1e-12)
    assert any("folded into the membrane bias" in n[3] for n in rep.notes)
    # LIF: du = 1, gain r * exp(-dt/tau) * dt / tau; the Delay becomes 3 steps
    bl = np.exp(-dt / 20e-3)
    assert (P["layer2"].du, P["layer2"].dv) == (1.0, pytest.approx(1 - bl))
    np.testing.assert_allclose(net.projections["fc2"].weights.values, 20.0 * bl * dt / 20e-3 * W2, rtol=1e-12)
    assert net.projections["fc2"].delay == 3
    # IF: du = 1, dv = 0, gain r * dt, identity edge -> one_to_one
    assert (P["if"].du, P["if"].dv, P["if"].vth) == (1.0, 0.0, 2.0)
    pj = [p for p in net.projections.values() if p.post == "if"][0]
    assert pj.connectivity.type == "one_to_one" and pj.weights.value == pytest.approx(0.1)
    # LI: a linear rate population with a one-to-one leak exp(-dt/tau) per neuron
    assert P["li"].type == "rate"
    leak = net.projections["li_leak"]
    assert (leak.pre, leak.post, leak.connectivity.type) == ("li", "li", "one_to_one")
    np.testing.assert_allclose(np.diag(leak.weights.values), np.exp(-dt / np.array([10e-3, 20e-3, 40e-3])))
    # Output nodes become probes
    assert (net.probes["out"].target, net.probes["out"].var) == ("li", "output")
    assert (net.probes["spk"].target, net.probes["spk"].var) == ("if", "spikes")
    # the exact discretization is exact: the reported errors are rounding only
    assert set(rep.errors) == {"layer1", "layer2", "li", "if"}
    assert rep.max_error() < 1e-12
    res = _run(net, steps=300)
    assert res.spikes["layer1"].sum() > 0
    # the same file through import_file (the CLI's function)
    msg = nhnir.import_file(path, tmp_path / "built.yaml", dt=1.0, inputs=inputs)
    assert "wrote" in msg and "layer1 (CubaLIF)" in msg
    assert _canon(load(tmp_path / "built.yaml")) == _canon(from_dict({**to_dict(net), "name": "built"}))


def test_readout_through_an_affine_and_sequential_graphs(tmp_path):
    W = np.arange(6.0).reshape(2, 3) / 10
    g = nir.NIRGraph.from_list(nir.Input(input_type={"input": np.array([4])}), nir.Linear(weight=np.eye(3, 4)),
                               _cuba(3, 2e-3, 4e-3), nir.Affine(weight=W, bias=np.array([0.5, -0.5])))
    nir.write(tmp_path / "seq.nir", g)
    net, rep = nhnir.import_nir(tmp_path / "seq.nir", dt=0.5)
    ro = net.populations["output"]
    assert ro.type == "rate" and ro.n == 2
    np.testing.assert_allclose(ro.bias, [0.5, -0.5])
    pj = [p for p in net.projections.values() if p.post == "output"][0]
    np.testing.assert_allclose(pj.weights.values, W)
    assert net.probes["output"].target == "output"
    assert any("one step after" in n[3] for n in rep.notes)


# ============================================================================ closed-form solutions
def _cuba_closed_form(t, spikes_at, w, ts, tm, r, w_in, vl, dt):
    """v(t) of tau_syn I' = -I + w_in S, tau_mem v' = v_leak - v + r I from v = I = 0,
    S = sum_k w dt delta(t - t_k)."""
    v = vl * (1 - np.exp(-t / tm))
    for tk in spikes_at:
        D = t - tk
        m = D > 0
        v[m] += r * w_in * w * dt * (np.exp(-D[m] / ts) - np.exp(-D[m] / tm)) / (ts - tm)
    return v


def _single_cuba_file(path, vth, w, ts=5e-3, tm=10e-3, r=2.0, vl=0.05, w_in=1.5):
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}),
                            "fc": nir.Linear(weight=np.array([[w]])),
                            "neuron": _cuba(1, ts, tm, r=r, vl=vl, vth=vth, w_in=w_in),
                            "output": nir.Output(output_type={"output": np.array([1])})},
                     edges=[("input", "fc"), ("fc", "neuron"), ("neuron", "output")])
    nir.write(path, g)
    return dict(ts=ts, tm=tm, r=r, vl=vl, w_in=w_in, w=w)


@pytest.mark.parametrize("method,dt_ms", [("exact", 1.0), ("exact", 0.1), ("euler", 1.0), ("euler", 0.1)])
def test_imported_cubalif_voltage_matches_the_closed_form(tmp_path, method, dt_ms):
    p = _single_cuba_file(tmp_path / "one.nir", vth=100.0, w=3.0)
    spike_ms = [5.0, 12.0, 13.0, 40.0]
    steps = int(round(80 / dt_ms))
    spikes = [int(round(t / dt_ms)) for t in spike_ms]
    net, rep = nhnir.import_nir(tmp_path / "one.nir", dt=dt_ms, method=method,
                                inputs={"input": {"type": "spike_times", "times": [spikes]}})
    res = _run(_with_probe(net, "v", "neuron", "v"), steps=steps)
    v = res.probes["v"].data[:, 0]
    dt = dt_ms * 1e-3
    t = (np.arange(steps) + 1) * dt  # the state after step t is the state at (t+1) dt
    cf = _cuba_closed_form(t, [(s + 1) * dt for s in spikes], p["w"], p["ts"], p["tm"], p["r"], p["w_in"], p["vl"], dt)
    err = np.max(np.abs(v - cf))
    # the stated bound: impulse error x sum of pulse peaks + leak error x |v_leak|
    e = rep.errors["neuron"]
    unit_peak = np.max(_cuba_closed_form(np.linspace(dt, 0.1, 20000), [0.0], 1.0, p["ts"], p["tm"], p["r"],
                                         p["w_in"], 0.0, dt))
    bound = e["impulse"] * len(spikes) * p["w"] * unit_peak + e["leak"] * abs(p["vl"])
    assert err <= bound * (1 + 1e-9) + 1e-13
    if method == "exact":
        assert err / np.max(np.abs(cf)) < 1e-12
        assert e["impulse"] < 1e-12 and e["leak"] < 1e-12
    else:  # Euler: first order in dt, and reported
        assert 1e-4 < err / np.max(np.abs(cf)) < 0.2
        assert e["impulse"] > 1e-4
        with pytest.warns(NIRConversionWarning, match="discretization error"):
            nhnir.from_nir(tmp_path / "one.nir", dt=dt_ms, method=method,
                           inputs={"input": {"type": "spike_times", "times": [spikes]}})


def test_imported_cubalif_spikes_at_the_first_step_the_closed_form_crosses(tmp_path):
    p = _single_cuba_file(tmp_path / "one.nir", vth=0.25, w=10.0, vl=0.0)
    spikes = [5, 30]
    net = nhnir.from_nir(tmp_path / "one.nir", dt=0.2, inputs={"input": {"type": "spike_times", "times": [spikes]}})
    res = _run(net, steps=400)
    dt = 0.2e-3
    fine = np.linspace(0, 400 * dt, 400 * 200 + 1)
    cf = _cuba_closed_form(fine, [(s + 1) * dt for s in spikes], p["w"], p["ts"], p["tm"], p["r"], p["w_in"], 0.0, dt)
    assert cf.max() > 0.25
    t_cross = fine[np.argmax(cf > 0.25)]
    first = int(np.flatnonzero(res.spikes["neuron"][:, 0])[0])
    # the spike is emitted at the end of the step in which the continuous voltage crosses: at most one dt late
    assert first * dt < t_cross <= (first + 1) * dt + 1e-12


def test_imported_li_matches_the_closed_form(tmp_path):
    tau, r = 8e-3, 3.0
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}),
                            "fc": nir.Linear(weight=np.array([[2.0]])),
                            "li": nir.LI(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([0.2])),
                            "output": nir.Output(output_type={"output": np.array([1])})},
                     edges=[("input", "fc"), ("fc", "li"), ("li", "output")])
    nir.write(tmp_path / "li.nir", g)
    spikes = [3, 4, 20]
    net, rep = nhnir.import_nir(tmp_path / "li.nir", dt=0.5,
                                inputs={"input": {"type": "spike_times", "times": [spikes]}})
    res = _run(net, steps=100)
    dt = 0.5e-3
    t = (np.arange(100) + 1) * dt
    cf = 0.2 * (1 - np.exp(-t / tau))
    for s in spikes:
        D = t - (s + 1) * dt
        cf[D > 0] += r * 2.0 * dt / tau * np.exp(-D[D > 0] / tau)
    np.testing.assert_allclose(res.probes["output"].data[:, 0], cf, rtol=1e-12, atol=1e-14)
    assert rep.errors["li"]["impulse"] < 1e-12


# ============================================================================ errors
def test_unsupported_nodes_are_named_with_their_type(tmp_path):
    conv = nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0, dilation=1, groups=1,
                      bias=np.zeros(1))
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1, 4, 4])}), "conv1": conv,
                            "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([1, 1]),
                                                  padding=np.array([0, 0])),
                            "out": nir.Output(output_type={"output": np.array([1, 2, 2])})},
                     edges=[("in", "conv1"), ("conv1", "pool"), ("pool", "out")], type_check=False)
    nir.write(tmp_path / "conv.nir", g)
    with pytest.raises(NeurohebbError) as exc:
        nhnir.from_nir(tmp_path / "conv.nir", dt=1.0)
    assert isinstance(exc.value, NIRConversionError)
    msg = str(exc.value)
    assert "'conv1' (Conv2d)" in msg and "'pool' (SumPool2d)" in msg and "unroll" in msg
    assert (exc.value.node, exc.value.node_type) in {("conv1", "Conv2d"), ("pool", "SumPool2d")}

    thr = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                              "th": nir.Threshold(threshold=np.ones(2))}, edges=[("in", "th")])
    with pytest.raises(NIRConversionError, match=r"'th' \(Threshold\)"):
        nhnir.from_nir(thr)
    inner = nir.NIRGraph.from_list(nir.Linear(weight=np.eye(2)))
    nested = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}), "sub": inner},
                          edges=[("in", "sub")], type_check=False)
    with pytest.raises(NIRConversionError, match=r"'sub' \(NIRGraph\).*flatten"):
        nhnir.from_nir(nested)


@pytest.mark.parametrize("node,match", [
    (lambda: nir.CubaLIF(tau_syn=np.array([5e-3, 6e-3]), tau_mem=np.full(2, 1e-2), r=np.ones(2),
                         v_leak=np.zeros(2), v_threshold=np.ones(2)), r"'n' \(CubaLIF\): tau_syn differs"),
    (lambda: nir.LIF(tau=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.array([1.0, 2.0])),
     r"'n' \(LIF\): v_threshold differs"),
    (lambda: nir.LIF(tau=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.full(2, -50.0)),
     r"'n' \(LIF\): v_threshold = -50"),
    (lambda: nir.LIF(tau=np.full(2, 0.0), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
     r"'n' \(LIF\): tau must be > 0"),
    (lambda: nir.LI(tau=np.full(2, 0.5e-3), r=np.ones(2), v_leak=np.zeros(2)), r"'n' \(LI\): Euler.*dt <= tau"),
])
def test_parameters_neurohebb_cannot_hold(node, match):
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}), "n": node()},
                     edges=[("in", "n")])
    with pytest.raises(NIRConversionError, match=match):
        nhnir.from_nir(g, dt=1.0, method="euler" if "Euler" in match else None)


def test_per_neuron_delays_and_shape_mismatches():
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                            "d": nir.Delay(delay=np.array([1e-3, 2e-3])),
                            "n": nir.IF(r=np.ones(2), v_threshold=np.ones(2))},
                     edges=[("in", "d"), ("d", "n")])
    with pytest.raises(NIRConversionError, match=r"'d' \(Delay\): delay differs between neurons"):
        nhnir.from_nir(g)


def test_delays_are_rounded_and_reported():
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                            "d": nir.Delay(delay=np.full(2, 2.4e-3)),
                            "n": nir.IF(r=np.ones(2), v_threshold=np.ones(2))},
                     edges=[("in", "d"), ("d", "n")])
    with pytest.warns(NIRConversionWarning, match=r"d \(Delay\): delay 0.0024 s is 2.4 steps of dt; rounded to 2"):
        net = nhnir.from_nir(g, dt=1.0, inputs={"in": {"type": "poisson", "rates": [10.0, 20.0]}})
    assert list(net.projections.values())[0].delay == 2
    net = nhnir.from_nir(g, dt=0.2, inputs={"in": {"type": "poisson", "rates": [10.0, 20.0]}})
    assert list(net.projections.values())[0].delay == 12


def test_options_that_contradict_the_metadata(tmp_path):
    net = from_dict(every_node_doc())
    g = nhnir.to_nir(net)
    with pytest.raises(NIRConversionError, match="exported by neurohebb at dt = 1 ms"):
        nhnir.from_nir(g, dt=0.5)
    with pytest.raises(NIRConversionError, match="method = 'exact'"):
        nhnir.from_nir(g, method="euler")
    assert _canon(nhnir.from_nir(g, dt=1.0)) == _canon(net)
    static, rep = nhnir.import_nir(g, dt=0.5, ignore_metadata=True)
    assert static.run.dt == 0.5 and not rep.used_metadata
    assert static.populations["lif"].du == pytest.approx(1 - np.exp(-0.5 * -np.log(0.8)))
    with pytest.raises(NIRConversionError, match="not Input nodes"):
        nhnir.from_nir(g, ignore_metadata=True, inputs={"nope": {"type": "poisson", "n": 1, "rates": 1.0}})
    with pytest.raises(NIRConversionError, match="file not found"):
        nhnir.from_nir(tmp_path / "missing.nir")
    (tmp_path / "junk.nir").write_text("not hdf5")
    with pytest.raises(NIRConversionError, match="not a readable NIR file"):
        nhnir.from_nir(tmp_path / "junk.nir")


# ============================================================================ edits by another tool
def test_parameters_edited_by_another_tool_win_and_the_rest_is_kept(tmp_path):
    net = from_dict(every_node_doc())
    nir.write(tmp_path / "e.nir", nhnir.to_nir(net))
    g = nir.read(tmp_path / "e.nir")
    W_pair = np.array(g.nodes["p_pair"].weight) * 0.5  # "trained" elsewhere
    g.nodes["p_pair"].weight = W_pair
    g.nodes["lifp"].tau_mem = g.nodes["lifp"].tau_mem * 2  # a changed membrane time constant
    g.nodes["rate2"].bias = np.array([0.3])
    nir.write(tmp_path / "edited.nir", g)
    with pytest.warns(NIRConversionWarning, match="differ from the neurohebb metadata"):
        back = nhnir.from_nir(tmp_path / "edited.nir")
    # the edited weights, with the rule, bounds and modulators kept
    assert back.projections["p_pair"].weights.init == "array"
    np.testing.assert_allclose(back.projections["p_pair"].weights.values, W_pair)
    assert back.projections["p_pair"].rule == net.projections["p_pair"].rule
    d0, d1 = to_dict(net), to_dict(back)
    assert d1["modulators"] == d0["modulators"] and d1["probes"] == d0["probes"] and d1["run"] == d0["run"]
    # lifp: dv re-discretized, du unchanged, the prescription kept; its input weights follow the new gain
    assert back.populations["lifp"].dv == pytest.approx(1 - np.exp(-1e-3 / (2 * -1e-3 / np.log(0.9))))
    assert back.populations["lifp"].du == pytest.approx(0.2)
    assert back.populations["lifp"].prescribed == net.populations["lifp"].prescribed
    assert back.projections["p_trip"].weights.init == "array"
    assert back.populations["rate2"].bias == pytest.approx(0.3)
    # everything else is as exported
    for k in ("p_hebb", "p_oja", "p_bcm", "p_rew", "p_nl", "p_cust", "p_static"):
        assert d1["projections"][k] == d0["projections"][k]


def test_structure_changed_by_another_tool_falls_back_to_the_static_network():
    net = from_dict(STATIC_DOC)
    g = nhnir.to_nir(net)
    g.edges = [e for e in g.edges if e != ("e", "integ")]
    with pytest.warns(NIRConversionWarning, match="structure differs"):
        back = nhnir.from_nir(g)
    assert all(p.rule is None for p in back.projections.values())
    # the stored dt and the sources' specs still come from the metadata
    assert back.run.dt == net.run.dt
    d0, d1 = to_dict(net)["populations"], to_dict(back)["populations"]
    for k in ("st", "po", "ar"):
        assert d1[k] == d0[k]


def test_inputs_replace_sources_of_an_exported_graph():
    net = from_dict(STATIC_DOC)
    g = nhnir.to_nir(net)
    back, rep = nhnir.import_nir(g, inputs={"po": {"type": "poisson", "n": 8, "rates": 5.0}})
    assert back.populations["po"].rates == 5.0 and rep.used_metadata
    d0, d1 = to_dict(net), to_dict(back)
    d0["populations"].pop("po"), d1["populations"].pop("po")
    assert d0 == d1
    with pytest.raises(NIRConversionError, match="not a source population"):
        nhnir.import_nir(g, inputs={"cuba": {"type": "poisson", "n": 5, "rates": 5.0}})


def test_euler_reproduces_the_euler_tools_conventions():
    # snnTorch Leaky(beta) exports LIF(tau = dt/(1-beta), r = tau/dt); lava-dl reads CubaLIF with r = tau_mem/dt
    dt, beta = 1e-3, 0.9
    tau = dt / (1 - beta)
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([3])}),
                            "fc": nir.Linear(weight=np.array([[0.5, 0.2, 0.1]])),
                            "leaky": nir.LIF(tau=np.array([tau]), r=np.array([tau / dt]), v_leak=np.zeros(1),
                                             v_threshold=np.ones(1)),
                            "fc2": nir.Linear(weight=np.array([[0.7]])),
                            "syn": _cuba(1, 4e-3, 8e-3, r=8e-3 / dt, w_in=1.0)},
                     edges=[("in", "fc"), ("fc", "leaky"), ("leaky", "fc2"), ("fc2", "syn")])
    with pytest.warns(NIRConversionWarning):
        net = nhnir.from_nir(g, dt=1.0, method="euler", inputs={"in": {"type": "poisson", "n": 3, "rates": 10.0}})
    assert (net.populations["leaky"].du, net.populations["leaky"].dv) == (1.0, pytest.approx(1 - beta))
    np.testing.assert_allclose(net.projections["fc"].weights.values, [[0.5, 0.2, 0.1]], rtol=1e-12)  # mem += W s
    s = net.populations["syn"]
    assert (s.du, s.dv) == (pytest.approx(0.25), pytest.approx(0.125))
    np.testing.assert_allclose(net.projections["fc2"].weights.values, [[0.7 * 0.25]], rtol=1e-12)  # w_in dt/tau_syn


# ============================================================================ files and docs
def test_export_file_and_import_file(tmp_path):
    net = from_dict(every_node_doc())
    save(net, tmp_path / "net.yaml")
    msg = nhnir.export_file(tmp_path / "net.yaml", tmp_path / "net.nir")
    assert msg.startswith(f"wrote {tmp_path / 'net.nir'}") and "8 plastic" in msg
    assert (tmp_path / "net.nir").exists()
    msg = nhnir.import_file(tmp_path / "net.nir", tmp_path / "back.yaml")
    assert "metadata found and used (lossless)" in msg
    assert _canon(load(tmp_path / "back.yaml")) == _canon(net)
    assert (tmp_path / "back.npz").exists()


def test_docs_nir_md_examples_run(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "nir.md").read_text()
    for needed in ("| neurohebb", "metadata[\"neurohebb\"]", "--backend lava", "Conv2d"):
        assert needed in text
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRConversionWarning)
        for code in blocks:
            exec(compile(code, "docs/nir.md", "exec"), ns)
    assert (tmp_path / "two_layer.nir").exists()


def test_cli_export_import_round_trip(tmp_path):
    import subprocess
    import sys

    import yaml as _yaml

    from neurohebb.ir import from_dict, to_dict

    from conftest import every_node_doc

    net = from_dict(every_node_doc())
    src = tmp_path / "net.yaml"
    from neurohebb.ir import save as _save

    _save(net, src)
    r = subprocess.run([sys.executable, "-m", "neurohebb", "export-nir", str(src), "-o", str(tmp_path / "net.nir")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "neurohebb", "import-nir", str(tmp_path / "net.nir"), "-o",
                        str(tmp_path / "back.yaml")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    from neurohebb.ir import load as _load

    assert to_dict(_load(tmp_path / "back.yaml")) == to_dict(net)
    r = subprocess.run([sys.executable, "-m", "neurohebb", "import-nir", str(tmp_path / "missing.nir")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
