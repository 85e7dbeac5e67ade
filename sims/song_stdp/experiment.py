"""song_stdp: Song, Miller & Abbott (2000); van Rossum, Bi & Turrigiano (2000).

Protocol (network.yaml: 1000 Poisson inputs -> 10 LIF with additive pair STDP
and 10 LIF with van Rossum's rule, sharing the inputs):

* full: input rates 10, 20, 30, 40 Hz, each for 10,000 expected input spikes per
  synapse (1000, 500, 333, 250 s); then a control: the weights learned at 10 Hz,
  frozen (no plasticity), driven for 20 s at each rate.
* short: 40 Hz for 200 s (8,000 input spikes per synapse): bimodality of the
  additive and unimodality of the van Rossum weights only.

Metrics: Sarle's bimodality coefficient (BC > 5/9 suggests bimodality), the
fractions of weights below 0.1 and above 0.9 w_max, the output rate over the last
20 % of each run, and its ratio between 40 and 10 Hz inputs (learned and frozen).
"""
from __future__ import annotations

import numpy as np

from neurohebb.metrics import bimodality_coefficient

NAME = "song_stdp"
DESCRIPTION = ("Song, Miller & Abbott 2000: pair STDP from 1000 Poisson inputs; additive -> bimodal weights and a "
               "regulated output rate, van Rossum -> unimodal")

RATES = (10.0, 20.0, 30.0, 40.0)
SPIKES_PER_SYNAPSE = 10_000          # full: steps = 1000 * SPIKES_PER_SYNAPSE / rate
SHORT_RATE, SHORT_STEPS = 40.0, 200_000
FROZEN_STEPS = 20_000
BC_UNIFORM = 5.0 / 9.0

PUB_BIMODAL = "bimodal (Song 2000)"
PUB_UNIMODAL = "unimodal (van Rossum 2000)"
PUB_RATE = "~ independent of input rate (Song 2000; no number found)"


def _weights(res, net, proj):
    wmax = net.projections[proj].effective_bounds()[1]
    return res.weights[proj].ravel() / wmax


def _tail_rate(res, pop, frac=0.2):
    s = res.spikes[pop]
    n = max(1, int(s.shape[0] * frac))
    return float(s[-n:].mean() * 1000.0 / res.dt)


def _summary(res, net):
    out = {}
    for tag, proj, pop in (("add", "syn_add", "add"), ("vr", "syn_vr", "vr")):
        w = _weights(res, net, proj)
        out[tag] = {"w": w, "bc": bimodality_coefficient(w), "lo": float((w < 0.1).mean()),
                    "hi": float((w > 0.9).mean()), "mean": float(w.mean()), "rate": _tail_rate(res, pop)}
    return out


def _with_rate(net, rate):
    n = net.model_copy(deep=True)
    n.populations["inputs"].rates = float(rate)
    return n


def _frozen(net, res, rate):
    """The network with the weights learned in ``res`` as static weights."""
    from neurohebb.ir.schema import WArray

    n = _with_rate(net, rate)
    for proj in ("syn_add", "syn_vr"):
        p = n.projections[proj]
        p.rule = None
        p.weights = WArray(values=np.asarray(res.weights[proj], float))
    n.probes = {}
    return n


def run(ctx):
    net = ctx.load()
    runs = {}
    if ctx.short:
        rates = (SHORT_RATE,)
        res = ctx.run(_with_rate(net, SHORT_RATE), steps=SHORT_STEPS)
        runs[SHORT_RATE] = (res, _summary(res, net))
    else:
        rates = RATES
        for r in RATES:
            steps = int(round(1000.0 * SPIKES_PER_SYNAPSE / r))
            res = ctx.run(_with_rate(net, r), steps=steps)
            runs[r] = (res, _summary(res, net))

    for r in rates:
        s = runs[r][1]
        ctx.metric(f"bc_add_{r:g}Hz", s["add"]["bc"], f"BC additive, {r:g} Hz input", PUB_BIMODAL,
                   (">", BC_UNIFORM))
        ctx.metric(f"lo_add_{r:g}Hz", s["add"]["lo"], f"frac. w < 0.1 w_max, additive, {r:g} Hz", "peak at 0")
        ctx.metric(f"hi_add_{r:g}Hz", s["add"]["hi"], f"frac. w > 0.9 w_max, additive, {r:g} Hz",
                   "peak at g_max", (">", 0.01))
    for r in rates:
        ctx.metric(f"bc_vr_{r:g}Hz", runs[r][1]["vr"]["bc"], f"BC van Rossum, {r:g} Hz input", PUB_UNIMODAL,
                   ("<", BC_UNIFORM))
    frozen = {}
    if not ctx.short:
        for r in rates:
            ctx.metric(f"rate_add_{r:g}Hz", runs[r][1]["add"]["rate"], f"output rate additive, {r:g} Hz in (Hz)",
                       PUB_RATE)
        for r in rates:
            ctx.metric(f"rate_vr_{r:g}Hz", runs[r][1]["vr"]["rate"], f"output rate van Rossum, {r:g} Hz in (Hz)")
        ratio = runs[40.0][1]["add"]["rate"] / max(runs[10.0][1]["add"]["rate"], 1e-9)
        ctx.metric("rate_ratio_add", ratio, "out(40 Hz in) / out(10 Hz in), additive", "~1",
                   ("between", 1 / 1.5, 1.5))
        ctx.metric("rate_ratio_vr", runs[40.0][1]["vr"]["rate"] / max(runs[10.0][1]["vr"]["rate"], 1e-9),
                   "out(40 Hz in) / out(10 Hz in), van Rossum")
        # control: the weights learned at 10 Hz, frozen
        learned10 = runs[10.0][0]
        for r in rates:
            fr = ctx.run(_frozen(net, learned10, r), steps=FROZEN_STEPS)
            frozen[r] = _tail_rate(fr, "add", frac=1.0)
        ctx.metric("rate_ratio_frozen", frozen[40.0] / max(frozen[10.0], 1e-9),
                   "out(40) / out(10), 10-Hz weights frozen", "grows (no STDP)", (">", 2.0))
        ctx.note("full protocol: input rates 10-40 Hz for 10,000 input spikes per synapse each; output rates "
                 "over the last 20% of each run; the control freezes the weights learned at 10 Hz")
    else:
        ctx.note("short protocol: 40 Hz inputs for 200 s only (no rate sweep); run without --short for the "
                 "output-rate regulation")
    ctx.extra["runs"] = {r: {k: {kk: vv for kk, vv in v.items() if kk != "w"} for k, v in s[1].items()}
                         for r, s in runs.items()}
    ctx.extra["frozen_rates"] = frozen
    if ctx.out is not None:
        _plots(ctx, net, runs, frozen)


def _plots(ctx, net, runs, frozen):
    import matplotlib.pyplot as plt

    rates = sorted(runs)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    r0 = rates[0]
    bins = np.linspace(0, 1, 41)
    ax.hist(runs[r0][1]["add"]["w"], bins=bins, color="C0", alpha=0.8,
            label=f"additive (BC {runs[r0][1]['add']['bc']:.2f})")
    ax.hist(runs[r0][1]["vr"]["w"], bins=bins, color="C3", alpha=0.6,
            label=f"van Rossum (BC {runs[r0][1]['vr']['bc']:.2f})")
    ax.set_xlabel("final weight / w_max")
    ax.set_ylabel("synapses")
    ax.set_title(f"final weights, {r0:g} Hz inputs")
    ax.legend(fontsize=8)
    ax = axes[1]
    for r in rates:
        ax.hist(runs[r][1]["add"]["w"], bins=bins, histtype="step", lw=1.5, label=f"{r:g} Hz")
    ax.set_yscale("log")
    ax.set_xlabel("final weight / w_max (additive)")
    ax.set_title("additive STDP: input-rate sweep")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(rates, [runs[r][1]["add"]["rate"] for r in rates], "o-", color="C0", label="additive STDP (learned)")
    ax.plot(rates, [runs[r][1]["vr"]["rate"] for r in rates], "s-", color="C3", label="van Rossum (learned)")
    if frozen:
        ax.plot(rates, [frozen[r] for r in rates], "^--", color="0.4", label="10-Hz weights frozen")
    ax.set_xlabel("input rate (Hz)")
    ax.set_ylabel("output rate (Hz)")
    ax.set_yscale("log")
    ax.set_title("output rate vs input rate")
    ax.legend(fontsize=8)
    fig.suptitle(f"song_stdp on {ctx.run_label}{' (short)' if ctx.short else ''}")
    ctx.save_figure(fig, "summary")

    res = runs[r0][0]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, proj, title in ((axes[0], "syn_add", "additive"), (axes[1], "syn_vr", "van Rossum")):
        times, hist = res.weight_history(proj)
        wmax = net.projections[proj].effective_bounds()[1]
        flat = hist.reshape(hist.shape[0], -1) / wmax
        t = times * res.dt / 1000.0
        ax.plot(t, (flat < 0.1).mean(1), label="w < 0.1 w_max")
        ax.plot(t, (flat > 0.9).mean(1), label="w > 0.9 w_max")
        ax.plot(t, flat.mean(1), label="mean w / w_max")
        ax.set_xlabel("time (s)")
        ax.set_title(f"{title}, {r0:g} Hz inputs")
        ax.legend(fontsize=8)
    ctx.save_figure(fig, "weights_over_time")
