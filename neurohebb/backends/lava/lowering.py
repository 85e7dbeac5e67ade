"""Lower a network (float) or its compiled program (fixed) to Lava processes.

| IR | Lava |
|---|---|
| source population (spike_times, poisson, binary array) | ``lava.proc.io.source.RingBuffer`` holding the reference's own train (``SourceTrain``, same seed and key) |
| ``lif`` | :class:`~.procs.neuron.NHNeuron` (float or fixed model) |
| prescribed ``lif`` | a ``RingBuffer`` of the prescribed train; an ``NHNeuron`` fed by it (``p_in``) when a three-factor projection ends there (it computes the post traces) |
| static projection | :class:`~.procs.dense.NHDense` (any delay) |
| plastic projection | :class:`~.procs.dense.NHLearningDense` with ``Loihi2FLearningRule`` (post traces from the bAP) or, when the rule reads ``r``, ``Loihi3FLearningRule`` (post traces and ``r`` from the post ``NHNeuron``) |
| modulator read by a rule | its values per step (the reference's modulator code, on the host) in a ``RingBuffer`` into the post neuron's ``r_in``; the neuron puts them in the rule's ``r`` slot (y3 or y2) |
| probes | recorded inside the models at the probe steps (``rec_*`` Vars), read once after the run |

Fixed: every number comes from the compiler's program (integer weights,
weight exponents, trace impulses, engine products in Lava's rule syntax,
LIF integers), as in ``tests/test_fixed_lava.py``.  Float: the rule's products
(after the exclusive-timing rewrite for Lava's inclusive engine) with the IR's
float coefficients.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...compiler.program import mantissa_exponent
from ...compiler.rules import expand_timing
from ...errors import UnsupportedFeature
from ...rules.algebra import POST_TRACES, PRE_TRACES, TRACES  # noqa: F401 (POST/PRE_TRACES used by simulator)

PROJ_REC = ("weights", "e", "x1", "x2", "y1", "y2", "y3")
THIRD_FACTOR_SLOTS = ("y3", "y2")  # as hardware_configs/loihi2.yaml: the first one the rule does not use
LAVA_VAR = {"e": "t"}
DENDRITIC = ("the lava backend has no multi-compartment neuron: a lif_dendritic population (dendritic branches with "
             "NMDA-like plateaus) has no Lava process here (Loihi 2's neuron is a single compartment); run it on the "
             "reference backend (float)")


# ============================================================================ support
def check_supported(net, precision: str) -> list[tuple[str, str]]:
    """What this backend cannot run beyond what the compiler refuses, as
    (path, reason) pairs.  For ``fixed`` the compiler runs first (its errors
    are raised unchanged); for ``float`` :func:`float_expressibility` gives the
    compiler's messages for rule terms Lava's engine cannot evaluate."""
    problems = []
    for name, p in net.populations.items():
        path = f"populations.{name}"
        if p.type == "external":
            problems.append((path, "an external (host step function) population has no Lava lowering: it would "
                                   "need a host process exchanging spikes with the chip every step; run it on the "
                                   "reference or nengo backend"))
        elif p.type == "rate":
            problems.append((path, "rate neurons have no Lava lowering (Lava's LIF is spiking; the learning engine "
                                   "sees graded activity only through graded spikes, not modelled here)"))
        elif p.type == "lif_dendritic":
            problems.append((path, DENDRITIC))
        elif p.type == "array" and p.graded:
            problems.append((path, "a graded (non-0/1) array source cannot be sent as spikes"))
        elif p.type == "lif" and p.prescribed is not None and p.prescribed.type == "array" and p.prescribed.graded:
            problems.append((f"{path}.prescribed", "a graded prescribed activity cannot be sent as spikes"))
    three_f: dict[str, list[str]] = {}
    for name, pr in net.projections.items():
        if pr.rule is None:
            continue
        path = f"projections.{name}.rule"
        rule = pr.rule.expand()
        for t, spec in rule.traces.items():
            if spec.impulse < 0:
                problems.append((f"{path}.traces.{t}", f"impulse {spec.impulse} < 0: Lava's traces only grow "
                                                       "(LoihiLearningRule refuses negative impulses)"))
        if not rule.products():
            problems.append((path, "the rule has no products"))
        if "r" in rule.used_vars():
            three_f.setdefault(pr.post, []).append(name)
            mod = net.modulators.get(rule.modulator)
            if mod is not None and mod.type == "population":
                problems.append((f"modulators.{rule.modulator}",
                                 f"a population modulator (read by {name}) has no Lava lowering yet: its value "
                                 "would have to be computed on chip from the population's spikes"))
    for name, pb in net.probes.items():
        m = net.modulators.get(pb.target)
        if m is not None and m.type == "population":
            problems.append((f"probes.{name}", f"modulator {pb.target!r} is a population modulator, which has no "
                                               "Lava lowering yet"))
    for post, users in three_f.items():
        if len(users) > 1:
            problems.append((f"populations.{post}", f"three-factor projections {', '.join(users)} end here; the "
                                                    "post neuron sends one set of post traces (y1..y3), so at most one "
                                                    "three-factor projection per population"))
    return problems


def float_expressibility(net, hardware="loihi2") -> list[tuple[str, str]]:
    """The compiler's own checks of each rule product (declared functions,
    ``v``, ``r`` without a free slot, dependencies) with its messages, without
    quantizing anything: Lava's float engine evaluates the same algebra."""
    from ...compiler.rules import check_factors
    from ...hardware import load_hardware

    hw = load_hardware(hardware)
    if hw.learning is None or hw.kind != "fixed":
        hw = load_hardware("loihi2")  # the engine Lava models
    lr = hw.learning
    problems = [(f"populations.{k}", DENDRITIC) for k, p in net.populations.items() if p.type == "lif_dendritic"]
    for name, pr in net.projections.items():
        if pr.rule is None:
            continue
        rule = pr.rule.expand()
        path = f"projections.{name}.rule"
        free = [s for s in THIRD_FACTOR_SLOTS if s not in rule.traces]
        ctx = {"traces": dict(rule.traces), "label": hw.title,
               "r": (free[0] if free else None) if "r" in rule.used_vars() else None,
               "r_problem": (f"r (the third factor) reaches the {hw.title} engine only through a post-trace slot "
                             f"(y3 or y2) that the post neuron overwrites each step, and this rule uses y3 and y2 as "
                             "traces: free one of them")}
        for target, prods in (("w", rule.dw), ("e", rule.de)):
            where = path if target == "w" else f"{path} (de)"
            for p in prods:
                bad = check_factors(p, rule, lr, ctx)
                if bad:
                    problems.append((where, f"product {p}: {bad}"))
    return problems


# ============================================================================ float rules
def fixed_rule_kwargs(cp, post_traces=True) -> dict:
    """``LoihiLearningRule`` keyword arguments of a compiled (fixed-point)
    projection ``cp``: each trace's hardware impulse and tau (post traces only
    when ``post_traces``: a three-factor post neuron computes its own) and the
    engine strings of ``dw`` and ``dt`` (the tag)."""
    kw = {}
    for t, tm in cp.traces.items():
        if t in PRE_TRACES or post_traces:
            kw[f"{t}_impulse"] = tm.impulse_hw
            kw[f"{t}_tau"] = tm.tau
    for key, prods in (("dw", cp.dw), ("dt", cp.de)):
        if prods:
            kw[key] = " + ".join(q.engine_string for q in prods).replace("+ -", "- ")
    return kw


def third_factor_slot(rule) -> str | None:
    if "r" not in rule.used_vars():
        return None
    for s in THIRD_FACTOR_SLOTS:
        if s not in rule.traces:
            return s
    return None


def float_products(rule):
    """``[(target, Product)]`` for Lava's inclusive engine: exclusive timing
    rewritten exactly as the compiler does (``z_before = z_after - I s``)."""
    return [(target, p) for target, p, _, _, _ in expand_timing(rule, set(rule.traces))]


def _applier_factor(f, dep, slot):
    var = slot if f.var == "r" else f.var
    if var in TRACES:
        name = f"{var}_{dep}"
    elif var == "w":
        name = "weights"
    elif var == "e":
        name = "tag_1"
    elif var in ("x0", "y0"):
        name = var
    else:  # pragma: no cover - check_supported refuses the rest
        raise UnsupportedFeature(f"{var} is not a Lava learning-engine variable")
    if f.offset:
        name = f"({name} + ({float(f.offset)!r}))"
    return name


def float_applier_expr(prods, slot) -> str:
    """Lava float-applier expression (its variable names) with the IR's float
    coefficients, e.g. ``(0.01) * y0 * x1_y0 + (-0.01) * y0 * x0``."""
    terms = []
    for p in prods:
        terms.append(" * ".join([f"({float(p.coeff)!r})", p.dep] + [_applier_factor(f, p.dep, slot) for f in p.factors]))
    return " + ".join(terms) if terms else "0"


def lava_rule_string(prods, slot, literal=True) -> str:
    """The products in Lava's rule syntax.  ``literal``: the nearest ``m*2^e``
    (|m| <= 7, clipped into Lava's exponent range) for information; the float
    model evaluates :func:`float_applier_expr` instead."""
    parts = []
    for p in prods:
        if literal:
            m, e = mantissa_exponent(p.coeff, (-8, 7))
            e = min(max(e, -7), 8)
            lit = (f"{m}*2^{e}" if m not in (0, 1) else f"2^{e}") if m != 0 else "2^0"
        else:
            lit = "2^0"
        dep = "u0" if p.dep == "u" else p.dep
        fs = []
        for f in p.factors:
            v = slot if f.var == "r" else LAVA_VAR.get(f.var, f.var)
            fs.append(v if not f.offset else f"({v}{'+' if f.offset > 0 else '-'}1)")
        parts.append("*".join([lit, dep] + fs))
    return " + ".join(parts).replace("+ -", "- ")


def literal_report(prods) -> list[dict]:
    """Per product: the nearest Lava literal and whether it is exact (the float
    backend does not need it: see float_applier_expr)."""
    out = []
    for target, p in prods:
        m, e = mantissa_exponent(p.coeff, (-8, 7))
        exact = m * 2.0**e == p.coeff and -7 <= e <= 8
        out.append({"target": target, "product": str(p), "coefficient": p.coeff, "nearest_literal": f"{m}*2^{e}",
                    "exact_as_lava_literal": bool(exact),
                    "offsets_integer": all(float(f.offset).is_integer() for f in p.factors)})
    return out


# ============================================================================ plan
@dataclass
class PopPlan:
    name: str
    kind: str  # source | lif | prescribed
    n: int
    train: np.ndarray | None = None  # (steps, n) bool for sources and prescribed
    needs_neuron: bool = False
    lif: dict | None = None
    v_init: np.ndarray | None = None
    three_factor: dict | None = None
    r_values: np.ndarray | None = None  # (steps, n) third factor (float or slot integers)
    rec: dict = field(default_factory=dict)  # var -> steps


@dataclass
class ProjPlan:
    name: str
    pre: str
    post: str
    plastic: bool
    W: np.ndarray  # float weights (float) or integers (fixed)
    mask: np.ndarray | None
    delay: int
    weight_exp: int = 0
    rule_kwargs: dict | None = None
    three_factor: bool = False
    float_rules: dict | None = None
    trace_params: dict | None = None
    bounds: tuple = (-math.inf, math.inf)
    sign_mode: str = "mixed"
    round_seed: int | None = None
    seeds: tuple | None = None
    rec: dict = field(default_factory=dict)


def probe_steps(net, steps) -> dict:
    """(target, var) -> sorted steps at which some probe records it."""
    out: dict = {}
    for pb in net.probes.values():
        out.setdefault((pb.target, pb.var), set()).update(range(0, steps, pb.every))
    return {k: sorted(v) for k, v in out.items()}


def components(net, pops) -> list[set]:
    """Populations connected by projections (each is one Lava graph)."""
    parent = {p: p for p in pops}

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for pr in net.projections.values():
        parent[find(pr.pre)] = find(pr.post)
    groups: dict = {}
    for p in pops:
        groups.setdefault(find(p), set()).add(p)
    return list(groups.values())
