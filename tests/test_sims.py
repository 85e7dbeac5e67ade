"""The experiments in sims/ (docs/sims.md): every short variant reaches its targets on
the reference backend; what a target cannot express raises the compiler's error;
float vs fixed and reference vs nengo agree within the tolerances of docs/sims.md."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

import neurohebb as nh
from conftest import assert_close_docs, marked_slow
from neurohebb.errors import NeurohebbError, NotExpressible
from neurohebb.sims import format_result, list_sims, load_experiment, run_sim, sims_root

EXPERIMENTS = ["song_stdp", "oja_pca", "linsker", "nonlinear_hebbian", "dendritic_gating", "reversal", "assemblies",
               "credit_assignment", "iso"]
RATE_BASED = ["oja_pca", "linsker", "nonlinear_hebbian"]

_cache: dict = {}


def _short(name, backend="reference", precision="float", seed=None):
    key = (name, backend, precision, seed)
    if key not in _cache:
        _cache[key] = run_sim(name, backend=backend, precision=precision, short=True, seed=seed)
    return _cache[key]


def test_list_sims_order_and_descriptions():
    sims = list_sims()
    names = [n for n, _ in sims]
    from neurohebb.sims import ORDER
    assert set(EXPERIMENTS) <= set(names)
    assert [n for n in names if n in EXPERIMENTS] == [n for n in ORDER if n in EXPERIMENTS]  # every one is in ORDER
    for _, desc in sims:
        assert isinstance(desc, str) and desc and "\n" not in desc


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_documents_validate(name):
    net = nh.load(sims_root() / name / "network.yaml")
    assert net.name == name


def test_unknown_experiment():
    with pytest.raises(NeurohebbError, match="unknown experiment 'nope'; known: "):
        run_sim("nope")


@pytest.mark.parametrize("name", marked_slow(EXPERIMENTS, slow={"song_stdp", "linsker", "iso", "credit_assignment",
                                                                  "assemblies"}))
def test_short_reaches_targets_on_reference(name, tmp_path):
    res = run_sim(name, short=True, out=tmp_path)
    failed = [r for r in res["rows"] if r["ok"] is False]
    assert not failed, format_result(res)
    assert res["passed"] is True
    assert res["plots"] and all((tmp_path / p.split("/")[-1]).exists() for p in res["plots"])
    text = format_result(res)
    assert name in text and "published" in text
    assert all(isinstance(v, float) and not math.isnan(v) for k, v in res["metrics"].items() if k != "zero_r")


def test_no_plots_without_out():
    assert _short("oja_pca")["plots"] == []


@pytest.mark.parametrize("name", RATE_BASED)
def test_rate_experiments_are_not_expressible_in_fixed_point(name):
    with pytest.raises(NotExpressible, match="rate neurons"):
        run_sim(name, precision="fixed", short=True)


def test_oja_says_why_k_neurons_use_residual_populations():
    res = _short("oja_pca")
    assert any("not local" in n and "residual" in n for n in res["notes"])
    assert res["metrics"]["cos_pc1"] >= 0.99 and res["metrics"]["cos_pc3"] >= 0.99


def test_oja_data_has_the_stated_covariance():
    d = np.load(sims_root() / "oja_pca" / "network.npz")
    X, C = d["x"], d["covariance"]
    assert np.allclose(X.T @ X / len(X), C, atol=1e-10)
    assert np.allclose(X.mean(0), 0, atol=1e-12)


def test_nonlinear_hebbian_rule_strings_match_the_document():
    mod = load_experiment("nonlinear_hebbian")
    net = nh.load(sims_root() / "nonlinear_hebbian" / "network.yaml")
    # 6 significant digits (the builders' %.6g); poly_dw's coefficients come from a least-squares fit
    assert_close_docs(net.projections["w_sq"].rule.dw, mod.sq_dw(), rtol=1e-5)
    assert_close_docs(net.projections["w_poly"].rule.dw, mod.poly_dw(), rtol=1e-5)


def test_nonlinear_hebbian_chip_notes():
    res = _short("nonlinear_hebbian")
    notes = " ".join(res["notes"])
    assert "h(v) is not a Loihi-2 learning-engine variable" in notes
    # the chip-expressible form keeps the effect, the generic polynomial approximation loses it
    m = res["metrics"]
    assert m["kurt_sq"] > 2 * m["kurt_random"]
    assert m["kurt_poly"] < m["kurt_sq"]


def test_linsker_constants_match_the_document():
    mod = load_experiment("linsker")
    net = nh.load(sims_root() / "linsker" / "network.yaml")
    mab, mbc = mod.make_data()
    d = np.load(sims_root() / "linsker" / "network.npz")
    assert (d["mask_ab"] == mab).all() and (d["mask_bc"] == mbc).all()
    c = mod.rule_constants(0.6, -3.0, 0.0005, n_c=int(mbc.sum(1).mean()))
    r = net.projections["bc"].rule
    assert r.eta == pytest.approx(c["eta"], rel=1e-9)
    assert r.x_offset == pytest.approx(c["x_offset"])
    assert r.k1 == pytest.approx(c["k1"])


# --------------------------------------------------------------- float vs fixed (docs/sims.md)
@pytest.mark.slow
def test_song_float_vs_fixed_within_stated_tolerance():
    """docs/sims.md: in fixed point the additive distribution stays bimodal (BC > 5/9)
    and van Rossum's unimodal; BC within 0.25 of float (short protocol, 40 Hz)."""
    fl = _short("song_stdp")["metrics"]
    fx = _short("song_stdp", precision="fixed")["metrics"]
    assert fx["bc_add_40Hz"] > 5 / 9 and fl["bc_add_40Hz"] > 5 / 9
    assert abs(fx["bc_add_40Hz"] - fl["bc_add_40Hz"]) < 0.25
    assert fx["bc_vr_40Hz"] < 5 / 9 and fl["bc_vr_40Hz"] < 5 / 9


# --------------------------------------------------------------- reference vs nengo (docs/sims.md)
nengo_ok = nh.backends.available("nengo")


@pytest.mark.skipif(not nengo_ok, reason="nengo is not installed")
@pytest.mark.slow
@pytest.mark.parametrize("name", ["oja_pca", "nonlinear_hebbian"])
def test_nengo_float_matches_reference(name):
    """docs/sims.md: nengo:float gives the reference's metrics within 1e-6 (relative)."""
    ref = _short(name)["metrics"]
    ng = _short(name, backend="nengo")["metrics"]
    assert ref.keys() == ng.keys()
    for k in ref:
        assert ng[k] == pytest.approx(ref[k], rel=1e-6, abs=1e-9), k


@pytest.mark.skipif(not nengo_ok, reason="nengo is not installed")
def test_nengo_loihi1_says_why():
    with pytest.raises(NeurohebbError, match="no population can run on the Loihi chip"):
        run_sim("oja_pca", backend="nengo", precision="loihi1", short=True)


def test_experiment_modules_are_importable_standalone():
    for name in EXPERIMENTS:
        spec = importlib.util.spec_from_file_location(f"x_{name}", sims_root() / name / "experiment.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        assert mod.NAME == name and callable(mod.run)
