"""Result files (save / load_result), the compact repr, weight_history."""
import json
import warnings

import numpy as np
import pytest

import neurohebb as nh
from neurohebb.errors import NeurohebbError
from neurohebb.ir.io import from_dict
from neurohebb.result import atomic_write, document_hash

from conftest import every_node_doc


def song(steps=600, every=50, n_in=60):
    return from_dict({
        "name": "song_small",
        "populations": {"inputs": {"type": "poisson", "n": n_in, "rates": 15.0},
                        "out": {"type": "lif", "n": 3, "du": 0.1813, "dv": 0.0952, "vth": 1.0, "refractory": 2}},
        "projections": {"syn": {"pre": "inputs", "post": "out", "sign": "excitatory",
                                "weights": {"init": "uniform", "low": 0.0, "high": 0.1}, "bounds": [0.0, 0.1],
                                "rule": {"template": "stdp_pair", "a_plus": 2e-3, "a_minus": 2.1e-3}}},
        "probes": {"w": {"target": "syn", "var": "weights", "every": every},
                   "x1": {"target": "syn", "var": "x1", "every": 7},
                   "v": {"target": "out", "var": "v"}},
        "run": {"steps": steps, "seed": 3},
    })


def assert_same(a, b):
    assert (a.network_name, a.backend, a.precision, a.seed, a.steps, a.dt) == \
        (b.network_name, b.backend, b.precision, b.seed, b.steps, b.dt)
    for d in ("spikes", "weights", "initial_weights"):
        assert getattr(a, d).keys() == getattr(b, d).keys()
        for k in getattr(a, d):
            np.testing.assert_array_equal(getattr(a, d)[k], getattr(b, d)[k])
    assert a.probes.keys() == b.probes.keys()
    for k, p in a.probes.items():
        q = b.probes[k]
        assert (p.target, p.var) == (q.target, q.var)
        np.testing.assert_array_equal(p.times, q.times)
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_round_trip(tmp_path, precision):
    net = song()
    res = nh.run(net, precision=precision, progress=False)
    path = res.save(tmp_path / "r.npz")
    back = nh.load_result(path)
    assert_same(res, back)
    for proj in res.weights:
        t0, h0 = res.weight_history(proj)
        t1, h1 = back.weight_history(proj)
        np.testing.assert_array_equal(t0, t1)
        np.testing.assert_array_equal(h0, h1)
    np.testing.assert_array_equal(res.rates("out"), back.rates("out"))
    # the document comes back, and its hash is the one recorded
    assert back.network is not None and back.network.name == "song_small"
    assert document_hash(back.network) == back.metadata["document"]["sha256"] == document_hash(net)
    assert back.metadata["versions"]["numpy"] == np.__version__
    assert "neurohebb" in back.metadata["versions"]
    if precision == "fixed":
        # the run report: saturation counters, integer weights and the compile report (same text)
        assert back.report["saturation"] == res.report["saturation"]
        assert back.report["neurons"] == res.report["neurons"]
        np.testing.assert_array_equal(back.report["integer_weights"]["syn"], res.report["integer_weights"]["syn"])
        assert back.report["compile"].format() == res.report["compile"].format()
        assert back.report["lsb"] == res.report["lsb"]
    # and a loaded result saves again to an equivalent file
    again = nh.Result.load(back.save(tmp_path / "again"))
    assert_same(res, again)


def test_round_trip_every_node(tmp_path):
    """Every population, probe and rule type (graded outputs, masks, tags, modulators)."""
    net = from_dict(every_node_doc())
    res = nh.run(net, progress=False)
    back = nh.load_result(res.save(tmp_path / "every.npz"))
    assert_same(res, back)
    # the document round-trips through the file, arrays (large ones in the npz) included
    assert document_hash(back.network) == document_hash(net)
    np.testing.assert_array_equal(np.asarray(back.network.populations["arr"].values),
                                  np.asarray(net.populations["arr"].values))


def test_atomic_save_never_leaves_a_partial_file(tmp_path, monkeypatch):
    res = nh.run(song(steps=200), progress=False)
    path = res.save(tmp_path / "r.npz")
    before = path.read_bytes()

    def killed(f, **arrays):  # the writer dies half-way through
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", killed)
    with pytest.raises(KeyboardInterrupt):
        res.save(path)
    assert path.read_bytes() == before  # the previous result is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.npz"]  # no temporary file left
    monkeypatch.undo()
    nh.load_result(path)


def test_atomic_write_replaces(tmp_path):
    p = tmp_path / "f.bin"
    atomic_write(p, lambda f: f.write(b"one"))
    atomic_write(p, lambda f: f.write(b"two"))
    assert p.read_bytes() == b"two"


def test_load_refuses_what_is_not_a_result(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"")  # the 0-byte file a killed writer used to leave
    with pytest.raises(NeurohebbError, match="not a readable"):
        nh.load_result(bad)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(NeurohebbError, match="without neurohebb metadata"):
        nh.load_result(plain)
    with pytest.raises(NeurohebbError, match="no such result file"):
        nh.load_result(tmp_path / "missing.npz")
    res = nh.run(song(steps=50), progress=False)
    path = res.save(tmp_path / "r.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["__neurohebb_meta__"]))
    meta["format"] = "neurohebb-result/99"
    arrays["__neurohebb_meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(NeurohebbError, match="result format 'neurohebb-result/99'"):
        nh.load_result(tmp_path / "future.npz")


def test_repr_is_compact():
    net = song(steps=300, n_in=400)
    res = nh.run(net, precision="fixed", progress=False)
    r = repr(res)
    assert len(r.splitlines()) <= 12 and len(r) < 1500
    assert "array(" not in r and "[[" not in r
    for word in ("song_small", "reference:fixed", "inputs", "out", "syn", "3x400", "Hz", "w", "x1"):
        assert word in r
    # headline numbers are the result's own
    assert f"{res.rates('out').mean():.4g} Hz" in r
    assert f"mean {res.weights['syn'].mean():.4g}" in r
    assert "trace x1" in r  # the saturation counters of the fixed run
    h = res._repr_html_()
    assert h.startswith("<div>") and "<table>" in h and "3x400" in h and len(h) < 4000


def test_weight_history_initial_to_final():
    for steps, every in ((600, 50), (601, 50), (10, 100)):
        res = nh.run(song(steps=steps, every=every), progress=False)
        t, h = res.weight_history("syn")
        probe = res.probes["w"]
        assert t[0] == 0 and t[-1] == steps
        np.testing.assert_array_equal(h[0], res.initial_weights["syn"])
        np.testing.assert_array_equal(h[-1], res.weights["syn"])
        np.testing.assert_array_equal(t[1:1 + len(probe.times)], probe.times + 1)
        # the final weights appear once: appended only when the probe missed the last step
        assert len(t) == len(probe.times) + 1 + (probe.times[-1] != steps - 1)
        assert np.all(np.diff(t) > 0)
    with pytest.raises(KeyError, match="no weights probe"):
        res.weight_history("nothing")


def test_units_warning_spells_out_the_consequence():
    net = song(steps=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nh.run(net, progress=False)  # dt = 1: silent
    net.run.dt = 0.1
    with pytest.warns(nh.UnitsWarning) as rec:
        res = nh.run(net, progress=False)
    msg = str(rec[0].message)
    assert "durations are in steps" in msg
    assert "tau 20 steps = 2 ms" in msg  # stdp_pair's default tau_plus at dt = 0.1
    assert "run.steps 100 = 10 ms" in msg
    assert "Poisson" in msg
    # what the warning says is what runs: Poisson rates stay in Hz, so 10x fewer spikes per step
    long = song(steps=20_000, n_in=60)
    long.probes = {}
    long.run.dt = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nh.UnitsWarning)
        res = nh.run(long, progress=False)
    p = res.spikes["inputs"].mean()
    expected = 15.0 * 0.1 / 1000
    assert abs(p - expected) < 5 * np.sqrt(expected / res.spikes["inputs"].size)
    np.testing.assert_allclose(res.rates("inputs").mean(), 15.0, rtol=0.1)


def test_simulator_results_continue_the_history(tmp_path):
    """A Simulator's result after run(a), run(b): the history runs from 0 to a + b and saves like any result."""
    sim = nh.Simulator(song(steps=300, every=50))
    sim.run(120)
    sim.run(100)
    res = sim.result()
    t, h = res.weight_history("syn")
    assert t[0] == 0 and t[-1] == 220 and list(t[1:-1]) == [1, 51, 101, 151, 201]
    np.testing.assert_array_equal(h[-1], sim.weights("syn"))
    back = nh.load_result(res.save(tmp_path / "sim.npz"))
    assert_same(res, back)
