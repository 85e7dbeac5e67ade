"""What the nest backend can express, and the lowering of a document to NEST.

Everything a run instantiates comes from :mod:`neurohebb.semantics` (source
trains, connectivity, initial weights), so NEST sees the same input spikes and
weights as every other backend.  The mapping (docs/backends/nest.md):

* spike sources and prescribed populations: one ``spike_generator`` per
  neuron with the neuron's train from :class:`~neurohebb.semantics.SourceTrain`,
  relayed by a ``parrot_neuron`` (NEST lets only neurons be the pre side of
  a plastic synapse), which emits IR step ``s`` at stamp ``s + 1 + OFFSET``;
* ``lif``: ``neurohebb_lif`` (the IR's update, step for step);
* projections: NEST delay ``1 + delay`` steps; static ones through a copy of
  ``static_synapse``, plastic ones through a copy of ``neurohebb_synapse``
  holding the rule's products, traces and bounds.
"""
from __future__ import annotations

import math

import numpy as np

from ...ir.schema import LIF, ArraySource, Poisson, SpikeTimes
from ...rules.algebra import POST_TRACES, PRE_TRACES

PRECISIONS = ("float",)
#: factor codes of neurohebb_synapse
FACTOR_CODE = {"x1": 0, "x2": 1, "y1": 2, "y2": 3, "y3": 4, "w": 5, "r": 6}
TRACE_ORDER = PRE_TRACES + POST_TRACES  # x1 x2 y1 y2 y3
POP_PROBES = {"lif": ("spikes", "v", "u", "input"), "spike_times": ("spikes",), "poisson": ("spikes",),
              "array": ("output", "spikes")}


def _spiking_source(spec) -> bool:
    return isinstance(spec, (SpikeTimes, Poisson)) or (isinstance(spec, ArraySource) and not spec.graded)


def unsupported(network, precision="float", threads=None, **options) -> list[tuple[str, str]]:
    """``(field path, reason)`` for every part of ``network`` NEST cannot run exactly."""
    out: list[tuple[str, str]] = []
    if precision not in PRECISIONS:
        return [("precision", f"nest backend: precision {precision!r} is not available; known: float "
                              "(NEST computes in double precision)")]
    unknown = sorted(set(options) - {"externals", "hardware"})
    if unknown:
        out.append(("", f"nest backend: unknown options {unknown}; known: threads"))
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        out.append(("threads", f"nest backend: threads must be a positive integer, got {threads!r}"))
    if network.run.dtype != "float64":
        out.append(("run.dtype", f"{network.run.dtype}: NEST computes in float64 only"))
    pops = network.populations
    for name, p in pops.items():
        path = f"populations.{name}"
        if p.type in ("spike_times", "poisson"):
            continue
        if p.type == "array":
            if p.graded:
                out.append((f"{path}.values", "a graded (non-0/1) activity: NEST neurons exchange spikes only"))
            continue
        if p.type == "lif":
            pres = p.prescribed
            if pres is not None and not _spiking_source(pres):
                out.append((f"{path}.prescribed", "a graded prescribed activity: NEST neurons exchange spikes only"))
            continue
        reason = {"rate": "rate neurons: NEST neurons exchange spikes, not graded activity",
                  "lif_dendritic": "a multi-compartment neuron (dendritic plateaus): no NEST model of the IR's "
                                   "lif_dendritic here",
                  "external": "an external (host step function) population: NEST runs no Python callbacks "
                              "inside its update loop"}.get(p.type, f"population type {p.type!r} has no NEST model")
        out.append((f"{path}.type", reason))
    for name, pr in network.projections.items():
        path = f"projections.{name}"
        post = pops.get(pr.post)
        if post is None or pops.get(pr.pre) is None:
            continue  # validation reports it
        if post.type == "lif" and post.prescribed is not None and pr.rule is not None:
            out.append((f"{path}.rule", f"the post population {pr.post} is prescribed: neurohebb_synapse needs a "
                                        "simulated neurohebb_lif target"))
        if pr.rule is None:
            continue
        out += _rule_problems(network, name, pr)
    for name, pb in network.probes.items():
        path = f"probes.{name}"
        if pb.target in network.modulators:
            if network.modulators[pb.target].type == "population":
                out.append((f"{path}.target", "a population modulator depends on the run; nest records the "
                                              "series of the other modulator types only"))
            continue
        if pb.target in network.projections:
            if pb.var not in ("weights",) + TRACE_ORDER:
                out.append((f"{path}.var", f"{pb.var!r}: neurohebb_synapse has no eligibility; nest records "
                                           "weights and traces"))
            continue
        p = pops.get(pb.target)
        if p is not None and pb.var not in POP_PROBES.get(p.type, ()):
            out.append((f"{path}.var", f"{pb.var!r} of a {p.type} population; nest records "
                                       f"{', '.join(POP_PROBES.get(p.type, ())) or 'nothing'}"))
    return out


def _rule_problems(network, name, pr) -> list[tuple[str, str]]:
    path = f"projections.{name}"
    out = []
    try:
        rule = pr.rule.expand()
    except Exception as exc:  # validation reports it
        return [(f"{path}.rule", str(exc))]
    if pr.delay:
        out.append((f"{path}.delay", f"{pr.delay}: a plastic projection with a delay cannot be exact in NEST: the "
                                     "IR pairs a pre spike when it arrives, NEST delivers it (and lets the synapse "
                                     "update) when it is emitted, before the post spikes of the delay are "
                                     "computed; use delay 0 (see docs/backends/nest.md)"))
    if rule.de:
        out.append((f"{path}.rule", f"template {rule.template!r} updates an eligibility e (de = ...): "
                                    "neurohebb_synapse has w only"))
    for k, p in enumerate(rule.dw):
        if p.dep == "u":
            out.append((f"{path}.rule", f"product {k} ({p}) has dependency u (every step): NEST updates a "
                                        "synapse only when a spike reaches it; x0 and y0 products only"))
            continue
        for f in p.factors:
            if f.fn:
                out.append((f"{path}.rule", f"product {k} ({p}): function {f.fn}({f.var}) is not lowered to NEST"))
            elif f.var not in FACTOR_CODE:
                out.append((f"{path}.rule", f"product {k} ({p}): variable {f.var!r} is not available in "
                                            f"neurohebb_synapse (x1 x2 y1 y2 y3 w r)"))
            elif f.var == "r":
                mod = network.modulators.get(rule.modulator or "")
                if mod is not None and mod.type == "population":
                    out.append((f"{path}.rule.modulator", f"{rule.modulator!r} is a population modulator: its r[t] "
                                                          "depends on the run; neurohebb_synapse reads r from a "
                                                          "series computed before the run (every other type)"))
    return out


def rule_params(network, pr, steps, n_post, first_id) -> dict:
    """The common properties of the projection's copy of neurohebb_synapse
    (``first_id``: node id of the post population's first neuron)."""
    rule = pr.rule.expand()
    decay, impulse = [0.0] * 5, [1.0] * 5
    for k, tr in rule.traces.items():
        i = TRACE_ORDER.index(k)
        decay[i], impulse[i] = float(tr.decay), float(tr.impulse)
    coeff, dep, nfac, var, off = [], [], [], [], []
    for p in rule.dw:
        coeff.append(float(p.coeff))
        dep.append(0 if p.dep == "x0" else 1)
        # the reference multiplies post factors, then pre factors, then w: same order here
        fs = sorted(p.factors, key=lambda f: {"post": 0, "pre": 1, "synapse": 2}[f.level])
        nfac.append(len(fs))
        for f in fs:
            var.append(FACTOR_CODE[f.var])
            off.append(float(f.offset))
    lo, hi = pr.effective_bounds()
    extra = {}
    if "r" in rule.used_vars() and rule.modulator in network.modulators:
        from ...semantics import Modulator

        spec = network.modulators[rule.modulator]
        per_post = spec.scope == "per_post"
        series = Modulator(rule.modulator, spec).series(steps, n_post if per_post else None)
        extra = {"r_series": np.asarray(series, float).ravel().tolist(), "r_cols": n_post if per_post else 1,
                 "r_first": int(first_id)}
    extra["trace_used"] = [1 if k in rule.traces else 0 for k in TRACE_ORDER]
    return {**extra, "trace_decay": decay, "trace_impulse": impulse, "prod_coeff": coeff, "prod_dep": dep,
            "prod_nfac": nfac, "fac_var": var, "fac_off": off, "exclusive": rule.timing == "exclusive",
            "w_lo": float(lo) if math.isfinite(lo) else -1e308, "w_hi": float(hi) if math.isfinite(hi) else 1e308}


def lif_params(spec, n) -> dict:
    """neurohebb_lif's parameters: the decays as the reference computes them."""
    one = np.float64(1)
    bias = np.broadcast_to(np.asarray(spec.bias, np.float64), (n,))
    v0 = np.broadcast_to(np.asarray(spec.v_init, np.float64), (n,))
    return {"kdu": float(one - np.float64(spec.du)), "kdv": float(one - np.float64(spec.dv)),
            "vth": float(spec.vth), "v_reset": float(spec.v_reset), "refractory": int(spec.refractory),
            "bias": [float(b) for b in bias], "v": [float(v) for v in v0]}


def is_lif_simulated(spec) -> bool:
    return isinstance(spec, LIF) and spec.prescribed is None
