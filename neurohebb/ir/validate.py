"""Checks that span several nodes (names, sizes, shapes, rule variables).

``check(network)`` returns a list of ``(path, message)``; ``validate`` raises
:class:`~neurohebb.errors.NetworkError` when it is not empty.
"""
from __future__ import annotations

import numpy as np

from ..errors import NetworkError, known
from . import schema as S
from .schema import SOURCE_TYPES  # noqa: F401  (re-exported)
from .sizes import size, source_size  # noqa: F401  (re-exported)


def _check_source(src, n, path, dt, problems):
    if isinstance(src, S.SpikeTimes):
        if len(src.times) != n:
            problems.append((f"{path}.times", f"has {len(src.times)} rows but the population has {n} neurons"))
    elif isinstance(src, S.Poisson):
        r = np.asarray(src.rates, dtype=float)
        if not (r.ndim == 0 or (r.ndim == 1 and r.shape[0] == n) or (r.ndim == 2 and r.shape[1] == n)):
            problems.append((f"{path}.rates", f"shape {r.shape}; allowed: a number, ({n},) or (steps, {n})"))
        elif np.any(r < 0) or not np.all(np.isfinite(r)):
            problems.append((f"{path}.rates", "rates must be finite and >= 0 Hz"))
        elif np.any(r * dt / 1000.0 > 1.0):
            problems.append((f"{path}.rates", f"max rate {r.max()} Hz gives a spike probability above 1 per step at dt={dt} ms"))
    elif isinstance(src, S.ArraySource):
        v = np.asarray(src.values)
        if v.ndim != 2 or v.shape[1] != n:
            problems.append((f"{path}.values", f"shape {v.shape}; expected (steps, {n})"))
        elif v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            problems.append((f"{path}.values", "contains NaN or infinity"))


def _vec_ok(val, n):
    a = np.asarray(val)
    return a.ndim == 0 or a.shape == (n,)


def check(net) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    dt = net.run.dt
    # names unique across namespaces (probe targets must be unambiguous)
    seen: dict[str, str] = {}
    for space in ("populations", "projections", "modulators"):
        for name in getattr(net, space):
            if name in seen:
                problems.append((f"{space}.{name}", f"name also used in {seen[name]}; names must be unique across populations, projections and modulators"))
            seen[name] = space

    sizes: dict[str, int] = {}
    for name, p in net.populations.items():
        path = f"populations.{name}"
        if p.type in SOURCE_TYPES:
            n = source_size(p)
            if n is None:
                problems.append((f"{path}.n", "cannot infer the size; give n"))
                continue
            _check_source(p, n, path, dt, problems)
        elif p.type == "external":
            n = p.n
            for i, r in enumerate(p.reads):
                if r not in net.populations:
                    problems.append((f"{path}.reads[{i}]", f"unknown population {r!r}; known: {known(net.populations)}"))
            if p.params and p.function is None:
                problems.append((f"{path}.params", "params are passed to function; name it (function: 'module:factory')"))
        else:
            n = p.n
            for fld in ("bias", "v_init"):
                if hasattr(p, fld) and not _vec_ok(getattr(p, fld), n):
                    problems.append((f"{path}.{fld}", f"shape {np.shape(getattr(p, fld))}; allowed: a number or ({n},)"))
            if p.type == "lif_dendritic":
                cp = np.asarray(p.coupling, dtype=float)
                if not (cp.ndim == 0 or cp.shape == (p.branches,)):
                    problems.append((f"{path}.coupling", f"shape {cp.shape}; allowed: a number or ({p.branches},) (one per branch)"))
                elif not np.all(np.isfinite(cp)):
                    problems.append((f"{path}.coupling", "contains NaN or infinity"))
            if getattr(p, "prescribed", None) is not None:
                pn = source_size(p.prescribed)
                if pn is not None and pn != n:
                    problems.append((f"{path}.prescribed", f"describes {pn} neurons but the population has {n}"))
                else:
                    _check_source(p.prescribed, n, f"{path}.prescribed", dt, problems)
        sizes[name] = n

    mod_users: dict[str, list[str]] = {}
    for name, pr in net.projections.items():
        path = f"projections.{name}"
        ok = True
        for end in ("pre", "post"):
            ref = getattr(pr, end)
            if ref not in net.populations:
                problems.append((f"{path}.{end}", f"unknown population {ref!r}; known: {known(net.populations)}"))
                ok = False
        if not ok:
            continue
        post_t = net.populations[pr.post].type
        if post_t == "external":
            problems.append((f"{path}.post", f"{pr.post!r} is an external population: it takes no projections and "
                             f"sees other populations through its 'reads' list"))
            continue
        if post_t in SOURCE_TYPES:
            problems.append((f"{path}.post", f"{pr.post!r} is a {post_t} source and takes no input; allowed post types: lif, rate"))
            continue
        if pr.branch is not None:
            if post_t != "lif_dendritic":
                problems.append((f"{path}.branch", f"{pr.post!r} is a {post_t} population without dendritic branches; "
                                                   "branch needs a lif_dendritic post (remove branch to target the soma)"))
            elif pr.branch >= net.populations[pr.post].branches:
                nb = net.populations[pr.post].branches
                problems.append((f"{path}.branch", f"branch {pr.branch} does not exist: {pr.post!r} has {nb} branches "
                                                   f"(allowed: 0..{nb - 1}, or omit branch for the soma)"))
        if pr.pre not in sizes or pr.post not in sizes:
            continue
        npre, npost = sizes[pr.pre], sizes[pr.post]
        w = pr.weights
        if w.init == "array":
            a = np.asarray(w.values)
            if a.shape != (npost, npre):
                problems.append((f"{path}.weights.values", f"shape {a.shape}; expected (post, pre) = ({npost}, {npre})"))
        grids = ([("weights", w)] if w.init == "gaussian_arbor" else []) + (
            [("connectivity", pr.connectivity)] if pr.connectivity.type in ("gaussian_arbor", "distance") else [])
        for where, g in grids[:1]:
            if g.pre_shape[0] * g.pre_shape[1] != npre:
                problems.append((f"{path}.{where}.pre_shape", f"{list(g.pre_shape)} has {g.pre_shape[0]*g.pre_shape[1]} cells but pre has {npre} neurons"))
            if g.post_shape[0] * g.post_shape[1] != npost:
                problems.append((f"{path}.{where}.post_shape", f"{list(g.post_shape)} has {g.post_shape[0]*g.post_shape[1]} cells but post has {npost} neurons"))
        c = pr.connectivity
        if c.type == "one_to_one" and npre != npost:
            problems.append((f"{path}.connectivity", f"one_to_one needs equal sizes; pre has {npre}, post {npost}"))
        if c.type == "mask":
            m = np.asarray(c.values)
            if m.shape != (npost, npre):
                problems.append((f"{path}.connectivity.values", f"shape {m.shape}; expected (post, pre) = ({npost}, {npre})"))
        if c.type in ("fixed_indegree", "fixed_outdegree"):
            pool, role = (npre, "pre") if c.type == "fixed_indegree" else (npost, "post")
            avail = pool if c.allow_self else pool - 1
            if c.k > avail:
                problems.append((f"{path}.connectivity.k", f"k = {c.k} distinct {role} neurons per "
                                 f"{'post' if role == 'pre' else 'pre'} neuron, but {role} ({getattr(pr, role)!r}) has "
                                 f"{pool} neurons{'' if c.allow_self else ' (allow_self false: ' + str(avail) + ' besides itself)'}; "
                                 f"allowed: 0..{avail}"))
        n_list = None
        if c.type == "from_list":
            pairs = np.asarray(c.pairs)
            if pairs.size == 0:
                pairs = pairs.reshape(0, 2)
            if pairs.ndim != 2 or pairs.shape[1] != 2:
                problems.append((f"{path}.connectivity.pairs", f"shape {pairs.shape}; expected (synapses, 2) rows of "
                                                               "[post, pre] indices"))
            elif pairs.dtype.kind not in "iu" and not (pairs.dtype.kind == "f" and np.all(pairs == np.round(pairs))):
                problems.append((f"{path}.connectivity.pairs", "indices must be integers"))
            else:
                pairs = pairs.astype(np.int64)
                n_list = len(pairs)
                for col, role, n in ((0, "post", npost), (1, "pre", npre)):
                    bad = np.flatnonzero((pairs[:, col] < 0) | (pairs[:, col] >= n))
                    if bad.size:
                        problems.append((f"{path}.connectivity.pairs[{bad[0]}]",
                                         f"{role} index {pairs[bad[0], col]} out of range: {role} ({getattr(pr, role)!r}) "
                                         f"has {n} neurons (allowed 0..{n - 1}); {bad.size} pair(s) out of range"))
                key = pairs[:, 0] * max(1, npre) + pairs[:, 1]
                uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
                if (counts > 1).any():
                    k = int(np.flatnonzero(counts > 1)[0])
                    problems.append((f"{path}.connectivity.pairs",
                                     f"synapse [post {uniq[k] // max(1, npre)}, pre {uniq[k] % max(1, npre)}] is listed "
                                     f"{counts[k]} times; each pair at most once"))
        if w.init == "list":
            if c.type != "from_list":
                problems.append((f"{path}.weights.init", f"init 'list' gives one weight per pair of a from_list "
                                                         f"connectivity; this projection's connectivity is {c.type!r}"))
            elif n_list is not None and np.asarray(w.values).size != n_list:
                problems.append((f"{path}.weights.values", f"{np.asarray(w.values).size} values for {n_list} pairs; "
                                                           "one weight per pair, in the order of connectivity.pairs"))
        if pr.bounds is not None:
            lo, hi = pr.bounds
            if lo is not None and hi is not None and lo > hi:
                problems.append((f"{path}.bounds", f"lower bound {lo} is above upper bound {hi}"))
            if pr.sign == "excitatory" and hi is not None and hi < 0:
                problems.append((f"{path}.bounds", f"upper bound {hi} < 0 for an excitatory projection"))
            if pr.sign == "inhibitory" and lo is not None and lo > 0:
                problems.append((f"{path}.bounds", f"lower bound {lo} > 0 for an inhibitory projection"))
        rule = _expand(pr.rule, f"{path}.rule", problems) if pr.rule is not None else None
        if rule is not None:
            used = rule.used_vars()
            if "r" in used:
                if pr.rule.modulator is None:
                    problems.append((f"{path}.rule.modulator", f"the rule reads the third factor r; name a modulator (known: {known(net.modulators)})"))
                elif pr.rule.modulator not in net.modulators:
                    problems.append((f"{path}.rule.modulator", f"unknown modulator {pr.rule.modulator!r}; known: {known(net.modulators)}"))
                else:
                    mod_users.setdefault(pr.rule.modulator, []).append(name)
            elif pr.rule.modulator is not None:
                problems.append((f"{path}.rule.modulator", f"the rule ({rule.template}) does not read r; remove the modulator or use a rule with r"))
            fvars = {f.var for p in rule.products() for f in p.factors if f.fn}
            _check_partner(net, name, pr, used | fvars, sizes, problems)
            if "v" in used or "v" in fvars:
                if post_t not in ("lif", "rate", "lif_dendritic"):
                    problems.append((f"{path}.rule", "the rule reads v, which needs a lif, lif_dendritic or rate post population"))
            if "d" in used or "d" in fvars:
                if post_t != "lif_dendritic":
                    problems.append((f"{path}.rule", f"the rule reads d (the voltage of the synapses' dendritic branch), "
                                                     f"which needs a lif_dendritic post population; {pr.post!r} is {post_t}"))
                elif pr.branch is None:
                    problems.append((f"{path}.branch", "the rule reads d (the voltage of the synapses' dendritic branch) "
                                                       "but the projection has no branch: its synapses sit on the soma; "
                                                       f"give branch: 0..{net.populations[pr.post].branches - 1}"))
    for name, m in net.modulators.items():
        path = f"modulators.{name}"
        if m.type == "population":
            if m.population not in net.populations:
                problems.append((f"{path}.population", f"unknown population {m.population!r}; known: {known(net.populations)}"))
                continue
        for user in mod_users.get(name, []):
            npost = sizes.get(net.projections[user].post)
            if m.scope == "per_post":
                if m.type == "population" and sizes.get(m.population) != npost:
                    problems.append((f"{path}.population", f"per_post needs {m.population!r} ({sizes.get(m.population)} neurons) as large as the post of {user} ({npost})"))
                if m.type == "array":
                    a = np.asarray(m.values)
                    if a.ndim != 2 or a.shape[1] != npost:
                        problems.append((f"{path}.values", f"shape {a.shape}; per_post for {user} needs (steps, {npost})"))
        if m.type == "array" and m.scope == "global" and np.asarray(m.values).ndim != 1:
            problems.append((f"{path}.values", f"shape {np.shape(m.values)}; global scope needs (steps,)"))
    for name, pb in net.probes.items():
        path = f"probes.{name}"
        if pb.target in net.populations:
            t = net.populations[pb.target].type
            allowed = S.POP_VARS[t]
            if t == "external":
                allowed = ("spikes",) if net.populations[pb.target].spiking else ("output",)
            if t in ("lif", "rate") and net.populations[pb.target].prescribed is not None:
                allowed = ("spikes",) if t == "lif" else ("output",)
        elif pb.target in net.projections:
            pr = net.projections[pb.target]
            rule = _expand(pr.rule, "", []) if pr.rule is not None else None
            traces = tuple(rule.traces) if rule is not None else ()
            allowed = ("weights",) + (("e",) if rule is not None and rule.de else ()) + traces
        elif pb.target in net.modulators:
            allowed = S.MOD_VARS
        else:
            problems.append((f"{path}.target", f"unknown target {pb.target!r}; known: {known(list(net.populations) + list(net.projections) + list(net.modulators))}"))
            continue
        if pb.var not in allowed:
            problems.append((f"{path}.var", f"{pb.var!r} is not recorded for {pb.target!r}; allowed: {', '.join(allowed)}"))
    return problems


def validate(net, source: str | None = None, steps: int | None = None):
    """``net`` when it is consistent and a run of ``steps`` steps (default: the
    document's) fits in this machine's memory; else :class:`NetworkError`."""
    problems = check(net)
    if problems:
        raise NetworkError(problems, source)
    check_resources(net, steps, source)
    from ..units import check_dt

    check_dt(net, stacklevel=3)  # durations are in steps: say what dt != 1 means
    return net


def check_resources(net, steps: int | None = None, source: str | None = None, available: int | None = None):
    """The memory estimate of a run of ``steps`` steps (:mod:`.limits`): its
    items, or :class:`NetworkError` when it exceeds the memory available
    (``available`` bytes, default what the machine has)."""
    from . import limits

    return limits.check(net, steps, source, available)


def _expand(spec, path, problems):
    """The expanded rule, or None after adding a problem: its coefficients,
    brackets and traces must be real and finite, and it may have at most
    ``MAX_PRODUCTS`` products of at most ``MAX_FACTORS`` factors."""
    import math

    from ..rules.algebra import MAX_FACTORS, MAX_PRODUCTS

    try:
        rule = spec.expand()
    except (ValueError, ArithmeticError) as exc:
        problems.append((path, f"the rule cannot be expanded: {exc}"))
        return None
    prods = rule.products()
    if len(prods) > MAX_PRODUCTS:
        problems.append((path, f"the rule expands to {len(prods)} products; at most {MAX_PRODUCTS} are allowed"))
        return None
    for p in prods:
        if not math.isfinite(p.coeff) or any(not math.isfinite(f.offset) for f in p.factors):
            problems.append((path, f"the rule's parameters give the product {p} with a number that is not finite; "
                                   "choose smaller parameters"))
            return None
        if len(p.factors) > MAX_FACTORS:
            problems.append((path, f"product {p} has {len(p.factors)} factors; at most {MAX_FACTORS} are allowed"))
            return None
    for name, t in rule.traces.items():
        if not (math.isfinite(t.impulse) and math.isfinite(t.tau) and math.isfinite(t.decay)):
            problems.append((f"{path}.traces.{name}", "impulse and tau must be finite"))
            return None
    return rule


def _check_partner(net, name, pr, used, sizes, problems):
    """The non-local partner variables (wT, xp, vp, bx, bv) need a partner projection
    running the other way (its pre as large as this post, its post as this pre)."""
    from ..rules.algebra import PARTNER_VARS

    path = f"projections.{name}.rule.partner"
    reads = [v for v in PARTNER_VARS if v in used]
    partner = getattr(pr.rule, "partner", None)
    if not reads:
        if partner is not None:
            problems.append((path, f"the rule ({pr.rule.template}) reads no partner variable ({', '.join(PARTNER_VARS)}); "
                                   "remove partner"))
        return
    if partner is None:
        problems.append((path, f"the rule reads {', '.join(reads)} (non-local: another projection's weight or "
                               f"activity); name that projection in partner (known: {known(net.projections)})"))
        return
    if partner not in net.projections:
        problems.append((path, f"unknown projection {partner!r}; known: {known(net.projections)}"))
        return
    q = net.projections[partner]
    if sizes.get(q.pre) != sizes.get(pr.post) or sizes.get(q.post) != sizes.get(pr.pre):
        problems.append((path, f"{partner!r} ({q.pre} -> {q.post}, {sizes.get(q.pre)} -> {sizes.get(q.post)} neurons) "
                               f"must run the other way: its pre as large as {pr.post!r} ({sizes.get(pr.post)}) and its "
                               f"post as {pr.pre!r} ({sizes.get(pr.pre)})"))
    elif "vp" in used or "bv" in used:
        qt = net.populations[q.post].type
        if qt not in ("lif", "rate", "lif_dendritic"):
            problems.append((path, f"vp/bv read the state v of {partner!r}'s post {q.post!r}, which is a {qt} source "
                                   "without one; use a lif or rate population"))
