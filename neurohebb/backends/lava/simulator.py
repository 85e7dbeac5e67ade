"""Run a network on Lava (``Loihi2SimCfg`` float or fixed, or ``Loihi2HwCfg``
with ``board=True``) and fill a :class:`~neurohebb.result.Result` as the
reference does."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from ...errors import BackendUnavailable, UnsupportedFeature
from ...ir.validate import SOURCE_TYPES, size, validate
from ...result import ProbeData, Result
from ...semantics import Modulator, SourceTrain, derived_seeds, initial_weights
from . import lowering as L
from ._lava_import import board_available, import_lava
from ...progress import show_progress

import_lava()

NAME = "lava"
PRECISIONS = ("float", "fixed")
#: ``seeded``: the weight-rounding stream is seeded from the run seed exactly as
#: the reference fixed mode seeds it (bit-identical runs); ``lava``: Lava's
#: own hard-wired ``ConnVarRandom`` seed 2 (reproduce it in the reference with
#: ``run_program(program, seeds=reference_seeds(net, seed, "lava"))``).
ROUNDINGS = ("seeded", "lava")
SIGN_MODES = {"excitatory": "EXCITATORY", "inhibitory": "INHIBITORY", "mixed": "MIXED"}
BOARD_ENV = "NEUROHEBB_LAVA_BOARD"


def reference_seeds(network, seed=None, rounding="seeded") -> dict:
    """``{projection: (trace seed, rounding seed)}`` of a lava:fixed run, for
    :func:`neurohebb.backends.reference.fixed.run_program` (``seeds=``): with
    ``rounding="lava"`` the reference reproduces Lava's hard-wired rounding
    stream (seed 2)."""
    seed = network.run.seed if seed is None else int(seed)
    out = {}
    for name, pr in network.projections.items():
        if pr.rule is None:
            continue
        ts, rs = derived_seeds(seed, name)
        out[name] = (ts, 2 if rounding == "lava" else rs)
    return out


LOWERINGS = ("emulate", "stock")


def compile_for(network, precision, hardware="loihi2", seed=None, steps=None, compile_options=None):
    """``(program, report)`` both lowerings run.  Fixed point: the network
    compiled for ``hardware`` (whatever the compiler refuses for Loihi is
    refused with its message).  Float: the rule terms Lava's engine cannot
    evaluate are refused with the compiler's messages, then the float program."""
    from ...compiler import compile_network
    from ...errors import NotExpressible

    if precision == "fixed":
        return compile_network(network, hardware=hardware, seed=seed, steps=steps, **(compile_options or {}))
    bad = L.float_expressibility(network, hardware)
    if bad:
        raise NotExpressible(bad, f"{hardware} (Lava float)")
    return compile_network(network, hardware="cpu", seed=seed, steps=steps)


def run(network, precision="float", seed=None, steps=None, progress=None, board=False, rounding="seeded",
        hardware="loihi2", readback="file", externals=None, lowering="emulate", drop_refractory=False,
        **compile_options):
    """Run ``network`` on Lava; see :func:`neurohebb.run`.

    ``precision``: ``float`` (``Loihi2SimCfg(select_tag="floating_pt")``) or
    ``fixed`` (the network compiled for ``hardware`` as for the reference's
    fixed mode, ``select_tag="fixed_pt"``).  ``board``: run with
    ``Loihi2HwCfg`` (needs lava-loihi; also set by the environment variable
    ``NEUROHEBB_LAVA_BOARD=1``).  ``rounding``: see :data:`ROUNDINGS`.
    ``readback``: ``file`` (the models write their final weights and
    recordings to a temporary ``.npz`` after the last step) or ``get``
    (Lava's ``Var.get()``, one message per element: slow for large arrays).
    ``compile_options`` go to the compiler (fixed).  ``externals`` is accepted
    for a uniform call signature; external populations are refused (no Lava lowering).
    ``lowering``: ``emulate`` (our processes, the document's semantics, CPU
    only) or ``stock`` (Lava's own process classes only, what a Loihi 2 board
    runs; see :mod:`.stock`); ``board=True`` implies ``stock`` and refuses,
    before running, a graph with a process that has no NeuroCore model.
    ``drop_refractory`` (stock): run LIF populations with a refractory
    period without it instead of refusing them."""
    if precision not in PRECISIONS:
        raise UnsupportedFeature(f"lava backend: precision {precision!r} is not available; known: {', '.join(PRECISIONS)}")
    if rounding not in ROUNDINGS:
        raise UnsupportedFeature(f"lava backend: rounding {rounding!r} unknown; known: {', '.join(ROUNDINGS)}")
    board = board or os.environ.get(BOARD_ENV, "") not in ("", "0")
    if lowering not in LOWERINGS:
        raise UnsupportedFeature(f"lava backend: lowering {lowering!r} unknown; known: {', '.join(LOWERINGS)}")
    if board:
        lowering = "stock"
    if lowering == "stock":
        return _run_stock(network, precision, seed, steps, progress, board, hardware, drop_refractory,
                          compile_options)
    if drop_refractory:
        raise UnsupportedFeature("lava backend: drop_refractory applies to lowering='stock' only")
    validate(network)
    rs = network.run
    seed = rs.seed if seed is None else int(seed)
    steps = rs.steps if steps is None else int(steps)
    t0 = time.perf_counter()
    program, creport = compile_for(network, precision, hardware, seed, steps, compile_options)
    problems = L.check_supported(network, precision)
    if problems:
        raise UnsupportedFeature("lava backend cannot run this network:\n  " +
                                 "\n  ".join(f"{p}: {m}" for p, m in problems))
    plan = _plan(network, program, precision, seed, steps, rounding)
    t_plan = time.perf_counter() - t0
    show = show_progress(progress)
    if readback not in ("file", "get"):
        raise UnsupportedFeature(f"lava backend: readback {readback!r} unknown; known: file, get")
    out = _run_graphs(network, plan, precision, steps, board, show, readback)
    res = _collect(network, plan, program, out, precision, seed, steps)
    res.report.update({
        "compile": creport,
        "hardware": hardware if precision == "fixed" else "cpu",
        "run_config": {"run_cfg": "Loihi2HwCfg" if board else "Loihi2SimCfg",
                       "select_tag": "floating_pt" if precision == "float" else "fixed_pt",
                       "condition": f"RunSteps({steps}), one run() per connected graph",
                       "graphs": len(out["graphs"]), "rounding": rounding if precision == "fixed" else None,
                       "readback": readback,
                       "seed": seed, "steps": steps},
        "lowering": plan["summary"],
        "timing_s": {"plan": t_plan, **out["timing"]},
    })
    if precision == "float":
        res.report["float_rules"] = plan["float_report"]
        if network.run.dtype != "float64":
            res.report["note"] = (f"run.dtype {network.run.dtype}: Lava's float models compute in float64")
    res.wall_time = time.perf_counter() - t0
    return res


# ============================================================================ plan
def _plan(net, program, precision, seed, steps, rounding):
    dt = net.run.dt
    rec = L.probe_steps(net, steps)
    pops, projs = {}, {}
    for name, p in net.populations.items():
        n = size(net, name)
        if p.type in SOURCE_TYPES:
            pp = L.PopPlan(name, "source", n, train=_train(p, n, dt, seed, name, steps, f"populations.{name}"))
        elif p.prescribed is not None:
            pp = L.PopPlan(name, "prescribed", n, train=_train(p.prescribed, n, dt, seed, name, steps,
                                                                f"populations.{name}.prescribed"))
        else:
            pp = L.PopPlan(name, "lif", n, needs_neuron=True)
            if precision == "float":
                pp.lif = dict(du=p.du, dv=p.dv, vth=p.vth, bias=np.broadcast_to(np.asarray(p.bias, float), (n,)).copy(),
                              v_reset=p.v_reset, refractory=p.refractory)
                pp.v_init = np.broadcast_to(np.asarray(p.v_init, float), (n,)).copy()
            else:
                lm = program.populations[name]
                pp.lif = dict(decay_bits=lm.decay_bits, du_eff=lm.du + lm.du_offset, dv_eff=lm.dv + lm.dv_offset,
                              activation_shift=lm.activation_shift, bias_eff=lm.bias_eff.astype(np.int64),
                              vth_eff=int(lm.vth) << lm.threshold_shift, v_reset=int(lm.v_reset),
                              refractory=int(lm.refractory), smax=2 ** (lm.state_bits - 1),
                              u_wrap=lm.u_overflow == "wrap")
                pp.v_init = lm.v_init.astype(np.int64)
            pp.rec = {v: rec[(name, v)] for v in ("v", "u", "input") if (name, v) in rec}
        pops[name] = pp
    float_report = {}
    for name, pr in net.projections.items():
        Wf, mask = initial_weights(net, name, seed, np.float64)
        plastic = pr.rule is not None
        if precision == "fixed":
            cp = program.projections[name]
            W = cp.weights.quantize(Wf)
            if mask is not None:
                W = np.where(mask, W, 0).astype(np.int32)
            jp = L.ProjPlan(name, pr.pre, pr.post, plastic, W, mask, pr.delay, cp.weights.weight_exp,
                            sign_mode=cp.weights.sign_mode)
        else:
            jp = L.ProjPlan(name, pr.pre, pr.post, plastic, Wf, mask, pr.delay)
        jp.bounds = pr.effective_bounds()
        jp.rec = {v: rec[(name, v)] for v in L.PROJ_REC if (name, v) in rec} if plastic else {}
        if plastic:
            rule = pr.rule.expand()
            slot = L.third_factor_slot(rule)
            jp.three_factor = slot is not None
            if precision == "fixed":
                _plan_fixed_rule(jp, program.projections[name], seed, rounding)
            else:
                _plan_float_rule(jp, rule, slot)
                float_report[name] = L.literal_report(L.float_products(rule))
            if jp.three_factor:
                _plan_third_factor(net, pops[pr.post], jp, rule, slot, program, precision, steps)
        projs[name] = jp
    summary = {
        "populations": {k: ("RingBuffer" if p.kind == "source" or (p.kind == "prescribed" and not p.needs_neuron)
                            else "RingBuffer -> NHNeuron (prescribed)" if p.kind == "prescribed" else "NHNeuron")
                        for k, p in pops.items()},
        "projections": {k: (("NHLearningDense + " + ("Loihi3FLearningRule" if j.three_factor else "Loihi2FLearningRule"))
                            if j.plastic else "NHDense") + (f", delay {j.delay}" if j.delay else "")
                        for k, j in projs.items()},
        "rules": {k: {kk: vv for kk, vv in j.rule_kwargs.items() if kk in ("dw", "dt")} for k, j in projs.items()
                  if j.plastic},
    }
    return {"pops": pops, "projs": projs, "rec": rec, "summary": summary, "float_report": float_report}


def _train(src, n, dt, seed, name, steps, path):
    tr = SourceTrain(src, n, dt, seed, f"source:{name}", np.float64)
    tr.check_steps(steps, path)
    out = np.zeros((steps, n), bool)
    for t in range(steps):
        out[t] = tr.at(t) != 0
    return out


def _plan_fixed_rule(jp, cp, seed, rounding):
    kw = L.fixed_rule_kwargs(cp, post_traces=not jp.three_factor)
    ts, rsd = derived_seeds(seed, jp.name)
    jp.seeds = (ts, rsd)
    kw["rng_seed"] = ts
    jp.round_seed = rsd if rounding == "seeded" else None
    jp.rule_kwargs = kw


def _plan_float_rule(jp, rule, slot):
    prods = L.float_products(rule)
    dw = [p for t, p in prods if t == "w"]
    de = [p for t, p in prods if t == "e"]
    kw, fr = {}, {}
    if dw:
        kw["dw"] = L.lava_rule_string(dw, slot, literal=False)
        fr["dw"] = L.float_applier_expr(dw, slot)
    if de:
        kw["dt"] = L.lava_rule_string(de, slot, literal=False)
        fr["dt"] = L.float_applier_expr(de, slot)
    tp = {}
    for t, spec in rule.traces.items():
        tp[t] = (float(spec.impulse), float(spec.tau))
        if t in L.PRE_TRACES or not jp.three_factor:
            kw[f"{t}_impulse"] = float(spec.impulse)
            kw[f"{t}_tau"] = float(spec.tau)
    jp.rule_kwargs = kw
    jp.float_rules = fr
    jp.trace_params = tp


def _plan_third_factor(net, post: L.PopPlan, jp, rule, slot, program, precision, steps):
    """The post neuron computes the rule's post traces and puts r in its slot."""
    post.needs_neuron = True
    mname = rule.modulator
    r = Modulator(mname, net.modulators[mname], np.float64).series(steps, post.n)
    rows = []
    if precision == "fixed":
        cp = program.projections[jp.name]
        tf = cp.third_factor
        r = np.clip(np.rint(r * tf.scale), tf.lo, tf.hi)
        for y in L.POST_TRACES:
            if y in cp.traces:
                tm = cp.traces[y]
                rows.append({"kind": "trace", "tau": tm.tau, "imp_int": tm.impulse_int, "imp_frac": tm.impulse_frac})
            elif y == tf.slot:
                rows.append({"kind": "r"})
            else:
                rows.append(None)
        post.three_factor = {"rows": rows, "seed": jp.seeds[0] + 2, "max": program.hardware.traces.max,
                             "projection": jp.name}
    else:
        for y in L.POST_TRACES:
            if y in rule.traces:
                rows.append({"kind": "trace", "tau": float(rule.traces[y].tau), "impulse": float(rule.traces[y].impulse)})
            elif y == slot:
                rows.append({"kind": "r"})
            else:
                rows.append(None)
        post.three_factor = {"rows": rows, "projection": jp.name}
    post.r_values = r


# ============================================================================ lava graphs
def _run_graphs(net, plan, precision, steps, board, show, readback="file"):
    import tempfile

    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    tag = "floating_pt" if precision == "float" else "fixed_pt"
    if board:
        from lava.magma.core.run_configs import Loihi2HwCfg

        cfg_factory = lambda: Loihi2HwCfg(select_tag=tag)  # noqa: E731
    else:
        cfg_factory = lambda: Loihi2SimCfg(select_tag=tag)  # noqa: E731
    pops, projs = plan["pops"], plan["projs"]
    results = {"neurons": {}, "dense": {}, "graphs": [], "timing": {"build": 0.0, "run": 0.0, "read": 0.0, "stop": 0.0}}
    with tempfile.TemporaryDirectory(prefix="neurohebb_lava_") as tmp:
        dumpdir = tmp if readback == "file" else None
        for comp in L.components(net, list(pops)):
            members = sorted(comp)
            cprojs = [j for j in projs.values() if j.post in comp]
            if not cprojs and all(pops[p].kind != "lif" for p in members):
                continue  # sources only: nothing to simulate
            t0 = time.perf_counter()
            procs = _build(pops, cprojs, members, precision, steps, dumpdir)
            anchor = procs["all"][0]
            t1 = time.perf_counter()
            if show:
                print(f"lava: running {len(procs['all'])} processes for {steps} steps ({tag})", file=sys.stderr)
            try:
                anchor.run(condition=RunSteps(num_steps=steps), run_cfg=cfg_factory())
                t2 = time.perf_counter()
                for name, nproc in procs["neurons"].items():
                    d = _read(nproc, ["spikes_rec", "counts"] + [f"rec_{v}" for v in pops[name].rec])
                    results["neurons"][name] = {"spikes": d["spikes_rec"].astype(bool), "counts": d["counts"],
                                                "rec": {v: d[f"rec_{v}"] for v in pops[name].rec}}
                for name, dproc in procs["dense"].items():
                    j = projs[name]
                    if j.plastic:
                        d = _read(dproc, ["weights"] + [f"rec_{v}" for v in j.rec])
                        results["dense"][name] = {"weights": d["weights"], "rec": {v: d[f"rec_{v}"] for v in j.rec}}
                    else:
                        results["dense"][name] = {"rec": {}}
                t3 = time.perf_counter()
            finally:
                anchor.stop()
            results["graphs"].append(members)
            results["timing"]["build"] += t1 - t0
            results["timing"]["run"] += t2 - t1
            results["timing"]["read"] += t3 - t2
            results["timing"]["stop"] += time.perf_counter() - t3
    results["readback"] = readback
    return results


def _read(proc, names) -> dict:
    """The model's dump (written after its last step) or, without one, ``Var.get()``."""
    path = proc.proc_params.get("dump")
    if path and os.path.exists(path):
        with np.load(path) as z:
            return {k: z[k] for k in names}
    return {k: getattr(proc, k).get() for k in names}


def _build(pops, cprojs, members, precision, steps, dumpdir=None):
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule, Loihi3FLearningRule
    from lava.proc.io.source import RingBuffer
    from lava.utils.weightutils import SignMode

    from .procs.dense import NHDense, NHLearningDense
    from .procs.neuron import NHNeuron

    allp, neurons, dense = [], {}, {}
    spike_out = {}  # population -> OutPort of its spikes
    for name in members:
        p = pops[name]
        if p.kind in ("source", "prescribed"):
            rb = RingBuffer(data=p.train.T.astype(float))
            allp.append(rb)
            spike_out[name] = rb.s_out
        if p.needs_neuron:
            nn = NHNeuron(n=p.n, steps=steps, lif=p.lif, prescribed=p.kind == "prescribed",
                          three_factor=p.three_factor, has_r=p.r_values is not None, rec=p.rec, v_init=p.v_init,
                          dump=os.path.join(dumpdir, f"pop_{name}.npz") if dumpdir else None, name=f"pop_{name}")
            allp.append(nn)
            neurons[name] = nn
            if p.kind == "prescribed":
                spike_out[name].connect(nn.p_in)
            spike_out[name] = nn.s_out
            if p.r_values is not None:
                rr = RingBuffer(data=p.r_values.T.astype(float))
                allp.append(rr)
                rr.s_out.connect(nn.r_in)
    for j in cprojs:
        W = np.asarray(j.W, float)
        if not j.plastic:
            d = NHDense(weights=W, delay=j.delay, weight_exp=j.weight_exp, name=f"proj_{j.name}")
        else:
            cls = Loihi3FLearningRule if j.three_factor else Loihi2FLearningRule
            rule = cls(**j.rule_kwargs)
            kw = {}
            if precision == "fixed":
                kw["sign_mode"] = getattr(SignMode, SIGN_MODES[j.sign_mode])
                kw["round_seed"] = j.round_seed
            d = NHLearningDense(weights=W, learning_rule=rule, delay=j.delay, weight_exp=j.weight_exp,
                                bounds=j.bounds, mask=j.mask, float_rules=j.float_rules, trace_params=j.trace_params,
                                rec=j.rec, steps=steps, name=f"proj_{j.name}",
                                dump=os.path.join(dumpdir, f"proj_{j.name}.npz") if dumpdir else None, **kw)
            bap = neurons[j.post].s_out_bap if j.post in neurons else spike_out[j.post]
            bap.connect(d.s_in_bap)
            if j.three_factor:
                nn = neurons[j.post]
                nn.s_out_y1.connect(d.s_in_y1)
                nn.s_out_y2.connect(d.s_in_y2)
                nn.s_out_y3.connect(d.s_in_y3)
        spike_out[j.pre].connect(d.s_in)
        if j.post in neurons:
            d.a_out.connect(neurons[j.post].a_in)
        allp.append(d)
        dense[j.name] = d
    return {"all": allp, "neurons": neurons, "dense": dense}


# ============================================================================ result
def _collect(net, plan, program, out, precision, seed, steps):
    pops, projs = plan["pops"], plan["projs"]
    res = Result(net.name, NAME, precision, seed, steps, net.run.dt)
    for name, p in pops.items():
        if name in out["neurons"] and p.kind == "lif":
            res.spikes[name] = out["neurons"][name]["spikes"]
        elif p.train is not None:
            res.spikes[name] = p.train.copy()
        else:  # a LIF population in no graph would be a bug
            raise AssertionError(name)
    conv_w = {}
    ints = {}
    for name, j in projs.items():
        if precision == "fixed":
            cp = program.projections[name]
            conv_w[name] = cp.weights.dequantize
            res.initial_weights[name] = cp.weights.dequantize(j.W)
            Wf = out["dense"].get(name, {}).get("weights", j.W)
            Wi = np.rint(np.asarray(Wf)).astype(np.int64)
            ints[name] = Wi.astype(np.int32)
            res.weights[name] = cp.weights.dequantize(Wi)
        else:
            conv_w[name] = lambda W: np.asarray(W, float)
            res.initial_weights[name] = j.W.copy()
            res.weights[name] = np.asarray(out["dense"].get(name, {}).get("weights", j.W), float)
    mods = {}
    for pname, pb in net.probes.items():
        times = np.arange(0, steps, pb.every, dtype=np.int64)
        data = _probe_data(net, pb, times, plan, program, out, precision, conv_w, mods, steps)
        res.probes[pname] = ProbeData(pb.target, pb.var, times, data)
    if precision == "fixed":
        res.report["lsb"] = {k: pp.weights.scale for k, pp in program.projections.items()}
        res.report["integer_weights"] = ints
        res.report["neurons"] = {k: {"u_wraps": int(d["counts"][0]), "v_saturations": int(d["counts"][1])}
                                 for k, d in out["neurons"].items() if pops[k].kind == "lif"}
        res.report["seeds"] = {k: {"trace_seed": j.seeds[0], "rounding_seed": j.round_seed if j.round_seed is not None
                                   else 2} for k, j in projs.items() if j.plastic}
    return res


def _rows(all_steps, times):
    idx = {t: i for i, t in enumerate(all_steps)}
    return [idx[int(t)] for t in times]


def _probe_data(net, pb, times, plan, program, out, precision, conv_w, mods, steps):
    pops, projs, rec = plan["pops"], plan["projs"], plan["rec"]
    key = (pb.target, pb.var)
    if pb.target in pops:
        p = pops[pb.target]
        if pb.var in ("spikes", "output"):
            src = out["neurons"][pb.target]["spikes"] if p.kind == "lif" else p.train
            return src[times].astype(float)
        raw = out["neurons"][pb.target]["rec"][pb.var][_rows(rec[key], times)]
        if precision == "fixed":
            lm = program.populations[pb.target]
            return raw / lm.K if pb.var == "input" else raw / lm.v_scale
        return np.asarray(raw, float)
    if pb.target in projs:
        j = projs[pb.target]
        if not j.plastic:  # static weights
            return np.repeat(conv_w[j.name](j.W)[None], len(times), axis=0)
        raw = out["dense"][j.name]["rec"][pb.var][_rows(rec[key], times)]
        if precision == "float":
            return np.asarray(raw, float)
        cp = program.projections[j.name]
        if pb.var == "weights":
            return cp.weights.dequantize(raw)
        if pb.var == "e":
            return raw * cp.tag.scale
        return raw / cp.traces[pb.var].scale
    # modulator: the reference's own code on the host
    if pb.target not in mods:
        spec = net.modulators[pb.target]
        mods[pb.target] = (Modulator(pb.target, spec, np.float64).series(steps) if spec.type != "population"
                           else None)
    if mods[pb.target] is None:
        raise UnsupportedFeature(f"probes: modulator {pb.target!r} is a population modulator (not lowered to Lava)")
    return np.asarray([mods[pb.target][int(t)] for t in times])


# ============================================================================ stock lowering
def _run_stock(network, precision, seed, steps, progress, board, hardware, drop_refractory, compile_options):
    """``lowering="stock"``: Lava's own processes only (see :mod:`.stock`)."""
    from . import stock as S

    if board and not board_available():
        raise BackendUnavailable(
            "lava backend: the board (Loihi2HwCfg) needs lava-loihi, Intel's Lava extension for Loihi 2, which "
            "is not installed here (lava.utils.loihi.is_installed() is False; it is distributed to INRC "
            "members, not on PyPI). Without it Lava can only simulate: run without --board / board=False")
    validate(network)
    rs = network.run
    seed = rs.seed if seed is None else int(seed)
    steps = rs.steps if steps is None else int(steps)
    t0 = time.perf_counter()
    program, creport = compile_for(network, precision, hardware, seed, steps, compile_options)
    S.check(network, precision, program if precision == "fixed" else None, drop_refractory)
    board_io = board and board_available()
    P = S.plan(network, program if precision == "fixed" else None, precision, seed, steps, board_io=board_io)
    if board:
        S.check_board(S.build(P, precision, steps)["all"])
    t_plan = time.perf_counter() - t0
    show = sys.stderr.isatty() if progress is None else bool(progress)
    out = S.run_stock(network, P, precision, steps, board, show)
    res = Result(network.name, NAME, precision, seed, steps, rs.dt)
    for name, p in P.pops.items():
        res.spikes[name] = out["spikes"][name] if p["kind"] == "lif" and name in out["spikes"] else \
            (p["fed"].copy() if p["kind"] == "host" else np.zeros((steps, p["n"]), bool))
    ints = {}
    for name, j in P.projs.items():
        W = out["weights"].get(name, j["W"])
        if precision == "fixed":
            cp = program.projections[name]
            res.initial_weights[name] = cp.weights.dequantize(j["W"])
            Wi = np.rint(np.asarray(W, float)).astype(np.int64)
            ints[name] = Wi.astype(np.int32)
            res.weights[name] = cp.weights.dequantize(Wi)
        else:
            res.initial_weights[name] = np.asarray(j["W"], float).copy()
            res.weights[name] = np.asarray(W, float)
    for pname, pb in network.probes.items():
        times = np.arange(0, steps, pb.every, dtype=np.int64)
        if pb.var in ("spikes", "output"):
            data = res.spikes[pb.target][times].astype(float)
        else:
            raw = out["rec"].get((pb.target, pb.var))
            if raw is None:  # a static projection's weights
                j = P.projs[pb.target]
                raw = {int(t): np.asarray(j["W"], float) for t in times}
            data = np.asarray([raw[int(t)] for t in times])
            if precision == "fixed":
                data = _stock_units(program, pb, data)
        res.probes[pname] = ProbeData(pb.target, pb.var, times, data)
    res.report.update({
        "compile": creport,
        "hardware": hardware if precision == "fixed" else "cpu",
        "run_config": {"run_cfg": "Loihi2HwCfg" if board else "Loihi2SimCfg",
                       "select_tag": "floating_pt" if precision == "float" else "fixed_pt",
                       "condition": "RunSteps, split at probe points", "graphs": len(out["graphs"]),
                       "seed": seed, "steps": steps, "lowering": "stock"},
        "lowering": {"kind": "stock", "processes": [(r["name"], r["cls"], r["shape"], r["rule"]) for r in P.rows],
                     "input_latency": P.latency, "board_io": P.board_io},
        "departures": S.departures(network, precision, drop_refractory, P.latency),
        "timing_s": {"plan": t_plan, **out["timing"]},
    })
    if precision == "fixed":
        res.report["lsb"] = {k: pp.weights.scale for k, pp in program.projections.items()}
        res.report["integer_weights"] = ints
        res.report["seeds"] = {k: {"trace_seed": j["seeds"][0], "rounding_seed": 2} for k, j in P.projs.items()
                               if j["plastic"]}
    res.wall_time = time.perf_counter() - t0
    return res


def _stock_units(program, pb, raw):
    if pb.target in program.populations:
        return raw / program.populations[pb.target].v_scale
    cp = program.projections[pb.target]
    if pb.var == "weights":
        return cp.weights.dequantize(np.rint(raw).astype(np.int64))
    if pb.var == "e":
        return raw * cp.tag.scale
    return raw / cp.traces[pb.var].scale
