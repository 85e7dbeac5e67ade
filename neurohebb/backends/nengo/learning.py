"""One generic Nengo learning rule for the whole rule algebra.

:class:`IRRule` (a ``nengo.learning_rules.LearningRuleType``) carries an
expanded :class:`neurohebb.rules.algebra.Rule`; :class:`SimIRRule` (a
``nengo.builder.Operator``) evaluates its sum of products every step;
:func:`build_ir_rule` is registered with ``nengo.builder.Builder``.

Where the rule sits in a Nengo step (the IR's order, see
:mod:`neurohebb.ir.schema`)::

    relay neurons  (output: pre activity arriving at the synapses, a_pre[t-1-delay])
    post neurons   (output y[t], state v[t])
    modulator node -> learning-rule input r[t]
    SimIRRule      reads x, y, v, r, W(t); updates traces, e, and W(t+1)

The operator *updates* the connection's weight signal directly (Nengo runs
updates after every read of a step), so the weights the connection uses at
step ``t + 1`` are ``W(t+1) = clip(W(t) + dw)``, exactly the reference's,
with the clip applied to the value itself (``W + (clip(W + dw) - W)`` would
round).  Nengo's generic ``Copy(delta, weights, inc=True)`` would only add
zeros, so the builder removes it.

Rule variables (see :mod:`neurohebb.rules.algebra`): traces decay and take
their impulse from the arriving pre activity or the post activity; with
``exclusive`` timing, ``x0``/``y0`` products read the traces before this
step's impulse, ``u`` products after; ``inclusive``: always after.

Rules with non-local variables run on the algebra's numpy evaluator
(:mod:`neurohebb.rules.evaluate`), as on the reference; local rules take
event-driven and BLAS fast paths of the same sums, which the conformance
suite checks against the reference (whose generated kernels are checked
against the evaluator).
"""
from __future__ import annotations

import numpy as np
from nengo.builder import Builder, Operator, Signal
from nengo.builder.operator import Copy, Reset
from nengo.exceptions import BuildError
from nengo.learning_rules import LearningRuleType
from nengo.params import Parameter

from ... import nonlinearities
from ...rules import evaluate
from ...rules.algebra import PRE_TRACES, TRACES

SNAPSHOT_VARS = ("weights", "e") + TRACES


class IRRule(LearningRuleType):
    """A neurohebb rule (any template, or a custom sum of products) as a Nengo
    learning rule on a ``Neurons -> Neurons`` connection.

    Parameters
    ----------
    rule : neurohebb.rules.algebra.Rule
        The expanded rule.
    bounds : (float, float)
        ``[w_min, w_max]``; every update is clipped to it (infinite = no clip).
    mask : (post, pre) bool array or None
        Synapses that exist; the others stay 0 and never learn.
    r_size : int
        Width of the third factor ``r`` (0 when the rule does not read it):
        connect a modulator to ``conn.learning_rule``.
    snapshots : sequence of (var, every)
        Variables the operator copies into ``<var>_every`` signals on every
        step ``t`` with ``t % every == 0`` (the IR's probe times).
    record : sequence of (var, every)
        Variables the operator appends (copies) to ``recordings[(var, every)]``
        on those steps, for simulators that cannot probe a learning rule
        (nengo_loihi's splitter places probes only on ensembles and nodes).

    Probeable: ``weights`` (after this step's update), ``e``, the rule's
    traces, and the snapshot signals.
    """

    modifies = "weights"

    rule = Parameter("rule", readonly=True)
    bounds = Parameter("bounds", readonly=True)
    mask = Parameter("mask", optional=True, readonly=True)
    snapshots = Parameter("snapshots", readonly=True)

    record = Parameter("record", readonly=True)

    def __init__(self, rule, bounds=(-np.inf, np.inf), mask=None, r_size=0, snapshots=None, record=None):
        super().__init__(learning_rate=1.0, size_in=int(r_size))
        self.record = tuple((str(v), int(k)) for v, k in (record or ()))
        self.__dict__["recordings"] = {}
        self.rule = rule
        self.bounds = (float(bounds[0]), float(bounds[1]))
        self.mask = None if mask is None else np.asarray(mask, bool)
        self.snapshots = tuple((str(v), int(k)) for v, k in (snapshots or ()))

    @property
    def probeable(self):
        names = ["weights"] + (["e"] if self.rule.de else []) + list(self.rule.traces)
        names += [f"{v}_every{k}" for v, k in self.snapshots]
        return tuple(names)

    @property
    def _argreprs(self):
        return [f"rule={self.rule}"]


def _value(f, traces_now, r, v, funcs, dtype, extra=None):
    """A pre- or post-level factor's value (cf. the reference's ``_value``);
    ``extra``: the partner variables xp, vp, bx, bv of this step."""
    if f.var in traces_now:
        val = traces_now[f.var]
    elif f.var == "r":
        val = r
    elif f.var == "v":
        val = v
    elif extra is not None and f.var in extra:
        val = extra[f.var]
    else:  # pragma: no cover
        raise AssertionError(f.var)
    if f.fn:
        return nonlinearities.evaluate(funcs[f.fn], np.asarray(val, dtype))
    if f.offset:
        return val + f.offset
    return val


def _has_synaptic(p) -> bool:
    return any(f.level == "synapse" for f in p.factors)


def _synaptic(p, W, E, extra=None):
    """The synapse-level part of product ``p`` (w, e and brackets; wT and xi from
    ``extra``, full matrices), or None."""
    out = None
    for f in p.factors:
        if f.level != "synapse":
            continue
        base = W if f.var == "w" else (E if f.var == "e" else extra[f.var])
        val = base + f.offset if f.offset else base
        out = val.copy() if out is None else out * val
    return out


class SimIRRule(Operator):
    """Evaluate a rule's sum of products and update the weights (see module doc).

    1. sets ``[]``
    2. incs ``[]``
    3. reads ``[x, y] + [v] + [r] + [step]``
    4. updates ``[weights] + traces + [e] + snapshots``
    """

    def __init__(self, rule_type, weights, x, y, v, r, step, traces, e, snaps, tag=None, partner=None):
        super().__init__(tag=tag)
        self.rule_type = rule_type
        self.trace_names = list(traces)
        self.snap_names = list(snaps)
        self.has_v, self.has_r, self.has_e = v is not None, r is not None, e is not None
        self.has_partner = partner is not None
        self.sets = []
        self.incs = []
        self.reads = [x, y] + ([v] if v is not None else []) + ([r] if r is not None else []) + [step] \
            + (list(partner) if partner is not None else [])
        self.updates = [weights] + [traces[k] for k in self.trace_names] + ([e] if e is not None else []) \
            + [snaps[k] for k in self.snap_names]

    @property
    def weights(self):
        return self.updates[0]

    @property
    def _descstr(self):
        return f"{self.rule_type.rule} -> {self.weights}"

    def make_step(self, signals, dt, rng):  # noqa: C901
        rt = self.rule_type
        rule = rt.rule
        W = signals[self.updates[0]]
        dtype = W.dtype
        reads = [signals[s] for s in self.reads]
        x, y = reads[0], reads[1]
        i = 2
        v = r = None
        if self.has_v:
            v = reads[i]
            i += 1
        if self.has_r:
            r = reads[i]
            i += 1
        stepsig = reads[i]
        pW = pX = pV = None
        if self.has_partner:  # the partner's weights, arriving pre activity and post state
            pW, pX, pV = reads[i + 1: i + 4]
        nonlocal_vars = rule.nonlocal_vars()
        noise_rng = None
        if "xi" in nonlocal_vars:
            from ...semantics import rng_for

            noise_rng = rng_for(*rt.__dict__["noise_key"])
        extra = {}
        ups = [signals[s] for s in self.updates[1:]]
        after = dict(zip(self.trace_names, ups[: len(self.trace_names)]))
        j = len(self.trace_names)
        E = None
        if self.has_e:
            E = ups[j]
            j += 1
        snaps = dict(zip(self.snap_names, ups[j:]))
        recordings = rt.recordings
        recordings.clear()
        for key in rt.record:
            recordings[key] = []
        snap_src = {}
        for name in self.snap_names:
            var, every = name.rsplit("_every", 1)
            snap_src[name] = (var, int(every))

        before = {k: np.zeros_like(a) for k, a in after.items()}
        decay = {k: dtype.type(tr.decay) for k, tr in rule.traces.items()}
        impulse = {k: dtype.type(tr.impulse) for k, tr in rule.traces.items()}
        excl = rule.timing == "exclusive"
        lo, hi = dtype.type(rt.bounds[0]), dtype.type(rt.bounds[1])
        clipped = bool(np.isfinite(lo) or np.isfinite(hi))
        M = rt.mask
        dw_prods = list(rule.dw)
        de_prods = list(rule.de)
        prods = dw_prods + de_prods
        has_u = any(p.dep == "u" for p in prods)
        npost, npre = W.shape
        A = np.zeros((len(prods), npost), dtype)
        B = np.zeros((len(prods), npre), dtype)
        funcs = rule.functions
        # products without synaptic factors are summed with one matrix product
        nw = len(dw_prods)
        plain_dw = [k for k, p in enumerate(dw_prods) if not _has_synaptic(p)]
        syn_dw = [k for k, p in enumerate(dw_prods) if _has_synaptic(p)]
        plain_de = [nw + k for k, p in enumerate(de_prods) if not _has_synaptic(p)]
        syn_de = [nw + k for k, p in enumerate(de_prods) if _has_synaptic(p)]

        def fill_AB(xa, ya):
            x_any, y_any = bool(xa.any()), bool(ya.any())
            for k, p in enumerate(prods):
                a, b = A[k], B[k]
                if (p.dep == "x0" and not x_any) or (p.dep == "y0" and not y_any):
                    a[:] = 0
                    b[:] = 0
                    continue
                now = before if (excl and p.dep != "u") else after
                a[:] = p.coeff
                b[:] = 1
                for f in p.factors:
                    if f.level == "post":
                        a *= _value(f, now, r, v, funcs, dtype, extra)
                    elif f.level == "pre":
                        b *= _value(f, now, r, v, funcs, dtype, extra)
                if p.dep == "y0":
                    a *= ya
                elif p.dep == "x0":
                    b *= xa
            return x_any, y_any

        def delta(rows, cols, Wb, Eb, plain, syn):
            """sum over products of A[k, rows] (x) B[k, cols] * S_k(Wb, Eb)."""
            out = None
            if plain:
                out = A[plain][:, rows].T @ B[plain][:, cols]
            for k in syn:
                p = prods[k]
                term = np.multiply.outer(A[k, rows], B[k, cols])
                term *= _synaptic(p, Wb, Eb, extra)
                if out is None:
                    out = term
                else:
                    out += term
            if out is None:
                out = np.zeros(Wb.shape, dtype)
            return out.astype(dtype, copy=False)

        def update_block(rows, cols):
            """Update W (and E) on the block rows x cols from their old values."""
            Wb = W[np.ix_(rows, cols)] if not isinstance(rows, slice) else W[rows, cols]
            Eb = None
            if E is not None:
                Eb = E[np.ix_(rows, cols)] if not isinstance(rows, slice) else E[rows, cols]
            dw = delta(rows, cols, Wb, Eb, plain_dw, syn_dw)
            new = Wb + dw
            if clipped:
                np.clip(new, lo, hi, out=new)
            if de_prods:
                newE = Eb + delta(rows, cols, Wb, Eb, plain_de, syn_de)
            if M is not None:
                Mb = M[np.ix_(rows, cols)] if not isinstance(rows, slice) else M[rows, cols]
                new = np.where(Mb, new, Wb)
                if de_prods:
                    newE = np.where(Mb, newE, Eb)
            if isinstance(rows, slice):
                W[rows, cols] = new
                if de_prods:
                    E[rows, cols] = newE
            else:
                W[np.ix_(rows, cols)] = new
                if de_prods:
                    E[np.ix_(rows, cols)] = newE

        all_post = slice(None)
        gemm = _gemm_for(dtype) if (plain_dw and not syn_dw and M is None) else None

        # the gemm path tracks bounds on min(W), max(W) so that the clip (a full
        # pass) only runs when a weight may have crossed a bound
        wrange = [None, None]

        def update_dense():
            """Every synapse, in place (no mask): W += dw; clip; E += de."""
            dE = delta(all_post, all_post, W, E, plain_de, syn_de) if de_prods else None
            if gemm is not None:
                Ap, Bp = A[plain_dw], B[plain_dw]
                # W.T (Fortran-contiguous) += B.T @ A: one BLAS pass, no temporary
                gemm(1.0, Bp.T, Ap, beta=1.0, c=W.T, overwrite_c=True)
                if clipped:
                    step = float(np.abs(Ap).max(axis=1) @ np.abs(Bp).max(axis=1)) * (1 + 1e-6) + 1e-300
                    if wrange[0] is None:
                        wrange[0], wrange[1] = float(W.min()) - step, float(W.max()) + step
                    else:
                        wrange[0] -= step
                        wrange[1] += step
                    if wrange[0] < lo or wrange[1] > hi:  # a weight may be out of bounds
                        np.clip(W, lo, hi, out=W)
                        wrange[0], wrange[1] = float(W.min()), float(W.max())
                apply_de(dE)
                return
            np.add(W, delta(all_post, all_post, W, E, plain_dw, syn_dw), out=W)
            if clipped:
                np.clip(W, lo, hi, out=W)
            apply_de(dE)

        def apply_de(dE):
            if dE is not None:
                np.add(E, dE, out=E)

        def lookup(var, before_flag):
            """A variable's value for :func:`neurohebb.rules.evaluate.step`."""
            if var in after:
                return before[var] if before_flag else after[var]
            if var == "r":
                return np.broadcast_to(np.asarray(r, dtype), (npost,))
            if var == "v":
                return v
            if var == "w":
                return W
            if var == "e":
                return E
            return extra[var]

        def step_irrule():
            xa, ya = x, y
            for k, a_now in after.items():
                np.multiply(a_now, decay[k], out=before[k])
                np.multiply(xa if k in PRE_TRACES else ya, impulse[k], out=a_now)
                a_now += before[k]
            if nonlocal_vars:  # as the reference's nonlocal_rules: read before any update
                extra.clear()
                if pW is not None:
                    extra.update(wT=pW.T, xp=pX, vp=pV, bx=W.T @ pX, bv=W @ pV)
                if noise_rng is not None:
                    extra["xi"] = noise_rng.standard_normal(W.shape).astype(dtype, copy=False)
            x_any = y_any = False
            if nonlocal_vars:  # every synapse, on the algebra's numpy evaluator (as the reference's non-local rules)
                evaluate.step(rule, lookup, xa, ya, W, E if E is not None else W, lo, hi, M, dtype)
            else:
                x_any, y_any = fill_AB(xa, ya)
            if nonlocal_vars:
                pass  # done above
            elif has_u:
                if M is None:
                    update_dense()
                else:
                    update_block(all_post, all_post)
            elif x_any or y_any:
                rows = np.flatnonzero(ya)
                cols = np.flatnonzero(xa)
                if rows.size:
                    update_block(rows, np.arange(npre))
                if cols.size:
                    other = np.ones(npost, bool)
                    other[rows] = False
                    other = np.flatnonzero(other)
                    if other.size:
                        update_block(other, cols)
            if snaps or recordings:
                t = int(stepsig.item()) - 1
                for name, (var, every) in snap_src.items():
                    if t % every == 0:
                        src = W if var == "weights" else (E if var == "e" else after[var])
                        snaps[name][...] = src
                for (var, every), out in recordings.items():
                    if t % every == 0:
                        src = W if var == "weights" else (E if var == "e" else after[var])
                        out.append(src.copy())

        return step_irrule


def _gemm_for(dtype):
    """BLAS ``gemm`` for ``dtype`` (scipy), or None."""
    try:
        from scipy.linalg import blas
    except ImportError:  # pragma: no cover (nengo_loihi and compare need scipy)
        return None
    if np.dtype(dtype) not in (np.float32, np.float64):  # pragma: no cover
        return None
    return blas.get_blas_funcs("gemm", dtype=np.dtype(dtype))


@Builder.register(IRRule)
def build_ir_rule(model, rule_type, rule):
    """Build an :class:`IRRule` on ``rule.connection`` (Neurons -> Neurons)."""
    conn = rule.connection
    from nengo.ensemble import Neurons

    if not isinstance(conn.pre_obj, Neurons) or not isinstance(conn.post_obj, Neurons):
        raise BuildError(f"{conn}: IRRule needs a Neurons -> Neurons connection")
    if conn.pre_slice != slice(None) or conn.post_slice != slice(None):
        raise BuildError(f"{conn}: IRRule does not support sliced connections")
    weights = model.sig[conn]["weights"]
    r = rule_type.rule
    x = model.sig[conn.pre_obj]["out"]
    y = model.sig[conn.post_obj]["out"]
    dtype = weights.dtype
    npost, npre = weights.shape

    # Nengo's build_learning_rule added Copy(delta, weights, inc=True) just
    # before calling us; the operator updates the weights itself.
    delta = model.sig[rule]["delta"]
    for k in range(len(model.operators) - 1, -1, -1):
        op = model.operators[k]
        if isinstance(op, Copy) and op.src is delta:
            del model.operators[k]
            break

    needs_v = any(f.var == "v" for p in r.products() for f in p.factors)
    v = None
    if needs_v:
        v = model.sig[conn.post_obj].get("voltage")
        if v is None:  # a prescribed post: the reference's v stays 0
            v = Signal(np.zeros(npost, dtype), name=f"{conn}.v_zero", readonly=True)
    rsig = None
    if rule_type.size_in:
        rsig = Signal(shape=rule_type.size_in, name="IRRule:r")
        model.add_op(Reset(rsig))
        model.sig[rule]["in"] = rsig
        model.sig[rule]["r"] = rsig
    traces = {}
    for k in r.traces:
        n = npre if k in PRE_TRACES else npost
        traces[k] = Signal(np.zeros(n, dtype), name=f"IRRule:{k}")
        model.sig[rule][k] = traces[k]
    e = None
    if r.de:
        e = Signal(np.zeros((npost, npre), dtype), name="IRRule:e")
        model.sig[rule]["e"] = e
    model.sig[rule]["weights"] = weights
    snaps = {}
    for var, every in rule_type.snapshots:
        if var == "weights":
            shape = (npost, npre)
        elif var == "e":
            if e is None:
                raise BuildError(f"{conn}: the rule has no eligibility e to probe")
            shape = (npost, npre)
        elif var in traces:
            shape = (npre if var in PRE_TRACES else npost,)
        else:
            raise BuildError(f"{conn}: cannot snapshot {var!r}; known: weights, e, {', '.join(traces)}")
        name = f"{var}_every{every}"
        snaps[name] = Signal(np.zeros(shape, dtype), name=f"IRRule:{name}")
        model.sig[rule][name] = snaps[name]
    partner = None
    if r.nonlocal_vars() and r.partner is not None:
        pc = rule_type.__dict__.get("partner_conn")
        if pc is None or pc not in model.sig or "weights" not in model.sig[pc]:
            raise BuildError(f"{conn}: the partner connection of a non-local rule must be built first")
        pv = model.sig[pc.post_obj].get("voltage")
        if pv is None:
            pv = Signal(np.zeros(npre, dtype), name=f"{conn}.partner_v_zero", readonly=True)
        partner = (model.sig[pc]["weights"], model.sig[pc.pre_obj]["out"], pv)
    model.add_op(SimIRRule(rule_type, weights, x, y, v, rsig, model.step, traces, e, snaps,
                           tag=f"IRRule {r.template}", partner=partner))
