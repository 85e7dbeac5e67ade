"""One suite, every backend: each case of :mod:`.cases` runs on every
registered (backend, precision) and must agree with the reference within the
pair's tolerance.  A pair that cannot run a case says why through the backend
contract (``unsupported``) and the case is skipped with that reason; a pair
whose packages are missing is skipped as a whole.

The reference itself is checked against its own stateful path: the case run
as one ``run`` and as a ``Simulator`` continued in three chunks must be
bit-identical."""
from __future__ import annotations

import functools
import typing

import numpy as np
import pytest

import neurohebb as nh
from neurohebb import backends
from neurohebb.ir import from_dict, schema as S
from neurohebb.rules import TEMPLATES

from .cases import CASES, case

slow = pytest.mark.slow

#: per pair: the baseline it is compared with and the tolerance.  ``spikes``:
#: "exact", or the largest relative difference of the mean rates; ``weights``:
#: largest |dw| (absolute), or ("corr", r) for a correlation floor.
TOLERANCE = {
    ("nengo", "float"): {"base": ("reference", "float"), "spikes": "exact", "weights": 1e-9, "probes": 1e-9},
    ("lava", "float"): {"base": ("reference", "float"), "spikes": "exact", "weights": 1e-9, "probes": 1e-9},
    ("lava", "fixed"): {"base": ("reference", "fixed"), "spikes": "exact", "weights": 0.0, "probes": 0.0},
    # nengo_loihi's own Loihi-1 discretisation (7-bit weights): statistics, not bits
    ("nengo", "loihi1"): {"base": ("reference", "float"), "spikes": 0.5, "weights": ("corr", 0.5), "probes": None},
}
SLOW_BACKENDS = {"lava"}  # minutes per suite: in the slow set that CI runs


def _pairs():
    out = []
    for name in backends.names():
        reason = backends.unavailable_reason(name)
        precs = backends.get(name).precisions if reason is None else ("float",)
        for p in precs:
            marks = []
            if reason is not None:
                marks.append(pytest.mark.skip(reason=f"{name}: {reason}"))
            if name in SLOW_BACKENDS or (name, p) == ("nengo", "loihi1"):
                marks.append(slow)
            out.append(pytest.param((name, p), id=f"{name}:{p}", marks=marks))
    return out


@functools.lru_cache(maxsize=None)
def network(name):
    doc, opts = case(name)
    return from_dict(doc, f"conformance case {name}"), opts


@functools.lru_cache(maxsize=None)
def reference_result(name, precision):
    net, opts = network(name)
    return nh.run(net, precision=precision, progress=False, threads=1, **opts)


def assert_agrees(res, base, tol, label):
    """``res`` agrees with ``base`` within ``tol`` (see :data:`TOLERANCE`)."""
    assert set(res.weights) == set(base.weights), label
    for pop, s in base.spikes.items():
        if pop not in res.spikes:
            continue
        r = np.asarray(res.spikes[pop])
        if tol["spikes"] == "exact":
            assert np.array_equal(r, s), f"{label}: spikes of {pop} differ at {np.argwhere(r != s)[:3].tolist()}"
        else:
            a, b = r.mean(), s.mean()
            assert abs(a - b) <= tol["spikes"] * max(a, b) + 1e-3, f"{label}: rate of {pop} {a:.4g} vs {b:.4g}"
    for k, W in base.weights.items():
        w = tol["weights"]
        if isinstance(w, tuple):
            if np.std(W) > 0 and np.std(res.weights[k]) > 0:
                r = np.corrcoef(W.ravel(), res.weights[k].ravel())[0, 1]
                assert r >= w[1], f"{label}: weights of {k} correlate {r:.3f} < {w[1]}"
        else:
            d = float(np.max(np.abs(res.weights[k] - W))) if W.size else 0.0
            assert d <= w, f"{label}: max |dw| of {k} = {d:.3g} > {w}"
    if tol["probes"] is not None:
        for k, p in base.probes.items():
            if k in res.probes:
                q = np.asarray(res.probes[k].data, float)
                assert q.shape == p.data.shape, f"{label}: probe {k} shape {q.shape} vs {p.data.shape}"
                d = float(np.max(np.abs(q - p.data))) if q.size else 0.0
                assert d <= tol["probes"], f"{label}: probe {k} differs by {d:.3g}"


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("pair", _pairs())
def test_case(pair, name):
    backend, precision = pair
    be = backends.get(backend)
    net, opts = network(name)
    bad = be.unsupported(net, precision, **opts)
    if bad:
        pytest.skip(f"{backend}:{precision} refuses {name}: " + "; ".join(f"{p}: {m}" for p, m in bad)[:300])
    if backend == "reference":
        one = reference_result(name, precision)
        sim = nh.Simulator(net, precision=precision, threads=1, **opts)
        for k in (1, net.run.steps // 2, net.run.steps - 1 - net.run.steps // 2):
            sim.run(k)
        exact = {"spikes": "exact", "weights": 0.0, "probes": 0.0}
        assert_agrees(sim.result(), one, exact, f"reference:{precision} continued, on {name}")
        return
    tol = TOLERANCE.get(pair, {"base": ("reference", "float"), "spikes": "exact", "weights": 1e-9, "probes": 1e-9})
    base = reference_result(name, tol["base"][1])
    res = be.run(net, precision=precision, progress=False, **opts)
    assert_agrees(res, base, tol, f"{backend}:{precision} on {name}")


# ----------------------------------------------------------------- coverage, found by introspection
def _union_members(annotated):
    union = typing.get_args(annotated)[0]
    return typing.get_args(union)


def _tags(annotated, field):
    return {m.model_fields[field].default for m in _union_members(annotated)}


def _used(field_of):
    used = set()
    for name in CASES:
        net, _ = network(name)
        used |= field_of(net)
    return used


def test_every_population_type_has_a_case():
    want = _tags(S.Population, "type")
    got = _used(lambda n: {p.type for p in n.populations.values()} |
                {p.prescribed.type for p in n.populations.values() if getattr(p, "prescribed", None)})
    assert want <= got, f"no conformance case uses {sorted(want - got)}"
    assert "lif" in want and "external" in want  # the introspection itself works


def test_every_rule_template_has_a_case():
    got = _used(lambda n: {pr.rule.template for pr in n.projections.values() if pr.rule is not None})
    assert set(TEMPLATES) <= got, f"no conformance case uses {sorted(set(TEMPLATES) - got)}"


def test_every_modulator_weight_and_connectivity_type_has_a_case():
    assert _tags(S.Modulator, "type") <= _used(lambda n: {m.type for m in n.modulators.values()})
    assert _tags(S.Weights, "init") <= _used(lambda n: {pr.weights.init for pr in n.projections.values()})
    assert _tags(S.Connectivity, "type") <= _used(lambda n: {pr.connectivity.type for pr in n.projections.values()})


def test_every_registered_backend_is_in_the_suite():
    ids = {p.values[0][0] for p in _pairs()}
    assert set(backends.names()) <= ids
