"""Modulator signals (third factors): ``r[t] = decay * r[t-1] + s[t]``.

One class serves every backend: the reference steps it (:meth:`Modulator.step`),
backends that load a whole schedule onto a device take :meth:`Modulator.series`,
and the compiler sizes the fixed-point third factor from :meth:`Modulator.max_abs`.
The equations of each source ``s[t]`` are in :mod:`neurohebb.ir.schema`.
"""
from __future__ import annotations

import numpy as np

from ..errors import NetworkError


class Modulator:
    """The state of one modulator during a run.

    ``step(t, prev_out)`` returns ``r[t]``; ``prev_out`` maps population names to
    their activity of step ``t - 1`` (read only by ``population`` modulators;
    None is allowed for the others)."""

    def __init__(self, name, spec, dtype=np.float64):
        self.name, self.spec, self.dtype = name, spec, np.dtype(dtype)
        self.decay = spec.decay
        self.r = None

    def source(self, t, prev_out=None):
        """``s[t]``."""
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
            if prev_out is None:
                raise NetworkError([(f"modulators.{self.name}", "a population modulator needs the network's "
                                                                "activity; it has no precomputed series")])
            a = prev_out[s.population]
            val = s.gain * (a - s.baseline)
            return np.asarray(val.mean() if s.scope == "global" else val, self.dtype)
        raise NetworkError([(f"modulators.{self.name}.type", f"unknown modulator type {s.type!r}")])

    def step(self, t, prev_out=None):
        """Advance to step ``t`` and return ``r[t]``."""
        src = self.source(t, prev_out)
        self.r = src if self.r is None or self.decay == 0 else self.r * self.decay + src
        return self.r

    def reset(self):
        self.r = None

    def series(self, steps, width=None) -> np.ndarray:
        """``r[0 .. steps-1]`` as an array (steps,) or (steps, width) when
        ``width`` is given (a global value is broadcast), computed by
        :meth:`step` on a fresh copy, so the values are exactly those of a run.
        Not for ``population`` modulators (they depend on the run)."""
        m = Modulator(self.name, self.spec, self.dtype)
        rows = [np.asarray(m.step(t, None), self.dtype) for t in range(steps)]
        if width is None:
            return np.asarray(rows)
        out = np.zeros((steps, width), self.dtype)
        for t, r in enumerate(rows):
            out[t] = np.broadcast_to(r, (width,))
        return out

    def max_abs(self, steps) -> float:
        """Largest ``|r|`` over ``steps`` steps: exact for every type but
        ``population``, for which it is the bound for spiking populations
        (activity in [0, 1])."""
        return modulator_max_abs(self.spec, steps)


def modulator_max_abs(spec, steps) -> float:
    """See :meth:`Modulator.max_abs` (vectorised, filtered with scipy's lfilter)."""
    decay = spec.decay
    if spec.type == "population":
        m = max(abs(spec.gain * (a - spec.baseline)) for a in (0.0, 1.0))
        return m / (1 - decay) if decay else m
    t = np.arange(steps)
    if spec.type == "constant":
        s = np.full(steps, spec.value, float)
    elif spec.type == "array":
        v = np.asarray(spec.values, float)
        if spec.repeat:
            s = v[t % v.shape[0]]
        else:
            s = np.zeros((steps,) + v.shape[1:])
            s[: min(steps, v.shape[0])] = v[:steps]
    elif spec.type == "pulses":
        s = np.zeros(steps)
        for t0 in spec.times:
            s[t0: t0 + spec.width] = spec.amplitude
    elif spec.type == "sine":
        s = spec.offset + spec.amplitude * np.sin(2 * np.pi * t / spec.period + spec.phase)
    elif spec.type == "step":
        s = np.where(t < spec.at, spec.before, spec.after).astype(float)
    else:
        raise NetworkError([("modulators", f"unknown modulator type {spec.type!r}")])
    if decay:
        from scipy.signal import lfilter

        s = lfilter([1.0], [1.0, -decay], s, axis=0)
    return float(np.abs(s).max()) if s.size else 0.0
