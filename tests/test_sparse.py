"""Connectors built from indices (fixed_indegree, fixed_outdegree, from_list),
the sparse view of every connectivity, and the reference's sparse layout."""
from __future__ import annotations

import numpy as np
import pytest

from neurohebb.errors import NetworkError
from neurohebb.ir import from_dict
from neurohebb.semantics import initial_synapses, initial_weights
import neurohebb.semantics.instantiate as inst

CONNECTORS = {
    "all_to_all": {"type": "all_to_all"},
    "fixed_probability": {"type": "fixed_probability", "p": 0.1, "allow_self": False},
    "gaussian_arbor": {"type": "gaussian_arbor", "p_max": 0.9, "sigma": 2.0, "pre_shape": [5, 10], "post_shape": [4, 10]},
    "mask": {"type": "mask", "values": (np.arange(40 * 50).reshape(40, 50) % 7 == 0)},
    "fixed_indegree": {"type": "fixed_indegree", "k": 7, "allow_self": False},
    "fixed_outdegree": {"type": "fixed_outdegree", "k": 5},
    "from_list": {"type": "from_list", "pairs": [[3, 4], [0, 1], [3, 2], [39, 49]]},
    "distance": {"type": "distance", "p_max": 0.9, "scale": 2.0, "max_distance": 4.0, "pre_shape": [5, 10],
                 "post_shape": [4, 10]},
}
INITS = {
    "uniform": {"init": "uniform", "low": 0.0, "high": 1.0},
    "normal": {"init": "normal", "mean": 0.0, "std": 1.0},
    "arbor": {"init": "gaussian_arbor", "amplitude": 0.4, "sigma": 1.5, "pre_shape": [5, 10], "post_shape": [4, 10],
              "noise": 0.1},
}


def _net(conn, weights, npre=50, npost=40, rule=None, layout="auto", recurrent=False):
    pops = {"a": {"type": "poisson", "n": npre, "rates": 10.0},
            "b": {"type": "lif", "n": npost, "du": 0.2, "dv": 0.1, "vth": 1.0}}
    pr = {"pre": "b" if recurrent else "a", "post": "b", "weights": weights, "connectivity": conn, "layout": layout}
    if rule:
        pr["rule"] = rule
    return from_dict({"format_version": "1.0", "name": "x", "populations": pops, "projections": {"p": pr},
                      "run": {"steps": 10, "seed": 3}})


@pytest.mark.parametrize("block", [inst._BLOCK, 64])
@pytest.mark.parametrize("conn", sorted(CONNECTORS))
def test_sparse_view_equals_dense_view(conn, block, monkeypatch):
    """initial_synapses gives exactly the nonzero pattern and the entries of
    initial_weights, also when drawn in blocks of rows (64 numbers: one row)."""
    monkeypatch.setattr(inst, "_BLOCK", block)
    for w in INITS.values():
        net = _net(CONNECTORS[conn], w)
        W, m = initial_weights(net, "p", 3, np.float64)
        post, pre, ws = initial_synapses(net, "p", 3, np.float64)
        M = np.zeros_like(W, bool)
        M[post, pre] = True
        assert np.array_equal(M, np.ones_like(M) if m is None else m)
        assert np.array_equal(W[post, pre], ws)
        assert np.all(np.diff(post * 50 + pre) > 0)  # sorted (post, pre), no duplicates


def test_degrees_are_exact_and_uniform():
    net = _net({"type": "fixed_indegree", "k": 10, "allow_self": False}, INITS["uniform"], npre=40, npost=40,
               recurrent=True)
    post, pre, _ = initial_synapses(net, "p", 5, np.float64)
    assert np.all(np.bincount(post, minlength=40) == 10) and not np.any(post == pre)
    net = _net({"type": "fixed_outdegree", "k": 8}, INITS["uniform"], npre=300, npost=40)
    post, pre, _ = initial_synapses(net, "p", 5, np.float64)
    assert np.all(np.bincount(pre, minlength=300) == 8)
    # every post is equally likely: 300*8 synapses over 40 posts, mean 60, binomial sd ~7.6
    counts = np.bincount(post, minlength=40)
    assert abs(counts.mean() - 60) < 1e-9 and counts.std() < 15 and counts.min() > 25


def test_per_synapse_draws_and_list_weights():
    net = _net({"type": "fixed_indegree", "k": 3}, INITS["uniform"])
    _, _, w = initial_synapses(net, "p", 3, np.float64)
    assert w.size == 120 and 0 <= w.min() and w.max() <= 1
    net = _net({"type": "from_list", "pairs": [[3, 4], [0, 1], [3, 2]]}, {"init": "list", "values": [0.1, 0.2, 0.3]})
    post, pre, w = initial_synapses(net, "p", 3, np.float64)
    assert post.tolist() == [0, 3, 3] and pre.tolist() == [1, 2, 4] and w.tolist() == [0.2, 0.3, 0.1]


@pytest.mark.parametrize("conn,weights,field,text", [
    ({"type": "fixed_indegree", "k": 51}, INITS["uniform"], "projections.p.connectivity.k", "allowed: 0..50"),
    ({"type": "fixed_outdegree", "k": 40, "allow_self": False}, INITS["uniform"], "projections.p.connectivity.k",
     "allowed: 0..39"),
    ({"type": "from_list", "pairs": [[0, 1], [40, 2]]}, INITS["uniform"], "projections.p.connectivity.pairs[1]",
     "post index 40 out of range"),
    ({"type": "from_list", "pairs": [[0, 1], [2, -1]]}, INITS["uniform"], "projections.p.connectivity.pairs[1]",
     "pre index -1 out of range"),
    ({"type": "from_list", "pairs": [[0, 1], [0, 1]]}, INITS["uniform"], "projections.p.connectivity.pairs",
     "listed 2 times"),
    ({"type": "from_list", "pairs": [0, 1, 2]}, INITS["uniform"], "projections.p.connectivity.pairs", "expected"),
    ({"type": "from_list", "pairs": [[0, 1]]}, {"init": "list", "values": [1, 2]}, "projections.p.weights.values",
     "2 values for 1 pairs"),
    ({"type": "all_to_all"}, {"init": "list", "values": [1]}, "projections.p.weights.init", "from_list"),
])
def test_connector_errors_name_the_field(conn, weights, field, text):
    with pytest.raises(NetworkError) as e:
        _net(conn, weights)
    assert any(p == field and text in m for p, m in e.value.problems), e.value.problems


# ------------------------------------------------------------ sparse layout == dense layout
import copy  # noqa: E402

import neurohebb as nh  # noqa: E402
from neurohebb.backends.reference import sparse as SP  # noqa: E402

from conformance.cases import CASES, case  # noqa: E402


def _with_layout(doc, layout):
    doc = copy.deepcopy(doc)
    net = from_dict(doc)
    for k, pr in doc["projections"].items():
        pr["layout"] = layout if layout == "dense" or SP.sparse_refusal(net, k) is None else "dense"
    return from_dict(doc)


def _assert_same(a, b, exact, label):
    tol = 0.0 if exact else 1e-12  # float: rounding of the u kernels' reassociated sums
    for k in a.spikes:
        assert np.array_equal(a.spikes[k], b.spikes[k]), f"{label}: spikes of {k}"
    for k in a.weights:
        np.testing.assert_allclose(np.asarray(b.weights[k]), np.asarray(a.weights[k]), rtol=0, atol=tol,
                                   err_msg=f"{label}: weights of {k}")
    for k in a.probes:
        np.testing.assert_allclose(b.probes[k].data, a.probes[k].data, rtol=0, atol=tol, err_msg=f"{label}: probe {k}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_sparse_equals_dense_on_every_case(name):
    """Every rule template (the conformance cases use them all) in both layouts."""
    doc, opts = case(name)
    a = nh.run(_with_layout(doc, "dense"), progress=False, threads=1, **opts)
    b = nh.run(_with_layout(doc, "sparse"), progress=False, threads=1, **opts)
    _assert_same(a, b, False, name)
    net = _with_layout(doc, "sparse")
    assert set(b.report.get("sparse", {})) == {k for k in net.projections if SP.sparse_refusal(net, k) is None}


RULES = {
    "stdp_pair": {"template": "stdp_pair", "a_plus": 0.02, "a_minus": 0.021},
    "oja": {"template": "oja", "eta": 0.01},
}


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("conn", sorted(CONNECTORS))
def test_sparse_equals_dense_on_every_connector(conn, rule):
    """Event-driven (stdp_pair) and every-step (oja) rules on each connector."""
    out = {}
    for layout in ("dense", "sparse"):
        net = _net(CONNECTORS[conn], INITS["uniform"], rule=RULES[rule], layout=layout)
        net = net.model_copy(update={"run": net.run.model_copy(update={"steps": 150})})
        out[layout] = nh.run(net, progress=False, threads=1)
    assert out["dense"].spikes["b"].sum() > 5
    assert "sparse" in out["sparse"].report and "sparse" not in out["dense"].report
    _assert_same(out["dense"], out["sparse"], False, f"{conn}/{rule}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_sparse_equals_dense_in_fixed_point_bit_for_bit(name):
    """The fixed-point model: both layouts give identical integers (weights,
    spikes, probes, saturation counters) on every case that compiles."""
    from neurohebb.errors import NeurohebbError

    doc, opts = case(name)
    if "externals" in opts:
        pytest.skip("external populations run in float only")
    try:
        a = nh.run(_with_layout(doc, "dense"), precision="fixed", progress=False, threads=1, **opts)
    except NeurohebbError as exc:
        with pytest.raises(type(exc)):
            nh.run(_with_layout(doc, "sparse"), precision="fixed", progress=False, threads=1, **opts)
        return
    net = _with_layout(doc, "sparse")
    b = nh.run(net, precision="fixed", progress=False, threads=1, **opts)
    assert set(b.report.get("sparse", {})) == {k for k in net.projections if SP.sparse_refusal(net, k) is None}
    _assert_same(a, b, True, name)
    assert a.report["saturation"] == b.report["saturation"]
    for k, W in a.report["integer_weights"].items():
        assert np.array_equal(W, b.report["integer_weights"][k])


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("conn", sorted(CONNECTORS))
def test_sparse_equals_dense_in_fixed_point_on_every_connector(conn, rule):
    out = {}
    r = dict(RULES[rule], eta=0.02) if rule == "oja" else RULES[rule]  # 0.01 is below oja's LSB here
    for layout in ("dense", "sparse"):
        net = _net(CONNECTORS[conn], INITS["uniform"], rule=r, layout=layout)
        net = net.model_copy(update={"run": net.run.model_copy(update={"steps": 150})})
        out[layout] = nh.run(net, precision="fixed", progress=False, threads=1)
    assert "sparse" in out["sparse"].report
    _assert_same(out["dense"], out["sparse"], True, f"{conn}/{rule}")
    assert out["dense"].report["saturation"] == out["sparse"].report["saturation"]


# ------------------------------------------------------------ memory: refused before allocating
def _big(layout, k=100, n=200_000):
    doc = {"format_version": "1.0", "name": "big",
           "populations": {"a": {"type": "lif", "n": n, "du": 0.2, "dv": 0.1, "vth": 1.0}},
           "projections": {"p": {"pre": "a", "post": "a", "weights": {"init": "constant", "value": 0.1},
                                 "connectivity": {"type": "fixed_indegree", "k": k}, "layout": layout}},
           "run": {"steps": 10, "seed": 1}}
    return doc


def test_memory_estimate_follows_the_layout():
    from neurohebb.ir import limits

    with pytest.raises(NetworkError) as e:  # 2e5 x 2e5 dense: ~1.5 TB
        from_dict(_big("dense"))
    (path, msg), = e.value.problems
    assert path == "projections.p" and "available" in msg and "layout: sparse" in msg and "(dense)" in msg
    net = from_dict(_big("auto"))  # 2e7 synapses, sparse: a few hundred MB
    (path, b, what), = [it for it in limits.estimate(net) if it[0] == "projections.p"]
    assert "sparse, about 20000000 synapses" in what and 20_000_000 * 16 < b < 20_000_000 * 100
    with pytest.raises(NetworkError, match=r"projections.p: a run of 10 steps would allocate about .* GB .*"
                                           r"this machine has 0.1 GB available"):
        limits.check(net, available=2**30 // 10)


def test_dense_backends_refuse_matrices_that_do_not_fit():
    from neurohebb.backends.base import Backend

    class Dense(Backend):
        name = "densebackend"

    net = from_dict(_big("auto"))
    (path, msg), = Dense().dense_matrix_problems(net)
    assert path == "projections.p" and "densebackend backend" in msg and "200000 x 200000" in msg
    assert Dense().dense_matrix_problems(_net(CONNECTORS["fixed_indegree"], INITS["uniform"])) == []


def test_result_of_a_big_sparse_projection_is_a_csr_matrix(monkeypatch):
    """Above DENSE_RESULT_ENTRIES a result holds scipy.sparse matrices and a
    weights probe records one value per synapse (not post x pre)."""
    import scipy.sparse as sps

    from neurohebb.backends.reference import sparse as SPR

    monkeypatch.setattr(SPR, "DENSE_RESULT_ENTRIES", 100)
    monkeypatch.setattr("neurohebb.backends.reference.float_model.SP.DENSE_RESULT_ENTRIES", 100)
    doc = {"format_version": "1.0", "name": "x",
           "populations": {"a": {"type": "poisson", "n": 50, "rates": 30.0},
                           "b": {"type": "lif", "n": 40, "du": 0.2, "dv": 0.1, "vth": 1.0}},
           "projections": {"p": {"pre": "a", "post": "b", "weights": {"init": "uniform", "low": 0, "high": 0.5},
                                 "connectivity": {"type": "fixed_indegree", "k": 5}, "bounds": [0, 1], "layout": "sparse",
                                 "rule": RULES["stdp_pair"]}},
           "probes": {"w": {"target": "p", "var": "weights", "every": 10}}, "run": {"steps": 100, "seed": 1}}
    big = nh.run(from_dict(doc), progress=False)
    W = big.weights["p"]
    assert sps.issparse(W) and W.shape == (40, 50) and W.nnz == 200
    assert big.probes["w"].data.shape == (10, 200)
    monkeypatch.undo()
    small = nh.run(from_dict(doc), progress=False)
    np.testing.assert_allclose(W.toarray(), small.weights["p"], rtol=0, atol=1e-12)
    rows, cols = np.repeat(np.arange(40), np.diff(W.indptr)), W.indices  # the synapses, in (post, pre) order
    np.testing.assert_allclose(big.probes["w"].data, small.probes["w"].data[:, rows, cols], rtol=0, atol=1e-12)


def test_forced_sparse_layout_of_a_non_local_rule_is_refused():
    from neurohebb.errors import UnsupportedFeature

    doc, _ = case("rate_network")
    for name, why in (("b", "partner variables"), ("w2", "partner of 'b'")):
        d = copy.deepcopy(doc)
        d["projections"][name]["layout"] = "sparse"
        with pytest.raises(UnsupportedFeature, match=rf"projections.{name}.layout: sparse is not supported.*{why}"):
            nh.run(from_dict(d), progress=False)
    d = copy.deepcopy(doc)
    d["projections"]["w"]["layout"] = "sparse"  # a local rule in the same network: fine
    assert "w" in nh.run(from_dict(d), progress=False).report["sparse"]


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_simulator_on_a_sparse_projection(precision, tmp_path):
    """Continue, clear, set_weights and checkpoints work on the sparse layout
    as on the dense one."""
    out = {}
    for layout in ("dense", "sparse"):
        net = _net(CONNECTORS["fixed_indegree"], INITS["uniform"], rule=RULES["stdp_pair"], layout=layout)
        with nh.Simulator(net, precision=precision) as sim:
            sim.run(40, progress=False)
            sim.clear()
            W = sim.weights("p")
            sim.set_weights("p", W * 0.5)
            sim.save(tmp_path / f"{layout}.npz")
            sim.run(30, progress=False)
            a = sim.result()
        with nh.Simulator.load(tmp_path / f"{layout}.npz") as sim2:
            sim2.run(30, progress=False)
            b = sim2.result()
        np.testing.assert_array_equal(np.asarray(a.weights["p"]), np.asarray(b.weights["p"]))
        np.testing.assert_allclose(a.initial_weights["p"], W, rtol=0, atol=1e-12)  # the weights at clear()
        out[layout] = a
    _assert_same(out["dense"], out["sparse"], precision == "fixed", precision)
    np.testing.assert_allclose(out["sparse"].initial_weights["p"], out["dense"].initial_weights["p"], rtol=0, atol=1e-12)


def test_distance_connectivity_follows_its_profile():
    """p(d) = p_max exp(-d / scale) up to max_distance, 0 beyond (post cell i
    at c_i on the pre grid); checked against the expected count per distance band."""
    conn = {"type": "distance", "p_max": 0.8, "scale": 3.0, "max_distance": 6.0, "pre_shape": [30, 30],
            "post_shape": [20, 20]}
    net = _net(conn, INITS["uniform"], npre=900, npost=400)
    post, pre, _ = initial_synapses(net, "p", 2, np.float64)
    pre_c, post_c = inst._grid_centres((30, 30), (20, 20))
    d_all = np.sqrt(((post_c[:, None, :] - pre_c[None, :, :]) ** 2).sum(-1))
    d = d_all[post, pre]
    assert d.max() <= 6.0
    for lo, hi in ((0, 2), (2, 4), (4, 6)):
        band = (d_all >= lo) & (d_all < hi)
        expected = (0.8 * np.exp(-d_all[band] / 3.0)).sum()
        got = int(((d >= lo) & (d < hi)).sum())
        assert abs(got - expected) < 5 * np.sqrt(expected), (lo, hi, got, expected)  # binomial, 5 sd
