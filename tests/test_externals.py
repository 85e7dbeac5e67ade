"""External (closed-loop) populations: the step function sees the previous step's
activity of the populations it reads; reference and nengo agree exactly with a
hand-computed closed loop; every target that cannot run them says so."""
import numpy as np
import pytest

import neurohebb as nh
from neurohebb.errors import NetworkError, NeurohebbError, NotExpressible, UnsupportedFeature
from neurohebb.ir import from_dict, load, save, to_dict


def make_counter(start=0.0, step=1.0):
    """A factory named by documents in these tests: emits [start + step*t, y of t-1]."""
    def f(t, inputs):
        return [start + step * t, float(inputs["y"][0])]
    return f


def _doc(**ext):
    e = {"type": "external", "n": 2, "reads": ["y"]}
    e.update(ext)
    return {
        "name": "loop",
        "populations": {"env": e, "y": {"type": "rate", "n": 1}},
        "projections": {"p": {"pre": "env", "post": "y", "weights": {"init": "constant", "value": 0.5},
                              "rule": {"template": "custom", "dw": "0.1*x0*r", "modulator": "m"}}},
        "modulators": {"m": {"type": "population", "population": "env", "scope": "global"}},
        "probes": {"yo": {"target": "y", "var": "output"}, "eo": {"target": "env", "var": "output"},
                   "w": {"target": "p", "var": "weights"}},
        "run": {"steps": 6},
    }


def _closed_form(steps=6):
    """The loop by hand: env emits e[t] = [1, t % 2] from y[t-1]; y[t] = W e[t-1];
    r[t] = mean(e[t-1]); W += 0.1 * e[t-1] * r[t] after y[t]."""
    W = np.array([0.5, 0.5])
    e_prev = np.zeros(2)
    ys, seen = [], []
    y_prev = 0.0
    for t in range(steps):
        seen.append(y_prev)
        e = np.array([1.0, t % 2])
        y = W @ e_prev
        W = W + 0.1 * e_prev * e_prev.mean()
        ys.append(y)
        e_prev, y_prev = e, y
    return np.array(ys), W, seen


@pytest.mark.parametrize("backend", ["reference", "nengo"])
def test_closed_loop_matches_hand_computation(backend):
    net = from_dict(_doc())
    seen = []

    def f(t, inputs):
        assert not inputs["y"].flags.writeable
        seen.append(float(inputs["y"][0]))
        return np.array([1.0, t % 2])

    res = nh.run(net, backend=backend, externals={"env": f}, progress=False)
    ys, W, seen_expected = _closed_form()
    np.testing.assert_allclose(res.probes["yo"].data.ravel(), ys, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.weights["p"].ravel(), W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(seen, seen_expected, atol=1e-12)
    np.testing.assert_array_equal(res.probes["eo"].data[:, 1], np.arange(6) % 2)


def test_document_factory_and_round_trip(tmp_path):
    doc = _doc(function="test_externals:make_counter", params={"start": 2.0, "step": 0.5})
    net = from_dict(doc)
    back = load(save(net, tmp_path / "loop.yaml"))
    assert to_dict(back)["populations"]["env"] == to_dict(net)["populations"]["env"]
    a, b = nh.run(net, progress=False, allow_modules=["test_externals"]), nh.run(back, progress=False, allow_modules=["test_externals"])
    np.testing.assert_array_equal(a.probes["eo"].data, b.probes["eo"].data)
    np.testing.assert_allclose(a.probes["eo"].data[:, 0], 2.0 + 0.5 * np.arange(6))
    # the second channel echoes y of the previous step
    np.testing.assert_allclose(a.probes["eo"].data[1:, 1], a.probes["yo"].data[:-1, 0])


def test_spiking_external_is_recorded_as_spikes():
    doc = _doc(spiking=True)
    doc["probes"]["eo"]["var"] = "spikes"
    res = nh.run(from_dict(doc), externals={"env": lambda t, i: [1, t % 3 == 0]}, progress=False)
    np.testing.assert_array_equal(res.spikes["env"][:, 1], np.arange(6) % 3 == 0)


def test_missing_binding_says_how_to_bind():
    with pytest.raises(UnsupportedFeature, match=r"populations.env: an external population needs a step function: "
                                                 r"pass run\(..., externals=\{'env': f\}\)"):
        nh.run(from_dict(_doc()), progress=False)


def test_unknown_binding_name():
    with pytest.raises(UnsupportedFeature, match="externals: 'nope' is not an external population"):
        nh.run(from_dict(_doc()), externals={"env": make_counter(), "nope": make_counter()}, progress=False)


@pytest.mark.parametrize("value, msg", [
    ([1.0, 2.0, 3.0], r"returned shape \(3,\) at step 0; expected \(2,\)"),
    ([np.nan, 0.0], "returned NaN or infinity at step 0"),
    ("abc", "returned str at step 0"),
])
def test_bad_step_output(value, msg):
    with pytest.raises(UnsupportedFeature, match=msg):
        nh.run(from_dict(_doc()), externals={"env": lambda t, i: value}, progress=False)


def test_spiking_needs_zero_one():
    doc = _doc(spiking=True)
    doc["probes"]["eo"]["var"] = "spikes"
    with pytest.raises(UnsupportedFeature, match="spiking, but the step function returned values other than 0 and 1"):
        nh.run(from_dict(doc), externals={"env": lambda t, i: [0.5, 1]}, progress=False)


@pytest.mark.parametrize("change, path, msg", [
    ({"reads": ["nope"]}, "populations.env.reads[0]", "unknown population 'nope'"),
    ({"params": {"a": 1}}, "populations.env.params", "params are passed to function"),
])
def test_document_errors(change, path, msg):
    with pytest.raises(NetworkError) as ei:
        from_dict(_doc(**change))
    assert any(p == path and msg in m for p, m in ei.value.problems), ei.value.problems


def test_bad_function_path():
    with pytest.raises(NetworkError, match="function"):
        from_dict(_doc(function="not a path"))
    with pytest.raises(NetworkError, match="cannot import module 'no_such_module_xyz'"):
        nh.run(from_dict(_doc(function="no_such_module_xyz:f")), progress=False, allow_modules=["no_such_module_xyz"])


def test_projection_into_external_is_refused():
    doc = _doc()
    doc["projections"]["back"] = {"pre": "y", "post": "env", "weights": {"init": "constant", "value": 1.0}}
    with pytest.raises(NetworkError, match="projections.back.post: 'env' is an external population"):
        from_dict(doc)


def test_fixed_point_and_chip_targets_refuse():
    net = from_dict(_doc())
    with pytest.raises(UnsupportedFeature, match="precision 'fixed': populations.env is an external"):
        nh.run(net, precision="fixed", externals={"env": make_counter()})
    from neurohebb.compiler import compile_network
    with pytest.raises(NotExpressible, match="populations.env: an external .* not compiled for loihi2"):
        compile_network(net, hardware="loihi2")


def test_lava_and_nir_refuse():
    net = from_dict(_doc())
    from neurohebb.backends.lava.lowering import check_supported
    assert any(p == "populations.env" and "no Lava lowering" in m for p, m in check_supported(net, "float"))
    from neurohebb.nir import export_nir
    with pytest.raises(NeurohebbError, match="populations.env: an external .* has no NIR node"):
        export_nir(net)
