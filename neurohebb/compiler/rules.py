"""Lowering one rule of the algebra onto a sum-of-products learning engine.

Steps, per product ``c * D * F1 * F2 ...`` of ``dw`` (and ``de``):

1. expressibility: every factor must be an engine variable (traces, w, e) or
   the third factor ``r`` routed through a free post-trace slot; ``v`` and
   declared functions are not engine variables;
2. timing: with ``timing: exclusive`` a spike-triggered product must read the
   traces *before* this step's impulses while the engine reads them after.
   ``z_before = z_after - I_z * s_z`` (``s_z`` the spike of z's side) is exact
   in integers, so the product is expanded: a trace of the triggering side
   becomes the bracket ``(z - I_z)``, a trace of the other side splits into
   ``z`` and ``-I_z * x0`` (or ``y0``);
3. scaling: the hardware coefficient is ``C = c / scale(target) /
   prod(scale(F))`` (weight LSB per unit of the integer factors);
4. ``C = m * 2**E`` with ``m`` in the mantissa range, and the engine exponent
   is ``E + shift`` where ``shift = max(0, sum(widths) + mantissa_bits -
   accumulator_bits)`` is the right shift the engine applies to the product in
   fixed point: the compensation that makes the fixed and the float run of a
   document the same rule.
"""
from __future__ import annotations

import itertools
import math

from ..rules.algebra import NONLOCAL_VARS, Factor, Product, format_sum
from .program import HwFactor, HwProduct, mantissa_exponent

INF = math.inf


def expand_timing(rule, traces_used) -> list[tuple]:
    """``[(target, product, origin, base, subs)]`` with exclusive timing
    rewritten for an inclusive engine (see the module docstring).  ``origin``
    names the document product a rewritten product comes from ("" for unchanged
    ones); ``base`` is the rewritten product that keeps every trace (None for
    itself) and ``subs`` the traces replaced by ``-I_z * spike`` in this one."""
    out = []
    for target, prods in (("w", rule.dw), ("e", rule.de)):
        for p in prods:
            if rule.timing != "exclusive" or p.dep == "u" or not any(f.var in traces_used for f in p.factors):
                out.append((target, p, "", None, ()))
                continue
            dep_side = "pre" if p.dep == "x0" else "post"
            # per factor: alternatives (coeff, Factor or None, spike factor or None, substituted trace or None)
            choices = []
            for f in p.factors:
                if f.var not in traces_used or f.fn:
                    choices.append([(1.0, f, None, None)])
                    continue
                imp = rule.traces[f.var].impulse
                side = "pre" if f.var.startswith("x") else "post"
                if side == dep_side:
                    choices.append([(1.0, Factor(f.var, f.offset - imp), None, None)])
                else:
                    spike = "x0" if side == "pre" else "y0"
                    choices.append([(1.0, f, None, None), (-imp, None, spike, f.var)])
            base = None
            for combo in itertools.product(*choices):
                coeff = p.coeff
                factors, subs = [], []
                for c, f, spike, sub in combo:
                    coeff *= c
                    if f is not None:
                        factors.append(f)
                    if spike is not None:
                        factors.append(Factor(spike))
                        subs.append(sub)
                if coeff == 0:
                    continue
                q = Product(coeff, p.dep, tuple(factors))
                if base is None:
                    base = q
                    out.append((target, q, f"exclusive timing of {p}", None, ()))
                else:
                    out.append((target, q, f"exclusive-timing correction of {base}", base, tuple(subs)))
    return out


def lower_rule(name, rule, lr, ctx, report, problems, compensate=True):
    """Lower ``rule`` of projection ``name``.  ``lr``: the hardware's learning
    arithmetic; ``ctx``: dict with ``traces`` (TraceMap by name), ``w`` (WeightMap),
    ``tag`` (TagMap or None), ``r`` (ThirdFactorMap or None).  Appends to
    ``problems`` and returns the HwProducts.

    A correction product of exclusive timing gets the coefficient of its base
    product *as quantized* times ``-I_z`` (hardware impulses), so the
    emulation is exact whenever that product is representable (always when
    the impulses are powers of two); its row reports the remaining error."""
    path = f"projections.{name}.rule"
    traces = ctx["traces"]
    out: list[HwProduct] = []
    expanded = expand_timing(rule, set(traces))
    lowered: dict = {}
    for target, p, origin, base, subs in expanded:
        where = path if target == "w" else f"{path} (de)"
        bad = check_factors(p, rule, lr, ctx)
        if bad:
            problems.append((where, f"product {p}: {bad}"))
            continue
        override = None
        if base is not None:
            bq = lowered.get((target, base))
            if bq is None:
                continue
            override = bq.coefficient
            for z in subs:
                override *= -traces[z].impulse_hw
        hp = _lower_product(target, p, origin, lr, ctx, where, problems, compensate, override)
        if hp is not None:
            out.append(hp)
            lowered[(target, p)] = hp
    if rule.timing == "exclusive" and any(o for _, _, o, _, _ in expanded) and lr.timing == "inclusive":
        shown = format_sum([p for t, p, *_ in expanded if t == "w"])
        report.note(path, f"timing 'exclusive' emulated on the inclusive engine: dw = {shown} "
                          "(exact while the traces involved stay below saturation)")
    return out


def check_factors(p, rule, lr, ctx) -> str | None:
    engine_vars = set(lr.pre_traces) | set(lr.post_traces) | set(lr.synaptic) | set(lr.dependencies[:2])
    hw = ctx.get("label", "target's")
    for f in p.factors:
        if f.var in NONLOCAL_VARS:
            what = ("per-synapse Gaussian noise" if f.var == "xi" else
                    f"a variable of the partner projection {rule.partner!r} (weight transport / another population's "
                    "activity)")
            return (f"{f.var} is non-local: {what} is not a {hw} learning-engine variable; a synapse reads only its "
                    "own w, e, its pre/post spikes and traces; run the rule on the reference backend in float")
        if f.var == "d":
            return (f"d (the voltage of a dendritic branch) is not a {hw} learning-engine variable: the target has "
                    "no multi-compartment neuron, and a neuron's state never reaches the synapse")
        if f.fn:
            how = ("compile with approximate=True to replace it by a polynomial (a sum of products)"
                   if f.var in ctx["traces"] else
                   "a function of a trace could be approximated (approximate=True), one of " + f.var + " cannot")
            return (f"{f} is not a {hw} learning-engine variable; the engine multiplies spikes, traces, w, e and "
                    f"constants only, so a declared function cannot be evaluated on chip ({how}; or run the rule "
                    "on the reference or nengo backend)")
        if f.var == "v":
            return (f"v is not a {hw} learning-engine variable: the post neuron's state never reaches the synapse; "
                    f"the engine reads only spikes, traces ({', '.join(lr.pre_traces + lr.post_traces)}), w and e")
        if f.var == "r":
            if ctx.get("r") is None:
                return ctx.get("r_problem") or "r has no route to the engine on this target"
            continue
        if f.var not in engine_vars:
            return f"{f.var} is not a {hw} learning-engine variable"
        if f.var == "e" and not rule.de:
            return "reads e but the rule has no de (e would alias w)"
    if p.dep not in lr.dependencies:
        return f"dependency {p.dep} is not one of the engine's ({', '.join(lr.dependencies)})"
    return None


def _factor_scale(var, ctx) -> float:
    """hardware integer units per float unit of ``var``."""
    if var in ("x0", "y0"):
        return 1.0
    if var in ctx["traces"]:
        return ctx["traces"][var].scale
    if var == "w":
        return 1.0 / ctx["w"].scale
    if var == "e" and ctx.get("tag") is not None:
        return 1.0 / ctx["tag"].scale
    if var == "r" and ctx.get("r") is not None:
        return ctx["r"].scale
    raise KeyError(var)  # no scale on this target (a trace that was not mapped, e without de, r without a route)


def _factor_range(f: HwFactor, ctx) -> tuple[int, int]:
    """Range of the clipped factor value."""
    if f.var in ("x0", "y0"):
        lo, hi = 0, 1
    elif f.var in ctx["traces"]:
        lo, hi = 0, ctx["traces"][f.var].max
    elif f.var == "w":
        lo, hi = ctx["w"].lo, ctx["w"].hi
    elif f.var == "e":
        lo, hi = ctx["tag"].lo, ctx["tag"].hi
    else:  # r slot
        lo, hi = ctx["r"].lo, ctx["r"].hi
    c0, c1 = f.clip
    return min(max(lo + f.const, c0), c1), min(max(hi + f.const, c0), c1)


def product_shift(widths: int, lr) -> int:
    return max(0, widths + lr.mantissa_bits - lr.accumulator_bits) if lr.product_shift else 0


def quantize_coeff(C: float, shift: int, lr, compensate=True):
    """``(m, E, engine exponent, rel. error, status)`` for the hardware
    coefficient ``C`` of a product with right shift ``shift``; status is
    ``ok``, ``too_large`` (no exponent is large enough) or ``too_small``
    (rounds to 0).  Below the smallest exponent the mantissa loses bits
    (``ok`` with a larger error)."""
    m, E = mantissa_exponent(C, lr.mantissa)
    off = shift if compensate else 0
    e0, e1 = lr.exponent
    if E + off > e1:
        return m, E, E + off, math.inf, "too_large"
    if E + off < e0:
        E = e0 - off
        m = int(min(max(round(C / 2.0**E), lr.mantissa[0]), lr.mantissa[1]))
        if m == 0:
            return 0, E, e0, 1.0, "too_small"
    return m, E, E + off, abs(m * 2.0**E - C) / abs(C), "ok"


def _lower_product(target, p, origin, lr, ctx, where, problems, compensate, override=None):
    w = ctx["w"]
    tscale = 1.0 / w.scale if target == "w" else 1.0 / ctx["tag"].scale
    C = p.coeff * tscale
    hf = []
    for f in p.factors:
        var = ctx["r"].slot if f.var == "r" else f.var
        q = _factor_scale(f.var, ctx)
        C /= q
        const = 0
        if f.offset:
            cf = f.offset * q
            const = int(round(cf))
            lo, hi = lr.bracket_const
            if not lo <= const <= hi:
                problems.append((where, f"product {p}: bracket {f} needs the constant {cf:.4g} in hardware units, "
                                        f"outside the engine's range [{lo}, {hi}]"))
                return None
            if abs(const - cf) > 1e-9:
                ctx["report"].add(f"{where}: bracket {f} in {p}", f.offset, f"{const}", const / q,
                                  "bracket constant rounded to an integer")
        width_var = "e" if var == "e" else var
        hf.append(HwFactor(var, const, lr.factor_widths[width_var]))
    if override is not None:
        C = override
    widths = sum(f.width for f in hf)
    shift = product_shift(widths, lr)
    m, E, exp_engine, err, status = quantize_coeff(C, shift, lr, compensate)
    # largest |dep * prod(factors) * m|: the multiplier must hold it
    mx = max(abs(m), 1)
    for f in hf:
        lo, hi = _factor_range(f, ctx)
        mx *= max(abs(lo), abs(hi))
    if mx >= 2**lr.multiplier_bits:
        problems.append((where, f"product {p}: |dep * factors * mantissa| reaches {mx} >= 2^{lr.multiplier_bits}; "
                                "the engine's multiplier overflows (use fewer factors or smaller traces)"))
        return None
    e0, e1 = lr.exponent
    smallest = 2.0 ** (e0 - (shift if compensate else 0))
    largest = lr.mantissa[1] * 2.0 ** (e1 - (shift if compensate else 0))
    unit = "weight" if target == "w" else "tag"
    head = (f"product {p}: coefficient {p.coeff:.4g} is {C:.4g} {unit} LSB per unit of the hardware factors "
            f"(representable magnitudes: {smallest:.3g} .. {largest:.3g} with product shift {shift})")
    if status == "too_large":
        problems.append((where, f"{head}; it is too large: lower the trace impulses (option trace_impulses) "
                                "or the coefficient" + suggest_coefficients(p, C, shift, lr, compensate, target, ctx)))
        return None
    if status == "too_small":
        problems.append((where, f"{head}; it is too small (rounds to 0): coefficient outside the representable "
                                "range; use larger coefficients, smaller trace impulses or larger weight bounds"
                                + suggest_coefficients(p, C, shift, lr, compensate, target, ctx)))
        return None
    if override is None and err > ctx["max_error"]:
        problems.append((where, f"{head}; the nearest is {m}*2^{E}, {err:.1%} off (more than max_coefficient_error "
                                f"{ctx['max_error']:.1%}): coefficient outside the representable range"
                                + suggest_coefficients(p, C, shift, lr, compensate, target, ctx)))
        return None
    return HwProduct(target, p.dep, tuple(hf), m, E, shift, exp_engine, C, str(p), origin, p.coeff, mx)


def representable(C: float, shift: int, lr, compensate=True) -> list[float]:
    """The exactly representable hardware coefficients ``m * 2**E`` nearest to
    ``C`` (same sign): the largest one below |C| and the smallest one above
    (one of them when |C| is beyond the range)."""
    off = shift if compensate else 0
    e0, e1 = lr.exponent
    sign = 1 if C > 0 else -1
    mmax = lr.mantissa[1] if C > 0 else -lr.mantissa[0]
    vals = sorted({m * 2.0**E for E in range(e0 - off, e1 - off + 1) for m in range(1, mmax + 1)})
    below = [v for v in vals if v <= abs(C)]
    above = [v for v in vals if v >= abs(C)]
    out = ([below[-1]] if below else []) + ([above[0]] if above and (not below or above[0] != below[-1]) else [])
    return [sign * v for v in out]


def suggest_coefficients(p, C, shift, lr, compensate, target, ctx) -> str:
    """What would work instead, in the document's units: the nearest document
    coefficients that are exactly representable with the current scales, and
    for a per-step decay (``c*u*w`` or ``c*u*e``) the time constants they mean."""
    if C == 0 or p.coeff == 0:
        return ""
    k = p.coeff / C  # document units per hardware coefficient unit
    vals = representable(C, shift, lr, compensate)
    if not vals:
        return ""
    txt = "; nearest coefficients that work: " + " or ".join(f"{v * k:.6g}" for v in vals)
    decay = p.dep == "u" and len(p.factors) == 1 and p.factors[0].var in ("w", "e") and not p.factors[0].offset \
        and p.coeff < 0
    if decay:
        var = p.factors[0].var
        taus = " or ".join(f"{-1.0 / (v * k):.4g}" for v in vals)
        smallest = abs(k) * 2.0 ** (lr.exponent[0] - (shift if compensate else 0))
        txt += (f" (a per-step decay of {var} by 1/tau: tau = {taus} steps; the smallest per-step decay is "
                f"{smallest:.4g}, i.e. tau <= {1 / smallest:.4g} steps; exact taus are {1 / smallest:.4g}/k for "
                "integer k)")
    elif any(f.var in ctx["traces"] for f in p.factors):
        txt += "; or move the trace impulses (option trace_impulses, CLI --trace-impulses PROJ.TRACE=N)"
    if target == "w" and not decay and not any(f.var == "w" for f in p.factors):
        txt += "; or change the weight bounds (the weight LSB scales every dw coefficient)"
    return txt


# --------------------------------------------------------------------- impulse choice
def _widths(p, lr, ctx) -> int:
    w = 0
    for f in p.factors:
        var = ctx["r"].slot if f.var == "r" and ctx.get("r") is not None else f.var
        w += lr.factor_widths.get(var, 0)
    return w


def coeff_terms(rule, traces, ctx, lr):
    """Per product (corrections of exclusive timing excluded): (C at the current
    scales, {trace: multiplicity}, [(substituted traces, shift) of each correction], shift)."""
    out = []
    idx = {}
    for target, p, _, base, subs in expand_timing(rule, set(traces)):
        if base is not None:
            if (target, base) in idx:
                out[idx[(target, base)]][2].append((subs, product_shift(_widths(p, lr, ctx), lr)))
            continue
        if target == "e" and ctx.get("tag") is None:
            continue
        try:
            C = p.coeff / (ctx["w"].scale if target == "w" else ctx["tag"].scale)
            mult: dict[str, int] = {}
            typ = 1.0  # typical magnitude of the non-trace factors
            for f in p.factors:
                if f.fn or f.var in ("v",) + NONLOCAL_VARS or (f.var == "r" and ctx.get("r") is None):
                    raise KeyError
                C /= _factor_scale(f.var, ctx)
                if f.var in traces:
                    mult[f.var] = mult.get(f.var, 0) + 1
                elif f.var == "w":
                    typ *= max(abs(ctx["w"].lo), abs(ctx["w"].hi)) / 2
                elif f.var == "e":
                    if ctx.get("tag") is None:  # e without de: lower_rule refuses the product
                        raise KeyError(f.var)
                    typ *= max(abs(ctx["tag"].lo), abs(ctx["tag"].hi)) / 4
                elif f.var == "r":
                    typ *= ctx["r"].hi / 2
        except KeyError:
            continue
        if C != 0:
            idx[(target, p)] = len(out)
            out.append((C, mult, [], product_shift(_widths(p, lr, ctx), lr), typ))
    return out


def _score_one(C, shift, lr, compensate=True):
    m, E, eng, err, status = quantize_coeff(C, shift, lr, compensate)
    if status != "ok":
        e0, e1 = lr.exponent
        return 10.0 + abs(eng - min(max(eng, e0), e1)), 0.0
    return err, m * 2.0**E


#: exhaustive search over a group of coupled traces up to this many of them and this many combinations;
#: beyond, block coordinate descent (pairs of traces that share a product, exhaustively, in turn)
EXHAUSTIVE_TRACES = 3
EXHAUSTIVE_COMBINATIONS = 250_000


def lag0_share(decay: float) -> float:
    """Weight of a same-step (lag 0) error relative to an error of the whole
    pairing window of a trace with per-step ``decay``: the exclusive window
    ``sum_{k>=1} decay**k = decay / (1 - decay)`` against the one lag-0 term;
    1 for a trace that holds nothing beyond its step (tau = 0 or tiny tau)."""
    return 1.0 if decay <= 0.5 else (1.0 - decay) / decay


def term_error(term, imp, base, share, lr, compensate=True) -> float:
    """Error of one product of the rule (see :func:`coeff_terms`) with the
    trace impulses ``imp``: the relative coefficient error of the product
    (rounding to ``m * 2**E``, 10+ when not representable), plus the floor
    truncation of a shifted product relative to its value at one impulse per
    trace, plus, for each exclusive-timing correction, its own rounding error
    weighted by ``share`` (a correction that cannot be made equal to
    ``-Cq * I`` leaves an error at lag 0 only; an unrepresentable correction
    counts in full)."""
    C0, mult, corrs, shift, typ = term
    C, P = C0, typ
    for t, k in mult.items():
        C /= (imp[t] / base[t]) ** k
        P *= imp[t] ** k
    err, Cq = _score_one(C, shift, lr, compensate)
    if shift and Cq:
        # floor truncation relative to the product at one impulse per trace
        m = abs(Cq) / 2.0 ** math.floor(math.log2(abs(Cq)) - 2)
        err += 2.0 ** (shift - 1) / max(m * P, 1e-300)
    if not Cq:
        return err
    for subs, sh in corrs:
        Cc = Cq
        for z in subs:
            Cc *= -imp[z]
        e, _ = _score_one(Cc, sh, lr, compensate)
        if e < 10.0:
            for z in subs:
                e *= share[z]
        err += e
    return err


def choose_impulses(rule, traces, ctx, lr, pinned, candidates) -> dict[str, int]:
    """Integer impulses (one per trace) that make the rule's coefficients
    representable and as close to ``m * 2**E`` values as possible, and keep the
    floor truncation of shifted products small (estimated at one impulse per
    trace).  ``candidates[t]``: allowed impulses (they keep the saturation
    headroom); ``pinned``: traces the user fixed (never changed).

    Each product's error is :func:`term_error` (its coefficient's relative
    error + truncation estimate + the lag-0 share of its exclusive-timing
    corrections' errors).  Free traces are grouped by the products that couple
    them; per group the impulses minimise (largest error, sum of errors,
    distance from the default impulses in octaves), in that order.  A group of
    up to :data:`EXHAUSTIVE_TRACES` traces is searched exhaustively (every
    combination of candidates, e.g. 29**2 for a pair of default traces);
    larger groups by block coordinate descent over the pairs of traces that
    share a product."""
    import numpy as np

    compensate = ctx.get("compensate", True)
    terms = coeff_terms(rule, traces, ctx, lr)
    base = {t: traces[t].impulse_hw for t in traces}
    share = {t: lag0_share(traces[t].decay) for t in traces}
    cur = {t: base[t] for t in traces}

    def term_vars(term):
        return set(term[1]) | {z for subs, _ in term[2] for z in subs}

    tvars = [term_vars(tm) for tm in terms]
    free = [t for t in traces if t not in pinned and any(t in v for v in tvars)]
    if not free or not terms:
        return {t: int(v) for t, v in cur.items()}

    # groups of free traces coupled by a product (union-find)
    parent = {t: t for t in free}

    def find(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for v in tvars:
        fv = [t for t in free if t in v]
        for a in fv[1:]:
            parent[find(a)] = find(fv[0])
    groups: dict[str, list[str]] = {}
    for t in free:
        groups.setdefault(find(t), []).append(t)

    cache: dict = {}

    def err_of(i, imp):
        key = (i,) + tuple(imp[t] for t in sorted(tvars[i]))
        e = cache.get(key)
        if e is None:
            e = cache[key] = term_error(terms[i], imp, base, share, lr, compensate)
        return e

    def best_over(block, members, start, group):
        """Exhaustive minimum over the impulses of ``block`` (others as in
        ``start``) of (worst, total, pref) over the products ``members``;
        pref: distance of the ``group``'s impulses from the defaults."""
        shape = [len(candidates[t]) for t in block]
        worst = np.zeros(shape)
        total = np.zeros(shape)
        for i in members:
            tb = [t for t in block if t in tvars[i]]
            arr = np.empty([len(candidates[t]) for t in tb])
            imp = dict(start)
            for idx in itertools.product(*(range(len(candidates[t])) for t in tb)):
                for t, j in zip(tb, idx):
                    imp[t] = candidates[t][j]
                arr[idx] = err_of(i, imp)
            arr = arr.reshape([len(candidates[t]) if t in tb else 1 for t in block])
            worst = np.maximum(worst, arr)
            total = total + arr
        pref = np.full(shape, sum(abs(math.log2(start[t] / base[t])) for t in group if t not in block))
        for ax, t in enumerate(block):
            d = np.abs(np.log2(np.asarray(candidates[t], float) / base[t]))
            pref = pref + d.reshape([-1 if a == ax else 1 for a in range(len(block))])
        order = np.lexsort((pref.ravel(), np.round(total, 9).ravel(), np.round(worst, 9).ravel()))
        idx = np.unravel_index(order[0], shape)
        out = dict(start)
        for t, j in zip(block, idx):
            out[t] = candidates[t][int(j)]
        key = (round(float(worst[idx]), 9), round(float(total[idx]), 9), float(pref[idx]))
        return out, key

    for g in groups.values():
        members = [i for i, v in enumerate(tvars) if v & set(g)]
        if len(g) <= EXHAUSTIVE_TRACES and math.prod(len(candidates[t]) for t in g) <= EXHAUSTIVE_COMBINATIONS:
            cur, _ = best_over(g, members, cur, g)
            continue
        pairs = sorted({tuple(sorted(p)) for i in members for p in itertools.combinations(
            [t for t in g if t in tvars[i]], 2)})
        blocks = [list(p) for p in pairs] or [[t] for t in g]
        _, best = best_over([], members, cur, g)
        for _ in range(8):
            improved = False
            for blk in blocks:
                trial, sc = best_over(blk, members, cur, g)
                if sc < best:
                    best, cur, improved = sc, trial, True
            if not improved:
                break
    return {t: int(v) for t, v in cur.items()}


def exact_scale(C: float, lr, shift: int = 0, max_factor: float = 4.0) -> float:
    """Factor f in [1/max_factor, 1] such that C / f is exactly representable
    (``m * 2**E`` with the engine exponent ``E + shift`` in range), as close to
    |C| as possible; 1.0 when there is none."""
    if C == 0:
        return 1.0
    e0, e1 = lr.exponent
    best = None
    for E in range(e0 - shift, e1 - shift + 1):
        for m in range(1, max(abs(lr.mantissa[0]), abs(lr.mantissa[1])) + 1):
            if (C > 0 and m > lr.mantissa[1]) or (C < 0 and -m < lr.mantissa[0]):
                continue
            v = m * 2.0**E
            if abs(C) * (1 - 1e-12) <= v <= max_factor * abs(C) and (best is None or v < best):
                best = v
    return abs(C) / best if best else 1.0


# --------------------------------------------------------------------- opt-in approximation
def approximate_functions(rule, trace_max: dict, degree: int, report, path):
    """Replace every declared function of a *trace*, ``f(z)``, by its
    least-squares polynomial of ``degree`` on the trace's representable range
    ``[0, trace_max[z]]`` (float units), so that the product becomes a sum of
    products of traces.  The largest error of the fit on that range is
    reported (absolute and relative to max |f|).  Functions of other variables
    (v, r) are left alone (they stay errors)."""
    import numpy as np

    from ..nonlinearities import evaluate
    from ..rules.algebra import Rule

    fits = {}

    def fit(fn, var):
        key = (fn, var)
        if key not in fits:
            z = np.linspace(0.0, trace_max[var], 257)
            fz = np.asarray(evaluate(rule.functions[fn], z), float)
            coef = np.polynomial.polynomial.polyfit(z, fz, degree)
            err = float(np.max(np.abs(np.polynomial.polynomial.polyval(z, coef) - fz)))
            scale = float(np.max(np.abs(fz))) or 1.0
            fits[key] = coef
            terms = " + ".join(f"{c:.4g}*{var}^{k}" if k else f"{c:.4g}" for k, c in enumerate(coef))
            from .report import Quantized

            report.quantized.append(Quantized(
                f"{path}: {fn}({var}) on [0, {trace_max[var]:.4g}]", f"{fn}({var})", f"~ {terms}",
                f"max |error| {err:.3g}", err / scale,
                f"opt-in approximation by a degree-{degree} polynomial (sum of products); error relative to max|f|"))
            report.note(path, f"{fn}({var}) approximated by {terms} (max error {err:.3g} = {err / scale:.2%} of "
                              f"max|{fn}| on the trace's range)")
        return fits[key]

    def expand(prods):
        out = []
        for p in prods:
            alts = [(p.coeff, [])]
            for f in p.factors:
                if f.fn and f.var in trace_max:
                    coef = fit(f.fn, f.var)
                    alts = [(c * a, fs + [Factor(f.var)] * k) for c, fs in alts for k, a in enumerate(coef) if a != 0]
                else:
                    alts = [(c, fs + [f]) for c, fs in alts]
            out += [Product(c, p.dep, tuple(fs)) for c, fs in alts if c != 0]
        return tuple(out)

    dw, de = expand(rule.dw), expand(rule.de)
    if not fits:
        return rule
    return Rule(dw, de, rule.traces, rule.functions, rule.timing, rule.modulator, rule.template)
