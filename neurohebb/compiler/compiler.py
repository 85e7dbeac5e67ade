"""``compile(network, hardware)``: validate, expand rules, quantize,
check capacity, and return the program with its report (docs/hardware.md).

The choices (all reported, all in docs/hardware.md):

* **weights**: one LSB per projection, chosen so that the document's bounds
  land on the ends of the hardware range (the engine clips only there):
  ``[0, w_max] -> [0, 255]`` (excitatory), ``[-a, a] -> [-255(-256), 255]``
  (mixed).  Unbounded plastic weights get ``unbounded_headroom`` x the
  largest initial weight; static weights their largest initial weight.
* **neurons**: a LIF population's scale ``K`` (hardware input units per float
  unit) is set by its first plastic input projection (else its first input):
  ``K = 2**weight_exp / LSB`` with the weight exponent that puts the threshold
  as high as possible below ``2**vth_bits``; the other input projections get
  ``LSB = 2**weight_exp / K``.
* **traces**: integer impulses (``default_impulse`` for tau > 0,
  ``zero_tau_impulse`` for tau = 0, or ``trace_impulses``), so impulses are
  exact and only the decay is rounded (stochastically, unbiased).
* **rules**: see :mod:`.rules`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import CapacityExceeded, NotExpressible, UnsupportedFeature
from ..hardware import load_hardware
from ..ir.validate import SOURCE_TYPES, size, validate
from .capacity import check_capacity
from .program import (FixedProgram, FloatProgram, LifMap, ProjectionProgram, TagMap, ThirdFactorMap, TraceMap,
                      WeightMap)
from ..semantics import modulator_max_abs
from .report import CompileReport
from .rules import coeff_terms, approximate_functions, choose_impulses, exact_scale, lower_rule


DEFAULTS = dict(
    compensate_product_shift=True,  # add the engine's product shift to each exponent (False only for tests)
    trace_impulses=None,  # {projection: {trace: impulse in hardware units}}
    unbounded_headroom=4.0,  # range of unbounded plastic weights: this x the largest initial weight
    vth_bits=14,  # thresholds at most 2**vth_bits - 1: 2**(17 - vth_bits) x vth of headroom for u and v
    e_range_events=32,  # the tag range holds this many single-coincidence increments
    max_coefficient_error=0.125,  # larger relative errors of a rule coefficient are an error
    approximate=False,  # opt in: functions of traces -> least-squares polynomials (sums of products), error reported
    approximation_degree=2,
    check_capacity=True,
)


def compile_network(network, hardware="loihi2", seed=None, steps=None, **options):
    """Compile ``network`` (a Network or a path) for ``hardware`` (a config
    name, path or :class:`~neurohebb.hardware.HardwareConfig`).  The program is
    what every fixed-point executor runs (the reference's fixed model, the Lava
    lowerings): nothing in it depends on who runs it.

    Returns ``(program, report)``; ``report.format()`` is the text the CLI
    prints.  Raises :class:`~neurohebb.errors.NotExpressible` (a term,
    parameter or population the target cannot express, naming each) or
    :class:`~neurohebb.errors.CapacityExceeded` (with the numbers).
    ``seed``/``steps`` override the document's (initial weights in the report,
    modulator ranges).  Options: see ``DEFAULTS``."""
    from ..ir import Network
    from ..ir import load as load_doc

    if not isinstance(network, Network):
        network = load_doc(network)
    validate(network)
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown compile option(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
    opts = {**DEFAULTS, **options}
    hw = load_hardware(hardware)
    seed = network.run.seed if seed is None else int(seed)
    steps = network.run.steps if steps is None else int(steps)
    report = CompileReport(network.name, hw.name, hw.kind, seed, compensate=opts["compensate_product_shift"])
    if hw.kind == "float":
        dt = network.run.dtype
        if dt not in hw.float.dtypes:
            raise NotExpressible([("run.dtype", f"{dt} is not one of {hw.name}'s float types ({', '.join(hw.float.dtypes)})")],
                                 hw.name)
        report.note("", f"{hw.name}: {dt} arithmetic (relative rounding {np.finfo(dt).eps:.2g} per operation)")
        prog = FloatProgram(network, hw, dt, opts, report)
        return prog, report
    try:
        return _Compiler(network, hw, seed, steps, opts, report).run()
    except (ArithmeticError, ValueError) as exc:
        # a finite parameter whose scale the target's integers cannot hold (1e-320, 1e308, ...)
        raise NotExpressible([("", f"a parameter lies outside the range {hw.name}'s fixed-point arithmetic can "
                                   f"represent ({type(exc).__name__}: {exc}); bring weights, bounds, thresholds "
                                   "and rule coefficients to moderate magnitudes")], hw.name) from None


class SynapseCounts:
    """Synapses per post neuron (``per_post``) and the number of pre neurons
    with at least one synapse (``pres``) of a projection that is not all-to-all."""

    def __init__(self, per_post, pres):
        self.per_post, self.pres = per_post, pres


class _Compiler:
    def __init__(self, net, hw, seed, steps, opts, report):
        self.net, self.hw, self.seed, self.steps, self.opts = net, hw, seed, steps, opts
        self.report = report
        self.problems: list[tuple[str, str]] = []
        self.rules = {k: pr.rule.expand() for k, pr in net.projections.items() if pr.rule is not None}

    # ------------------------------------------------------------------ top
    def run(self):
        from ..semantics import initial_synapses

        net, hw, report = self.net, self.hw, self.report
        self._check_populations()
        self._check_projections()
        # the synapses' initial weights (one per existing synapse, (post, pre) order) and, for the capacity
        # check, their counts: never a dense (post, pre) array, so chip-sized sparse networks compile
        W0, masks = {}, {}
        for k, pr in net.projections.items():
            post, pre, W = initial_synapses(net, k, self.seed, np.float64)
            W0[k] = W
            if pr.connectivity.type != "all_to_all":
                masks[k] = SynapseCounts(np.bincount(post, minlength=size(net, pr.post)),
                                         int(np.count_nonzero(np.bincount(pre, minlength=size(net, pr.pre)))))
            else:
                masks[k] = None
            del post, pre
        self.W0, self.masks = W0, masks
        ranges = {k: self._weight_range(k) for k in net.projections}
        pops, wmaps = self._neuron_scales(ranges)
        projs = {}
        for k, pr in net.projections.items():
            if k not in wmaps:
                continue
            wm = wmaps[k]
            self._report_weights(k, wm)
            pp = ProjectionProgram(k, pr.pre, pr.post, wm, pr.delay, plastic=pr.rule is not None)
            if pr.rule is not None and self.hw.learning is not None:
                self._lower_plastic(k, pp)
            projs[k] = pp
        if self.problems:
            raise NotExpressible(self.problems, hw.name)
        if self.opts["check_capacity"] and hw.capacity is not None:
            cap_problems = []
            tags = {k for k, r in self.rules.items() if r.de}
            check_capacity(net, hw.capacity, masks, tags, report, cap_problems)
            if cap_problems:
                raise CapacityExceeded(cap_problems, hw.name)
        for n in hw.notes:
            report.note("", n)
        prog = FixedProgram(net, hw, pops, projs, self.opts, report)
        return prog, report

    # ------------------------------------------------------------------ checks
    def _check_populations(self):
        hw = self.hw
        for name, p in self.net.populations.items():
            path = f"populations.{name}"
            if p.type == "external":
                self.problems.append((path, f"an external (host step function) population is not compiled for "
                                            f"{hw.name}: a closed loop through the host each step is not modelled; "
                                            "run it on a float target (reference, nengo)"))
            elif p.type == "rate":
                self.problems.append((path, f"rate neurons (graded activity) have no fixed-point model on {hw.name}; "
                                            "use LIF neurons with traces as rate estimates (x_tau, y_tau), or a float target"))
            elif p.type in SOURCE_TYPES and getattr(p, "graded", False):
                self.problems.append((path, f"graded array activity cannot be sent as spikes on {hw.name}; give a boolean "
                                            "(spike) array, a poisson source, or use a float target"))
            elif p.type == "lif_dendritic":
                self.problems.append((path, f"{hw.name} has no multi-compartment neuron; a lif_dendritic population "
                                            "(dendritic branches with NMDA-like plateaus) runs on the reference "
                                            "backend in float only"))
            elif p.type == "lif" and p.prescribed is not None and getattr(p.prescribed, "graded", False):
                self.problems.append((f"{path}.prescribed", "a graded prescribed activity cannot be sent as spikes"))
            elif p.type == "lif" and p.prescribed is None:
                if p.refractory and not hw.neuron.refractory:
                    self.problems.append((f"{path}.refractory", f"{hw.name}'s neuron has no refractory period"))
                if p.v_reset != 0 and not hw.neuron.reset_value:
                    self.problems.append((f"{path}.v_reset", f"{hw.name}'s neuron resets v to 0 only"))

    def _check_projections(self):
        hw = self.hw
        for k, pr in self.net.projections.items():
            path = f"projections.{k}"
            if hw.capacity is not None and pr.delay > hw.capacity.max_delay:
                self.problems.append((f"{path}.delay", f"{pr.delay} steps exceeds {hw.name}'s largest delay "
                                                       f"{hw.capacity.max_delay}"))
            if pr.rule is not None and hw.learning is None:
                self.problems.append((f"{path}.rule", f"{hw.name} has no on-chip learning engine for this rule: "
                                                      f"{hw.learning_note or 'learning is null in its config'}"))

    # ------------------------------------------------------------------ weights
    def _init_extent(self, k) -> float:
        pr = self.net.projections[k]
        w = pr.weights
        if w.init == "constant":
            ext = abs(w.value)
        elif w.init == "uniform":
            ext = max(abs(w.low), abs(w.high))
        elif w.init == "normal":
            ext = abs(w.mean) + 4 * w.std
        elif w.init == "gaussian_arbor":
            ext = abs(w.amplitude) + 4 * w.noise
        else:
            ext = float(np.abs(self.W0[k]).max()) if self.W0[k].size else 0.0
        lo, hi = pr.effective_bounds()
        if w.clip_to_bounds:
            ext = min(ext, max(abs(lo), abs(hi)))
        return float(max(ext, np.abs(self.W0[k]).max() if self.W0[k].size else 0.0))

    def _sign_mode(self, k) -> str:
        pr = self.net.projections[k]
        lo, hi = pr.effective_bounds()
        if lo >= 0:
            return "excitatory"
        if hi <= 0:
            return "inhibitory"
        if pr.rule is None:
            w = pr.weights
            if w.init == "constant" or (w.init == "gaussian_arbor" and w.noise == 0):
                v = w.value if w.init == "constant" else w.amplitude
                return "excitatory" if v >= 0 else "inhibitory"
            if w.init == "uniform" and (w.low >= 0 or w.high <= 0):
                return "excitatory" if w.low >= 0 else "inhibitory"
            if w.init == "array":
                W = np.asarray(w.values)
                if W.min() >= 0:
                    return "excitatory"
                if W.max() <= 0:
                    return "inhibitory"
        return "mixed"

    def _weight_range(self, k):
        """(sign mode, R: the float magnitude mapped to the end of the range,
        bounded: the bounds must land on the clip points, source text)."""
        pr = self.net.projections[k]
        mode = self._sign_mode(k)
        lo, hi = pr.effective_bounds()
        ext = self._init_extent(k)
        path = f"projections.{k}.bounds"
        plastic = pr.rule is not None
        if mode == "excitatory" and lo > 0 and plastic:
            self.problems.append((path, f"lower bound {lo} > 0: the learning engine clips excitatory weights only at 0 "
                                        f"and at the top of its range; a positive lower bound cannot be expressed"))
        if mode == "inhibitory" and hi < 0 and plastic:
            self.problems.append((path, f"upper bound {hi} < 0: the learning engine clips inhibitory weights only at 0 "
                                        "and at the bottom of its range"))
        if not plastic:
            return mode, (ext if ext > 0 else 1.0), False, "largest initial weight"
        side = {"excitatory": [hi], "inhibitory": [-lo], "mixed": [-lo, hi]}[mode]
        finite = [b for b in side if math.isfinite(b)]
        if len(finite) == len(side):
            return mode, max(finite), True, "bounds"
        R = max(finite + [self.opts["unbounded_headroom"] * ext])
        if R == 0:
            self.problems.append((path, "the weights are unbounded and all initial weights are 0: no way to choose a "
                                        "weight scale; give bounds"))
            R = 1.0
        src = f"{self.opts['unbounded_headroom']:g} x the largest initial weight ({ext:.4g})"
        if finite:
            src = f"bound {max(finite):.4g} / " + src
        self.report.note(f"projections.{k}", f"weights unbounded in the document; the hardware bounds them to +-{R:.4g} "
                                             f"({src}); saturations are counted in the run report")
        return mode, R, bool(finite), src

    def _code_max(self, mode) -> int:
        r = self.hw.weights.ranges[mode]
        return {"excitatory": r[1], "inhibitory": -r[0], "mixed": min(-r[0], r[1])}[mode]

    def _neuron_scales(self, ranges):
        """LifMaps of simulated LIF populations and WeightMaps of every projection."""
        net, hw = self.net, self.hw
        e0, e1 = hw.weights.exponent
        vcap = 2 ** self.opts["vth_bits"] - 1
        vmax = 2**hw.neuron.threshold_bits - 1
        pops, wmaps = {}, {}
        for name, p in net.populations.items():
            inc = [k for k, pr in net.projections.items() if pr.post == name]
            simulated = p.type == "lif" and p.prescribed is None
            if not simulated:
                pops[name] = None
                for k in inc:
                    mode, R, _, src = ranges[k]
                    cm = self._code_max(mode)
                    wmaps[k] = self._wmap(k, mode, R / cm, 0, src)
                continue
            path = f"populations.{name}"
            if not inc:
                K = vcap / p.vth
            else:
                plastic = [k for k in inc if net.projections[k].rule is not None]
                anchor = plastic[0] if plastic else max(inc, key=lambda k: ranges[k][1] / self._code_max(ranges[k][0]))
                mode, R, _, src = ranges[anchor]
                lsb = R / self._code_max(mode)
                we = math.floor(math.log2(vcap * lsb / p.vth))
                we = min(max(we, e0), e1)
                K = 2.0**we / lsb
                if round(p.vth * K) > vmax:
                    self.problems.append((f"{path}.vth", f"threshold {p.vth} is {p.vth / lsb:.4g} weight LSBs of "
                                                         f"projection {anchor}; even with weight exponent {e0} it needs "
                                                         f"{round(p.vth * K)} > {vmax} (threshold bits "
                                                         f"{hw.neuron.threshold_bits}): weights too small for the threshold"))
                if round(p.vth * K) < 1:
                    self.problems.append((f"{path}.vth", f"threshold {p.vth} is below one input unit even with weight "
                                                         f"exponent {e1}: weights too large for the threshold"))
                wmaps[anchor] = self._wmap(anchor, mode, lsb, we, src)
                self.report.mapping(path, f"neuron scale K = {K:.6g} input units per float unit (set by projection "
                                          f"{anchor}: 2^{we} / LSB {lsb:.4g}); v and u carry "
                                          f"{hw.neuron.threshold_shift} more fraction bits")
                for k in inc:
                    if k == anchor:
                        continue
                    mode, R, bounded, src = ranges[k]
                    cm = self._code_max(mode)
                    if bounded:
                        we_k = round(math.log2(R * K / cm))
                    else:
                        we_k = math.ceil(math.log2(R * K / cm) - 1e-12)
                    if not e0 <= we_k <= e1:
                        self.problems.append((f"projections.{k}.weights", f"needs weight exponent {we_k} outside "
                                                                          f"[{e0}, {e1}] to share population {name}'s scale "
                                                                          f"with projection {anchor}"))
                        we_k = min(max(we_k, e0), e1)
                    lsb_k = 2.0**we_k / K
                    if bounded and abs(R / lsb_k - cm) > 1.0:
                        self.problems.append((f"projections.{k}.bounds", f"population {name}'s neuron scale is set by "
                                                                         f"projection {anchor}; with it the bound {R:.4g} "
                                                                         f"maps to {R / lsb_k:.1f} LSB, not to the engine's "
                                                                         f"clip point {cm}: make the ratio of the two "
                                                                         "projections' bounds a power of two"))
                    wmaps[k] = self._wmap(k, mode, lsb_k, we_k, src)
            pops[name] = self._lif(name, p, K)
        return pops, wmaps

    def _wmap(self, k, mode, lsb, we, src):
        r = self.hw.weights.ranges[mode]
        pr = self.net.projections[k]
        return WeightMap(mode, lsb, we, r[0], r[1], self.hw.weights.step(mode), pr.effective_bounds(), src)

    def _report_weights(self, k, wm: WeightMap):
        pr = self.net.projections[k]
        rep = self.report
        rep.mapping(f"projections.{k}", f"{wm.sign_mode} weights, 1 LSB = {wm.scale:.6g} (hardware range "
                                        f"[{wm.lo}, {wm.hi}] = [{wm.lo * wm.scale:.4g}, {wm.hi * wm.scale:.4g}], "
                                        f"from the {wm.range_source}); weight_exp {wm.weight_exp}"
                                        + (f"; initial weights on a grid of {wm.step} LSB" if wm.step > 1 else ""))
        lo, hi = wm.doc_bounds
        for b, c, which in ((lo, wm.lo, "lower"), (hi, wm.hi, "upper")):
            if math.isfinite(b) and pr.rule is not None:
                rep.add(f"projections.{k}.bounds ({which})", b, f"{c} LSB", c * wm.scale,
                        "clip point of the engine")
        vals = self.W0[k]
        Wi = wm.quantize(vals)
        back = wm.dequantize(Wi)
        err = np.abs(back - vals)
        nz = vals != 0
        rel = float(err.max() / np.abs(vals).max()) if nz.any() else 0.0
        mean_rel = float(np.mean(err[nz] / np.abs(vals[nz]))) if nz.any() else 0.0
        zeroed = int(np.sum(nz & (Wi == 0)))
        rep.quantized.append(_q(f"projections.{k}.weights (initial)",
                                f"{vals.size} values in [{vals.min():.4g}, {vals.max():.4g}]" if vals.size else "none",
                                f"ints in [{Wi.min() if Wi.size else 0}, {Wi.max() if Wi.size else 0}] x {wm.scale:.4g}",
                                f"max |error| {err.max() if err.size else 0:.3g} = "
                                f"{(err.max() / wm.scale) if err.size else 0:.3g} LSB (bound {wm.step / 2:g} LSB)",
                                rel, f"rel. error of the largest weight; mean rel. error {mean_rel:.2%}" + (f"; {zeroed} nonzero weights became 0" if zeroed else "")))

    # ------------------------------------------------------------------ LIF
    def _lif(self, name, p, K) -> LifMap:
        nh = self.hw.neuron
        rep = self.report
        path = f"populations.{name}"
        D = 2**nh.decay_bits
        du = int(round(p.du * D)) - nh.du_offset
        dv = int(round(p.dv * D)) - nh.dv_offset
        for nm, raw, off in (("du", du, nh.du_offset), ("dv", dv, nh.dv_offset)):
            val = min(max(raw, 0), D - 1)
            if val != raw:
                rep.note(f"{path}.{nm}", f"{getattr(p, nm)} needs {raw} outside [0, {D - 1}]; clamped")
            orig = getattr(p, nm)
            rep.add(f"{path}.{nm}", orig, f"({val} + {off}) / {D}" if off else f"{val} / {D}", (val + off) / D)
        du = min(max(du, 0), D - 1)
        dv = min(max(dv, 0), D - 1)
        vth = int(round(p.vth * K))
        vth = min(max(vth, 1), 2**nh.threshold_bits - 1)
        rep.add(f"{path}.vth", p.vth, f"{vth} (<< {nh.threshold_shift})", vth / K)
        vs = K * 2**nh.threshold_shift
        n = p.n
        b = np.broadcast_to(np.asarray(p.bias, float), (n,)).astype(float)
        target = b * vs
        mbits = nh.bias_mantissa_bits - 1
        be0, be1 = nh.bias_exponent
        exps = np.full(n, be0, np.int64)
        mants = np.zeros(n, np.int64)
        for i in range(n):
            for e in range(be0, be1 + 1):
                mnt = int(round(target[i] / 2.0**e))
                if abs(mnt) <= 2**mbits - 1:
                    exps[i], mants[i] = e, mnt
                    break
            else:
                self.problems.append((f"{path}.bias", f"bias {b[i]:.4g} needs {target[i]:.4g} hardware units, beyond "
                                                      f"mantissa {2**mbits - 1} x 2^{be1}"))
        back = mants * 2.0**exps / vs
        if np.any(b != 0):
            rep.add_array(f"{path}.bias", b, back, f"mantissa x 2^exponent, exponents {sorted(set(exps.tolist()))}")
        smax = 2 ** (nh.state_bits - 1) - 1
        vi = np.broadcast_to(np.asarray(p.v_init, float), (n,)).astype(float)
        v_init = np.clip(np.rint(vi * vs), -smax, smax).astype(np.int64)
        if np.any(vi != 0):
            rep.add_array(f"{path}.v_init", vi, v_init / vs, "integer")
        v_reset = int(np.clip(round(p.v_reset * vs), -smax, smax))
        if p.v_reset != 0:
            rep.add(f"{path}.v_reset", p.v_reset, str(v_reset), v_reset / vs)
        headroom = (smax / 2**nh.activation_shift) / K
        rep.mapping(path, f"LIF: u and v in units of 1/{vs:.6g} (threshold {vth} << {nh.threshold_shift}); u wraps "
                          f"beyond +-{headroom:.4g} = {headroom / p.vth:.3g} x vth (wraps are counted in the run report)")
        if p.refractory:
            rep.note(path, f"refractory period {p.refractory}: implemented like the float LIFRefractory model "
                           "(Lava 0.10 has no fixed-point refractory LIF; Loihi 2 needs a microcode neuron)")
        if p.v_reset != 0:
            rep.note(path, "v_reset != 0: Lava's LIF resets to 0; Loihi 2 needs a microcode neuron")
        return LifMap(K, du, dv, nh.du_offset, nh.dv_offset, nh.decay_bits, vth, nh.threshold_shift,
                      nh.activation_shift, mants, exps, v_init, v_reset, p.refractory, nh.state_bits,
                      nh.u_overflow, nh.v_overflow)

    # ------------------------------------------------------------------ rules
    def _lower_plastic(self, k, pp: ProjectionProgram):
        hw, rep = self.hw, self.report
        lr, tc = hw.learning, hw.traces
        rule = self.rules[k]
        path = f"projections.{k}.rule"
        overrides = (self.opts["trace_impulses"] or {}).get(k, {})
        if self.opts["approximate"] and rule.functions:
            tmax = {}
            for t, spec in rule.traces.items():
                d = overrides.get(t, tc.default_impulse if spec.tau > 0 else tc.zero_tau_impulse)
                tmax[t] = tc.max / float(d) * spec.impulse
            rule = approximate_functions(rule, tmax, self.opts["approximation_degree"], self.report, path)
            self.rules[k] = rule
        candidates = {}
        n_problems = len(self.problems)
        for t, spec in rule.traces.items():
            tpath = f"{path}.traces.{t}"
            if spec.impulse < 0:
                self.problems.append((tpath, f"impulse {spec.impulse} < 0: traces are unsigned on {hw.name}"))
                continue
            if spec.tau > tc.tau_max:
                self.problems.append((tpath, f"tau {spec.tau} exceeds {hw.name}'s largest {tc.tau_max}"))
            d = tc.default_impulse if spec.tau > 0 else tc.zero_tau_impulse
            imp_hw = float(overrides.get(t, d))
            ii = int(math.floor(imp_hw))
            fr = int(round((imp_hw - ii) * 2**tc.fraction_bits))
            if ii > tc.max or imp_hw <= 0:
                self.problems.append((tpath, f"hardware impulse {imp_hw} outside (0, {tc.max}]"))
                continue
            scale = (ii + fr / 2**tc.fraction_bits) / spec.impulse if spec.impulse > 0 else 1.0
            pp.traces[t] = TraceMap(t, spec.impulse, spec.tau, ii, fr, tc.fraction_bits, scale, tc.max)
            candidates[t] = list(range(max(1, d // 4), min(tc.max, 2 * d) + 1))
        if len(self.problems) > n_problems:  # a trace the engine cannot hold: the rule cannot be lowered
            return
        ctx = {"traces": pp.traces, "w": pp.weights, "tag": None, "r": None, "report": rep,
               "max_error": self.opts["max_coefficient_error"], "compensate": self.opts["compensate_product_shift"],
               "label": hw.title}
        if "r" in rule.used_vars():
            pp.third_factor, ctx["r_problem"] = self._third_factor(k, rule)
            ctx["r"] = pp.third_factor
        if rule.de:
            pp.tag = self._tag_map(k, rule, pp)
            ctx["tag"] = pp.tag
            # the tag's scale is continuous: make the first dw product that reads e (and not r) exact
            sub = type(rule)(tuple(p for p in rule.dw if "e" in p.vars() and "r" not in p.vars()), (), rule.traces,
                             rule.functions, rule.timing, rule.modulator, rule.template)
            for C0, _, _, sh, _ in coeff_terms(sub, pp.traces, ctx, lr):
                pp.tag.scale /= exact_scale(C0, lr, sh)
                break
            self.report.mapping(f"projections.{k}.e", f"eligibility (Lava tag t), 1 LSB = {pp.tag.scale:.6g}, range "
                                                      f"[{pp.tag.lo}, {pp.tag.hi}] ({pp.tag.source})")
        # integer impulses that make the coefficients representable (the impulse is the trace's scale)
        pinned = {t for t in overrides} | {t for t, tm in pp.traces.items() if tm.impulse == 0}
        chosen = choose_impulses(rule, pp.traces, ctx, lr, pinned, candidates)
        for t, tm in pp.traces.items():
            if t not in pinned and chosen[t] != tm.impulse_int:
                tm.impulse_int, tm.impulse_frac = chosen[t], 0
                tm.scale = chosen[t] / tm.impulse
        # the third factor's scale is continuous: make the first product that reads r exact
        tf = pp.third_factor
        if tf is not None:
            for C0, _, _, sh, _ in _coeff_terms_r(rule, ctx, lr):
                tf.scale *= exact_scale(C0, lr, sh, max_factor=2.0)
                break
            _shrink_third_factor(tf, rule, ctx, lr, self.opts["compensate_product_shift"])
            self._report_third_factor(k, tf)
        for t, tm in pp.traces.items():
            fr = tm.impulse_frac
            how = "given" if t in overrides else ("chosen" if tm.impulse_int != (tc.default_impulse if tm.tau > 0 else tc.zero_tau_impulse) else "default")
            rep.add(f"{path}.traces.{t}.impulse", tm.impulse, f"{tm.impulse_int}" + (f" + {fr}/{2**tc.fraction_bits}" if fr else ""),
                    tm.impulse, f"{how}; 1 trace unit = {1 / tm.scale:.4g}; tau {tm.tau:g} (decay stochastically "
                                f"rounded); saturates at {tc.max} = {tm.headroom_impulses:.3g} impulses")
            if fr:
                rep.note(f"{path}.traces.{t}", f"fractional impulse {fr}/{2**tc.fraction_bits}: the engine rounds it up "
                                               f"when a {tc.impulse_random_bits}-bit random integer is below it, i.e. with "
                                               f"probability {min(1.0, fr / 2**tc.impulse_random_bits):.3g} instead of "
                                               f"{fr / 2**tc.fraction_bits:.3g} (biased); prefer integer impulses")
        prods = lower_rule(k, rule, lr, ctx, rep, self.problems, self.opts["compensate_product_shift"])
        pp.products = prods
        for hp in prods:
            rep.rules.append(_rule_row(k, hp, pp))
        if not self.opts["compensate_product_shift"]:
            rep.note(path, "product-shift compensation DISABLED: every product with shift s > 0 is 2^s times too small")

    def _report_third_factor(self, k, tf):
        hi = tf.hi
        self.report.mapping(f"projections.{k}.r", f"third factor r (modulator {tf.modulator}) -> post trace slot "
                                                  f"{tf.slot}: round(r x {tf.scale:.6g}) in [{tf.lo}, {tf.hi}] "
                                                  f"(|r| <= {tf.r_max:.4g} over {self.steps} steps); "
                                                  f"1 unit = {1 / tf.scale:.4g}")
        self.report.add(f"modulators.{tf.modulator} (as {tf.slot} of {k})", tf.r_max,
                        f"{tf.r_max * tf.scale:.4g}", tf.r_max,
                        (f"resolution {1 / tf.scale:.3g} ({1 / (tf.scale * tf.r_max):.2%} of the largest |r|); "
                         "rounded to nearest each step") if tf.r_max > 0 else
                        "r is 0 over the whole run: the products that read it never change w")

    def _tag_map(self, k, rule, pp) -> TagMap:
        lr = self.hw.learning
        lo, hi = lr.tag_range
        deltas = []
        for p in rule.de:
            if p.dep == "u" or any(f.var not in pp.traces for f in p.factors):
                continue
            d = abs(p.coeff)
            for f in p.factors:
                d *= abs(self.rules[k].traces[f.var].impulse + f.offset)
            deltas.append(d)
        n_ev = self.opts["e_range_events"]
        if deltas and max(deltas) > 0:
            scale = n_ev * max(deltas) / hi
            src = f"{n_ev} single-coincidence increments ({max(deltas):.4g} each) fill the range"
        else:
            scale = pp.weights.scale
            src = "same LSB as the weights"
        return TagMap(scale, lo, hi, src)

    def _third_factor(self, k, rule):
        lr = self.hw.learning
        tf = lr.third_factor
        name = rule.modulator
        if tf is None:
            return None, f"{self.hw.title} has no third-factor route for r"
        free = [s for s in tf.slots if s not in rule.traces]
        if not free:
            return None, (f"r (the third factor) reaches the {self.hw.title} engine only through a post-trace "
                          f"slot ({' or '.join(tf.slots)}) that the post neuron overwrites each step, and this rule "
                          f"uses {' and '.join(s for s in tf.slots)} as traces: free one of them")
        slot = free[0]
        r_max = modulator_max(self.net, name, self.steps)
        lo, hi = tf.range
        scale = (hi / r_max) if r_max > 0 else 1.0
        return ThirdFactorMap(name, slot, scale, lo, hi, r_max), None


def _shrink_third_factor(tf, rule, ctx, lr, compensate):
    """Halve r's scale while a product that reads r has a coefficient below the
    engine's resolution (or further off than ``max_error``) and r's largest value
    still maps to at least one unit.  r's full 7-bit range makes every r product's
    coefficient per unit ~100x smaller; for a gate (r in {0, 1}) or a coarse r that
    range buys nothing, and small learning rates (a fraction of a weight LSB per
    spike, rounded stochastically) then round to 0.  After shrinking, r's largest
    value maps to an integer.  The resolution of r that results is in the report."""
    from .rules import quantize_coeff

    def bad():
        for C, _, _, sh, _ in _coeff_terms_r(rule, ctx, lr):
            _, _, _, err, status = quantize_coeff(C, sh, lr, compensate)
            if status != "ok" or err > ctx["max_error"]:
                return True
        return False

    shrunk = False
    while tf.r_max * tf.scale / 2 >= 1 and bad():
        tf.scale /= 2
        shrunk = True
    if shrunk:
        # r's largest value on an integer (a gate's 1 is then exact; smaller scale, larger coefficients)
        tf.scale = max(1, math.floor(tf.r_max * tf.scale)) / tf.r_max


def _coeff_terms_r(rule, ctx, lr):
    """Coefficient terms of the products that read r (for the r scale)."""
    from .rules import coeff_terms

    class _R:
        pass

    sub = type(rule)(tuple(p for p in rule.dw if "r" in p.vars()), tuple(p for p in rule.de if "r" in p.vars()),
                     rule.traces, rule.functions, rule.timing, rule.modulator, rule.template)
    return coeff_terms(sub, ctx["traces"], ctx, lr)


def _q(path, orig, hw, value, rel, note):
    from .report import Quantized

    return Quantized(path, orig, hw, value, rel, note)


def _rule_row(k, hp, pp):
    from .report import RuleRow

    unit = 2.0**hp.exp_engine
    if hp.shift > 0:
        thr = 2**hp.shift / abs(hp.mantissa)
        zero = (f"|product of factors| < {thr:.4g} truncates (to 0 if positive, -1 unit if negative)")
    else:
        zero = ""
    return RuleRow(k, hp.target, hp.source, hp.ideal, hp.mantissa, hp.exponent, hp.shift, hp.exp_engine, hp.rel_error,
                   hp.engine_string, unit, hp.origin, zero)


def modulator_max(net, name, steps) -> float:
    """Largest |r| of modulator ``name`` over ``steps`` steps
    (:meth:`neurohebb.semantics.Modulator.max_abs`)."""
    return modulator_max_abs(net.modulators[name], steps)


def compile_file(path, hardware="loihi2", **options):
    """``compile`` for a document path (what ``neurohebb compile FILE`` calls)."""
    return compile_network(Path(path), hardware=hardware, **options)


__all__ = ["compile_network", "compile_file", "effective_rule", "effective_network", "modulator_max", "DEFAULTS"]


def effective_rule(pp) -> dict:
    """The rule a compiled projection implements, written back in float units
    as a ``custom`` rule spec: each hardware product's coefficient ``m * 2**E``
    and bracket constants converted with the projection's scales.  The
    difference between a float run of this rule and of the document's rule is
    the effect of coefficient quantization alone.  Products that read a spike
    as a factor (the emulation of exclusive timing) have no float form:
    ``UnsupportedFeature``."""
    inv = {pp.third_factor.slot: "r"} if pp.third_factor is not None else {}

    def q(var):
        if var in pp.traces and var not in inv:
            return pp.traces[var].scale
        if var == "w":
            return 1.0 / pp.weights.scale
        if var == "e":
            return 1.0 / pp.tag.scale
        if var in inv:
            return pp.third_factor.scale
        raise UnsupportedFeature(f"projections.{pp.name}: {var} has no float form in an IR rule")

    sums = {"w": [], "e": []}
    for p in pp.products:
        c = p.coefficient * (pp.weights.scale if p.target == "w" else pp.tag.scale)
        parts = []
        for f in p.factors:
            if f.var in ("x0", "y0"):
                raise UnsupportedFeature(f"projections.{pp.name}: product {p.source} reads a spike as a factor "
                                         "(exclusive timing emulation); it has no float form")
            c *= q(f.var)
            name = inv.get(f.var, f.var)
            parts.append(name if f.const == 0 else f"({name} + {f.const / q(f.var)!r})")
        sums[p.target].append("*".join([repr(c), p.dep] + parts))
    spec = {"template": "custom", "dw": " + ".join(sums["w"]) or "0*u", "timing": "inclusive",
            "traces": {t: {"impulse": tm.impulse, "tau": tm.tau} for t, tm in pp.traces.items()}}
    if sums["e"]:
        spec["de"] = " + ".join(sums["e"])
    if pp.third_factor is not None:
        spec["modulator"] = pp.third_factor.modulator
    return spec


def effective_network(program):
    """The program's network with every plastic projection's rule replaced by
    :func:`effective_rule` (a float document of what the hardware computes,
    up to rounding)."""
    from ..ir.io import from_dict, to_dict

    doc = to_dict(program.network)
    for k, pp in program.projections.items():
        if pp.plastic:
            doc["projections"][k]["rule"] = effective_rule(pp)
    return from_dict(doc, source="effective network")
