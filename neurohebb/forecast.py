"""Forecast trace saturation of a compiled fixed-point program at the rates
the network produces: a short float run of the document, its traces mapped
to hardware units.  ``neurohebb compile`` does this by default
(``--forecast-steps``); from Python::

    program, report = neurohebb.compile(net, hardware="loihi2")
    forecast_trace_saturation(program, steps=2000)   # fills report.forecast (and notes)
    print(report.format())
"""
from __future__ import annotations

import numpy as np


def forecast_trace_saturation(program, steps=2000, seed=None, report=None):
    """Forecast, into ``report.forecast``, how often each trace of each
    plastic projection will saturate on the target: run the document in float
    (reference backend) for ``steps`` steps, map every trace to hardware units
    (x the trace's scale, i.e. hardware impulse / document impulse) and count
    the (neuron, step) samples above the trace's largest value; returns the report.  The
    float run's rates stand for the chip's (the fixed-point network's rates
    differ by what the compare command measures)."""
    from . import backends
    from .errors import NeurohebbError
    from .ir.schema import PROJ_VARS, Probe

    report = program.report if report is None else report
    seed = program.network.run.seed if seed is None else int(seed)
    steps = int(steps)

    net = program.network.model_copy(deep=True)
    probes = {}
    for k, pp in program.projections.items():
        if not pp.plastic:
            continue
        for t in pp.traces:
            if t in PROJ_VARS:
                probes[f"_forecast_{k}_{t}"] = Probe(target=k, var=t, every=1)
    if not probes:
        return report
    net.probes = probes
    try:
        res = backends.get("reference").run(net, precision="float", seed=seed, steps=steps, progress=False)
    except NeurohebbError as exc:
        report.note("", f"trace saturation forecast not available: {exc}")
        return report
    for k, pp in program.projections.items():
        for t, tm in pp.traces.items():
            pb = res.probes.get(f"_forecast_{k}_{t}")
            if pb is None or not len(pb.times):
                continue
            pre = t.startswith("x")
            pop = net.projections[k].pre if pre else net.projections[k].post
            hw = np.asarray(pb.data, float) * tm.scale
            sat = float(np.mean(hw > tm.max)) if hw.size else 0.0
            peak = float(hw.max()) if hw.size else 0.0
            mean = float(hw.mean()) if hw.size else 0.0
            rate = float(res.rates(pop).mean()) if pop in res.spikes else float("nan")
            imp = tm.impulse_int + tm.impulse_frac / 2**tm.fraction_bits
            if sat > 0:
                ok = max(1, int(imp * tm.max / max(peak, 1e-300)))
                advice = (f"saturates: lower its impulse to <= {ok} (--trace-impulses {k}.{t}={ok}; "
                          f"trace_impulses={{'{k}': {{'{t}': {ok}}}}}) or its tau ({tm.tau:g})")
                report.note(f"projections.{k}.rule.traces.{t}",
                            f"forecast: at {rate:.3g} Hz ({pop}) the trace reaches {peak:.3g} > {tm.max} in "
                            f"{sat:.2%} of neuron-steps; the engine clips it there (the rule then sees a smaller "
                            f"trace than the float model); {advice.split(': ', 1)[1]}")
            elif peak > 0.5 * tm.max:
                advice = f"close: peak at {peak / tm.max:.0%} of the range"
            else:
                advice = "ok"
            report.forecast.append({"projection": k, "trace": t, "side": "pre" if pre else "post",
                                    "population": pop, "rate_hz": rate, "impulse": imp, "tau": tm.tau,
                                    "mean": mean, "peak": peak, "max": int(tm.max), "saturated": sat,
                                    "advice": advice, "steps": int(steps), "seed": int(seed)})
    return report
