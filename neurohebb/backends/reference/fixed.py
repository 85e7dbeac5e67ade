"""Reference fixed-point mode: executes a compiled integer program with the
arithmetic of Lava 0.10's bit-approximate Loihi-2 models.

``run_fixed(network, hardware="loihi2")`` compiles the network
(:func:`neurohebb.compile`) and runs the program; ``run_program(program)``
runs an existing one.  The order of a step is the IR's (``neurohebb.ir.schema``)
and every plastic projection, in step 3, does what Lava's
``LearningConnectionModelBitApproximate`` does in one learning epoch
(``t_epoch = 1``):

1. traces: ``z <- floor(d z) + [rand_decay < frac(d z)]`` with ``d = exp(-1/tau)``
   (one random number per step for all pre traces, another for all post
   traces), then for a spike ``z <- min(127, z + I_int + [rand_int < I_frac])``;
   a pre trace counts the spike that *arrives* at the synapse this step (the
   IR's latency), a post trace the post spike of this step.  The third factor
   ``r`` is written into its post-trace slot as ``clip(rint(r q), -128, 127)``.
2. every product reads the traces after this step's impulses (inclusive; the
   compiler has already rewritten exclusive timing), w and e before the update:
   ``p = ((D * prod clip(F) * m) >> shift) << (exp + 7)``, saturated, summed
   into ``acc = w << 7`` (saturating), then ``w = floor(acc / 128) +
   [rand < frac]`` (one random per step for every synapse), clipped to the
   weight range; e likewise.
3. the input of the next step is ``(sum of the new integer weights of the
   arriving spikes) << weight_exp`` (``>>`` floors) and the LIF integrates it
   in fixed point (``PyLifModelBitAcc``).

Random streams: a projection's trace streams are Lava's ``TraceRandom`` with
seeds ``s, s+1`` (pre) and ``s+2, s+3`` (post), its weight-rounding stream a
``ConnVarRandom`` with seed ``s_round``, both derived from the run seed and
the projection's name, advanced as Lava advances them (twice per step for
traces, once for rounding), so a run with Lava's seeds reproduces Lava.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedFeature
from ...ir import schema as S
from ...ir.validate import size
from . import fixed_kernels as fk
from ...semantics import Modulator, SourceTrain, derived_seeds, initial_synapses, initial_weights
from . import sparse as SP

PRE_ROWS = {"x1": 0, "x2": 1}
POST_ROWS = {"y1": 0, "y2": 1, "y3": 2}


# ----------------------------------------------------------------- random streams
class LavaStreams:
    """Lava's per-connection random numbers, pre-drawn in blocks.  ``trace(k)``
    gives the (pre decay, pre impulse, post decay, post impulse) randoms of
    learning epoch ``k`` (Lava's ``time_step``, 1-based; Lava advances these
    streams twice per step), ``rounding(k)`` the weight-rounding one (advanced
    once per epoch).  ``block(k)`` returns arrays and indices valid for epochs
    ``k .. k + CHUNK - 1`` for compiled code."""

    CHUNK = 4096

    def __init__(self, trace_seed: int, round_seed: int, impulse_bits: int = 7):
        self.gens = [np.random.default_rng(trace_seed + d) for d in range(4)]
        self.rgen = np.random.default_rng(round_seed)
        self.bits = impulse_bits
        self.TR = np.zeros((4, 0))
        self.RR = np.zeros(0)
        self.k0 = 1  # first epoch held
        self.t_drawn = 0  # trace draws consumed so far (per stream)
        self.r_drawn = 0
        self._extend(1)

    def _draw(self, n_tr, n_r):
        tr = np.empty((4, n_tr))
        tr[0] = self.gens[0].random(n_tr)
        tr[1] = self.gens[1].integers(0, 2**self.bits, size=n_tr)
        tr[2] = self.gens[2].random(n_tr)
        tr[3] = self.gens[3].integers(0, 2**self.bits, size=n_tr)
        return tr, self.rgen.random(n_r)

    def _extend(self, k):
        """Hold epochs k .. k + CHUNK - 1: trace draw index 2 k, rounding index k."""
        need_tr = 2 * (k + self.CHUNK) + 1
        need_r = k + self.CHUNK + 1
        tr, rr = self._draw(need_tr - self.t_drawn, need_r - self.r_drawn)
        keep_tr = self.TR[:, max(0, 2 * k - (self.t_drawn - self.TR.shape[1])):] if self.TR.shape[1] else self.TR
        keep_r = self.RR[max(0, k - (self.r_drawn - self.RR.shape[0])):] if self.RR.shape[0] else self.RR
        self.TR = np.ascontiguousarray(np.concatenate([keep_tr, tr], axis=1))
        self.RR = np.concatenate([keep_r, rr])
        self.t_drawn, self.r_drawn = need_tr, need_r
        self.t_base = self.t_drawn - self.TR.shape[1]  # draw index of TR[:, 0]
        self.r_base = self.r_drawn - self.RR.shape[0]
        self.k_end = k + self.CHUNK

    def block(self, k):
        if k >= self.k_end or 2 * k < self.t_base:
            if 2 * k < self.t_base:
                raise ValueError("epochs must not go backwards")
            self._extend(k)
        return self.TR, self.RR, 2 * k - self.t_base, k - self.r_base

    def trace(self, k):
        TR, _, it, _ = self.block(k)
        return TR[0, it], int(TR[1, it]), TR[2, it], int(TR[3, it])

    def rounding(self, k):
        _, RR, _, ir = self.block(k)
        return RR[ir]


# ----------------------------------------------------------------- plastic synapses
SIGN = {"mixed": 0, "excitatory": 1, "inhibitory": 2}


class FixedSynapses:
    """The learning engine of one projection (integer state and one step).

    Usable on its own (tests drive it with prescribed spike trains):
    ``step(k, x_spikes, y_spikes, r)`` applies learning epoch ``k``."""

    def __init__(self, pp, hw, W, mask, npre, npost, trace_seed, round_seed, parallel=True, sparse=None):
        lr, tc = hw.learning, hw.traces
        self.pp, self.hw = pp, hw
        self.sp = sparse  # SparseSynapses: W, E hold one entry per synapse
        self.W = np.ascontiguousarray(W, dtype=np.int32)
        self.M = mask if mask is not None else np.ones((1, 1), bool)
        self.masked = mask is not None
        self.npre, self.npost = npre, npost
        self.has_e = bool(pp.de)
        self.E = np.zeros_like(self.W) if self.has_e else np.zeros((1,) * self.W.ndim, np.int32)
        prods = pp.products
        self.prods = prods
        self.has_u = any(p.dep == "u" for p in prods)
        # traces: rows of X (pre) and Y (post) in the rule's own order
        self.xnames = [t for t in pp.traces if t in PRE_ROWS]
        self.ynames = [t for t in pp.traces if t in POST_ROWS]
        self.X = np.zeros((max(1, len(self.xnames)), npre), np.int64)
        self.Y = np.zeros((max(1, len(self.ynames)), npost), np.int64)
        self.slot = pp.third_factor.slot if pp.third_factor is not None else None
        self.R = np.zeros(npost, np.int64)

        def arr(names, attr, dtype):
            vals = [getattr(pp.traces[t], attr) for t in names] or [0]
            return np.asarray(vals, dtype)

        self.xdec = arr(self.xnames, "decay", np.float64)
        self.ydec = arr(self.ynames, "decay", np.float64)
        self.ximp = arr(self.xnames, "impulse_int", np.int64)
        self.yimp = arr(self.ynames, "impulse_int", np.int64)
        self.xfr = arr(self.xnames, "impulse_frac", np.int64)
        self.yfr = arr(self.ynames, "impulse_frac", np.int64)
        self.xsat = np.zeros(len(self.X), np.int64)
        self.ysat = np.zeros(len(self.Y), np.int64)
        self.zmax = tc.max
        n = len(prods)
        self.A = np.zeros((max(1, n), npost), np.int64)
        self.B = np.zeros((max(1, n), npre), np.int64)
        wm = pp.weights
        tag = pp.tag
        wfac = -(2 ** lr.factor_widths["w"]), 2 ** lr.factor_widths["w"] - 1
        efac = -(2 ** lr.factor_widths["e"]), 2 ** lr.factor_widths["e"] - 1
        params = dict(wlo=wm.lo, whi=wm.hi, elo=tag.lo if tag else 0, ehi=tag.hi if tag else 0, sign=SIGN[wm.sign_mode],
                      alo=lr.accumulator_limit[0], ahi=lr.accumulator_limit[1], fb=lr.weight_fraction_bits,
                      wf=wfac, ef=efac)
        self.cnt = np.zeros((npost, 3), np.int64)
        self.T = np.zeros((npost, max(1, n)), np.int64)  # truncation residues per product
        self.K, self.Pv = fk.params_of(prods, params)
        if sparse is not None:
            self.dense_k, self.events_k, self.step_k, self.build_k = fk.sparse_kernels_for(prods, self.has_e,
                                                                                           params["sign"], parallel)
            S = sparse
            self.idx = (S.rowptr, S.col)
            self.cidx = (S.rowptr, S.col, S.colptr, S.csyn, S.cpost)
        else:
            self.dense_k, self.events_k, self.step_k, self.build_k = fk.kernels_for(prods, self.has_e, self.masked,
                                                                                    params["sign"], parallel)
            self.idx = self.cidx = (self.M,)
        self.tmp = np.zeros(npost, np.int64)
        self.streams = LavaStreams(trace_seed, round_seed, tc.impulse_random_bits)
        # per product factor f: constant FC, clip range FL..FH, row FS of its trace (-1: the r slot)
        nf = max([len(p.factors) for p in prods] + [1])
        self.FC = np.zeros((max(1, n), nf), np.int64)
        self.FL = np.zeros((max(1, n), nf), np.int64)
        self.FH = np.zeros((max(1, n), nf), np.int64)
        self.FS = np.zeros((max(1, n), nf), np.int64)
        for k, p in enumerate(prods):
            for m_, f in enumerate(p.factors):
                self.FC[k, m_] = f.const
                self.FL[k, m_], self.FH[k, m_] = f.clip
                if f.var == self.slot:
                    self.FS[k, m_] = -1
                elif f.var in self.xnames:
                    self.FS[k, m_] = self.xnames.index(f.var)
                elif f.var in self.ynames:
                    self.FS[k, m_] = self.ynames.index(f.var)

    def step(self, k, x, y, r=None, xnext=None, out=None):
        """Learning epoch ``k`` (1-based) with arriving pre spikes ``x`` and
        post spikes ``y`` (int64 0/1 arrays), third factor ``r`` (float).
        When ``xnext``/``out`` are given, adds the integer synaptic input of the
        next step (sum of new weights of ``xnext``) to ``out`` (dense rules only;
        returns True when it did)."""
        rxd, rxi, ryd, ryi = self.streams.trace(k)
        fk.trace_step(self.X, self.xdec, self.ximp, self.xfr, x, rxd, rxi, self.zmax, self.xsat)
        fk.trace_step(self.Y, self.ydec, self.yimp, self.yfr, y, ryd, ryi, self.zmax, self.ysat)
        if self.slot is not None:
            tf = self.pp.third_factor
            rv = np.rint(np.asarray(r, np.float64) * tf.scale)
            self.R[:] = np.clip(rv, tf.lo, tf.hi).astype(np.int64)
        x_any = bool(x.any())
        y_any = bool(y.any())
        if not self.has_u and not x_any and not y_any:
            return False
        self.build_k(self.A, self.B, self.FC, self.FL, self.FH, self.FS, self.X, self.Y, self.R, x, y)
        rnd = self.streams.rounding(k)
        if self.has_u:
            if out is not None:
                self.dense_k(self.W, self.E, *self.idx, self.A, self.B, self.K, self.Pv, rnd, self.cnt, self.T, xnext,
                             out)
                return True
            self.dense_k(self.W, self.E, *self.idx, self.A, self.B, self.K, self.Pv, rnd, self.cnt, self.T,
                         np.zeros(self.npre, np.int64), np.zeros(self.npost, np.int64))
            return False
        self.events_k(self.W, self.E, *self.cidx, self.A, self.B, self.K, self.Pv, rnd, self.cnt, self.T, x, y)
        return False

    def fused(self, k, x, y, r, xnext, out, wexp):
        """``step`` and the next step's input in one compiled call: out += (sum of
        the new weights of ``xnext``) shifted by ``wexp``."""
        TR, RR, it, ir = self.streams.block(k)
        if self.slot is not None:
            tf = self.pp.third_factor
            self.R[:] = np.clip(np.rint(np.asarray(r, np.float64) * tf.scale), tf.lo, tf.hi)
        self.step_k(self.W, self.E, *self.cidx, self.A, self.B, self.K, self.Pv, self.cnt, self.T, self.X, self.Y, self.R,
                    self.xdec, self.ximp, self.xfr, self.ydec, self.yimp, self.yfr, self.xsat, self.ysat, self.zmax,
                    self.FC, self.FL, self.FH, self.FS, x, y, xnext, out, self.tmp, TR, RR, it, ir, wexp)

    def saturation(self) -> dict:
        wm = self.pp.weights
        W = self.W if not self.masked or self.sp is not None else self.W[self.M]
        d = {
            "trace_saturations": {**{t: int(self.xsat[i]) for i, t in enumerate(self.xnames)},
                                  **{t: int(self.ysat[i]) for i, t in enumerate(self.ynames)}},
            "weight_clips": int(self.cnt[:, 0].sum()),
            "accumulator_saturations": int(self.cnt[:, 1].sum()),
            "weights_at_min": int((W == wm.lo).sum()),
            "weights_at_max": int((W == wm.hi).sum()),
        }
        if self.has_e:
            d["tag_clips"] = int(self.cnt[:, 2].sum())
        # the engine's right shift floors each product: the residues it dropped, in weight (tag) LSB
        nsyn = self.sp.n if self.sp is not None else int(self.M.sum()) if self.masked else self.npre * self.npost
        trunc_w = trunc_e = 0.0
        for k, p in enumerate(self.prods):
            if p.shift:
                lost = float(self.T[:, k].sum()) * 2.0 ** (p.exp_engine - p.shift)
                if p.target == "w":
                    trunc_w -= lost
                else:
                    trunc_e -= lost
        d["truncation_lsb_per_synapse"] = trunc_w / max(nsyn, 1)
        if self.has_e:
            d["tag_truncation_lsb_per_synapse"] = trunc_e / max(nsyn, 1)
        return d


# ----------------------------------------------------------------- populations
class _FxPop:
    spiking = True  # every fixed-point population emits spikes (0/1)

    def __init__(self, name, n):
        self.name, self.n = name, n
        self.input = np.zeros(n, np.int64)
        self.counts = np.zeros(2, np.int64)


class _FxSource(_FxPop):
    def __init__(self, name, n, train):
        super().__init__(name, n)
        self.train = train
        self.binary = not isinstance(train.src, S.ArraySource)  # poisson and spike_times emit exactly 0 or 1

    def emit(self, t, row):
        if self.binary:
            np.copyto(row, self.train.at(t), casting="unsafe")
        else:
            row[:] = self.train.at(t) != 0


class _FxLIF(_FxPop):
    def __init__(self, name, n, lm):
        super().__init__(name, n)
        self.lm = lm
        self.u = np.zeros(n, np.int64)
        self.v = lm.v_init.astype(np.int64).copy()
        self.bias = lm.bias_eff.astype(np.int64)
        self.refrac_left = np.zeros(n, np.int64)
        self.smax = 2 ** (lm.state_bits - 1)
        self.vth_eff = int(lm.vth) << lm.threshold_shift
        self.args = (lm.du + lm.du_offset, lm.dv + lm.dv_offset, lm.decay_bits, lm.activation_shift)
        self.wrap = lm.u_overflow == "wrap"

    def emit(self, t, row):
        lm = self.lm
        du, dv, db, sh = self.args
        fk.lif_step(self.u, self.v, self.input, du, dv, db, sh, self.bias, self.vth_eff, lm.v_reset,
                    self.refrac_left, lm.refractory, self.smax, self.wrap, row, self.counts)


class _FxProj:
    """A projection in fixed point: static (integer weights ``Wst``) or plastic
    (``syn``, a :class:`FixedSynapses`)."""

    def __init__(self, name, pp, spec, syn, Wst, npost, stock_timing=False, sparse=None):
        self.name, self.pp, self.spec, self.syn, self.Wst = name, pp, spec, syn, Wst
        self.sp = sparse  # SparseSynapses of the sparse layout (W: one entry per synapse)
        self.stock_timing = stock_timing
        self.pre_name, self.post_name, self.delay = spec.pre, spec.post, spec.delay
        self.modulator = spec.rule.modulator if spec.rule is not None else None
        self.wexp = pp.weights.weight_exp
        self.tmp = np.zeros(npost, np.int64)
        self.plastic = syn is not None

    @property
    def W(self):
        return self.syn.W if self.syn is not None else self.Wst

    def matrix(self, values):
        """(post, pre) view of per-synapse values for results and probes."""
        return values if self.sp is None else self.sp.matrix(values)

    def _forward(self, x_next, target):
        if self.sp is None:
            fk.static_forward(self.W, x_next, target, self.tmp, self.wexp)
        else:
            S = self.sp
            fk.sparse_static_forward(self.W, S.colptr, S.csyn, S.cpost, x_next, target, self.tmp, self.wexp)

    def step(self, t, x_arr, x_next, y, r, target):
        if not self.plastic:
            self._forward(x_next, target)
        elif self.stock_timing:
            # Lava's LearningDense: deliver with the weights before this step's learning, then learn from the
            # spike emitted now (the stock semantics' "timing")
            self._forward(x_next, target)
            self.syn.step(t + 1, x_next, y, r)
        else:
            self.syn.fused(t + 1, x_arr, y, r, x_next, target, self.wexp)


# ----------------------------------------------------------------- the model
class FixedModel:
    """A compiled :class:`~neurohebb.compiler.FixedProgram` instantiated in
    integers for the engine.  ``seeds``: optional ``{projection: (trace_seed,
    round_seed)}`` (default: derived from the run seed).  ``semantics``:
    ``document`` or ``stock`` (what Lava's stock processes compute,
    :mod:`.stock`; ``stock_parts`` some of its departures, ``latency`` the
    host input latency in steps)."""

    precision = "fixed"
    desc_suffix = " (fixed)"
    buffer_dtype = input_dtype = np.dtype(np.int64)

    def __init__(self, program, seed, parallel=True, seeds=None, semantics="document", stock_parts=None,
                 latency=None):
        from . import stock as ST

        if getattr(program, "kind", None) != "fixed":
            raise UnsupportedFeature("the fixed-point model needs a fixed-point program (compile for a fixed target)")
        self.parts = parts = ST.parts_of(semantics, stock_parts, "fixed")
        self.latency = lat = ST.DEFAULT_LATENCY if latency is None else int(latency)
        if semantics == "stock" and seeds is None:
            seeds = ST.seeds_for(program, seed)
        self.program = program
        self.network = net = program.network
        self.hw = hw = program.hardware
        self.seed = seed
        rs = net.run
        pops = {}
        self.trains = []
        for name, spec in net.populations.items():
            n = size(net, name)
            if spec.is_source:
                train = SourceTrain(spec, n, rs.dt, seed, f"source:{name}", np.float64)
                self.trains.append((train, f"populations.{name}"))
                pops[name] = _FxSource(name, n, ST.shift(train, parts, lat))
            elif spec.prescribed is not None:
                train = SourceTrain(spec.prescribed, n, rs.dt, seed, f"source:{name}", np.float64)
                self.trains.append((train, f"populations.{name}.prescribed"))
                pops[name] = _FxSource(name, n, ST.shift(train, parts, lat))
            else:
                pops[name] = _FxLIF(name, n, ST.lif_map(program.populations[name], parts))
        self.populations = pops
        self.projs = {}
        self.init_w, self.clipped0 = {}, {}
        for name, spec in net.projections.items():
            pp = program.projections[name]
            npre, npost = pops[spec.pre].n, pops[spec.post].n
            sp = None
            if semantics != "stock" and SP.choose(net, name) == "sparse":
                post, pre, Wf = initial_synapses(net, name, seed, np.float64)
                sp, mask = SP.SparseSynapses(npost, npre, post, pre), None
                del post, pre
            else:
                Wf, mask = initial_weights(net, name, seed, np.float64)
            Wi = pp.weights.quantize(Wf)
            if mask is not None:
                Wi = np.where(mask, Wi, 0).astype(np.int32)
            if semantics == "stock" and not pp.plastic:
                Wi = ST.static_weights(Wi, pp.weights.sign_mode)
            back = pp.weights.dequantize(Wi)
            self.clipped0[name] = int(np.sum(np.abs(back - Wf) > pp.weights.max_roundtrip_error * (1 + 1e-9)))
            self.init_w[name] = back
            syn = None
            if pp.plastic:
                ts, rsd = (seeds or {}).get(name) or derived_seeds(seed, name)
                syn = FixedSynapses(pp, hw, Wi, ST.sparse_mask(mask, Wi, parts), npre, npost, ts, rsd, parallel,
                                    sparse=sp)
            self.projs[name] = _FxProj(name, pp, spec, syn, Wi if syn is None else None, npost,
                                       stock_timing="timing" in parts, sparse=sp)
        self.projections = list(self.projs.values())
        self.modulators = {name: Modulator(name, spec, np.float64) for name, spec in net.modulators.items()}
        self.modulators_read_activity = any(m.type == "population" for m in net.modulators.values())

    def begin_step(self, t, engine):
        pass

    def before_projections(self, t, engine):
        pass

    def probe_value(self, pb, t, engine):
        if pb.target in self.populations:
            p = self.populations[pb.target]
            if pb.var in ("spikes", "output"):
                return engine.buf[pb.target][t % engine.depth[pb.target]].astype(float)
            lm = self.program.populations.get(pb.target)
            if pb.var == "input":
                return p.input / lm.K if lm is not None else p.input.astype(float)
            return getattr(p, pb.var) / lm.v_scale
        if pb.target in self.projs:
            pr = self.projs[pb.target]
            pp, syn = pr.pp, pr.syn
            big = pr.sp is not None and pr.sp.npost * pr.sp.npre > SP.DENSE_RESULT_ENTRIES
            if pb.var == "weights":
                w = pp.weights.dequantize(pr.W)
                return w if big else pr.matrix(w)
            if pb.var == "e":
                e = syn.E * pp.tag.scale
                return e if big else pr.matrix(e)
            if pb.var in syn.xnames:
                return syn.X[syn.xnames.index(pb.var)] / pp.traces[pb.var].scale
            return syn.Y[syn.ynames.index(pb.var)] / pp.traces[pb.var].scale
        return np.asarray(self.modulators[pb.target].r, float)

    def weights_now(self) -> dict:
        """Each projection's weights now: (post, pre), or one value per synapse (sparse layout)."""
        return {name: pr.pp.weights.dequantize(pr.W) for name, pr in self.projs.items()}

    def as_matrix(self, name, W):
        """What a result holds for ``weights_now()[name]``."""
        return self.projs[name].matrix(W)

    def finish(self, res):
        sat, ints = {}, {}
        res.weights = {}
        for name, pr in self.projs.items():
            res.weights[name] = pr.matrix(pr.pp.weights.dequantize(pr.W))
            ints[name] = pr.matrix(pr.W.copy())
            if pr.syn is not None:
                sat[name] = pr.syn.saturation()
                sat[name]["initial_weights_clipped"] = self.clipped0[name]
        res.initial_weights = {name: self.projs[name].matrix(W.copy()) for name, W in self.init_w.items()}
        res.report = {
            "hardware": self.hw.name,
            "compile": self.program.report,
            "saturation": sat,
            "neurons": {name: {"u_wraps": int(p.counts[0]), "v_saturations": int(p.counts[1])}
                        for name, p in self.populations.items() if isinstance(p, _FxLIF)},
            "lsb": {name: pr.pp.weights.scale for name, pr in self.projs.items()},
            "integer_weights": ints,
        }
        sparse = {name: {"synapses": pr.sp.n, "bytes": pr.sp.nbytes + pr.W.nbytes
                         + (pr.syn.E.nbytes if pr.syn is not None and pr.syn.has_e else 0)}
                  for name, pr in self.projs.items() if pr.sp is not None}
        if sparse:
            res.report["sparse"] = sparse
        if self.parts:
            res.report["semantics"] = {"stock": sorted(self.parts), "latency": self.latency}


# ----------------------------------------------------------------- run
def compile_for(network, hardware="loihi2", seed=None, steps=None, **options):
    """The fixed-point program of ``network`` for ``hardware``."""
    from ...compiler import compile_network

    program, _ = compile_network(network, hardware=hardware, seed=seed, steps=steps, **options)
    return program


def run_fixed(network, seed=None, steps=None, progress=None, parallel=True, hardware="loihi2", semantics="document",
              stock_parts=None, latency=None, **options):
    """Compile ``network`` for ``hardware`` and run it in fixed point."""
    return run_program(compile_for(network, hardware, seed, steps, **options), seed=seed, steps=steps,
                       progress=progress, parallel=parallel, semantics=semantics, stock_parts=stock_parts,
                       latency=latency)


def run_program(program, seed=None, steps=None, progress=None, parallel=True, seeds=None, semantics="document",
                stock_parts=None, latency=None):
    """Run a compiled :class:`~neurohebb.compiler.FixedProgram`.  ``seeds``:
    optional ``{projection: (trace_seed, round_seed)}`` (default: derived from
    the run seed); ``semantics``, ``stock_parts``, ``latency``: see
    :class:`FixedModel`."""
    from .engine import Engine

    if getattr(program, "kind", None) != "fixed":
        raise UnsupportedFeature("run_program needs a fixed-point program (compile for a fixed target)")
    rs = program.network.run
    seed = rs.seed if seed is None else int(seed)
    eng = Engine(FixedModel(program, seed, parallel=parallel, seeds=seeds, semantics=semantics,
                            stock_parts=stock_parts, latency=latency))
    eng.run(rs.steps if steps is None else int(steps), progress=progress)
    return eng.result()
