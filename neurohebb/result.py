"""The common result every backend returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ProbeData:
    """``data[k]`` was recorded after step ``times[k]``."""

    target: str
    var: str
    times: np.ndarray
    data: np.ndarray


@dataclass
class Result:
    """``spikes[pop]``: (steps, n) bool for spiking populations;
    ``weights[proj]``: final (post, pre); ``initial_weights[proj]``;
    ``probes[name]``: :class:`ProbeData`; ``report``: what the backend wants to
    say (compile report, saturation counts, timings)."""

    network_name: str
    backend: str
    precision: str
    seed: int
    steps: int
    dt: float
    spikes: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    initial_weights: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    wall_time: float = 0.0

    def weight_history(self, proj: str):
        """(times, (k, post, pre)) from the first weight probe on ``proj``; the
        initial weights come first at time -1."""
        for p in self.probes.values():
            if p.target == proj and p.var == "weights":
                times = np.concatenate([[-1], p.times])
                return times, np.concatenate([self.initial_weights[proj][None], p.data])
        raise KeyError(f"no weights probe on projection {proj!r}; add probes: {{w: {{target: {proj}, var: weights, every: 100}}}}")

    def rates(self, pop: str) -> np.ndarray:
        """Mean firing rate per neuron in Hz."""
        s = self.spikes[pop]
        return s.mean(axis=0) * 1000.0 / self.dt

    def save(self, path) -> Path:
        path = Path(path)
        arrays = {}
        for k, v in self.spikes.items():
            arrays[f"spikes/{k}"] = v
        for k, v in self.weights.items():
            arrays[f"weights/{k}"] = v
            arrays[f"initial_weights/{k}"] = self.initial_weights[k]
        for k, p in self.probes.items():
            arrays[f"probes/{k}/times"] = p.times
            arrays[f"probes/{k}/data"] = p.data
        np.savez_compressed(path, **arrays)
        return path
