"""The reference's float model: the IR's equations in float64 (or float32).

Populations and projections of one network, driven step by step by
:class:`~neurohebb.backends.reference.engine.Engine`.  Plastic projections run
one generated numba kernel per rule (:mod:`.kernels`); rules with non-local
variables are evaluated with numpy (:mod:`.nonlocal_rules`).
"""
from __future__ import annotations

import numpy as np

from ... import nonlinearities
from ...externals import check_activity
from ...ir.validate import size
from ...semantics import Modulator, SourceTrain, initial_synapses, initial_weights
from . import kernels, nonlocal_rules
from . import sparse as SP


# ---------------------------------------------------------------- populations
class _Pop:
    spiking = True

    def __init__(self, name, spec, n, dtype):
        self.name, self.spec, self.n, self.dtype = name, spec, n, dtype
        self.input = np.zeros(n, dtype)
        self.v = np.zeros(n, dtype)
        self.u = np.zeros(n, dtype)

    def emit(self, t, row):
        """Step ``t``: integrate ``self.input`` and write the activity ``a[t]`` into ``row``."""
        row[:] = self.step(t)


class _SourcePop(_Pop):
    def __init__(self, name, spec, n, dtype, train):
        super().__init__(name, spec, n, dtype)
        self.train = train
        self.spiking = not train.graded

    def step(self, t):
        return self.train.at(t)


class _LIFPop(_Pop):
    def __init__(self, name, spec, n, dtype):
        super().__init__(name, spec, n, dtype)
        one = dtype.type(1)
        self.kdu = one - dtype.type(spec.du)
        self.kdv = one - dtype.type(spec.dv)
        self.vth = dtype.type(spec.vth)
        self.bias = np.broadcast_to(np.asarray(spec.bias, dtype), (n,)).copy()
        self.v[:] = np.broadcast_to(np.asarray(spec.v_init, dtype), (n,))
        self.refrac_left = np.zeros(n, np.int64)
        self.R = spec.refractory
        self.v_reset = dtype.type(spec.v_reset)
        self.out = np.zeros(n, dtype)

    def step(self, t):
        kernels.lif_step(self.u, self.v, self.input, self.bias, self.refrac_left, self.kdu, self.kdv,
                         self.vth, self.v_reset, self.R, self.out)
        return self.out


class _DendPop(_LIFPop):
    """``lif_dendritic``: branch arrays are (branches, n); ``bnext[b]`` collects
    the input of the projections onto branch ``b`` for the next step."""

    def __init__(self, name, spec, n, dtype):
        super().__init__(name, spec, n, dtype)
        nb = spec.branches
        self.s = np.zeros((nb, n), dtype)
        self.q = np.zeros((nb, n), np.int64)
        self.P = np.zeros((nb, n), dtype)
        self.D = np.zeros((nb, n), dtype)
        self.binput = np.zeros((nb, n), dtype)
        self.bnext = np.zeros((nb, n), dtype)
        self.kdd = dtype.type(1) - dtype.type(spec.dd)
        self.theta_p = dtype.type(spec.plateau_threshold)
        self.amp_p = dtype.type(spec.plateau_amplitude)
        self.L = spec.plateau_steps
        self.coupling = np.broadcast_to(np.asarray(spec.coupling, dtype), (nb,)).copy()

    def step(self, t):
        self.binput, self.bnext = self.bnext, self.binput
        self.bnext[:] = 0
        kernels.lif_dendritic_step(self.u, self.v, self.input, self.bias, self.refrac_left, self.kdu, self.kdv,
                                   self.vth, self.v_reset, self.R, self.s, self.q, self.P, self.D, self.binput,
                                   self.kdd, self.theta_p, self.amp_p, self.L, self.coupling, self.out)
        return self.out

    # probe variables, (n, branches)
    @property
    def branch_v(self):
        return self.D.T

    @property
    def plateau(self):
        return self.P.T

    @property
    def branch_input(self):
        return self.binput.T


class _RatePop(_Pop):
    spiking = False

    def __init__(self, name, spec, n, dtype):
        super().__init__(name, spec, n, dtype)
        self.bias = np.broadcast_to(np.asarray(spec.bias, dtype), (n,)).copy()
        self.f = spec.nonlinearity

    def step(self, t):
        np.add(self.input, self.bias, out=self.v)
        return nonlinearities.evaluate(self.f, self.v)


class _Prescribed(_Pop):
    def __init__(self, name, spec, n, dtype, train):
        super().__init__(name, spec, n, dtype)
        self.train = train
        self.spiking = spec.type == "lif" and not train.graded

    def step(self, t):
        return self.train.at(t)


class _ExternalPop(_Pop):
    """``a[t] = f(t, {P: a_P[t-1] for P in reads})`` (:class:`neurohebb.ir.schema.External`)."""

    def __init__(self, name, spec, n, dtype, fn, shared):
        super().__init__(name, spec, n, dtype)
        self.fn, self.shared = fn, shared
        self.spiking = bool(spec.spiking)

    def step(self, t):
        prev = self.shared["prev"]  # the activity of step t - 1, set by the model before step t
        inputs = {}
        for r in self.spec.reads:
            view = prev[r].view()
            view.flags.writeable = False
            inputs[r] = view
        return check_activity(self.name, self.spec, self.fn(t, inputs), t, self.dtype)


# ---------------------------------------------------------------- projections
class _Proj:
    """A projection; ``W`` (and ``E``) are (post, pre) arrays, or, with
    ``syn`` (:class:`~.sparse.SparseSynapses`), one entry per synapse."""

    def __init__(self, name, spec, W, mask, pre, post, dtype, parallel, rule=None, stock_timing=False, syn=None):
        self.name, self.spec, self.W, self.mask = name, spec, W, mask
        self.syn = syn
        self.sparse = syn is not None
        self.pre, self.post = pre, post
        self.pre_name, self.post_name = spec.pre, spec.post
        self.delay = spec.delay
        self.plastic = spec.rule is not None
        self.modulator = spec.rule.modulator if spec.rule is not None else None
        self.branch = spec.branch  # lif_dendritic post: input to that branch, the rule's d from it
        self.dtype = dtype
        self.rule = rule if rule is not None else (spec.rule.expand() if spec.rule is not None else None)
        self.lo, self.hi = spec.effective_bounds()
        self.stock_timing = stock_timing
        self.E = None
        if self.rule is None:
            return
        r = self.rule
        self.E = np.zeros_like(W) if r.de else W
        self.has_u = any(p.dep == "u" for p in r.products())
        clipped = bool(np.isfinite(self.lo) or np.isfinite(self.hi))
        if r.nonlocal_vars():  # partner variables: numpy evaluation (nonlocal_rules)
            self.dense_k = self.events_k = None
            L = kernels.Layout(r)
        elif self.sparse:
            self.dense_k, self.events_k, L = kernels.sparse_kernels_for(r, clipped, parallel, dtype.name)
        else:
            self.dense_k, self.events_k, L = kernels.kernels_for(r, mask is not None, clipped, parallel, dtype.name)
        self.layout = L

        def trace_arrays(names, n):
            specs = [r.traces[k] for k in names]
            return (np.zeros((len(names), n), dtype), np.zeros((len(names), n), dtype),
                    np.array([t.decay for t in specs], dtype), np.array([t.impulse for t in specs], dtype))

        self.XTa, self.XTb, self.xdec, self.ximp = trace_arrays(L.pre_traces, pre.n)
        self.YTa, self.YTb, self.ydec, self.yimp = trace_arrays(L.post_traces, post.n)
        self.PV = np.zeros((max(1, len(L.pv)), post.n), dtype)
        self.QV = np.zeros((max(1, len(L.qv)), pre.n), dtype)
        nprod = len(r.products())
        self.A = np.zeros((nprod, post.n), dtype)
        self.B = np.zeros((nprod, pre.n), dtype)
        self.M = mask if mask is not None else np.ones((1, 1), bool)
        self.lo_d, self.hi_d = dtype.type(self.lo), dtype.type(self.hi)
        self._no_x, self._no_out = np.zeros(pre.n, dtype), np.zeros(post.n, dtype)

    def forward(self, x, target):
        """target += W @ x."""
        if self.sparse:
            S = self.syn
            kernels.sparse_forward(self.W, S.rowptr, S.col, S.colptr, S.csyn, S.cpost, x, self.pre.spiking, target)
        else:
            kernels.forward(self.W, x, self.pre.spiking, target)

    def matrix(self, values):
        """(post, pre) view of per-synapse state for results and probes."""
        return self.syn.matrix(values) if self.sparse else values

    def dense_weights(self):
        return self.syn.dense(self.W) if self.sparse else self.W.copy()

    def assign_weights(self, W):
        """Overwrite the weights from a (post, pre) array (absent synapses stay absent)."""
        if self.sparse:
            self.W[...] = self.syn.from_dense(W)
        else:
            self.W[...] = W if self.mask is None else np.where(self.mask, W, 0)

    def trace(self, name):
        """A trace after this step's impulse (for probes)."""
        L = self.layout
        if name in L.pre_traces:
            return self.XTa[L.pre_traces.index(name)]
        return self.YTa[L.post_traces.index(name)]

    def _values(self, key, r, v, d=None):
        kind, var, fn, before = key
        if kind == "r":
            return r
        if kind == "v":
            return v
        if kind == "d":
            return d
        L = self.layout
        if var in L.pre_traces:
            val = (self.XTb if before else self.XTa)[L.pre_traces.index(var)]
        elif var in L.post_traces:
            val = (self.YTb if before else self.YTa)[L.post_traces.index(var)]
        elif var == "r":
            val = np.broadcast_to(np.asarray(r, self.dtype), (self.post.n,))
        elif var == "d":
            val = d
        else:
            val = v
        return nonlinearities.evaluate(self.rule.functions[fn], np.asarray(val, self.dtype))

    def step(self, t, x_arr, x_next, y, r, target):
        """Step ``t`` of the projection: the rule (pre activity arriving now
        ``x_arr``, post activity ``y``, third factor ``r``) and the next step's
        input ``target += W(t+1) @ x_next``."""
        if self.branch is not None:
            target = self.post.bnext[self.branch]
        if not self.plastic:
            self.forward(x_next, target)
            return
        if self.stock_timing:
            # Lava's LearningDense: deliver with the weights before this step's learning, then learn from the
            # spike emitted now (the stock semantics' "timing")
            self.forward(x_next, target)
            x_arr, x_next, target = x_next, self._no_x, self._no_out
        self.learn(x_arr, y, r, self.post.v, x_next, self.pre.spiking, target,
                   d=None if self.branch is None else self.post.D[self.branch])

    def learn(self, x_arr, y, r, v, xnext, xnext_spiking, out, d=None):
        """Traces, the rule for this step, and out += W(t+1) @ xnext."""
        kernels.update_traces(self.XTa, self.XTb, self.xdec, self.ximp, x_arr)
        kernels.update_traces(self.YTa, self.YTb, self.ydec, self.yimp, y)
        if self.dense_k is None:
            return nonlocal_rules.learn(self, x_arr, y, r, v, xnext, out, d)
        L = self.layout
        for row, key in enumerate(L.pv):
            self.PV[row] = self._values(key, r, v, d)
        for row, key in enumerate(L.qv):
            self.QV[row] = self._values(key, r, v, d)
        tail = (x_arr, y, self.XTa, self.XTb, self.YTa, self.YTb, self.PV, self.QV, self.A, self.B, self.lo_d,
                self.hi_d, xnext, out)
        if self.sparse:
            S = self.syn
            if self.has_u:
                self.dense_k(self.W, self.E, S.rowptr, S.col, *tail)
            else:
                self.events_k(self.W, self.E, S.rowptr, S.col, S.colptr, S.csyn, S.cpost, *tail, xnext_spiking)
            return
        args = (self.W, self.E, self.M) + tail
        if self.has_u:
            self.dense_k(*args)
        else:
            self.events_k(*args, xnext_spiking)


# ---------------------------------------------------------------- the model
class FloatModel:
    """A network instantiated in float (``network.run.dtype``) for the engine."""

    precision = "float"
    desc_suffix = ""

    def __init__(self, network, seed, externals=None, parallel=True, semantics="document", stock_parts=None,
                 latency=None):
        from . import stock as ST

        self.parts = parts = ST.parts_of(semantics, stock_parts, "float")
        self.latency = lat = ST.DEFAULT_LATENCY if latency is None else int(latency)
        self.network = net = network
        self.seed = seed
        rs = net.run
        dtype = np.dtype(rs.dtype)
        self.buffer_dtype = self.input_dtype = self.dtype = dtype
        self.shared = {"prev": None}
        self.trains = []
        pops: dict[str, _Pop] = {}
        for name, spec in net.populations.items():
            n = size(net, name)
            if spec.is_source:
                train = SourceTrain(spec, n, rs.dt, seed, f"source:{name}", dtype)
                self.trains.append((train, f"populations.{name}"))
                pops[name] = _SourcePop(name, spec, n, dtype, ST.shift(train, parts, lat))
            elif getattr(spec, "prescribed", None) is not None:
                train = SourceTrain(spec.prescribed, n, rs.dt, seed, f"source:{name}", dtype)
                self.trains.append((train, f"populations.{name}.prescribed"))
                pops[name] = _Prescribed(name, spec, n, dtype, ST.shift(train, parts, lat))
            elif spec.type == "external":
                pops[name] = _ExternalPop(name, spec, n, dtype, externals[name], self.shared)
            elif spec.type == "lif_dendritic":
                pops[name] = _DendPop(name, spec, n, dtype)
            elif spec.type == "lif":
                pops[name] = _LIFPop(name, spec, n, dtype)
                if "refractory" in parts:
                    pops[name].R = 0
            else:
                pops[name] = _RatePop(name, spec, n, dtype)
        self.populations = pops
        projs: dict[str, _Proj] = {}
        self.init_w = {}
        for name, spec in net.projections.items():
            syn = None
            if SP.choose(net, name) == "sparse":
                post, pre, W = initial_synapses(net, name, seed, dtype)
                syn, mask = SP.SparseSynapses(size(net, spec.post), size(net, spec.pre), post, pre), None
                del post, pre
            else:
                W, mask = initial_weights(net, name, seed, dtype)
            self.init_w[name] = W.copy()
            rule = ST.literal_rule(spec) if "literals" in parts and spec.rule is not None else None
            projs[name] = _Proj(name, spec, W, mask, pops[spec.pre], pops[spec.post], dtype, parallel, rule,
                                stock_timing="timing" in parts, syn=syn)
            if rule is not None:  # Lava's float engine clips only at 0, by the sign mode
                lo, hi = ST.sign_bounds(spec.sign)
                projs[name].lo_d, projs[name].hi_d = dtype.type(lo), dtype.type(hi)
        self.projs = projs
        self.projections = list(projs.values())
        self.modulators = {name: Modulator(name, spec, dtype) for name, spec in net.modulators.items()}
        self.modulators_read_activity = True  # population modulators read a[t-1]; the others ignore it
        nonlocal_rules.setup(projs, seed)
        self.nl_pairs = nonlocal_rules.users(projs)

    def begin_step(self, t, engine):
        self.shared["prev"] = engine.prev_out(t)

    def before_projections(self, t, engine):
        if self.nl_pairs:
            nonlocal_rules.snapshot(self.nl_pairs, engine.buf, t)

    def probe_value(self, pb, t, engine):
        if pb.target in self.populations:
            if pb.var in ("spikes", "output"):
                return engine.buf[pb.target][t % engine.depth[pb.target]]
            return np.asarray(getattr(self.populations[pb.target], pb.var))
        if pb.target in self.projs:
            pr = self.projs[pb.target]
            if pb.var == "weights":
                return pr.matrix(pr.W) if not pr.sparse or pr.syn.npost * pr.syn.npre <= SP.DENSE_RESULT_ENTRIES \
                    else pr.W
            if pb.var == "e":
                return pr.matrix(pr.E) if not pr.sparse or pr.syn.npost * pr.syn.npre <= SP.DENSE_RESULT_ENTRIES \
                    else pr.E
            return pr.trace(pb.var)
        return np.asarray(self.modulators[pb.target].r)

    def weights_now(self) -> dict:
        """Each projection's weights now: (post, pre), or one value per synapse (sparse layout)."""
        return {name: p.W.copy() for name, p in self.projs.items()}

    def as_matrix(self, name, W):
        """What a result holds for ``weights_now()[name]`` (see :meth:`.sparse.SparseSynapses.matrix`)."""
        return self.projs[name].matrix(W)

    def finish(self, res):
        res.weights = {name: p.matrix(p.W.copy()) for name, p in self.projs.items()}
        res.initial_weights = {name: self.projs[name].matrix(W.copy()) for name, W in self.init_w.items()}
        sparse = {name: {"synapses": p.syn.n, "bytes": p.syn.nbytes + p.W.nbytes * (2 if p.E is not None and p.E is not p.W else 1)}
                  for name, p in self.projs.items() if p.sparse}
        if sparse:
            res.report["sparse"] = sparse
        if self.parts:
            res.report["semantics"] = {"stock": sorted(self.parts), "latency": self.latency}
