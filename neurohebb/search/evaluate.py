"""Evaluating one candidate: compile it for the target, then score it.

:func:`evaluate_candidate` is what a Dask worker runs.  It never raises for a
candidate's own failure: the result says ``status`` = ``ok`` (scored),
``not_expressible`` (the compiler refused it; never run) or ``failed`` (it
compiled but the objective could not be computed, e.g. NaN), with the reason.
Problems of the spec itself (unknown experiment, metric or projection) raise
:class:`~neurohebb.search.spec.SearchSpecError`, since no candidate can succeed.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import time
from pathlib import Path

from ..errors import NeurohebbError, UnsupportedFeature
from .space import build_rule
from .spec import SearchSpecError


def network_path(spec) -> Path:
    """The document that holds the searched projection."""
    if spec.objective.function is not None:
        return spec.resolve(spec.objective.network)
    from ..sims import load_experiment, sims_root

    try:
        load_experiment(spec.objective.experiment)
    except NeurohebbError as exc:
        raise SearchSpecError(f"{spec.source or 'search spec'}: objective.experiment: {exc}") from None
    p = sims_root() / spec.objective.experiment / spec.objective.document
    if not p.is_file():
        raise SearchSpecError(f"{spec.source or 'search spec'}: objective.document: {p} does not exist")
    return p


def candidate_network(spec, rule):
    """The network document with ``rule`` on ``spec.projection`` (validated)."""
    from ..sims import SimContext

    from ..errors import NetworkError

    path = network_path(spec)
    ctx = SimContext("search", path.parent, "reference", "float", None, True, None,
                     overrides={spec.projection: rule})
    try:
        net = ctx.load(path.name)
    except NetworkError as exc:
        # fields of space.fixed the candidate does not use (e.g. alignment's partner for Decay alone)
        drop = [f for f in spec.space.drop_unused
                if f in rule and any(p.endswith(f".rule.{f}") for p, _ in exc.problems)]
        if not drop:
            raise
        return candidate_network(spec, {k: v for k, v in rule.items() if k not in drop})
    if spec.projection not in ctx.applied:
        raise SearchSpecError(f"{spec.source or 'search spec'}: projection: {path} has no projection "
                              f"{spec.projection!r}; it has {', '.join(sorted(net.projections)) or 'none'}")
    return net


def compiled_rule(program, report, projection) -> dict:
    """What the target runs for ``projection``: the engine products (Lava
    syntax), their largest coefficient error, the trace impulses (hardware
    units) and the float rule the quantized coefficients implement."""
    from ..compiler import FloatProgram, effective_rule

    if isinstance(program, FloatProgram):
        return {"engine": [], "max_rel_error": 0.0, "impulses": {}, "effective": None}
    rows = [r for r in report.to_dict()["rules"] if r["projection"] == projection]
    pp = program.projections[projection]
    try:
        eff = effective_rule(pp)
    except UnsupportedFeature:
        eff = None
    return {"engine": [r["engine"] for r in rows],
            "max_rel_error": max((float(r["rel_error"]) for r in rows), default=0.0),
            "impulses": {k: int(t.impulse_hw) for k, t in pp.traces.items()},
            "effective": eff}


def load_function(spec):
    """The user's objective function named ``module:function`` or ``file.py:function``."""
    ref = spec.objective.function
    mod_name, fn_name = ref.rsplit(":", 1)
    where = f"{spec.source or 'search spec'}: objective.function"
    if mod_name.endswith(".py"):
        path = spec.resolve(mod_name)
        if not path.is_file():
            raise SearchSpecError(f"{where}: {path} does not exist")
        s = importlib.util.spec_from_file_location(f"neurohebb_search_objective_{path.stem}", path)
        mod = importlib.util.module_from_spec(s)
        s.loader.exec_module(mod)
    else:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            raise SearchSpecError(f"{where}: cannot import {mod_name!r}: {exc}") from None
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise SearchSpecError(f"{where}: {mod_name} has no function {fn_name!r}")
    return fn


def score(spec, rule, net=None, backend=None, precision=None, short=None) -> tuple[float, dict]:
    """``(score, metrics)`` of ``rule``: the objective's metric averaged over
    the spec's seeds (``metrics``: the first seed's, and ``score_per_seed``)."""
    ob = spec.objective
    backend = backend or spec.evaluate.backend
    precision = precision or spec.evaluate.precision
    short = ob.short if short is None else short
    vals, metrics = [], {}
    if ob.function is not None:
        fn = load_function(spec)
        net = net if net is not None else candidate_network(spec, rule)
        for seed in ob.seeds:
            v = fn(net, backend=backend, precision=precision, seed=seed)
            if isinstance(v, dict):
                metrics = metrics or dict(v)
                v = v["score"]
            vals.append(float(v))
    else:
        from ..sims import run_sim

        for seed in ob.seeds:
            res = run_sim(ob.experiment, backend=backend, precision=precision, short=short, seed=seed,
                          overrides={spec.projection: rule}, part=ob.part)
            if ob.metric not in res["metrics"]:
                raise SearchSpecError(f"{spec.source or 'search spec'}: objective.metric: experiment "
                                      f"{ob.experiment!r}{f' part {ob.part!r}' if ob.part else ''} has no metric "
                                      f"{ob.metric!r}; it has {', '.join(res['metrics'])}")
            metrics = metrics or dict(res["metrics"])
            vals.append(float(res["metrics"][ob.metric]))
    metrics["score_per_seed"] = vals
    return float(sum(vals) / len(vals)), metrics


def evaluate_candidate(spec, params) -> dict:
    """Compile, then (when the target can express it) score one candidate.
    Returns ``{"status", "score", "metrics", "rule", "compiled", "reason", "wall"}``."""
    from ..compiler import compile_network

    t0 = time.perf_counter()
    rule = build_rule(spec, params)
    out = {"status": "ok", "score": None, "metrics": {}, "rule": rule, "compiled": None, "reason": ""}
    try:
        net = candidate_network(spec, rule)
        program, report = compile_network(net, hardware=spec.target)
    except SearchSpecError:
        raise
    except NeurohebbError as exc:
        out.update(status="not_expressible", reason=str(exc), wall=time.perf_counter() - t0)
        return out
    out["compiled"] = compiled_rule(program, report, spec.projection)
    try:
        s, metrics = score(spec, rule, net)
    except SearchSpecError:
        raise
    except NeurohebbError as exc:
        out.update(status="failed", reason=f"{type(exc).__name__}: {exc}", wall=time.perf_counter() - t0)
        return out
    out["metrics"] = {k: v for k, v in metrics.items() if isinstance(v, (int, float, list))}
    if math.isnan(s) or math.isinf(s):
        out.update(status="failed", reason=f"the objective is {s}")
    else:
        out["score"] = s
    out["wall"] = time.perf_counter() - t0
    return out
