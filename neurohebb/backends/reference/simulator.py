"""Reference simulator (float): executes the IR's equations step by step.

The order of one step is the one in :mod:`neurohebb.ir.schema`; rule timing
is the one in :mod:`neurohebb.rules.algebra`.
"""
from __future__ import annotations

import sys
import time

import numpy as np
from tqdm import tqdm

from ... import nonlinearities
from ...errors import UnsupportedFeature
from ...externals import bind, check_activity, external_populations
from ...ir.validate import size, validate
from ...result import ProbeData, Result
from . import kernels, nonlocal_rules
from .build import SourceTrain, initial_weights

NAME = "reference"
PRECISIONS = ("float", "fixed")


# ---------------------------------------------------------------- populations
class _Pop:
    spiking = True

    def __init__(self, name, spec, n, dtype):
        self.name, self.spec, self.n, self.dtype = name, spec, n, dtype
        self.input = np.zeros(n, dtype)
        self.v = np.zeros(n, dtype)
        self.u = np.zeros(n, dtype)


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
        prev = self.shared["prev"]
        inputs = {}
        for r in self.spec.reads:
            view = prev[r].view()
            view.flags.writeable = False
            inputs[r] = view
        return check_activity(self.name, self.spec, self.fn(t, inputs), t, self.dtype)


# ---------------------------------------------------------------- projections
class _Proj:
    def __init__(self, name, spec, W, mask, pre, post, dtype, parallel, rule=None):
        self.name, self.spec, self.W, self.mask = name, spec, W, mask
        self.pre, self.post = pre, post
        self.delay = spec.delay
        self.branch = spec.branch  # lif_dendritic post: input to that branch, the rule's d from it
        self.dtype = dtype
        self.rule = rule if rule is not None else (spec.rule.expand() if spec.rule is not None else None)
        self.lo, self.hi = spec.effective_bounds()
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
        args = (self.W, self.E, self.M, x_arr, y, self.XTa, self.XTb, self.YTa, self.YTb, self.PV, self.QV,
                self.A, self.B, self.lo_d, self.hi_d, xnext, out)
        if self.has_u:
            self.dense_k(*args)
        else:
            self.events_k(*args, xnext_spiking)


def forward(W, x, spiking, out):
    kernels.forward(W, x, spiking, out)


# ---------------------------------------------------------------- modulators
class _Mod:
    def __init__(self, name, spec, steps, dtype, pops):
        self.name, self.spec, self.dtype = name, spec, dtype
        self.decay = np.exp(-1.0 / spec.tau) if spec.tau > 0 else 0.0
        self.r = None
        self.pops = pops

    def source(self, t, prev_out):
        s = self.spec
        if s.type == "constant":
            return np.asarray(s.value, self.dtype)
        if s.type == "array":
            v = np.asarray(s.values)
            if not s.repeat and t >= v.shape[0]:
                return np.zeros(v.shape[1:], self.dtype)
            return v[t % v.shape[0]].astype(self.dtype)
        if s.type == "pulses":
            on = any(t0 <= t < t0 + s.width for t0 in s.times)
            return np.asarray(s.amplitude if on else 0.0, self.dtype)
        if s.type == "sine":
            return np.asarray(s.offset + s.amplitude * np.sin(2 * np.pi * t / s.period + s.phase), self.dtype)
        if s.type == "step":
            return np.asarray(s.before if t < s.at else s.after, self.dtype)
        if s.type == "population":
            a = prev_out[s.population]
            val = s.gain * (a - s.baseline)
            return np.asarray(val.mean() if s.scope == "global" else val, self.dtype)
        raise AssertionError(s.type)  # pragma: no cover

    def step(self, t, prev_out):
        src = self.source(t, prev_out)
        self.r = src if self.r is None or self.decay == 0 else self.r * self.decay + src
        return self.r


# ---------------------------------------------------------------- run
def run(network, precision="float", seed=None, steps=None, progress=None, parallel=True, externals=None,
        semantics="document", stock_parts=None, latency=None):
    """Run ``network`` on the reference backend; see :func:`neurohebb.run`.
    ``externals``: step functions of external populations (``{name: f}``).
    ``semantics``: ``document`` (the IR's) or ``stock`` (what Lava's stock
    processes compute: :mod:`.stock`; ``stock_parts`` applies only some of its
    departures, ``latency`` is the host input latency in steps)."""
    from . import stock as ST

    if precision not in PRECISIONS:
        raise UnsupportedFeature(
            f"reference backend: precision {precision!r} is not available; known: {', '.join(PRECISIONS)}")
    if precision == "fixed":
        ext = external_populations(network)
        if ext:
            raise UnsupportedFeature(
                f"reference backend, precision 'fixed': populations.{ext[0]} is an external (host) population; "
                "the fixed-point model of the Loihi-2 learning engine has no host callbacks; run it in float")
        from .fixed import run_fixed

        return run_fixed(network, seed=seed, steps=steps, progress=progress, parallel=parallel, semantics=semantics,
                         stock_parts=stock_parts, latency=latency)
    parts = ST.parts_of(semantics, stock_parts, "float")
    lat = ST.DEFAULT_LATENCY if latency is None else int(latency)
    validate(network)
    ext_fns = bind(network, externals)
    shared = {"prev": None}
    rs = network.run
    seed = rs.seed if seed is None else int(seed)
    steps = rs.steps if steps is None else int(steps)
    dtype = np.dtype(rs.dtype)
    t_start = time.perf_counter()

    pops: dict[str, _Pop] = {}
    for name, spec in network.populations.items():
        n = size(network, name)
        if spec.type in ("spike_times", "poisson", "array"):
            train = SourceTrain(spec, n, rs.dt, seed, f"source:{name}", dtype)
            train.check_steps(steps, f"populations.{name}")
            pops[name] = _SourcePop(name, spec, n, dtype, ST.shift(train, parts, lat))
        elif getattr(spec, "prescribed", None) is not None:
            train = SourceTrain(spec.prescribed, n, rs.dt, seed, f"source:{name}", dtype)
            train.check_steps(steps, f"populations.{name}.prescribed")
            pops[name] = _Prescribed(name, spec, n, dtype, ST.shift(train, parts, lat))
        elif spec.type == "external":
            pops[name] = _ExternalPop(name, spec, n, dtype, ext_fns[name], shared)
        elif spec.type == "lif_dendritic":
            pops[name] = _DendPop(name, spec, n, dtype)
        elif spec.type == "lif":
            pops[name] = _LIFPop(name, spec, n, dtype)
            if "refractory" in parts:
                pops[name].R = 0
        else:
            pops[name] = _RatePop(name, spec, n, dtype)

    projs: dict[str, _Proj] = {}
    init_w = {}
    for name, spec in network.projections.items():
        W, mask = initial_weights(network, name, seed, dtype)
        init_w[name] = W.copy()
        rule = ST.literal_rule(spec, network) if "literals" in parts and spec.rule is not None else None
        projs[name] = _Proj(name, spec, W, mask, pops[spec.pre], pops[spec.post], dtype, parallel, rule)
        if rule is not None:  # Lava's float engine clips only at 0, by the sign mode
            lo, hi = ST.sign_bounds(spec.sign)
            projs[name].lo_d, projs[name].hi_d = dtype.type(lo), dtype.type(hi)
    mods = {name: _Mod(name, spec, steps, dtype, pops) for name, spec in network.modulators.items()}
    nonlocal_rules.setup(projs, seed)
    nl_pairs = nonlocal_rules.users(projs)

    # ring buffer of outputs per population: buf[name][s % depth] = output of step s
    # (slots not yet written are zero, so nothing arrives before the start)
    depth = {name: 2 for name in pops}
    for p in projs.values():
        depth[p.spec.pre] = max(depth[p.spec.pre], p.delay + 2)
    buf = {name: np.zeros((depth[name], pops[name].n), dtype) for name in pops}

    record_spikes = {name: np.zeros((steps, p.n), bool) for name, p in pops.items() if p.spiking}
    probes = [(pname, pb, [], []) for pname, pb in network.probes.items()]
    pop_list = [(name, p, buf[name], depth[name], record_spikes.get(name)) for name, p in pops.items()]
    mod_list = list(mods.items())
    proj_list = [(pr, buf[pr.spec.pre], depth[pr.spec.pre], pr.delay, pops[pr.spec.post], pr.rule is not None,
                  pr.rule.modulator if pr.rule is not None else None) for pr in projs.values()]
    stock_timing = "timing" in parts
    nothing = {name: (np.zeros(pr.pre.n, dtype), np.zeros(pr.post.n, dtype)) for name, pr in projs.items()}

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=steps, disable=not show, desc=network.name or "run", unit="step", mininterval=0.5)
    # inputs for step 0 are zero (nothing has been emitted before it)
    next_input = {name: np.zeros(p.n, dtype) for name, p in pops.items()}
    prev_out = {name: buf[name][-1] for name in pops}  # zeros: "step -1"
    outs = {}
    r_now = {}
    for t in range(steps):
        shared["prev"] = prev_out
        # 1-2: populations read their inputs and emit
        for name, p, b, d, rec in pop_list:
            p.input, next_input[name] = next_input[name], p.input
            next_input[name][:] = 0
            o = p.step(t)
            slot = b[t % d]
            slot[:] = o
            outs[name] = slot
            if rec is not None:
                np.not_equal(slot, 0, out=rec[t])
        for name, m in mod_list:
            r_now[name] = m.step(t, prev_out)
        # 3: learning, and the input of step t+1 (W(t+1) @ a_pre[t - delay])
        if nl_pairs:
            nonlocal_rules.snapshot(nl_pairs, buf, t)
        for pr, b, d, delay, post, plastic, modname in proj_list:
            x_next = b[(t - delay) % d]
            target = next_input[post.name] if pr.branch is None else post.bnext[pr.branch]
            if not plastic:
                kernels.forward(pr.W, x_next, pr.pre.spiking, target)
                continue
            x_arr = b[(t - 1 - delay) % d]
            r = r_now[modname] if modname else None
            if stock_timing:
                # Lava's LearningDense: deliver with the weights before this step's learning, then learn from the
                # spike emitted now
                kernels.forward(pr.W, x_next, pr.pre.spiking, target)
                x_arr, (x_next, target) = x_next, nothing[pr.name]
            pr.learn(x_arr, outs[post.name], r, post.v, x_next, pr.pre.spiking, target,
                     d=None if pr.branch is None else post.D[pr.branch])
        prev_out = outs
        outs = {}
        # 4: probes
        for pname, pb, times, data in probes:
            if t % pb.every:
                continue
            times.append(t)
            data.append(_probe_value(pb, pops, projs, mods, prev_out).copy())
        if show and (t % 100 == 99 or t == steps - 1):
            bar.update(t + 1 - bar.n)
    bar.close()

    res = Result(network.name, NAME, precision, seed, steps, rs.dt)
    if parts:
        res.report["semantics"] = {"stock": sorted(parts), "latency": lat}
    res.spikes = record_spikes
    res.weights = {name: p.W.copy() for name, p in projs.items()}
    res.initial_weights = init_w
    for pname, pb, times, data in probes:
        res.probes[pname] = ProbeData(pb.target, pb.var, np.asarray(times, np.int64),
                                      np.asarray(data) if data else np.zeros((0,)))
    res.wall_time = time.perf_counter() - t_start
    return res


def _probe_value(pb, pops, projs, mods, outs):
    if pb.target in pops:
        p = pops[pb.target]
        if pb.var in ("spikes", "output"):
            return np.asarray(outs[pb.target])
        return np.asarray(getattr(p, pb.var))
    if pb.target in projs:
        pr = projs[pb.target]
        if pb.var == "weights":
            return pr.W
        if pb.var == "e":
            return pr.E
        return pr.trace(pb.var)
    m = mods[pb.target]
    return np.asarray(m.r)
