"""NaN and infinity in a run's state are loud.

A backend's step loop creates one :class:`Monitor` and calls
``monitor.check(t)`` when ``monitor.due(t, last_step)`` (every
:data:`CHECK_EVERY` steps and on the last step, so the check costs nothing
measurable), then ``monitor.finish(result)``, which also checks everything the result holds
(weights, probes).  When a floating-point state variable is NaN or infinite
the run stops with :class:`~neurohebb.errors.NonFiniteState` naming the
population, projection or modulator, the variable and the step; with the
policy ``"continue"`` (``neurohebb.run(..., on_nonfinite="continue")``,
``neurohebb run --allow-nonfinite``) it keeps running and records the first
detection of each variable in ``result.report["nonfinite"]``.

Integer (fixed-point) state cannot be NaN; its saturations are counted by the
fixed-point model (``result.report["saturation"]``, ``["neurons"]``).
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np

from .errors import NeurohebbError, NonFiniteState

#: steps between two checks of the state (and the last step is always checked)
CHECK_EVERY = 100
POLICIES = ("error", "continue")

_POLICY: contextvars.ContextVar = contextvars.ContextVar("neurohebb_nonfinite_policy", default="error")


@contextlib.contextmanager
def policy(value: str):
    """Within the block, runs follow ``value`` (``"error"`` or ``"continue"``) on non-finite state."""
    if value not in POLICIES:
        raise NeurohebbError(f"on_nonfinite={value!r}; known: {', '.join(POLICIES)}")
    token = _POLICY.set(value)
    try:
        yield
    finally:
        _POLICY.reset(token)


# (attribute, IR variable): what is checked on each object of a reference run.  A
# NaN anywhere reaches these within the step: u, the input and the dendritic
# branches feed v in the same step; traces are bounded by finite impulses;
# everything a result holds is checked again by ``finish``.
POP_VARS = (("v", "v"),)
PROJ_VARS = (("W", "weights"), ("E", "e"))
MOD_VARS = (("r", "r"),)


def _float(a):
    return isinstance(a, np.ndarray) and a.dtype.kind in "fc"


class Monitor:
    """Checks the floating-point state of one run.  ``pops``, ``projs``,
    ``mods``: dicts name -> object; the arrays checked are the attributes in
    :data:`POP_VARS`, :data:`PROJ_VARS`, :data:`MOD_VARS` that exist and hold
    floats."""

    def __init__(self, pops=None, projs=None, mods=None, every: int = CHECK_EVERY):
        self.every = int(every)
        self.policy = _POLICY.get()
        self.items = []
        # projections first: an overflowing weight is the usual cause of a NaN voltage
        for space, objs, fields in (("projections", projs, PROJ_VARS), ("modulators", mods, MOD_VARS),
                                    ("populations", pops, POP_VARS)):
            for name, obj in (objs or {}).items():
                for attr, label in fields:
                    self.items.append((f"{space}.{name}", label, obj, attr))
        self.last_ok = -1
        self.found: dict[str, int] = {}

    def due(self, t: int, last: int) -> bool:
        """Check after step ``t`` of a run whose last step is ``last``?"""
        return t % self.every == self.every - 1 or t == last

    def check(self, t: int):
        bad = []
        seen = set()
        for where, label, obj, attr in self.items:
            a = getattr(obj, attr, None)
            if a is None or id(a) in seen:  # e of a rule without de is the weights themselves
                continue
            seen.add(id(a))
            if not isinstance(a, np.ndarray):
                a = np.asarray(a)
            if a.dtype.kind not in "fc" or a.size == 0:
                continue
            # a sum is finite when every element is (no temporary array); only a
            # non-finite sum (or an overflowing one) needs the elementwise test
            if not np.isfinite(a.sum()) and not np.isfinite(a).all():
                bad.append((where, label, a))
        if bad:
            self._report(bad, t)
        else:
            self.last_ok = t

    def _report(self, bad, t):
        where, label, a = bad[0]
        kind = "NaN" if np.isnan(a).any() else "infinite"
        since = f"it was finite after step {self.last_ok}" if self.last_ok >= 0 else "at the first check"
        if self.policy == "continue":
            for w, lab, _ in bad:
                self.found.setdefault(f"{w}.{lab}", t)
            return
        others = ""
        if len(bad) > 1:
            names = [f"{w}.{lab}" for w, lab, _ in bad[1:5]]
            others = f" (also: {', '.join(names)}{', ...' if len(bad) > 5 else ''})"
        raise NonFiniteState(
            f"{where}: {label} became {kind} by step {t} ({since}; the state is checked every {self.every} steps)"
            f"{others}. A value overflowed: check the rule's coefficients, the weights and their bounds, the "
            "biases and the inputs. The run stopped; to keep running and record it, pass on_nonfinite='continue' "
            "(neurohebb run --allow-nonfinite)", where=where, step=t)

    def finish(self, result):
        """Check what ``result`` holds; record the findings in ``result.report["nonfinite"]``."""
        bad = []
        for k, w in result.weights.items():
            if _float(w) and not np.isfinite(w).all():
                bad.append((f"projections.{k}", "weights", w))
        for k, p in result.probes.items():
            if _float(p.data) and not np.isfinite(p.data).all():
                bad.append((f"probes.{k}", f"{p.target}.{p.var}", p.data))
        if bad:
            self._report(bad, result.steps - 1)
        if self.found:
            merged = result.report.setdefault("nonfinite", {})
            for k, v in self.found.items():
                merged.setdefault(k, v)
        return result


def check_result(result):
    """A finished result of any backend: NaN or infinity in its weights or
    probes raise :class:`NonFiniteState` (or, under the ``continue`` policy,
    are recorded in ``result.report["nonfinite"]``)."""
    return Monitor().finish(result)
