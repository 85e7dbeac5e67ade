"""A finished Nengo simulation as a :class:`~neurohebb.result.Result` (shared by
``nengo.Simulator`` and the nengo_loihi emulator)."""
from __future__ import annotations

import nengo
import numpy as np

from ...result import ProbeData, Result


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
