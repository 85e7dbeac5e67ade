"""song_stdp: Song, Miller & Abbott (2000); van Rossum, Bi & Turrigiano (2000).

Protocol (network.yaml: 1000 Poisson inputs -> 10 LIF with additive pair STDP
and 10 LIF with van Rossum's rule, sharing the inputs):

* full: input rates 10, 20, 30, 40 Hz, each for 10,000 expected input spikes per
  synapse (1000, 500, 333, 250 s), 5 seeds; then a control: the weights learned at
  10 Hz, frozen (no plasticity), driven for 20 s at each rate.
* short: 40 Hz for 200 s (8,000 input spikes per synapse), one seed.
* both: the CV of the output ISIs (control: the initial weights frozen, same
  rate) and the competition: inputs 0-499 share a common event train (pairwise
  zero-lag correlation 0.2, 10 Hz, an external spike source), 500-999 are
  independent; the additive rule's correlated group must win (control: the ratio
  in the main run, where every input is independent).

Metrics: the fraction of weights near a bound (control: initial weights), Sarle's
bimodality coefficient (BC > 5/9 suggests bimodality; each rule's control is the
other rule on the same inputs), the fraction above 0.9 w_max, the ISI CV, the
correlated/independent weight ratio, the output rate over the last 20 % of each
run, and its ratio between 40 and 10 Hz inputs (control: frozen weights).
"""
from __future__ import annotations

import numpy as np

from neurohebb.metrics import bimodality_coefficient
from neurohebb.errors import NeurohebbError
from neurohebb.sims import QUALITATIVE

NAME = "song_stdp"
DESCRIPTION = ("Song, Miller & Abbott 2000: pair STDP from 1000 Poisson inputs; additive -> bimodal weights and a "
               "regulated output rate, van Rossum -> unimodal")

RATES = (10.0, 20.0, 30.0, 40.0)
SPIKES_PER_SYNAPSE = 10_000          # full: steps = 1000 * SPIKES_PER_SYNAPSE / rate
SHORT_RATE, SHORT_STEPS = 40.0, 200_000
FROZEN_STEPS = 20_000
CORR_RATE, CORR_C, CORR_HALF = 10.0, 0.2, 500     # correlated group: inputs 0..499, pairwise correlation 0.2
CORR_STEPS, CORR_SHORT_STEPS = 200_000, 100_000
BC_UNIFORM = 5.0 / 9.0



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
                    "hi": float((w > 0.9).mean()), "ext": _ext(w), "mean": float(w.mean()), "rate": _tail_rate(res, pop)}
    return out


def _isi_cv(spikes):
    """Mean over neurons (>= 10 spikes) of the CV of the inter-spike intervals; NaN if none fires enough."""
    cvs = []
    for i in range(spikes.shape[1]):
        ts = np.flatnonzero(spikes[:, i])
        if len(ts) > 10:
            isi = np.diff(ts)
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def correlated_inputs(n, rate, c, half, seed):
    """Step function of an external spiking population: inputs ``0..half-1`` share a
    common Poisson event train (rate ``rate``), each copying a common event with
    probability ``c`` and firing independently at ``rate (1 - c)`` (pairwise
    zero-lag correlation ``c``, rate ``rate``); the others are independent Poisson."""
    rng = np.random.default_rng(seed)
    p = rate / 1000.0

    def f(t, reads):
        s = rng.random(n) < p
        common = rng.random() < p
        s[:half] = (rng.random(half) < p * (1 - c)) | (common & (rng.random(half) < c))
        return s.astype(float)

    return f


def _correlated(net):
    from neurohebb.ir.schema import External

    n = net.model_copy(deep=True)
    n.populations["inputs"] = External(n=net.populations["inputs"].n, spiking=True)
    n.probes = {}
    return n


def _frozen_initial(net, res, rate):
    """The network with the run's *initial* weights as static weights, at ``rate``."""
    from neurohebb.ir.schema import WArray

    n = _with_rate(net, rate)
    for proj in ("syn_add", "syn_vr"):
        p = n.projections[proj]
        p.rule = None
        p.weights = WArray(values=np.asarray(res.initial_weights[proj], float))
    n.probes = {}
    return n


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
    seeds = ctx.seeds(short=1)
    rates = (SHORT_RATE,) if ctx.short else RATES
    runs = {}      # rate -> [(res, summary)] per seed
    for r in rates:
        steps = SHORT_STEPS if ctx.short else int(round(1000.0 * SPIKES_PER_SYNAPSE / r))
        runs[r] = []
        for sd in seeds:
            res = ctx.run(_with_rate(net, r), steps=steps, seed=sd)
            runs[r].append((res, _summary(res, net)))

    def per_seed(r, tag, key):
        return [s[tag][key] for _, s in runs[r]]

    init_ext = [_ext(_init_weights(res, net, "syn_add")) for res, _ in runs[rates[0]]]
    for r in rates:
        ctx.metric(f"ext_add_{r:g}Hz", per_seed(r, "add", "ext"), f"frac. w within 0.1 w_max of a bound, additive, "
                   f"{r:g} Hz", target=(">", 0.5), control=init_ext, control_label="initial weights (no learning)",
                   source=f"{QUALITATIVE} (Song et al. 2000: weights pushed to the bounds)")
        ctx.metric(f"bc_add_{r:g}Hz", per_seed(r, "add", "bc"), f"BC additive, {r:g} Hz input",
                   target=(">", BC_UNIFORM), control=per_seed(r, "vr", "bc"),
                   control_label="LTD proportional to w (van Rossum), same inputs",
                   source=f"{QUALITATIVE} (Song et al. 2000: bimodal; BC > 5/9 = uniform)")
        ctx.metric(f"lo_add_{r:g}Hz", per_seed(r, "add", "lo"), f"frac. w < 0.1 w_max, additive, {r:g} Hz")
        ctx.metric(f"hi_add_{r:g}Hz", per_seed(r, "add", "hi"), f"frac. w > 0.9 w_max, additive, {r:g} Hz",
                   target=(">", 0.01), control=per_seed(r, "vr", "hi"),
                   control_label="LTD proportional to w (van Rossum), same inputs",
                   source=f"{QUALITATIVE} (Song et al. 2000: a peak at g_max)")
    for r in rates:
        ctx.metric(f"bc_vr_{r:g}Hz", per_seed(r, "vr", "bc"), f"BC van Rossum, {r:g} Hz input",
                   target=("<", BC_UNIFORM), control=per_seed(r, "add", "bc"),
                   control_label="weight-independent LTD (additive), same inputs",
                   source=f"{QUALITATIVE} (van Rossum et al. 2000: unimodal)")
    # output irregularity: CV of the ISIs over the second half of the run, against the initial weights frozen
    for r in rates:
        cv = [_isi_cv(res.spikes["add"][res.spikes["add"].shape[0] // 2:]) for res, _ in runs[r]]
        cv0 = [_isi_cv(ctx.run(_frozen_initial(net, res, r), steps=FROZEN_STEPS, seed=sd).spikes["add"])
               for (res, _), sd in zip(runs[r], seeds)]
        ctx.metric(f"cv_add_{r:g}Hz", cv, f"CV of output ISIs, additive, {r:g} Hz (2nd half)", target=(">", 0.5),
                   control=cv0, control_label="initial weights frozen (no STDP), same input rate",
                   source=f"{QUALITATIVE} (Song et al. 2000: STDP leaves the neuron in an irregular, "
                          "fluctuation-driven regime); target: CV > 0.5")
        ctx.metric(f"rate_vr_out_{r:g}Hz", [s["vr"]["rate"] for _, s in runs[r]],
                   f"output rate, van Rossum group, {r:g} Hz in (Hz; 250 = refractory limit)")
    # competition: a correlated group of inputs wins (independent inputs of the main run as the control);
    # the correlated source is a host step function: float targets only
    try:
        _competition(ctx, net, runs, rates, seeds)
    except NeurohebbError as exc:
        ctx.note(f"correlated-input competition not run on {ctx.run_label}: {str(exc).splitlines()[0]}")
    frozen = {}
    if not ctx.short:
        for r in rates:
            ctx.metric(f"rate_add_{r:g}Hz", per_seed(r, "add", "rate"), f"output rate additive, {r:g} Hz in (Hz)")
        for r in rates:
            ctx.metric(f"rate_vr_{r:g}Hz", per_seed(r, "vr", "rate"), f"output rate van Rossum, {r:g} Hz in (Hz)")
        ratio = [a / max(b, 1e-9) for a, b in zip(per_seed(40.0, "add", "rate"), per_seed(10.0, "add", "rate"))]
        # control: the weights learned at 10 Hz (per seed), frozen, driven at each rate
        for r in rates:
            frozen[r] = [_tail_rate(ctx.run(_frozen(net, res10, r), steps=FROZEN_STEPS, seed=sd), "add", frac=1.0)
                         for (res10, _), sd in zip(runs[10.0], seeds)]
        fratio = [a / max(b, 1e-9) for a, b in zip(frozen[40.0], frozen[10.0])]
        ctx.metric("rate_ratio_add", ratio, "out(40 Hz in) / out(10 Hz in), additive", target=("between", 1 / 1.5, 1.5),
                   control=fratio, control_label="10-Hz weights frozen (no STDP)",
                   source=f"{QUALITATIVE} (Song et al. 2000: output rate nearly independent of input rate)")
        ctx.metric("rate_ratio_vr", [a / max(b, 1e-9) for a, b in zip(per_seed(40.0, "vr", "rate"),
                                                                        per_seed(10.0, "vr", "rate"))],
                   "out(40 Hz in) / out(10 Hz in), van Rossum")
        ctx.note("full protocol: input rates 10-40 Hz for 10,000 input spikes per synapse each, "
                 f"{len(seeds)} seeds; output rates over the last 20% of each run; the rate control freezes the "
                 "weights learned at 10 Hz")
    else:
        ctx.note(f"short protocol: 40 Hz inputs for 200 s, {len(seeds)} seed (no rate sweep); run without --short "
                 "for the output-rate regulation and 5 seeds")
    ctx.extra["runs"] = {r: {k: {kk: vv for kk, vv in v.items() if kk != "w"} for k, v in s[0][1].items()}
                         for r, s in runs.items()}
    ctx.extra["frozen_rates"] = {r: float(np.mean(v)) for r, v in frozen.items()}
    if ctx.out is not None:
        _plots(ctx, net, {r: v[0] for r, v in runs.items()}, ctx.extra["frozen_rates"])


def _competition(ctx, net, runs, rates, seeds):
    csteps = CORR_SHORT_STEPS if ctx.short else CORR_STEPS
    cnet = _correlated(net)
    wmax = net.projections["syn_add"].effective_bounds()[1]
    ratio, ratio0 = [], []
    for sd, (res_i, _) in zip(seeds, runs[CORR_RATE if CORR_RATE in runs else rates[0]]):
        f = correlated_inputs(cnet.populations["inputs"].n, CORR_RATE, CORR_C, CORR_HALF, 1000 + sd)
        rc = ctx.run(cnet, steps=csteps, seed=sd, externals={"inputs": f})
        w = rc.weights["syn_add"] / wmax
        ratio.append(float(w[:, :CORR_HALF].mean() / max(w[:, CORR_HALF:].mean(), 1e-12)))
        wi = res_i.weights["syn_add"] / wmax
        ratio0.append(float(wi[:, :CORR_HALF].mean() / max(wi[:, CORR_HALF:].mean(), 1e-12)))
    ctx.metric("corr_win_ratio", ratio, f"mean w, correlated group / independent group (c = {CORR_C:g}, "
               f"{CORR_RATE:g} Hz, {csteps / 1000:g} s)", target=(">", 2.0), control=ratio0,
               control_label=f"independent inputs (the {CORR_RATE if CORR_RATE in runs else rates[0]:g} Hz run)",
               source=f"{QUALITATIVE} (Song et al. 2000: correlated inputs win the competition); target: twice")


def _init_weights(res, net, proj):
    wmax = net.projections[proj].effective_bounds()[1]
    return np.asarray(res.initial_weights[proj], float).ravel() / wmax


def _ext(w):
    return float(((w < 0.1) | (w > 0.9)).mean())


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
