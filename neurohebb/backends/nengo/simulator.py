"""Run a lowered network on ``nengo.Simulator`` (or ``nengo_loihi.Simulator``)
and fill a :class:`~neurohebb.result.Result` exactly as the reference does."""
from __future__ import annotations

import time

import nengo
import numpy as np

from ...errors import UnsupportedFeature
from ...ir.validate import validate
from ...result import ProbeData, Result
from .lowering import build, nengo_precision
from .lowering import refuse_dendritic
from ...progress import show_progress

NAME = "nengo"
#: ``float``: nengo.Simulator, the IR's float arithmetic (float64 or float32);
#: ``loihi1``: nengo_loihi.Simulator (emulator), i.e. ``simulator="nengo_loihi"``.
PRECISIONS = ("float", "loihi1")
SIMULATORS = ("nengo", "nengo_loihi")


def run(network, precision="float", seed=None, steps=None, progress=None, simulator=None, target="sim",
        externals=None):
    """Run ``network`` on Nengo; see :func:`neurohebb.run`.

    ``simulator``: ``"nengo"`` (``nengo.Simulator``, default for
    ``precision="float"``) or ``"nengo_loihi"`` (``nengo_loihi.Simulator``,
    emulator ``target="sim"``; the default for ``precision="loihi1"``).
    """
    if precision not in PRECISIONS:
        raise UnsupportedFeature(
            f"nengo backend: precision {precision!r} is not available; known: {', '.join(PRECISIONS)} "
            "(the Loihi-2 fixed-point learning engine is the reference backend's 'fixed' precision)")
    refuse_dendritic(network)
    if simulator is None:
        simulator = "nengo_loihi" if precision == "loihi1" else "nengo"
    if simulator not in SIMULATORS:
        raise UnsupportedFeature(f"nengo backend: simulator {simulator!r} unknown; known: {', '.join(SIMULATORS)}")
    if simulator == "nengo_loihi":
        from .loihi import run_loihi

        if any(p.type == "external" for p in network.populations.values()):
            raise UnsupportedFeature("nengo backend: simulator 'nengo_loihi' does not run external (host step "
                                     "function) populations here; use simulator='nengo' (precision 'float')")
        return run_loihi(network, seed=seed, steps=steps, progress=progress, target=target)
    if precision != "float":
        raise UnsupportedFeature("nengo backend: precision 'loihi1' needs simulator='nengo_loihi'")
    validate(network)
    t0 = time.perf_counter()
    net, h = build(network, seed=seed, steps=steps, externals=externals)
    show = show_progress(progress)
    with nengo_precision(h.dtype):
        sim = nengo.Simulator(net, dt=h.dt, seed=h.seed, progress_bar=show)
    t_build = time.perf_counter() - t0
    with sim:
        sim.run_steps(h.steps, progress_bar=show)
        res = collect(sim, h, NAME, "float")
    t_total = time.perf_counter() - t0
    res.report.update({
        "simulator": "nengo.Simulator", "nengo_version": nengo.__version__, "build_s": t_build,
        "run_s": t_total - t_build,
        "placement": {"host": sorted(h.populations) + sorted(h.network.projections), "chip": []},
        "lowering": summary(h),
    })
    res.wall_time = t_total
    return res


def summary(h) -> dict:
    """What the lowering made, for the report."""
    return {
        "ensembles": {k: type(v.neuron_type).__name__ for k, v in h.populations.items() if isinstance(v, nengo.Ensemble)},
        "nodes": sorted(k for k, v in h.populations.items() if isinstance(v, nengo.Node)) + sorted(h.modulators),
        "axon_relays": [f"{p}+{lat}" for p, lat in h.axons],
        "learned_connections": sorted(k for k, c in h.connections.items()
                                      if getattr(c, "learning_rule_type", None) is not None),
    }


def _signal(sim, obj, attr):
    model = sim.model if hasattr(sim, "model") and hasattr(sim.model, "sig") else sim
    return sim.signals[model.sig[obj][attr]]


def collect(sim, h, backend, precision, signal_of=None, data_of=None):
    """Fill a Result from a finished simulator.

    ``signal_of(obj, attr)`` returns the final value of a built signal and
    ``data_of(probe)`` a probe's data (defaults: ``nengo.Simulator``'s).
    """
    signal_of = signal_of or (lambda obj, attr: _signal(sim, obj, attr))
    data_of = data_of or (lambda p: sim.data[p])
    steps = h.steps
    res = Result(h.network.name, backend, precision, h.seed, steps, h.dt_ms)
    for name, p in h.spike_probes.items():
        res.spikes[name] = np.asarray(data_of(p))[:steps] != 0
    for name, conn in h.connections.items():
        res.weights[name] = np.array(signal_of(conn, "weights"), copy=True)
        res.initial_weights[name] = h.initial_weights[name]
    for pname, ps in h.probes.items():
        times = np.arange(0, steps, ps.every, dtype=np.int64)
        if ps.mode == "constant":
            data = np.repeat(np.asarray(ps.obj)[None], len(times), axis=0)
        elif ps.mode == "record":
            data = np.asarray(ps.obj.recordings[ps.attr])[: len(times)]
        elif ps.mode == "every_step":
            data = np.asarray(data_of(ps.probe))
            data = data[:steps][:: ps.every]
            if ps.scalar and data.ndim == 2:
                data = data[:, 0]
        else:
            data = np.asarray(data_of(ps.probe))[: len(times)]
            if len(data) < len(times):  # the last sample falls after the run's end: take it from the signal
                last = np.asarray(signal_of(ps.obj, ps.attr))[None]
                data = np.concatenate([data.reshape((-1,) + last.shape[1:]), last]) if len(data) else last
        res.probes[pname] = ProbeData(ps.target, ps.var, times, data)
    return res
