"""The Nengo lowering on ``nengo_loihi.Simulator`` (Loihi 1; emulator ``target="sim"``).

What goes where
---------------
nengo-loihi 1.1 runs on the chip: LIF-type compartments, static synapses
between them, and PES learning on decoded (NEF) connections.  The IR has no
decoded connections, and every IR rule is a neuron -> neuron rule, which
nengo-loihi cannot run on the chip; so (:func:`plan_placement`):

* an IR ``lif`` population goes **on the chip** when the Loihi 1 compartment
  can be its exact model (``v_reset == 0``, ``v_init == 0``, refractory period
  <= 62 steps), it is not the post of a learned projection, all its inputs
  are spikes, and nothing probes its synaptic ``input``;
* everything else runs **on the host** (nengo.Simulator inside
  nengo_loihi): sources, modulators, prescribed and rate populations, the
  axon relays, every learned projection and its post population.

Static projections between two on-chip populations with ``delay == 0`` are
on-chip synapses.  Spikes cross between host and chip with one step of
transport latency each way (nengo-loihi's emulator: host -> chip input
spikes "take one time-step to arrive"; chip -> host probe data is stamped one
step later); the lowering subtracts that latency from the relays' delay lines
so that every projection keeps the IR's ``1 + delay`` steps (a chip -> chip
projection with ``delay >= 1`` is routed through a host relay for that
reason).

On-chip LIF compartments
------------------------
:func:`build_irlif` (registered for :class:`~.neurons.IRLIF` on a private
subclass of nengo-loihi's builder, :class:`LoihiBuilder`, passed to the
simulator through ``nengo_loihi.builder.Model(builder=...)``) sets the
compartment to the IR's equations: ``decay_u = du``, ``decay_v = dv``, no
``u``/``v`` input scaling (the IR adds ``W x`` to ``u`` unscaled),
``vth``, ``bias``, ``refract_delay = refractory + 1`` (nengo-loihi's emulator
holds ``v`` at 0 for ``refract_delay - 1`` steps).  nengo-loihi then
discretizes weights, ``vth``, bias and decays to Loihi 1's integers (see
hardware_configs/loihi1.yaml).

Learning-rule inputs on the host
--------------------------------
nengo-loihi 1.1 sends every connection *into* a learning rule to the chip as a
PES error (``build_host_to_learning_rule``), which fails for a rule that runs
on the host (``KeyError`` in ``model.needs_sender``).  :class:`LoihiBuilder`
builds those connections on the host model instead when the rule is an
:class:`~.learning.IRRule`; nothing in the installed nengo-loihi is modified.
"""
from __future__ import annotations

import sys
import time
import warnings

import nengo
import numpy as np

from ...errors import UnsupportedFeature
from ...ir.validate import validate
from .learning import IRRule
from .lowering import build
from .neurons import IRLIF
from .collect import collect, summary
from ...progress import show_progress

TARGETS = ("sim", "simreal")
#: used when hardware_configs/loihi1.yaml cannot be read (nengo-loihi 1.1's discretize.py:
#: 8-bit weights, mixed-sign weights on even levels)
LOIHI1_WEIGHTS_FALLBACK = {"bits": 8, "mixed_step": 2}


def loihi1_weight_format() -> dict:
    """``{"bits", "mixed_step", "source"}``: nengo-loihi scales the largest
    weight into a block to ``2**bits - 1`` and keeps mixed-sign weights on
    even levels (``mixed_step`` 2)."""
    try:
        from ...hardware import load_hardware

        w = load_hardware("loihi1").weights
        return {"bits": int(w.bits), "mixed_step": int((w.initial_step or {}).get("mixed", 1)),
                "source": "hardware_configs/loihi1.yaml"}
    except Exception:  # pragma: no cover (the config ships with the package)
        return dict(LOIHI1_WEIGHTS_FALLBACK, source="nengo-loihi 1.1 discretize.py (loihi1.yaml not found)")
MAX_REFRACTORY = 62  # Loihi 1 refractory delay field: 6 bits, refract_delay = refractory + 1 <= 63


def loihi_available() -> str | None:
    try:
        import nengo_loihi  # noqa: F401
    except Exception as exc:
        return f"nengo_loihi is not installed ({exc}); pip install 'neurohebb[nengo]'"
    return None


# ------------------------------------------------------------------ placement
def plan_placement(network) -> dict:
    """``{population: (where, reason)}`` with ``where`` in {"chip", "host"}."""
    learned_posts = {pr.post for pr in network.projections.values() if pr.rule is not None}
    spiking_pre = {}
    for name, spec in network.populations.items():
        if spec.is_source:
            spiking_pre[name] = not getattr(spec, "graded", False)
        elif spec.type == "lif":
            spiking_pre[name] = not getattr(spec.prescribed, "graded", False)
        else:
            spiking_pre[name] = False
    input_probed = {pb.target for pb in network.probes.values() if pb.var == "input"}
    out = {}
    for name, spec in network.populations.items():
        if spec.type in ("spike_times", "poisson", "array"):
            out[name] = ("host", "source (a nengo.Node: nodes run on the host)")
        elif spec.type == "rate":
            out[name] = ("host", "rate neurons (nengo-loihi has no non-spiking IR rate neuron on the chip)")
        elif spec.prescribed is not None:
            out[name] = ("host", "prescribed output (teacher forcing)")
        elif name in learned_posts:
            out[name] = ("host", "post of a learned projection: nengo-loihi learns on the chip only with PES on "
                                 "decoded connections; neuron->neuron rules run on the host")
        elif spec.v_reset != 0:
            out[name] = ("host", f"v_reset = {spec.v_reset}: Loihi 1 resets v to 0")
        elif np.any(np.asarray(spec.v_init) != 0):
            out[name] = ("host", "v_init != 0: Loihi 1 starts every compartment at v = 0")
        elif spec.refractory > MAX_REFRACTORY:
            out[name] = ("host", f"refractory {spec.refractory} > {MAX_REFRACTORY} steps (Loihi 1: 6-bit delay)")
        elif name in input_probed:
            out[name] = ("host", "its synaptic input is probed (nengo-loihi cannot probe it on the chip)")
        elif any(pr.post == name and not spiking_pre[pr.pre] for pr in network.projections.values()):
            out[name] = ("host", "receives graded (non-spike) input, which cannot be sent to the chip")
        else:
            out[name] = ("chip", "LIF compartments with static inputs")
    return out


def placement_report(network, plan) -> dict:
    chip = sorted(k for k, (w, _) in plan.items() if w == "chip")
    rep = {"chip": [], "host": [], "why": {k: r for k, (_, r) in plan.items()}}
    rep["chip"] += [f"population {k}" for k in chip]
    rep["host"] += [f"population {k}" for k, (w, _) in sorted(plan.items()) if w == "host"]
    for name, pr in network.projections.items():
        if pr.rule is not None:
            rep["host"].append(f"projection {name} (learned: {pr.rule.template}; IRRule on the host)")
            rep["why"][name] = "learning rule: nengo-loihi runs only PES (decoded connections) on the chip"
        elif pr.pre in chip and pr.post in chip and pr.delay == 0:
            rep["chip"].append(f"projection {name} (on-chip synapses)")
            rep["why"][name] = "static, chip -> chip"
        elif pr.post in chip:
            rep["chip"].append(f"projection {name} (on-chip synapses fed by host spikes)")
            rep["why"][name] = ("static, host relay -> chip (spikes sent every step)" if pr.pre not in chip else
                                f"static, chip -> host relay ({pr.delay - 1} step delay) -> chip (delay {pr.delay})")
        else:
            rep["host"].append(f"projection {name} (static, host)")
            rep["why"][name] = "its post population runs on the host"
    for name in network.modulators:
        rep["host"].append(f"modulator {name}")
    return rep


# ------------------------------------------------------------------ builder
def _make_builder():
    import nengo_loihi
    from nengo.connection import LearningRule
    from nengo_loihi.builder import Builder as _LoihiBuilder
    from nengo_loihi.builder.connection import _inherit_seed
    from nengo_loihi.passthrough import base_obj

    class LoihiBuilder(_LoihiBuilder):
        """nengo-loihi's builder plus neurohebb's pieces (a private registry)."""

        builders = dict(_LoihiBuilder.builders)

    original_connection = _LoihiBuilder.builders[nengo.Connection]

    def build_connection(model, conn):
        post = conn.post_obj
        if isinstance(post, LearningRule) and isinstance(post.learning_rule_type, IRRule):
            # the learned connection runs on the host: so does its input
            host = model.host_model(base_obj(conn.pre))
            _inherit_seed(host, conn, model, conn)
            return host.build(conn)
        return original_connection(model, conn)

    def build_irlif(model, lif, neurons, block):
        comp = block.compartment
        comp.decay_u[:] = lif.du
        comp.decay_v[:] = lif.dv
        comp.scale_u = False
        comp.scale_v = False
        # a filter is "already set" (and larger than any connection's), so the
        # connections' synapse=None does not overwrite decay_u
        comp.tau_s = np.inf
        comp.refract_delay[:] = lif.refractory + 1
        comp.vth[:] = lif.vth
        comp.bias[:] = lif.bias
        comp.vmin = -np.inf
        comp.vmax = np.inf

    LoihiBuilder.builders[nengo.Connection] = build_connection
    LoihiBuilder.builders[IRLIF] = build_irlif
    LoihiBuilder.nengo_loihi_version = nengo_loihi.__version__
    return LoihiBuilder


_BUILDER = None


def loihi_builder():
    global _BUILDER
    if _BUILDER is None:
        _BUILDER = _make_builder()
    return _BUILDER


# ------------------------------------------------------------------ run
def run_loihi(network, seed=None, steps=None, progress=None, target="sim"):
    """Run ``network`` on ``nengo_loihi.Simulator`` (``target`` "sim": the
    discretized Loihi 1 emulator; "simreal": the same model in float32)."""
    reason = loihi_available()
    if reason is not None:
        from ...errors import BackendUnavailable

        raise BackendUnavailable(f"nengo backend, simulator 'nengo_loihi': {reason}")
    if target not in TARGETS:
        raise UnsupportedFeature(f"nengo_loihi target {target!r}: known: {', '.join(TARGETS)} "
                                 "(target 'loihi' needs NxSDK and a Loihi 1 board)")
    import nengo_loihi

    validate(network)
    if network.run.dtype != "float64":
        raise UnsupportedFeature("nengo_loihi: run.dtype float32 is not supported (the host runs Nengo in float64)")
    t0 = time.perf_counter()
    plan = plan_placement(network)
    chip = {k for k, (w, _) in plan.items() if w == "chip"}
    if not chip:
        raise UnsupportedFeature(
            "nengo_loihi: no population can run on the Loihi chip (nengo-loihi needs at least one on-chip "
            "ensemble); reasons: " + "; ".join(f"{k}: {r}" for k, (_, r) in plan.items()))
    net, h = build(network, seed=seed, steps=steps, on_chip=chip, record_rules=True)
    nengo_loihi.add_params(net)
    for name, obj in h.populations.items():
        if isinstance(obj, nengo.Ensemble):
            net.config[obj].on_chip = name in chip
    for relay in h.axons.values():
        net.config[relay].on_chip = False
    model = nengo_loihi.builder.Model(dt=h.dt, label=network.name, builder=loihi_builder()())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"tau_s is already set to inf")
        warnings.filterwarnings("ignore", message=r".*nengo-loihi.*tested with.*")
        warnings.filterwarnings("ignore", message=r"invalid value encountered in cast")  # emulator's NaN-filled int arrays
        # precompute=False keeps host and chip in lock-step (the latencies the lowering compensates)
        warnings.filterwarnings("ignore", message=r"Model is precomputable")
        sim = nengo_loihi.Simulator(net, dt=h.dt, seed=h.seed, model=model, target=target, precompute=False)
    t_build = time.perf_counter() - t0
    host = sim.sims.get("host")

    conn_names = {c: k for k, c in h.connections.items()}

    def signal_of(obj, attr):
        if host is not None and obj in host.model.sig and attr in host.model.sig[obj]:
            return host.signals[host.model.sig[obj][attr]]
        if attr == "weights" and obj in conn_names:  # static weights on the chip
            return h.initial_weights[conn_names[obj]]
        raise KeyError(f"{obj}.{attr} is not a host signal")

    v_scale = {name: _v_scale(model, h.populations[name]) for name in chip}

    def data_of(p):
        d = np.asarray(sim.data[p])
        tgt = getattr(p.target, "ensemble", None)
        if p.attr in ("current", "voltage") and tgt is not None:  # u, v of an on-chip population: integer units
            pop = next((k for k, o in h.populations.items() if o is tgt), None)
            if pop in chip:
                d = d / v_scale[pop]
        return d

    show = show_progress(progress)
    with sim:
        if show:
            print(f"nengo_loihi ({target}): {h.steps} steps", file=sys.stderr)
        sim.run_steps(h.steps)
        res = collect(sim, h, "nengo", "loihi1", signal_of=signal_of, data_of=data_of)
        effective, qreport = effective_weights(model, h, network, chip)
        res.weights.update(effective)  # the weights the chip used, back in IR units
        res.report.update({
            "simulator": f"nengo_loihi.Simulator(target={target!r})", "nengo_loihi_version": nengo_loihi.__version__,
            "build_s": t_build, "run_s": time.perf_counter() - t0 - t_build,
            "placement": placement_report(network, plan),
            "lowering": summary(h),
            "discretization": dict(_discretization(model, h, chip), projections=qreport),
            "utilization": list(model.utilization_summary()) if hasattr(model, "utilization_summary") else [],
        })
    res.wall_time = time.perf_counter() - t0
    return res


def _blocks(model, ens):
    b = model.objs[ens.neurons]["in"]
    return list(b) if isinstance(b, (list, tuple)) else [b]


def _v_scale(model, ens):
    """Per neuron: Loihi's voltage scale (integer units per IR unit); the
    split blocks of a population partition its neurons in order."""
    parts = []
    for block in _blocks(model, ens):
        info = block.compartment.discretize_info or {}
        parts.append(np.full(block.n_neurons, float(info.get("v_scale", 1.0))))
    out = np.concatenate(parts)
    if out.size != ens.n_neurons:  # pragma: no cover - nengo_loihi splits an ensemble into blocks that cover it
        raise UnsupportedFeature(f"nengo_loihi: the blocks of an ensemble hold {out.size} neurons, not {ens.n_neurons}")
    return out


def effective_weights(model, h, network, chip):
    """The weights of on-chip projections as the chip uses them, in IR units
    (integer weight / the post's voltage scale), and their quantization error.

    Returns ``({proj: W_eff}, {proj: report})``.  A post population split
    over several blocks is not decoded (its report says so).
    """
    weights, report = {}, {}
    fmt = loihi1_weight_format()
    for post in sorted(chip):
        projs = [k for k, pr in network.projections.items() if pr.post == post]
        blocks = _blocks(model, h.populations[post])
        if len(blocks) != 1:
            for k in projs:
                report[k] = {"note": f"post {post} is split over {len(blocks)} blocks; weights not decoded"}
            continue
        block = blocks[0]
        syns = [s for s in block.synapses if s.label == "neuron_weights"]
        if len(syns) != len(projs):  # pragma: no cover (one synapse per incoming projection)
            for k in projs:
                report[k] = {"note": "cannot match the block's synapses to projections"}
            continue
        v_scale = float((block.compartment.discretize_info or {}).get("v_scale", 1.0))
        info = block.compartment.discretize_info or {}
        for k, syn in zip(projs, syns):
            W = h.initial_weights[k]
            npost, npre = W.shape
            M = np.zeros((npost, npre))
            for j in range(syn.n_axons):
                base = syn.axon_compartment_base(j)
                if base is None:
                    continue
                w, idx = syn.axon_weights_indices(j)
                M[base + np.asarray(idx), j] = w
            W_eff = M / v_scale
            err = W_eff - W
            nz = W != 0
            weights[k] = W_eff
            if not info:  # target "simreal": float32 weights, not discretized
                report[k] = {"note": "not discretized (target simreal)", "max_abs_error": float(np.abs(err).max())}
                continue
            step = fmt["mixed_step"] if syn.synapse_cfg.is_mixed else 1
            lsb = step * info["w_max"] / (2 ** fmt["bits"] - 1) * 2.0 ** (syn.synapse_cfg.weight_exp - info["w_exp"])
            report[k] = {
                "lsb": float(lsb), "lsb_source": fmt["source"],
                "max_abs_error_lsb": float(np.abs(err).max() / lsb),
                "block_w_max": float(info.get("w_max", np.nan)),
                "max_abs_error": float(np.abs(err).max()),
                "max_abs_error_rel_block_w_max": float(np.abs(err).max() / info["w_max"]) if info.get("w_max") else None,
                "rmse": float(np.sqrt((err ** 2).mean())),
                "zeroed_fraction": float((nz & (W_eff == 0)).sum() / max(nz.sum(), 1)),
                "weight_bits": int(syn.synapse_cfg.real_weight_bits), "mixed_sign": bool(syn.synapse_cfg.is_mixed),
                "weight_exp": int(syn.synapse_cfg.weight_exp),
            }
    return weights, report


def _discretization(model, h, chip) -> dict:
    """Per on-chip population: Loihi's integer scales; per on-chip projection:
    the weights the chip uses, back in IR units, and their error."""
    out = {"populations": {}, "projections": {}}
    for name in sorted(chip):
        infos = []
        for block in _blocks(model, h.populations[name]):
            info = block.compartment.discretize_info or {}
            infos.append({k: (float(v) if np.ndim(v) == 0 else float(np.asarray(v).ravel()[0]))
                          for k, v in info.items()})
        out["populations"][name] = infos
    return out
