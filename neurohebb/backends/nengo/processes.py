"""Nengo processes of the lowering: the axonal delay line, source trains and
modulators.  Sources and modulators reuse the reference backend's own code
(:mod:`neurohebb.semantics`: ``SourceTrain``, ``Modulator``) so a seed gives the same trains and third factors."""
from __future__ import annotations

import numpy as np
from nengo.params import IntParam, Parameter
from nengo.processes import Process
from nengo.rc import rc
from nengo.synapses import Synapse

from ...semantics import Modulator, SourceTrain


def step_index(t, dt):
    """Nengo's time ``t`` of step ``k`` (0-based) is ``(k + 1) * dt``."""
    return int(round(t / dt)) - 1


class Delay(Synapse):
    """A pure delay of ``steps`` (>= 1) simulation steps: ``y[t] = x[t - steps]``.

    Nengo applies connection synapses in "update" mode, which already delays
    by one step; this synapse stores ``steps - 1`` more.  It only copies
    values, so it is exact.
    """

    steps = IntParam("steps", low=1, readonly=True)

    def __init__(self, steps=1, **kwargs):
        super().__init__(**kwargs)
        self.steps = int(steps)

    def make_state(self, shape_in, shape_out, dt, dtype=None, y0=None):
        dtype = rc.float_dtype if dtype is None else np.dtype(dtype)
        return {"buffer": np.zeros((max(self.steps - 1, 0),) + tuple(shape_out), dtype=dtype)}

    def make_step(self, shape_in, shape_out, dt, rng, state):
        buf = state["buffer"]
        depth = buf.shape[0]
        if depth == 0:
            def step_delay(t, x):
                return x
            return step_delay
        head = [0]

        def step_delay(t, x):
            i = head[0]
            out = buf[i].copy()  # x[t - depth] (zeros before the start)
            buf[i] = x
            head[0] = (i + 1) % depth
            return out

        return step_delay


class SourceProcess(Process):
    """Output of a source population: ``SourceTrain(spec).at(step)``, the
    reference backend's own generator (same seed, same key, same trains)."""

    spec = Parameter("spec", readonly=True)
    n = IntParam("n", low=1, readonly=True)
    dt_ms = Parameter("dt_ms", readonly=True)
    seed_value = Parameter("seed_value", readonly=True)
    key = Parameter("key", readonly=True)
    dtype_name = Parameter("dtype_name", readonly=True)

    def __init__(self, spec, n, dt_ms, seed, key, dtype="float64", **kwargs):
        super().__init__(default_size_in=0, default_size_out=n, **kwargs)
        self.spec, self.n, self.dt_ms, self.seed_value, self.key = spec, n, dt_ms, int(seed), key
        self.dtype_name = str(np.dtype(dtype))

    def train(self):
        return SourceTrain(self.spec, self.n, self.dt_ms, self.seed_value, self.key, np.dtype(self.dtype_name))

    def make_step(self, shape_in, shape_out, dt, rng, state):
        train = self.train()

        def step_source(t):
            return train.at(step_index(t, dt))

        return step_source


class ModulatorProcess(Process):
    """A modulator's third factor ``r[t]``, computed by the reference backend's
    shared modulator class.  For a ``population`` modulator the node's input is
    that population's activity, delayed one step by the lowering, i.e. the
    ``a_P[t-1]`` the IR asks for."""

    name = Parameter("name", readonly=True)
    spec = Parameter("spec", readonly=True)
    dtype_name = Parameter("dtype_name", readonly=True)

    def __init__(self, name, spec, size_in, size_out, dtype="float64", **kwargs):
        super().__init__(default_size_in=size_in, default_size_out=size_out, **kwargs)
        self.name, self.spec = name, spec
        self.dtype_name = str(np.dtype(dtype))

    def make_step(self, shape_in, shape_out, dt, rng, state):
        mod = Modulator(self.name, self.spec, np.dtype(self.dtype_name))
        pop = getattr(self.spec, "population", None)
        size = shape_out[0]

        if shape_in[0] > 0:
            def step_mod(t, x):
                r = mod.step(step_index(t, dt), {pop: x})
                return np.broadcast_to(r, (size,))
        else:
            def step_mod(t):
                r = mod.step(step_index(t, dt), {})
                return np.broadcast_to(r, (size,))
        return step_mod


def modulator_size(network, name, sizes) -> int:
    """Width of modulator ``name``'s output: 1 (global) or the post size of
    the projections that read it (per_post)."""
    spec = network.modulators[name]
    if spec.scope == "global":
        return 1
    if spec.type == "population":
        return sizes[spec.population]
    if spec.type == "array":
        v = np.asarray(spec.values)
        if v.ndim == 2:
            return v.shape[1]
    for pr in network.projections.values():
        if pr.rule is not None and pr.rule.modulator == name:
            return sizes[pr.post]
    return 1
