"""Lava backend, ``lowering="stock"``: the network from Lava's own process
classes only (what a Loihi 2 board runs), and the reference's stock semantics.

* the class whitelist: every process of a stock graph is one of Lava's own
  classes (exact class, module under ``lava.``), no subclass, no custom model;
* bit-identity: reference ``semantics="stock"`` (fixed) against lava stock
  (fixed): spikes, integer weights and probes identical; float within 1e-12;
* refusals name the field and the reason;
* the strict board mode refuses, before running, a graph with a process that
  would get no NeuroCore model (a fake lava-loihi provides NeuroCore models for
  a list of stock classes: both outcomes);
* the departures table: each departure's effect measured, and the whole stock
  semantics equal to what lava stock computes.

Skipped when lava-nc cannot be imported.  Small networks (Lava is slow).
"""
from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

try:
    from neurohebb.backends import lava as lb
    from neurohebb.backends.lava import stock as S
except Exception as exc:  # ImportError, BackendUnavailable, a broken install
    pytest.skip(f"lava-nc is not importable: {exc}", allow_module_level=True)

import neurohebb as nh  # noqa: E402
from neurohebb.backends.reference import simulator as ref  # noqa: E402
from neurohebb.builder import Builder  # noqa: E402
from neurohebb.errors import UnsupportedFeature  # noqa: E402

RTOL_FLOAT = 1e-12


# ============================================================================ networks
def net_of(rule, steps=150, sign="excitatory", bounds=(0, 1.0), winit=(0.2, 0.5), conn=None, n_pre=10, n_post=3,
           rate=30.0, seed=0, prescribed=False, probes=True):
    b = Builder("stock_" + rule["template"], steps=steps, seed=seed)
    b.population("inp", type="poisson", n=n_pre, rates=rate)
    post = dict(type="lif", n=n_post, du=0.2, dv=0.1, vth=1.0)
    if prescribed:
        post["prescribed"] = {"type": "poisson", "n": n_post, "rates": rate}
    b.population("out", **post)
    kw = {"connectivity": conn} if conn else {}
    b.projection("p", "inp", "out", sign=sign, bounds=bounds, weights={"init": "uniform", "low": winit[0],
                                                                        "high": winit[1]}, rule=rule, **kw)
    if probes:
        b.probe("w", "p", "weights", every=50)
        b.probe("x1", "p", "x1", every=40)
        if not prescribed:
            b.probe("v", "out", "v", every=60)
        b.probe("s", "out", "spikes", every=3)
    return b.build()


def network(steps=120, seed=1):
    """Static Dense, DelayDense, Sparse (mixed, delay), a recurrent plastic
    LearningSparse (mixed), inhibition, biases, v_init, spike_times."""
    b = Builder("stock_net", steps=steps, seed=seed)
    b.population("inp", type="poisson", n=12, rates=30.0)
    b.population("st", type="spike_times", times=[[5, 20, 50], [7, 8], [30, 31, 90], []])
    b.population("e", type="lif", n=6, du=0.3, dv=0.15, vth=1.0, bias=[0.0, 0.01, 0.02, 0.0, 0.05, 0.03],
                 v_init=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    b.population("i", type="lif", n=3, du=0.5, dv=0.2, vth=0.8)
    b.projection("ff", "inp", "e", sign="excitatory", bounds=(0, 1.0), weights={"init": "uniform", "low": 0.2,
                                                                                 "high": 0.5},
                 rule={"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.012})
    b.projection("st_e", "st", "e", sign="excitatory", delay=3, weights={"init": "constant", "value": 0.5})
    b.projection("ee", "e", "e", sign="mixed", bounds=(-0.5, 0.5), weights={"init": "uniform", "low": -0.2,
                                                                             "high": 0.3},
                 connectivity={"type": "fixed_probability", "p": 0.5, "allow_self": False},
                 rule={"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01, "timing": "inclusive"})
    b.projection("ei", "e", "i", sign="mixed", weights={"init": "uniform", "low": -0.3, "high": 0.6},
                 connectivity={"type": "fixed_probability", "p": 0.7}, delay=2)
    b.projection("ie", "i", "e", sign="inhibitory", weights={"init": "uniform", "low": -0.5, "high": -0.2})
    b.probe("w_ee", "ee", "weights", every=40)
    b.probe("v_e", "e", "v", every=30)
    return b.build()


FIXED_CASES = {
    "stdp_pair": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011)),
    "stdp_triplet": dict(rule=dict(template="stdp_triplet", a2_plus=5e-3, a3_plus=6e-3, a2_minus=7e-3,
                                   a3_minus=2e-3)),
    "hebbian": dict(rule=dict(template="hebbian", eta=1e-3, x_tau=10, y_tau=10, decay=2**-7)),
    "oja_mixed": dict(rule=dict(template="oja", eta=4e-3, x_tau=10, y_tau=10), sign="mixed", bounds=(-1, 1),
                      winit=(-0.3, 0.6)),
    "sparse_prescribed": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011, timing="inclusive"),
                              sign="mixed", bounds=(-1, 1), winit=(-0.2, 0.5), prescribed=True,
                              conn={"type": "fixed_probability", "p": 0.6}),
}


def assert_identical(q, r):
    for k in q.spikes:
        bad = np.argwhere(q.spikes[k] != r.spikes[k])
        assert bad.size == 0, f"spikes of {k} differ at {bad[:5].tolist()}"
    for k in q.weights:
        np.testing.assert_array_equal(q.report["integer_weights"][k], r.report["integer_weights"][k], err_msg=k)
    for k, a in q.probes.items():
        np.testing.assert_array_equal(a.times, r.probes[k].times, err_msg=k)
        np.testing.assert_array_equal(a.data, r.probes[k].data, err_msg=k)


# ============================================================================ whitelist
def _stock_graph(net, precision="fixed"):
    from neurohebb.compiler import compile_network

    prog = compile_network(net, hardware="loihi2")[0] if precision == "fixed" else None
    P = S.plan(net, prog, precision, net.run.seed, net.run.steps)
    return S.build(P, precision, net.run.steps)["all"]


def test_stock_graph_uses_only_lavas_own_classes():
    procs = _stock_graph(network())
    assert procs
    seen = set()
    for p in procs:
        path = f"{type(p).__module__}.{type(p).__name__}"
        assert path in S.STOCK_CLASSES, path
        assert type(p).__module__.startswith("lava.") and "neurohebb" not in type(p).__module__
        seen.add(path.rsplit(".", 1)[1])
    # every kind of connection of the network became its stock class
    assert {"LIF", "LearningDense", "LearningSparse", "DelayDense", "DelaySparse", "Dense", "RingBuffer"} <= seen


def test_compile_report_lists_the_lava_processes(capsys):
    from neurohebb.cli import main

    path = "neurohebb/examples/stdp_song.yaml"
    assert main(["compile", path, "--hardware", "loihi2", "--lowering", "stock", "--drop-refractory",
                 "--steps", "300"]) == 0
    out = capsys.readouterr().out
    sec = out.split("Lava processes", 1)[1].split("\n\n", 1)[0]
    assert "populations.out" in sec and "lava.proc.lif.process.LIF" in sec
    assert "projections.syn" in sec and "lava.proc.dense.process.LearningDense" in sec and "10x1000" in sec
    assert "Loihi2FLearningRule(dw=" in sec and "y0*x1" in sec
    assert "populations.inputs" in sec and "lava.proc.io.source.RingBuffer" in sec


# ============================================================================ bit identity
@pytest.mark.parametrize("case", list(FIXED_CASES))
def test_fixed_bit_identical_to_reference_stock(case):
    net = net_of(**FIXED_CASES[case])
    q = ref.run(net, precision="fixed", semantics="stock", progress=False)
    r = lb.run(net, precision="fixed", lowering="stock", progress=False)
    assert r.report["lowering"]["kind"] == "stock"
    assert_identical(q, r)
    assert q.spikes["out"].sum() > 0
    assert np.abs(q.weights["p"] - q.initial_weights["p"]).max() > 0
    # and the stock semantics is not the document's
    d = ref.run(net, precision="fixed", progress=False)
    assert any((d.report["integer_weights"][k] != q.report["integer_weights"][k]).any() for k in q.weights)


def test_fixed_network_bit_identical():
    net = network()
    q = ref.run(net, precision="fixed", semantics="stock", progress=False)
    r = lb.run(net, precision="fixed", lowering="stock", progress=False)
    assert_identical(q, r)
    assert q.spikes["e"].sum() > 0 and q.spikes["i"].sum() > 0


def test_sparse_zero_weight_synapses_are_pruned():
    """LearningSparse drops synapses whose initial integer weight is 0 (the
    reference's stock semantics does too, so they agree)."""
    net = net_of(**{**FIXED_CASES["sparse_prescribed"], "winit": (-0.004, 0.004)}, probes=False)
    q = ref.run(net, precision="fixed", semantics="stock", progress=False)
    r = lb.run(net, precision="fixed", lowering="stock", progress=False)
    assert_identical(q, r)
    W0 = np.rint(q.initial_weights["p"] / q.report["lsb"]["p"])
    assert (W0 == 0).sum() > 0
    np.testing.assert_array_equal(q.report["integer_weights"]["p"][W0 == 0], 0)


FLOAT_CASES = {  # coefficients of at least Lava's smallest literal 2^-7 (0.01 becomes 2^-7: a departure)
    "stdp_inclusive": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011, timing="inclusive")),
    "hebbian": dict(rule=dict(template="hebbian", eta=2**-7, x_tau=10, y_tau=10, decay=2**-5)),
    "sparse_mixed": dict(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011, timing="inclusive"),
                         sign="mixed", bounds=(-1, 1), winit=(-0.2, 0.5), conn={"type": "fixed_probability", "p": 0.6}),
}


@pytest.mark.parametrize("case", list(FLOAT_CASES))
def test_float_within_1e12_of_reference_stock(case):
    net = net_of(**FLOAT_CASES[case])
    q = ref.run(net, precision="float", semantics="stock", progress=False)
    r = lb.run(net, precision="float", lowering="stock", progress=False)
    for k in q.spikes:
        np.testing.assert_array_equal(q.spikes[k], r.spikes[k], err_msg=k)
    for k in q.weights:
        scale = float(np.abs(q.weights[k]).max())
        np.testing.assert_allclose(r.weights[k], q.weights[k], rtol=RTOL_FLOAT, atol=RTOL_FLOAT * scale)
    for k, a in q.probes.items():
        scale = max(float(np.abs(a.data).max()), 1e-300)
        np.testing.assert_allclose(r.probes[k].data, a.data, rtol=RTOL_FLOAT, atol=RTOL_FLOAT * scale, err_msg=k)
    assert np.abs(q.weights["p"] - q.initial_weights["p"]).max() > 0


# ============================================================================ refusals
def test_refusals_name_field_and_reason():
    b = Builder("bad", steps=50)
    b.population("inp", type="poisson", n=4, rates=20.0)
    b.population("out", type="lif", n=2, du=0.2, dv=0.1, vth=1.0, refractory=2, v_reset=-0.1)
    b.projection("d", "inp", "out", sign="excitatory", delay=2, weights={"init": "constant", "value": 0.3},
                 bounds=(0, 1), rule={"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.01})
    b.projection("m", "inp", "out", sign="excitatory", weights={"init": "constant", "value": 0.3}, bounds=(0, 1),
                 connectivity={"type": "fixed_probability", "p": 0.5},
                 rule={"template": "reward_stdp", "a_plus": 1e-2, "a_minus": 0.5e-2, "tau_e": 63.5, "eta": 0.2,
                       "modulator": "da"})
    b.modulator("da", type="constant", value=0.5)
    b.probe("in", "out", "input", every=5)
    net = b.build()
    with pytest.raises(UnsupportedFeature) as ei:
        lb.run(net, precision="fixed", lowering="stock", progress=False)
    msg = str(ei.value)
    for path, word in [("populations.out.refractory", "LIFRefractory"), ("populations.out.v_reset", "resets v to 0"),
                       ("projections.d.delay", "no delay"), ("projections.m.rule", "s_out_y1..3"),
                       ("projections.m.sign", "np.maximum(0, csr_matrix)"), ("probes.in", "input")]:
        line = [ln for ln in msg.splitlines() if ln.strip().startswith(path + ":")]
        assert line and word in line[0], (path, msg)
    # drop_refractory accepts the refractory period (and only that)
    msg2 = str(pytest.raises(UnsupportedFeature, lb.run, net, precision="fixed", lowering="stock",
                             drop_refractory=True, progress=False).value)
    assert "populations.out.refractory" not in msg2 and "populations.out.v_reset" in msg2


def test_float_refuses_exclusive_timing():
    net = net_of(rule=dict(template="stdp_pair", a_plus=0.01, a_minus=0.011), probes=False)
    with pytest.raises(UnsupportedFeature, match="Unknown Factor"):
        lb.run(net, precision="float", lowering="stock", progress=False)


# ============================================================================ board
FAKE_NC = '''
from lava.magma.core.decorator import implements, requires
from lava.magma.core.model.model import AbstractProcessModel
from lava.magma.core.resources import Loihi2NeuroCore
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from {module} import {cls}


@implements(proc={cls}, protocol=LoihiProtocol)
@requires(Loihi2NeuroCore)
class NcModelFake{cls}(AbstractProcessModel):
    pass
'''


FAKE_ADAPTERS = '''
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess


class PyToNxAdapter(AbstractProcess):
    def __init__(self, *, shape, num_message_bits=0, **kwargs):
        super().__init__(shape=shape, num_message_bits=num_message_bits, **kwargs)
        self.inp = InPort(shape=shape)
        self.out = OutPort(shape=shape)


class NxToPyAdapter(PyToNxAdapter):
    pass
'''


@pytest.fixture
def fake_lava_loihi(tmp_path, monkeypatch):
    """A fake lava-loihi: NeuroCore ProcessModels for the given stock classes,
    installed where lava-loihi puts its ``ncmodels`` (the ``lava`` namespace
    package, found by Lava's own model search), and the embedded-IO adapter
    processes (``lava.proc.embedded_io.spike``)."""
    added = ["lava.proc.embedded_io.spike", "lava.proc.embedded_io"]
    eio = tmp_path / "lava" / "proc" / "embedded_io"
    eio.mkdir(parents=True)
    (eio / "spike.py").write_text(FAKE_ADAPTERS)

    def install(classes):
        for path in classes:
            module, cls = path.rsplit(".", 1)
            pkg = module.rsplit(".", 1)[0]
            d = tmp_path.joinpath(*pkg.split("."))
            d.mkdir(parents=True, exist_ok=True)
            name = f"ncfake_{cls.lower()}"
            d.joinpath(name + ".py").write_text(textwrap.dedent(FAKE_NC.format(module=module, cls=cls)))
            added.append(f"{pkg}.{name}")
        monkeypatch.syspath_prepend(str(tmp_path))

    yield install
    for m in added:
        sys.modules.pop(m, None)


def test_board_check_accepts_a_stock_graph_with_neurocore_models(fake_lava_loihi):
    net = net_of(**FIXED_CASES["stdp_pair"], probes=False)
    procs = _stock_graph(net)
    fallbacks = S.host_fallbacks(procs)  # without lava-loihi: no NeuroCore model at all
    assert {c for _, c in fallbacks} == {"lava.proc.lif.process.LIF", "lava.proc.dense.process.LearningDense"}
    fake_lava_loihi(["lava.proc.lif.process.LIF", "lava.proc.dense.process.LearningDense"])
    assert S.host_fallbacks(procs) == []
    S.check_board(procs)  # accepted


def test_board_refuses_custom_processes_and_missing_models(fake_lava_loihi, monkeypatch):
    from neurohebb.backends.lava import simulator as sim

    fake_lava_loihi(["lava.proc.lif.process.LIF", "lava.proc.dense.process.Dense",
                     "lava.proc.dense.process.LearningDense"])
    # the emulate lowering's custom processes (subclasses of Lava's) would fall back to the host
    net = net_of(**FIXED_CASES["stdp_pair"], probes=False)
    from neurohebb.compiler import compile_network

    prog = compile_network(net, hardware="loihi2")[0]
    plan = sim._plan(net, prog, "fixed", 0, net.run.steps, "seeded")
    procs = sim._build(plan["pops"], list(plan["projs"].values()), sorted(plan["pops"]), "fixed", net.run.steps)
    with pytest.raises(UnsupportedFeature) as ei:
        S.check_board(procs["all"])
    msg = str(ei.value)
    assert "pop_out: neurohebb.backends.lava.procs.neuron.NHNeuron" in msg
    assert "proj_p: neurohebb.backends.lava.procs.dense.NHLearningDense" in msg
    # board=True: the stock lowering with the embedded-IO adapters, refused before running when a class has no
    # NeuroCore model (LearningSparse here); the adapters are I/O, not refused
    monkeypatch.setattr(sim, "board_available", lambda: True)
    net2 = net_of(**FIXED_CASES["sparse_prescribed"], probes=False)
    with pytest.raises(UnsupportedFeature) as ei:
        lb.run(net2, precision="fixed", board=True, progress=False)
    msg = str(ei.value)
    assert "proj_p: lava.proc.sparse.process.LearningSparse" in msg
    assert "LIF" not in msg and "Adapter" not in msg and "RingBuffer" not in msg


# ============================================================================ drift
def test_departures_are_measured_and_the_whole_matches_lava():
    net = nh.load("neurohebb/examples/stdp_song.yaml")
    from neurohebb.compiler import compile_network

    prog, rep = compile_network(net, hardware="loihi2", steps=300)
    S.annotate_report(net, prog, rep, drop_refractory=True, steps=300)
    keys = [d["key"] for d in rep.departures]
    assert keys == ["timing", "refractory", "latency", "epoch", "all", "seed"]
    for d in rep.departures:
        if d["key"] in ("timing", "refractory", "latency", "all"):
            a, b = d["measured"]["spikes.out"]
            assert a > 0 and d["measured"]["weights.syn"]["rmse_lsb"] >= 0
    # dropping the refractory period of a Song neuron raises its rate
    a, b = rep.departures[1]["measured"]["spikes.out"]
    assert b > a
    # the whole stock semantics is what Lava's stock processes compute
    q = ref.run(net, precision="fixed", semantics="stock", steps=300, progress=False)
    r = lb.run(net, precision="fixed", lowering="stock", drop_refractory=True, steps=300, progress=False)
    assert_identical(q, r)
    assert int(q.spikes["out"].sum()) == rep.departures[-2]["measured"]["spikes.out"][1]


def test_compare_cli_stock(tmp_path, capsys):
    from neurohebb.cli import main

    net = net_of(**FIXED_CASES["stdp_pair"], steps=80, probes=False)
    path = tmp_path / "n.yaml"
    nh.ir.save(net, path)
    assert main(["compare", str(path), "--runs", "reference:fixed,lava:fixed", "--lowering", "stock", "--seeds", "1",
                 "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    row = [ln for ln in out.splitlines() if "weight_rmse_lsb" in ln and "lava:fixed" in ln]
    assert row and " 0 " in row[0] + " ", out
    assert main(["compare", str(path), "--runs", "reference:float,lava:fixed", "--lowering", "stock", "--seeds", "1",
                 "--out", str(tmp_path), "--quiet"]) == 0
