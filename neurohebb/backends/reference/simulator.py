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
from ...ir import schema as S
from ...ir.validate import size, validate
from ...result import ProbeData, Result
from ...rules.algebra import POST_TRACES, PRE_TRACES
from . import kernels
from .build import SourceTrain, initial_weights, rng_for

NAME = "reference"
PRECISIONS = ("float",)


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
        self.du = dtype.type(spec.du)
        self.dv = dtype.type(spec.dv)
        self.vth = spec.vth
        self.bias = np.broadcast_to(np.asarray(spec.bias, dtype), (n,)).copy()
        self.v[:] = np.broadcast_to(np.asarray(spec.v_init, dtype), (n,))
        self.refrac_left = np.zeros(n, np.int64)
        self.R = spec.refractory
        self.v_reset = dtype.type(spec.v_reset)
        self.out = np.zeros(n, dtype)

    def step(self, t):
        self.u *= (1 - self.du)
        self.u += self.input
        if self.R:
            active = self.refrac_left == 0
            self.refrac_left[~active] -= 1
            self.v[active] = self.v[active] * (1 - self.dv) + self.u[active] + self.bias[active]
        else:
            self.v *= (1 - self.dv)
            self.v += self.u
            self.v += self.bias
        spk = self.v > self.vth
        self.v[spk] = self.v_reset
        if self.R:
            self.refrac_left[spk] = self.R
        return spk.astype(self.dtype)


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


# ---------------------------------------------------------------- projections
class _Proj:
    def __init__(self, name, spec, W, mask, pre, post, dtype, parallel):
        self.name, self.spec, self.W, self.mask = name, spec, W, mask
        self.pre, self.post = pre, post
        self.delay = spec.delay
        self.dtype = dtype
        self.rule = spec.rule.expand() if spec.rule is not None else None
        self.lo, self.hi = spec.effective_bounds()
        self.E = None
        if self.rule is not None:
            r = self.rule
            self.E = np.zeros_like(W) if r.de else W
            self.has_u = any(p.dep == "u" for p in r.products())
            self.traces = {}
            for k, tr in r.traces.items():
                n = pre.n if k in PRE_TRACES else post.n
                self.traces[k] = [np.zeros(n, dtype), np.zeros(n, dtype), dtype.type(tr.decay), dtype.type(tr.impulse)]
            clipped = np.isfinite(self.lo) or np.isfinite(self.hi)
            self.dense_k, self.events_k = kernels.kernels_for(r, mask is not None, clipped, parallel, dtype.name)
            nprod = len(r.products())
            self.A = np.zeros((nprod, post.n), dtype)
            self.B = np.zeros((nprod, pre.n), dtype)
            self.M = mask if mask is not None else np.ones((1, 1), bool)
            self.funcs = r.functions
            self.needs_v = any(f.var == "v" for p in r.products() for f in p.factors)

    # traces: before = decay * previous; after = before + impulse * activity
    def update_traces(self, x_arr, y):
        for k, tr in self.traces.items():
            before, after, decay, imp = tr
            np.multiply(after, decay, out=before)
            a = x_arr if k in PRE_TRACES else y
            np.multiply(a, imp, out=after)
            after += before

    def _value(self, f, before: bool, r, v):
        if f.var in self.traces:
            val = self.traces[f.var][0 if before else 1]
        elif f.var == "r":
            val = r
        elif f.var == "v":
            val = v
        else:  # pragma: no cover
            raise AssertionError(f.var)
        if f.fn:
            val = nonlinearities.evaluate(self.funcs[f.fn], np.asarray(val, self.dtype))
        elif f.offset:
            val = val + f.offset
        return val

    def learn(self, x_arr, y, r, v, xnext, xnext_spiking, out):
        """Apply the rule for this step; add W(t+1) @ xnext to ``out``."""
        rule = self.rule
        excl = rule.timing == "exclusive"
        x_any = bool(x_arr.any())
        y_any = bool(y.any())
        for k, p in enumerate(rule.products()):
            before = excl and p.dep != "u"
            a = self.A[k]
            b = self.B[k]
            if (p.dep == "x0" and not x_any) or (p.dep == "y0" and not y_any):
                a[:] = 0
                continue
            a[:] = p.coeff
            b[:] = 1
            for f in p.factors:
                if f.level == "post":
                    a *= self._value(f, before, r, v)
                elif f.level == "pre":
                    b *= self._value(f, before, r, v)
            if p.dep == "y0":
                a *= y
            elif p.dep == "x0":
                b *= x_arr
        W, E = self.W, self.E
        lo, hi = self.dtype.type(self.lo), self.dtype.type(self.hi)
        if self.has_u:
            self.dense_k(W, E, self.M, self.A, self.B, xnext, lo, hi, out)
            return
        if x_any or y_any:
            rows = np.flatnonzero(y)
            cols = np.flatnonzero(x_arr)
            self.events_k(W, E, self.M, self.A, self.B, rows, cols, None, lo, hi)
        forward(W, xnext, xnext_spiking, out)


def forward(W, x, spiking, out):
    if spiking:
        cols = np.flatnonzero(x)
        if cols.size:
            kernels.gather_columns(W, cols, out)
    elif x.any():
        kernels.matvec_add(W, x, out)


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
def run(network, precision="float", seed=None, steps=None, progress=None, parallel=True):
    """Run ``network`` on the reference backend; see :func:`neurohebb.run`."""
    if precision not in PRECISIONS:
        raise UnsupportedFeature(
            f"reference backend: precision {precision!r} is not available; known: {', '.join(PRECISIONS)}")
    validate(network)
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
            pops[name] = _SourcePop(name, spec, n, dtype, train)
        elif spec.prescribed is not None:
            train = SourceTrain(spec.prescribed, n, rs.dt, seed, f"source:{name}", dtype)
            train.check_steps(steps, f"populations.{name}.prescribed")
            pops[name] = _Prescribed(name, spec, n, dtype, train)
        elif spec.type == "lif":
            pops[name] = _LIFPop(name, spec, n, dtype)
        else:
            pops[name] = _RatePop(name, spec, n, dtype)

    projs: dict[str, _Proj] = {}
    init_w = {}
    for name, spec in network.projections.items():
        W, mask = initial_weights(network, name, seed, dtype)
        init_w[name] = W.copy()
        projs[name] = _Proj(name, spec, W, mask, pops[spec.pre], pops[spec.post], dtype, parallel)
    mods = {name: _Mod(name, spec, steps, dtype, pops) for name, spec in network.modulators.items()}

    # history of outputs for delays: hist[pop][k] = output of step t-k (k=0 current)
    depth = {name: 2 for name in pops}
    for p in projs.values():
        depth[p.spec.pre] = max(depth[p.spec.pre], p.delay + 2)
    hist = {name: [np.zeros(pops[name].n, dtype) for _ in range(depth[name])] for name in pops}

    record_spikes = {name: np.zeros((steps, p.n), bool) for name, p in pops.items() if p.spiking}
    probes = {}
    for pname, pb in network.probes.items():
        probes[pname] = (pb, [], [])

    def arriving(pop, delay, lag):
        """Output of step t - lag - delay as it arrives (zeros before the start)."""
        return hist[pop][lag + delay]

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=steps, disable=not show, desc=network.name or "run", unit="step", mininterval=0.5)
    prev_out = {name: hist[name][0] for name in pops}
    # inputs for step 0 are zero (nothing has been emitted before it)
    next_input = {name: np.zeros(p.n, dtype) for name, p in pops.items()}
    for t in range(steps):
        # 1-2: populations read their inputs and emit
        for name, p in pops.items():
            p.input, next_input[name] = next_input[name], p.input
            next_input[name][:] = 0
        outs = {}
        for name, p in pops.items():
            outs[name] = p.step(t)
        for name in pops:
            h = hist[name]
            h.insert(0, h.pop())
            h[0][:] = outs[name]
            if name in record_spikes:
                record_spikes[name][t] = outs[name] != 0
        r_now = {name: m.step(t, prev_out) for name, m in mods.items()}
        # 3: learning, and the input of step t+1 (W(t+1) @ a_pre[t - delay])
        for name, pr in projs.items():
            x_next = arriving(pr.spec.pre, pr.delay, 0)
            target = next_input[pr.spec.post]
            if pr.rule is None:
                forward(pr.W, x_next, pr.pre.spiking, target)
                continue
            x_arr = arriving(pr.spec.pre, pr.delay, 1)
            y = outs[pr.spec.post]
            pr.update_traces(x_arr, y)
            r = r_now[pr.rule.modulator] if pr.rule.modulator else None
            pr.learn(x_arr, y, r, pr.post.v, x_next, pr.pre.spiking, target)
        prev_out = {name: hist[name][0] for name in pops}
        # 4: probes
        for pname, (pb, times, data) in probes.items():
            if t % pb.every:
                continue
            times.append(t)
            data.append(_probe_value(pb, pops, projs, mods, outs).copy())
        if show and (t % 100 == 99 or t == steps - 1):
            bar.update(t + 1 - bar.n)
    bar.close()

    res = Result(network.name, NAME, precision, seed, steps, rs.dt)
    res.spikes = record_spikes
    res.weights = {name: p.W.copy() for name, p in projs.items()}
    res.initial_weights = init_w
    for pname, (pb, times, data) in probes.items():
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
        return pr.traces[pb.var][1]
    m = mods[pb.target]
    return np.asarray(m.r)
