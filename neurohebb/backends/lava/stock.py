"""The ``stock`` lowering: the network built only from Lava's own process
classes, the ones a Loihi 2 board runs (``lowering="stock"``, CLI
``--lowering stock``).

| IR | Lava class (no subclass, no custom ProcessModel) |
|---|---|
| source population, prescribed ``lif`` (host data) | ``lava.proc.io.source.RingBuffer`` (host); on a board through ``lava.proc.embedded_io.spike.PyToNxAdapter``, here shifted by the same declared latency (:data:`IO_LATENCY`) |
| ``lif`` | ``lava.proc.lif.process.LIF`` (no refractory period, reset to 0) and its spikes into a host ``lava.proc.io.sink.RingBuffer`` (on a board through ``NxToPyAdapter``) |
| static projection | ``lava.proc.dense.process.Dense``; with a delay ``DelayDense``; with a connectivity mask ``Sparse`` / ``DelaySparse`` |
| plastic projection | ``lava.proc.dense.process.LearningDense``; with a mask ``lava.proc.sparse.process.LearningSparse`` (a ``csr_matrix`` of the existing synapses), rule ``Loihi2FLearningRule``; the post neuron's ``s_out`` into ``s_in_bap`` (Lava's STDP tutorial) |

What this computes differs from the document's semantics in ways listed by
:func:`departures` (and docs/backends/lava.md); the reference computes
exactly the same with ``semantics="stock"``.  What Lava's stock classes
cannot express is refused by :func:`problems` with the field and the Lava
source that makes it so.
"""
from __future__ import annotations

import importlib
import time

import numpy as np

from ...errors import NotExpressible, UnsupportedFeature
from ...ir.validate import SOURCE_TYPES, size
from . import lowering as L

#: steps a spike takes to cross between the host and the chip, declared (not
#: measured: no board here).  lava-dl's PilotNet example notes that input
#: written at t = 0 "appears at the input layer at t = 2", one step more than
#: a RingBuffer -> Dense -> LIF chain takes in simulation.
IO_LATENCY = {"input": 1, "output": 1}

#: every class the stock lowering may instantiate ("role": chip or host)
STOCK_CLASSES = {
    "lava.proc.lif.process.LIF": "chip",
    "lava.proc.dense.process.Dense": "chip",
    "lava.proc.dense.process.DelayDense": "chip",
    "lava.proc.dense.process.LearningDense": "chip",
    "lava.proc.sparse.process.Sparse": "chip",
    "lava.proc.sparse.process.DelaySparse": "chip",
    "lava.proc.sparse.process.LearningSparse": "chip",
    "lava.proc.io.source.RingBuffer": "host",
    "lava.proc.io.sink.RingBuffer": "host",
    "lava.proc.embedded_io.spike.PyToNxAdapter": "io",
    "lava.proc.embedded_io.spike.NxToPyAdapter": "io",
}
IO_ROLES = ("host", "io")
SIGN_MODES = {"excitatory": "EXCITATORY", "inhibitory": "INHIBITORY", "mixed": "MIXED"}

# the Lava sources that make each refusal so (also in docs/backends/lava.md)
SRC_LIF = "lava/proc/lif/models.py (PyLifModelBitAcc, PyLifModelFloat)"
WHY_REFRACTORY = (f"refractory period {{R}}: Lava's stock LIF has none ({SRC_LIF}: 'missing features ... refractory "
                  "period after spiking'); LIFRefractory has only a floating-point CPU model and no public NeuroCore "
                  "model. Set refractory: 0, or accept the departure with drop_refractory=True (--drop-refractory): "
                  "the compile report then measures its effect")
WHY_RESET = (f"v_reset {{v}}: Lava's stock LIF resets v to 0 after a spike ({SRC_LIF}, reset_voltage); a reset value "
             "needs a microcode neuron")
WHY_3F = ("the rule reads r (a third factor): with Loihi3FLearningRule the post neuron must send its traces and r on "
          "s_out_y1..3 and s_out_bap, which Lava's stock LearningLIF declares but never sends (lava/proc/lif/models.py "
          "PyLearningLIFModel*, lava/magma/core/model/py/neuron.py); connecting s_in_bap to it hangs. A three-factor "
          "rule needs a custom neuron process (the emulate lowering has one)")
WHY_PLASTIC_DELAY = ("delay {d} on a plastic projection: LearningDense and LearningSparse have no delay "
                     "(lava/proc/dense/process.py; DelayDense and DelaySparse do not learn)")
WHY_SPARSE_SIGN = ("sign {sg} on a plastic projection with a connectivity mask: the stock lowering makes it a "
                   "LearningSparse, whose learning engine fails in Lava 0.10 for any sign mode but mixed "
                   "(lava/magma/core/model/py/connection.py _saturate_synaptic_variable_accumulator and "
                   "_saturate_synaptic_variable call np.maximum(0, csr_matrix), which scipy refuses with "
                   "NotImplementedError); declare sign: mixed, or all-to-all connectivity")
WHY_UNSIGNED_BIAS = ("bias exponent {e} < 0: the stock LIF's bias exponent is a 3-bit unsigned field "
                     f"({SRC_LIF}, bias_exp 0..7)")
WHY_FLOAT_EXCL = ("product {p}: Lava's float learning engine rejects a spike (x0, y0) as a factor "
                  "(lava/magma/core/learning/learning_rule_applier.py, 'Unknown Factor'), which the exact rewrite of "
                  "exclusive timing needs; declare timing: inclusive, or run fixed point")
WHY_FLOAT_ZERO = ("product {p}: the coefficient is below the smallest literal Lava's rule grammar holds (m*2^e, "
                  "exponent -7..8: lava/magma/core/learning/product_series.py), so Lava's float engine would drop it; "
                  "run fixed point (the compiler scales weights and traces) or scale the rule")
WHY_FLOAT_TAU0 = ("trace {t} has tau 0: Lava's float engine computes exp(-1/0) = NaN (lava-nc issue #658)")
WHY_FLOAT_CONST = ("product {p}: the bracket constant {c} is not an integer, and Lava's rule grammar only holds "
                   "integer constants (lava/magma/core/learning/symbolic_equation.py)")


# ============================================================================ support
def problems(net, precision, program=None, drop_refractory=False) -> list[tuple[str, str]]:
    """(path, reason) for everything the stock lowering cannot express, after
    :func:`~.lowering.check_supported`'s refusals (which apply unchanged)."""
    out = list(L.check_supported(net, precision))
    for name, p in net.populations.items():
        path = f"populations.{name}"
        if p.type != "lif" or p.prescribed is not None:
            continue
        if p.refractory and not drop_refractory:
            out.append((f"{path}.refractory", WHY_REFRACTORY.format(R=p.refractory)))
        if p.v_reset != 0:
            out.append((f"{path}.v_reset", WHY_RESET.format(v=p.v_reset)))
        if program is not None and precision == "fixed":
            lm = program.populations[name]
            if np.any(np.asarray(lm.bias_exp) < 0):
                out.append((f"{path}.bias", WHY_UNSIGNED_BIAS.format(e=int(np.min(lm.bias_exp)))))
            hw = dict(decay_bits=12, du_offset=1, dv_offset=0, threshold_shift=6, activation_shift=6, state_bits=24,
                      u_overflow="wrap", v_overflow="saturate")
            bad = [f"{k} {getattr(lm, k)} (stock LIF: {v})" for k, v in hw.items() if getattr(lm, k) != v]
            if bad:
                out.append((path, "the hardware config's neuron differs from Lava's stock fixed-point LIF "
                                  f"({SRC_LIF}): {', '.join(bad)}; compile for loihi2"))
    for name, pr in net.projections.items():
        if pr.rule is None:
            continue
        path = f"projections.{name}"
        rule = pr.rule.expand()
        if "r" in rule.used_vars():
            out.append((f"{path}.rule", WHY_3F))
        if pr.delay:
            out.append((f"{path}.delay", WHY_PLASTIC_DELAY.format(d=pr.delay)))
        if pr.connectivity.type != "all_to_all" and pr.sign != "mixed":
            out.append((f"{path}.sign", WHY_SPARSE_SIGN.format(sg=pr.sign)))
        if precision == "float":
            for t, spec in rule.traces.items():
                if spec.tau == 0:
                    out.append((f"{path}.rule.traces.{t}", WHY_FLOAT_TAU0.format(t=t)))
            for _target, p, (m, _e) in float_literal_products(rule):
                if m == 0:
                    out.append((f"{path}.rule", WHY_FLOAT_ZERO.format(p=p)))
                if any(f.var in ("x0", "y0") for f in p.factors):
                    out.append((f"{path}.rule", WHY_FLOAT_EXCL.format(p=p)))
                for f in p.factors:
                    if f.offset and not float(f.offset).is_integer():
                        out.append((f"{path}.rule", WHY_FLOAT_CONST.format(p=p, c=f.offset)))
    for name, pb in net.probes.items():
        if pb.var in ("input", "r") or pb.target in net.modulators:
            out.append((f"probes.{name}", f"var {pb.var!r}: no stock Lava process holds it as a Var (the synaptic "
                                          "input is consumed inside LIF's run_spk); probe spikes, v, u, weights, e or "
                                          "traces"))
    return out


def check(net, precision, program=None, drop_refractory=False):
    bad = problems(net, precision, program, drop_refractory)
    if bad:
        raise UnsupportedFeature("lava backend, lowering 'stock' (Lava's own process classes) cannot run this "
                                 "network:\n  " + "\n  ".join(f"{p}: {m}" for p, m in bad))


# ============================================================================ float rules
def float_literal_products(rule):
    """[(target, Product, (m, e))]: each coefficient as the nearest literal
    ``m * 2^e`` Lava's grammar holds (the float engine evaluates the literal,
    not the document's coefficient; the reference's stock semantics uses the
    same :func:`~neurohebb.semantics.stock.lava_literal`)."""
    from ...semantics.stock import lava_literal

    return [(target, p, lava_literal(p.coeff)) for target, p in L.float_products(rule)]


def float_rule_string(prods) -> str:
    parts = []
    for _target, p, (m, e) in prods:
        dep = "u0" if p.dep == "u" else p.dep
        fs = []
        for f in p.factors:
            v = L.LAVA_VAR.get(f.var, f.var)
            if f.offset:
                o = int(f.offset)
                fs.append(f"({v}{'+' if o > 0 else '-'}{abs(o)})")
            else:
                fs.append(v)
        lit = "0" if m == 0 else (f"2^{e}" if m == 1 else f"{m}*2^{e}")
        parts.append("*".join([lit, dep] + fs))
    return " + ".join(parts).replace("+ -", "- ") if parts else ""


# ============================================================================ plan
class StockPlan:
    """What is instantiated: ``procs`` rows (document name, role, class path,
    shape, rule string, kwargs) and the data the run needs."""

    def __init__(self):
        self.rows = []  # dicts: name, what, cls, shape, rule
        self.pops = {}
        self.projs = {}


def _cls(path):
    mod, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(mod), name)


def plan(net, program, precision, seed, steps, latency=None, board_io=False):
    """The stock graph's parameters.  ``program``: the fixed program (fixed) or
    None (float).  ``latency``: input steps the stand-in adds (default
    :data:`IO_LATENCY`; 0 when the adapters carry the crossing)."""
    from ...semantics import SourceTrain, derived_seeds, initial_weights

    lat = IO_LATENCY["input"] if latency is None else int(latency)
    if board_io:
        lat = 0
    P = StockPlan()
    P.latency = lat
    P.board_io = board_io
    for name, p in net.populations.items():
        n = size(net, name)
        if p.type in SOURCE_TYPES or p.prescribed is not None:
            src = p if p.type in SOURCE_TYPES else p.prescribed
            tr = SourceTrain(src, n, net.run.dt, seed, f"source:{name}", np.float64)
            train = np.zeros((steps, n), bool)
            for t in range(steps):
                train[t] = tr.at(t) != 0
            fed = np.zeros_like(train)
            if lat < steps:
                fed[lat:] = train[:steps - lat]
            P.pops[name] = {"kind": "host", "n": n, "train": train, "fed": fed}
            P.rows.append({"name": f"populations.{name}", "cls": "lava.proc.io.source.RingBuffer", "shape": (n,),
                           "rule": "", "what": "host input" + (f", +{lat} step(s) declared latency (stand-in)"
                                                               if lat else "")})
            if board_io:
                P.rows.append({"name": f"populations.{name} (to chip)",
                               "cls": "lava.proc.embedded_io.spike.PyToNxAdapter", "shape": (n,), "rule": "",
                               "what": "host -> chip"})
            continue
        if precision == "fixed":
            lm = program.populations[name]
            kw = dict(shape=(n,), u=0, v=lm.v_init.astype(np.int64), du=int(lm.du), dv=int(lm.dv),
                      bias_mant=np.broadcast_to(np.asarray(lm.bias_mant, np.int64), (n,)).copy(),
                      bias_exp=np.broadcast_to(np.asarray(lm.bias_exp, np.int64), (n,)).copy(), vth=int(lm.vth))
        else:
            kw = dict(shape=(n,), u=0.0, v=np.broadcast_to(np.asarray(p.v_init, float), (n,)).copy(), du=float(p.du),
                      dv=float(p.dv), bias_mant=np.broadcast_to(np.asarray(p.bias, float), (n,)).copy(), bias_exp=0,
                      vth=float(p.vth))
        P.pops[name] = {"kind": "lif", "n": n, "kw": kw}
        P.rows.append({"name": f"populations.{name}", "cls": "lava.proc.lif.process.LIF", "shape": (n,), "rule": "",
                       "what": "neurons"})
        if board_io:
            P.rows.append({"name": f"populations.{name} (to host)", "cls": "lava.proc.embedded_io.spike.NxToPyAdapter",
                           "shape": (n,), "rule": "", "what": "chip -> host"})
        P.rows.append({"name": f"populations.{name} (spikes)", "cls": "lava.proc.io.sink.RingBuffer",
                       "shape": (n, steps), "rule": "", "what": "host output"})
    for name, pr in net.projections.items():
        Wf, mask = initial_weights(net, name, seed, np.float64)
        j = {"name": name, "pre": pr.pre, "post": pr.post, "plastic": pr.rule is not None, "delay": int(pr.delay),
             "mask": mask}
        if precision == "fixed":
            cp = program.projections[name]
            W = cp.weights.quantize(Wf).astype(np.int64)
            if mask is not None:
                W = np.where(mask, W, 0)
            j.update(W=W, weight_exp=int(cp.weights.weight_exp), sign_mode=cp.weights.sign_mode)
        else:
            j.update(W=np.asarray(Wf, float), weight_exp=0, sign_mode=pr.sign if pr.sign in SIGN_MODES else "mixed")
        rule_s = ""
        if j["plastic"]:
            rule = pr.rule.expand()
            kw = {}
            if precision == "fixed":
                kw.update(L.fixed_rule_kwargs(program.projections[name]))
                ts, _rs = derived_seeds(seed, name)
                kw["rng_seed"] = ts
                j["seeds"] = (ts, 2)  # Lava's ConnVarRandom is hard-wired to seed 2
            else:
                prods = float_literal_products(rule)
                dw = [q for q in prods if q[0] == "w"]
                de = [q for q in prods if q[0] == "e"]
                if dw:
                    kw["dw"] = float_rule_string(dw)
                if de:
                    kw["dt"] = float_rule_string(de)
                for t, spec in rule.traces.items():
                    kw[f"{t}_impulse"] = float(spec.impulse)
                    kw[f"{t}_tau"] = float(spec.tau)
            j["rule_kwargs"] = kw
            rule_s = "; ".join(f"{k}={kw[k]}" for k in ("dw", "dt") if k in kw)
            if mask is not None:
                cls = "lava.proc.sparse.process.LearningSparse"
            else:
                cls = "lava.proc.dense.process.LearningDense"
            rule_s = f"Loihi2FLearningRule({rule_s})"
        else:
            if mask is not None:
                cls = "lava.proc.sparse.process." + ("DelaySparse" if j["delay"] else "Sparse")
            else:
                cls = "lava.proc.dense.process." + ("DelayDense" if j["delay"] else "Dense")
        j["cls"] = cls
        P.projs[name] = j
        P.rows.append({"name": f"projections.{name}", "cls": cls, "shape": tuple(j["W"].shape), "rule": rule_s,
                       "what": ("plastic" if j["plastic"] else "static") + (f", delay {j['delay']}" if j["delay"]
                                                                              else "")})
    return P


def process_rows(net, program, precision="fixed", seed=None, steps=None, board_io=False):
    """Rows of the ``Lava processes`` section (name, class, shape, rule)."""
    seed = net.run.seed if seed is None else seed
    steps = net.run.steps if steps is None else steps
    rows = plan(net, program, precision, seed, min(int(steps), 2), board_io=board_io).rows  # trains not needed
    for r in rows:
        if r["cls"] == "lava.proc.io.sink.RingBuffer":
            r["shape"] = (r["shape"][0], int(steps))
    return rows


# ============================================================================ build and run
def _csr(W, mask, dtype):
    from scipy.sparse import csr_matrix

    rows, cols = np.nonzero(mask)
    return csr_matrix((np.asarray(W, dtype)[rows, cols], (rows, cols)), shape=W.shape)



def _cross(port, adapter, n, allp):
    """``port`` through one of Lava's embedded-IO adapters (host <-> chip,
    ``lava.proc.embedded_io.spike``); returns the adapter's output port."""
    from lava.proc.embedded_io import spike

    ad = getattr(spike, adapter)(shape=(n,))
    port.connect(ad.inp)
    allp.append(ad)
    return ad.out


def build(P, precision, steps):
    """Instantiate the stock processes; returns {"all", "lif", "sink", "conn", "host"}."""
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.utils.weightutils import SignMode

    allp, lifs, sinks, conns = [], {}, {}, {}
    out_port = {}
    for name, p in P.pops.items():
        if p["kind"] == "host":
            src = Source(data=p["fed"].T.astype(np.int32 if precision == "fixed" else float))
            allp.append(src)
            out_port[name] = _cross(src.s_out, "PyToNxAdapter", p["n"], allp) if P.board_io else src.s_out
        else:
            from lava.proc.lif.process import LIF

            lif = LIF(name=f"pop_{name}", **p["kw"])
            lifs[name] = lif
            allp.append(lif)
            out_port[name] = lif.s_out
            sink = Sink(shape=(p["n"],), buffer=steps)
            port = _cross(lif.s_out, "NxToPyAdapter", p["n"], allp) if P.board_io else lif.s_out
            port.connect(sink.a_in)
            sinks[name] = sink
            allp.append(sink)
    for name, j in P.projs.items():
        cls = _cls(j["cls"])
        kw = {"name": f"proj_{name}"}
        if precision == "fixed":
            kw.update(weight_exp=j["weight_exp"], num_weight_bits=8,
                      sign_mode=getattr(SignMode, SIGN_MODES[j["sign_mode"]]))
        elif j["plastic"]:
            kw["sign_mode"] = getattr(SignMode, SIGN_MODES[j["sign_mode"]])
        dtype = np.int32 if precision == "fixed" else float
        W = _csr(j["W"], j["mask"], dtype) if j["mask"] is not None else np.asarray(j["W"], dtype)
        if j["delay"]:
            D = np.full(j["W"].shape, j["delay"], int)  # DelayDense checks dtype == int
            kw["delays"] = _csr(D, j["mask"], int) if j["mask"] is not None else D
        if j["plastic"]:
            kw["learning_rule"] = Loihi2FLearningRule(**j["rule_kwargs"])
        conn = cls(weights=W, **kw)
        out_port[j["pre"]].connect(conn.s_in)
        if j["post"] in lifs:
            conn.a_out.connect(lifs[j["post"]].a_in)
        if j["plastic"]:
            # the post spike into the learning engine (Lava's STDP tutorial: s_out -> s_in_bap)
            out_port[j["post"]].connect(conn.s_in_bap)
        conns[name] = conn
        allp.append(conn)
    return {"all": allp, "lif": lifs, "sink": sinks, "conn": conns}


def _probe_points(net, steps):
    """Sorted IR steps at which some non-spike probe reads a Var."""
    pts = set()
    for pb in net.probes.values():
        if pb.var in ("spikes", "output"):
            continue
        pts.update(range(0, steps, pb.every))
    return sorted(pts)


def _get_var(proc, var):
    v = getattr(proc, var).get()
    if hasattr(v, "toarray"):
        v = v.toarray()
    return np.asarray(v)


def run_stock(net, P, precision, steps, board, show=False):
    """Run the stock graph(s); Var reads at probe points split the run into
    ``RunSteps`` chunks (a Var is read with ``get()`` between runs)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    tag = "floating_pt" if precision == "float" else "fixed_pt"
    if board:
        from lava.magma.core.run_configs import Loihi2HwCfg

        cfg_factory = lambda: Loihi2HwCfg(select_tag=tag)  # noqa: E731
    else:
        cfg_factory = lambda: Loihi2SimCfg(select_tag=tag)  # noqa: E731
    g = build(P, precision, steps)
    points = _probe_points(net, steps)
    rec = {}  # (target, var) -> {t: array}
    timing = {"build": 0.0, "run": 0.0, "read": 0.0, "stop": 0.0}
    out = {"spikes": {}, "weights": {}, "rec": rec, "timing": timing, "graphs": []}
    if not g["all"]:
        return out
    comps = L.components(net, list(P.pops))
    anchors = []
    for comp in comps:
        members = [p for p in comp if P.pops[p]["kind"] == "lif"]
        has_conn = any(j["post"] in comp for j in P.projs.values())
        if not members and not has_conn:
            continue
        procs = [g["lif"].get(m) for m in members] + [g["conn"][k] for k, j in P.projs.items() if j["post"] in comp]
        anchors.append(([p for p in procs if p is not None][0], comp))
    for anchor, comp in anchors:
        t0 = time.perf_counter()
        if show:
            import sys

            print(f"lava (stock): running {sorted(comp)} for {steps} steps ({tag})", file=sys.stderr)
        done = 0
        failed = True
        try:
            for t in points + [steps - 1]:
                k = t + 1 - done
                if k <= 0:
                    continue
                anchor.run(condition=RunSteps(num_steps=k), run_cfg=cfg_factory())
                done += k
                t1 = time.perf_counter()
                if t in points:
                    for pb in net.probes.values():
                        if pb.var in ("spikes", "output") or t % pb.every or pb.target not in comp and \
                                P.projs.get(pb.target, {}).get("post") not in comp:
                            continue
                        rec.setdefault((pb.target, pb.var), {})[t] = _read_var(g, P, pb.target, pb.var)
                timing["read"] += time.perf_counter() - t1
            t2 = time.perf_counter()
            for name in comp:
                if name in g["sink"]:
                    out["spikes"][name] = _get_var(g["sink"][name], "data").T[:steps] != 0
            for name, j in P.projs.items():
                if j["post"] in comp and j["plastic"]:
                    out["weights"][name] = _get_var(g["conn"][name], "weights")
            timing["read"] += time.perf_counter() - t2
            failed = False
        finally:
            t3 = time.perf_counter()
            if failed:
                _abort(anchor)
            else:
                anchor.stop()
            timing["stop"] += time.perf_counter() - t3
        timing["run"] += time.perf_counter() - t0
        out["graphs"].append(sorted(comp))
    timing["run"] -= timing["read"] + timing["stop"]
    return out


def _abort(anchor):
    """After an exception in a ProcessModel Lava's ``stop()`` waits forever for
    the failed process; shut the message infrastructure down instead."""
    rt = getattr(anchor, "_runtime", None)
    if rt is None:
        return
    for part in ("_messaging_infrastructure", "_watchdog_manager"):
        try:
            getattr(rt, part).stop()
        except Exception:  # noqa: BLE001 - best effort while another error propagates
            pass


VAR_OF = {"weights": "weights", "e": "tag_1", "x1": "x1", "x2": "x2", "y1": "y1", "y2": "y2", "y3": "y3"}


def _read_var(g, P, target, var):
    if target in g["lif"]:
        return _get_var(g["lif"][target], var).astype(float)
    return _get_var(g["conn"][target], VAR_OF[var]).astype(float)


# ============================================================================ the board
def _nc_base():
    try:
        from lava.magma.core.model.nc.model import AbstractNcProcessModel

        return AbstractNcProcessModel
    except ImportError:
        return None


def is_neurocore_model(model) -> bool:
    """A NeuroCore ProcessModel: derived from lava-loihi's
    ``AbstractNcProcessModel`` or requiring a NeuroCore resource."""
    from lava.magma.core.resources import NeuroCore

    base = _nc_base()
    if base is not None and isinstance(model, type) and issubclass(model, base):
        return True
    return any(isinstance(r, type) and issubclass(r, NeuroCore) for r in getattr(model, "required_resources", []))


def neurocore_models(proc) -> list:
    """The NeuroCore models Lava's compiler would find for ``proc`` (its own
    search, ``ProcGroupDiGraphs._find_proc_models``: exact class match, the
    process's module, directory and namespace siblings, which is where
    lava-loihi installs its ``ncmodels``)."""
    import warnings

    from lava.magma.compiler.compiler_graphs import ProcGroupDiGraphs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = ProcGroupDiGraphs._find_proc_models(proc)
    return [m for m in models if is_neurocore_model(m)]


def host_fallbacks(procs) -> list[tuple[str, str]]:
    """(process name, module.Class) of every non-I/O process that would get no
    NeuroCore model (``Loihi2HwCfg`` would silently run it on the host CPU)."""
    out = []
    for p in procs:
        path = f"{type(p).__module__}.{type(p).__name__}"
        if STOCK_CLASSES.get(path) in IO_ROLES:
            continue
        if not neurocore_models(p):
            out.append((p.name, path))
    return out


def check_board(procs):
    bad = host_fallbacks(procs)
    if bad:
        raise UnsupportedFeature(
            "lava backend, board: these processes have no NeuroCore model, so Loihi2HwCfg would run them on the host "
            "CPU instead of the chip; refusing before running:\n  " +
            "\n  ".join(f"{n}: {c}" for n, c in bad))


# ============================================================================ departures
def departures(net, precision="fixed", drop_refractory=False, latency=None) -> list[dict]:
    """Every way the stock lowering departs from the document's semantics:
    ``{"what", "where", "detail"}``; :func:`measure_departures` adds the
    measured effect."""
    lat = IO_LATENCY["input"] if latency is None else int(latency)
    out = []
    plastic = [k for k, pr in net.projections.items() if pr.rule is not None]
    if plastic:
        out.append({"key": "timing", "what": "STDP window timing shift", "where": ", ".join(plastic),
                    "detail": "LearningDense pairs the pre spike *emitted* at t with the post spike of t (the "
                              "document: the spike *arriving* at t, emitted at t-1-delay): every pre-post interval "
                              "seen by the rule shifts by one step; and Dense delivers with the weights before this "
                              "step's learning (the document: after), one learning step older"})
    refr = [k for k, p in net.populations.items() if p.type == "lif" and p.prescribed is None and p.refractory]
    if refr and drop_refractory:
        out.append({"key": "refractory", "what": "lost refractory period", "where": ", ".join(refr),
                    "detail": "Lava's stock LIF has no refractory period (dropped: drop_refractory=True)"})
    hosts = [k for k, p in net.populations.items() if p.type in SOURCE_TYPES or p.prescribed is not None]
    if hosts and lat:
        out.append({"key": "latency", "what": "host -> chip latency", "where": ", ".join(hosts),
                    "detail": f"host input reaches the chip {lat} step(s) later (declared; the embedded-IO adapters "
                              f"on a board, a shifted RingBuffer here); output reaches the host "
                              f"{IO_LATENCY['output']} step(s) after the chip spike (results are on chip time)"})
    masked = [k for k in plastic if net.projections[k].connectivity.type != "all_to_all"]
    if masked and precision == "fixed":
        out.append({"key": "sparse_zero", "what": "zero-weight synapses pruned", "where": ", ".join(masked),
                    "detail": "LearningSparse's first step truncates the weights and calls eliminate_zeros() "
                              "(lava/utils/weightutils.py truncate_weights): a synapse whose initial integer weight "
                              "is 0 never learns"})
    if plastic and precision == "float":
        out.append({"key": "literals", "what": "coefficients as Lava literals", "where": ", ".join(plastic),
                    "detail": "Lava's float engine evaluates the rule's literals m*2^e (|m| <= 8), not the "
                              "document's coefficients; and clips weights only at 0 by sign mode, not to bounds"})
    out.append({"key": "epoch", "what": "learning epoch", "where": ", ".join(plastic) or "-",
                "detail": "t_epoch = 1 (the document has no epoch): no departure; a larger epoch would keep only the "
                          "last spike per neuron per epoch"})
    return out


# ============================================================================ the compile report
#: departures that are parts of the reference's stock semantics (measurable one at a time)
MEASURABLE = ("timing", "refractory", "latency", "sparse_zero")


def measure_departures(net, program, deps, seed=None, steps=None, latency=None) -> None:
    """Add ``effect`` (text) and ``measured`` (numbers) to each departure:
    the reference fixed mode run with that departure alone against the
    document's semantics (same seed and the same random streams), and the
    whole stock semantics in a final row."""
    from ... import backends
    from ...semantics.stock import seeds_for

    reference = backends.get("reference")

    def run_program(program, seed, steps, progress, **options):  # the reference's fixed mode, through the contract
        return reference.run(program.network, precision="fixed", seed=seed, steps=steps, progress=progress,
                             program=program, **options)

    seed = net.run.seed if seed is None else int(seed)
    steps = net.run.steps if steps is None else int(steps)
    seeds = seeds_for(program, seed, ())
    base = run_program(program, seed=seed, steps=steps, progress=False, seeds=seeds)
    lif = [k for k, p in net.populations.items() if p.type == "lif" and p.prescribed is None]
    plastic = [k for k, pr in net.projections.items() if pr.rule is not None]

    def effect(res):
        num, parts = {}, []
        for k in lif:
            a, b = int(base.spikes[k].sum()), int(res.spikes[k].sum())
            num[f"spikes.{k}"] = (a, b)
            parts.append(f"{k} spikes {a} -> {b} ({(b - a) / a:+.1%})" if a else f"{k} spikes {a} -> {b}")
        for k in plastic:
            A = base.report["integer_weights"][k].astype(np.int64)
            B = res.report["integer_weights"][k].astype(np.int64)
            rmse = float(np.sqrt(np.mean((A - B) ** 2)))
            dm = float(B.mean() - A.mean())
            num[f"weights.{k}"] = {"rmse_lsb": rmse, "mean_shift_lsb": dm}
            parts.append(f"{k} weights RMSE {rmse:.3g} LSB, mean {dm:+.3g} LSB")
        return "; ".join(parts) or "no LIF population or plastic projection to measure", num

    for d in deps:
        part = d["key"] if d["key"] in MEASURABLE else None
        if part is None:
            d["effect"] = "none (t_epoch = 1)" if d["key"] == "epoch" else "not measured"
            continue
        res = run_program(program, seed=seed, steps=steps, progress=False, semantics="stock", stock_parts=(part,),
                          latency=latency)
        d["effect"], d["measured"] = effect(res)
    res = run_program(program, seed=seed, steps=steps, progress=False, semantics="stock", latency=latency)
    txt, num = effect(res)
    deps.append({"key": "all", "what": "all together (the stock semantics)", "where": "-",
                 "detail": f"the reference with semantics='stock' against its document semantics, seed {seed}, "
                           f"{steps} steps (the weight-rounding stream is Lava's seed 2 in both)",
                 "effect": txt, "measured": num})
    other = run_program(program, seed=seed + 1, steps=steps, progress=False, seeds=seeds_for(program, seed + 1))
    txt, num = effect(other)
    deps.append({"key": "seed", "what": "for scale: the document, another seed", "where": "-",
                 "detail": f"the document's semantics with seed {seed + 1} against seed {seed}: the spread any "
                           "change of the spike trains causes (plastic networks diverge synapse by synapse)",
                 "effect": txt, "measured": num})


def annotate_report(net, program, report, drop_refractory=False, measure=True, seed=None, steps=None) -> None:
    """Fill ``report.lava_processes`` and ``report.departures`` for
    ``lowering="stock"`` (fixed point); refuse what stock cannot express."""
    bad = problems(net, "fixed", program, drop_refractory)
    if bad:
        raise NotExpressible(bad, f"{report.hardware} (Lava stock processes)")
    rows = process_rows(net, program, "fixed", seed=seed, steps=steps)
    report.lava_processes = [(r["name"], r["cls"], tuple(r["shape"]), r["rule"]) for r in rows]
    deps = departures(net, "fixed", drop_refractory)
    if measure:
        measure_departures(net, program, deps, seed=seed, steps=steps)
    report.departures = deps
