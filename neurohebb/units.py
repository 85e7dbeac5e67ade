"""Time units.  One rule, checked and warned about: **every duration in a
network document is in steps**, and ``run.dt`` (ms per step) is used only to
convert between steps and physical time where a document or a report speaks
in Hz or seconds.

* in steps: LIF ``du``/``dv`` (decays per step), ``refractory``, trace and
  modulator ``tau``, ``delay``, ``plateau_steps``, ``tau_theta``, probe
  ``every``, ``spike_times``, ``run.steps``, and every per-step coefficient of
  a rule (a ``u`` product is applied once per step);
* through ``dt``: ``poisson`` rates (Hz: a spike per step with probability
  ``rate * dt / 1000``), ``Result.rates`` (Hz) and the time axes of plots (s).

So changing ``run.dt`` alone does not refine the time grid of the same model:
it changes the model (every time constant, window and delay becomes ``dt``
times as long in ms, and Poisson sources emit ``dt`` times as many spikes per
step).  neurohebb warns (:class:`~neurohebb.errors.UnitsWarning`) whenever a
document has ``dt != 1`` and says what that means for that document.  A
document whose per-step values were computed for its ``dt`` (e.g. by
``neurohebb import-nir --dt``) is correct as it is; silence the warning with
``warnings.simplefilter("ignore", neurohebb.UnitsWarning)``.
"""
from __future__ import annotations

import math
import warnings

from .errors import UnitsWarning


def dt_consequences(network, limit: int = 4) -> list[str]:
    """What ``run.dt`` means for this document's durations, in ms (at most
    ``limit`` examples)."""
    dt = float(network.run.dt)
    out = [f"run.steps {network.run.steps} = {network.run.steps * dt:g} ms"]
    for name, p in network.populations.items():
        if getattr(p, "type", None) in ("lif", "lif_dendritic") and getattr(p, "prescribed", None) is None:
            for var in ("du", "dv"):
                d = getattr(p, var)
                if 0 < d < 1:
                    tau = -1.0 / math.log(1.0 - d)
                    out.append(f"populations.{name}.{var} {d:g} per step: tau = {tau:.3g} steps = {tau * dt:.3g} ms")
                    break
        if getattr(p, "type", None) == "poisson":
            out.append(f"populations.{name}: Poisson rates stay in Hz (spike probability per step = rate x {dt:g} / 1000)")
    for name, pr in network.projections.items():
        if pr.rule is not None:
            try:
                traces = pr.rule.expand().traces
            except Exception:  # a rule that does not expand is reported by validation
                traces = {}
            for t, spec in traces.items():
                if spec.tau > 0:
                    out.append(f"projections.{name}.rule trace {t}: tau {spec.tau:g} steps = {spec.tau * dt:g} ms")
                    break
        if pr.delay:
            out.append(f"projections.{name}.delay {pr.delay} steps = {pr.delay * dt:g} ms")
    return out[:limit + 1]


def dt_message(network) -> str:
    dt = float(network.run.dt)
    return (f"run.dt is {dt:g} ms, not 1: neurohebb's durations are in steps (decays per step, taus, delays, "
            f"refractory periods, probe intervals, run.steps), only Poisson rates and reported rates use dt. So "
            f"at dt = {dt:g} every duration of this document lasts {dt:g} x as long in ms as at dt = 1: "
            + "; ".join(dt_consequences(network))
            + ". If these per-step values were chosen for this dt (as neurohebb import-nir --dt does), this is "
              "what you want; to refine the time grid of a model written for dt = 1 instead, divide every tau, "
              f"delay and run.steps by {dt:g}, replace each per-step decay d by 1 - (1 - d)**{dt:g} and scale "
              f"u-dependent rule coefficients by {dt:g} (docs/ir.md, Units)")


def check_dt(network, stacklevel: int = 3) -> bool:
    """Warn (:class:`UnitsWarning`) when ``network.run.dt != 1``; True if it warned."""
    if float(network.run.dt) == 1.0:
        return False
    warnings.warn(dt_message(network), UnitsWarning, stacklevel=stacklevel)
    return True
