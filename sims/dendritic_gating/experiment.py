"""dendritic_gating: NMDA plateaus on dendritic branches gate plasticity (Antic et al. 2010;
the potentiation term of Bono & Clopath 2017).

network.yaml: 6 ``lif_dendritic`` neurons with 4 branches each, 12 input synapses per
branch (288 inputs, each on one branch of one neuron; network.npz: the masks and the
input spike array).  Every 150 ms one neuron gets one input *event* of 12 spikes:

* clustered: the 12 synapses of one branch fire in the same step (branch potential
  12 x 1.2 = 14.4 mV > the 10 mV plateau threshold: an NMDA-like plateau, 50 mV for 60 ms);
* scattered: the same number of spikes (12), 6 on each of two other branches, spread
  over 20 ms (at most 6 x 1.2 = 7.2 mV on a branch: no plateau).

Each neuron has 2 clustered and 2 scattered branches (drawn per neuron); over a cycle of
four events every synapse fires exactly once, so the synapses on both kinds of branch
receive the same number of presynaptic spikes.  The rule (custom: Bono & Clopath's
two terms on the local branch voltage ``d``, read unfiltered)::

    dw = A_LTP * x1 * [d - theta_plus]_+   (u: every step)
       - A_LTD * [d - theta_minus]_+       (x0: at each presynaptic spike)

with x1 the presynaptic trace (tau 20 ms), theta_plus = 45 mV above rest (Bono &
Clopath: -15 mV with E_L = -60 mV), theta_minus = rest (Clopath et al. 2010) and
A_LTD / A_LTP = 5/12 (Bono & Clopath's reduced model).  Passive branch potentials
never reach theta_plus, so without a plateau synapses can only depress.

Controls, same inputs: NMDA block (no plateau anywhere: the plateau synapses must not
potentiate) and a plateau threshold of 5 mV (the scattered input then starts
plateaus too: its synapses must potentiate, so "no potentiation without a plateau"
is a result of the inputs staying below threshold, not of the rule).

    python sims/dendritic_gating/experiment.py --make-data    # regenerate network.npz
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neurohebb.sims import QUALITATIVE

NAME = "dendritic_gating"
DESCRIPTION = ("Antic 2010 / Bono & Clopath 2017: clustered input triggers NMDA-like plateaus on dendritic "
               "branches, and only synapses on plateau branches potentiate; scattered input of the same size does not")

HERE = Path(__file__).resolve().parent
N, B, K = 6, 4, 12           # neurons, branches per neuron, synapses per branch
PERIOD = 150                 # steps (ms) between events of one neuron
CYCLE = 4 * PERIOD           # clustered c0, scattered half 1, clustered c1, scattered half 2
SPREAD = 20                  # scattered spikes are spread over this many steps
FIRST = 50                   # first event of neuron 0
STEPS = 6000                 # full protocol: 10 cycles per neuron
SHORT_STEPS = 1300           # 2 cycles per neuron
NMDA_BLOCK = 1e30            # unreachable plateau threshold for the control
LOW_THRESHOLD = 5.0          # control: a plateau threshold the scattered input (<= 7.2 mV) crosses
LATENCY = 1                  # a spike emitted at step t arrives at step t + 1 (delay 0)

# published values (Schiller et al. 2000, Nature 404:285)
SCHILLER_SOMA_MV = (5.9, 1.5)        # Schiller et al. 2000: somatic NMDA-spike amplitude
SCHILLER_HALFWIDTH_MS = (64.0, 20.0)  # and half-width


def input_index(i, b, k):
    """The input neuron of synapse k on branch b of neuron i."""
    return (i * B + b) * K + k


def make_data(seed=5, steps=STEPS):
    """Masks (one per branch, (N, N*B*K)), the input spike array (steps, N*B*K) and,
    per neuron, which branches get clustered input."""
    rng = np.random.default_rng(seed)
    n_in = N * B * K
    masks = np.zeros((B, N, n_in), bool)
    for i in range(N):
        for b in range(B):
            for k in range(K):
                masks[b, i, input_index(i, b, k)] = True
    clustered = np.array([np.sort(rng.permutation(B)[:2]) for _ in range(N)])
    scattered = np.array([[b for b in range(B) if b not in clustered[i]] for i in range(N)])
    spikes = np.zeros((steps, n_in), bool)
    events = []  # (t, neuron, kind, branches)
    for i in range(N):
        t0 = FIRST + i * (PERIOD // N)
        c, s = clustered[i], scattered[i]
        for cyc in range(steps // CYCLE + 1):
            base = t0 + cyc * CYCLE
            for slot in range(4):
                t = base + slot * PERIOD
                if t + SPREAD >= steps:
                    continue
                if slot in (0, 2):                      # clustered on one branch: all K in one step
                    b = c[slot // 2]
                    spikes[t, [input_index(i, b, k) for k in range(K)]] = True
                    events.append((t, i, "clustered", (int(b),)))
                else:                                   # scattered: K/2 on each of two branches, jittered
                    half = range(K // 2) if slot == 1 else range(K // 2, K)
                    for b in s:
                        for k in half:
                            spikes[t + rng.integers(0, SPREAD), input_index(i, b, k)] = True
                    events.append((t, i, "scattered", tuple(int(b) for b in s)))
    ev = np.array([(t, i, 1 if kind == "clustered" else 0) for t, i, kind, _ in events], np.int64)
    return masks, spikes, clustered, scattered, ev


# ------------------------------------------------------------------ analysis
def branch_groups(clustered):
    """(N, B) boolean: True where the branch receives clustered input."""
    g = np.zeros((N, B), bool)
    for i in range(N):
        g[i, clustered[i]] = True
    return g


def synapse_dw(res, net, masks):
    """Per synapse (neuron, branch, k): final minus initial weight."""
    out = np.zeros((N, B, K))
    w0 = np.zeros((N, B, K))
    for b in range(B):
        W, W0 = res.weights[f"br{b}"], res.initial_weights[f"br{b}"]
        for i in range(N):
            cols = np.flatnonzero(masks[b, i])
            out[i, b] = W[i, cols] - W0[i, cols]
            w0[i, b] = W0[i, cols]
    return out, w0


def plateau_onsets(P):
    """Onset steps of plateaus in a (T, N, B) plateau-indicator recording."""
    P = np.asarray(P) > 0
    prev = np.concatenate([np.zeros((1,) + P.shape[1:], bool), P[:-1]], 0)
    return P & ~prev


def somatic_event(v, t0, window=PERIOD):
    """Amplitude (peak minus the value before) and half-width (steps above half
    the rise) of the somatic response to an event at t0."""
    seg = v[t0: t0 + window] - v[t0 - 1]
    peak = float(seg.max())
    above = seg >= peak / 2
    return peak, int(above.sum())


def run(ctx):
    net = ctx.load()
    d = np.load(ctx.folder / "network.npz")
    masks, clustered = d["masks"], d["clustered"]
    events = d["events"]
    steps = SHORT_STEPS if ctx.short else net.run.steps
    events = events[events[:, 0] + PERIOD <= steps]
    res = ctx.run(net, steps=steps)
    ctrl_net = net.model_copy(deep=True)          # the same document and inputs, NMDA block
    ctrl_net.populations["cells"].plateau_threshold = NMDA_BLOCK
    ctrl = ctx.run(ctrl_net, steps=steps)
    low_net = net.model_copy(deep=True)           # the same, plateau threshold below the scattered input's 7.2 mV
    low_net.populations["cells"].plateau_threshold = LOW_THRESHOLD
    low = ctx.run(low_net, steps=steps)

    group = branch_groups(clustered)
    dw, w0 = synapse_dw(res, net, masks)
    dwc, _ = synapse_dw(ctrl, ctrl_net, masks)
    dwl, _ = synapse_dw(low, low_net, masks)
    rel, relc, rell = dw / w0, dwc / w0, dwl / w0
    on, off = rel[group], rel[~group]
    tol = 1e-12
    P = res.probes["plateau"].data                       # (T, N, B)
    onsets = plateau_onsets(P)
    n_clustered = int((events[:, 2] == 1).sum())

    def triggered(onsets_):
        hits = 0
        for t, i, kind in events:
            if kind == 1:
                b_on = np.flatnonzero(onsets_[t + LATENCY, i])
                hits += int(len(b_on) == 1 and group[i, b_on[0]])
        return hits / max(n_clustered, 1)

    block = "NMDA block (no plateaus), same inputs"
    lowered = f"plateau threshold {LOW_THRESHOLD:g} mV (scattered input also starts plateaus), same inputs"
    src_bc = f"{QUALITATIVE} (Bono & Clopath 2017: dendritic-spike LTP; depression without it)"
    det = dict(deterministic=True)
    ctx.metric("plateau_per_clustered_event", triggered(onsets),
               "clustered events that start a plateau on their branch (fraction)", target=(">=", 1.0),
               control=triggered(plateau_onsets(ctrl.probes["plateau"].data)), control_label=block,
               source=f"{QUALITATIVE} (Antic et al. 2010: clustered synchronous input starts NMDA spikes); "
                      "mechanism check", **det)
    ctx.metric("plateaus_scattered", float(onsets[:, ~group].sum()), "plateaus on scattered-input branches (count)",
               target=("<=", 0), control=float(plateau_onsets(low.probes["plateau"].data)[:, ~group].sum()),
               control_label=lowered, source=f"{QUALITATIVE} (Antic et al. 2010: dispersed input stays passive)",
               **det)
    ctx.metric("dw_plateau_rel", float(on.mean()), "mean dw/w0, synapses on plateau branches", target=(">", 0.0),
               control=float(relc[group].mean()), control_label=block, source=src_bc, **det)
    ctx.metric("frac_potentiated_plateau", float((on > tol).mean()),
               "fraction of synapses potentiated, plateau branches", target=(">=", 0.9),
               control=float((relc[group] > tol).mean()), control_label=block, source=src_bc, **det)
    ctx.metric("dw_noplateau_rel", float(off.max()), "max dw/w0, synapses on non-plateau branches",
               target=("<=", 0.0), control=float(rell[~group].max()), control_label=lowered, source=src_bc, **det)
    ctx.metric("dw_noplateau_mean", float(off.mean()), "mean dw/w0, synapses on non-plateau branches (depression)",
               control=float(rell[~group].mean()), control_label=lowered)
    ctx.metric("frac_potentiated_noplateau", float((off > tol).mean()),
               "fraction of synapses potentiated, non-plateau branches", control=float((rell[~group] > tol).mean()),
               control_label=lowered)
    ctx.metric("control_max_dw", float(dwc.max()), "control (NMDA block, same inputs): max dw (no potentiation)")
    ctx.metric("control_plateaus", float(ctrl.probes["plateau"].data.sum()), "control: plateau steps")
    # plateau shape: the first clustered event of neuron 0 (set by the document's parameters: reported, not tested)
    t_ev, i_ev = [(t + LATENCY, i) for t, i, k in events if k == 1 and i == 0][0]
    b_ev = int(np.flatnonzero(onsets[t_ev, i_ev])[0])
    dv_branch = res.probes["branch_v"].data[:, i_ev, b_ev]
    seg = dv_branch[t_ev: t_ev + PERIOD]
    plateau_steps = int(P[t_ev: t_ev + PERIOD, i_ev, b_ev].sum())
    ctx.metric("branch_plateau_mv", float(seg.max() - dv_branch[t_ev - 1]),
               "branch plateau peak (mV above rest; the document's plateau_amplitude)")
    ctx.metric("branch_plateau_ms", plateau_steps * net.run.dt, "branch plateau duration (ms; plateau_steps)")
    vs = res.probes["v"].data[:, i_ev]
    amp, hw = somatic_event(vs, t_ev)
    ctx.metric("soma_amplitude_mv", amp, "somatic depolarisation by the plateau (mV; coupling calibrated to "
               "Schiller 2000's 5.9 +- 1.5 mV, not a test)")
    ctx.metric("soma_halfwidth_ms", hw * net.run.dt, "somatic half-width (ms; plateau_steps calibrated to "
               "Schiller 2000's 64 +- 20 ms, not a test)")
    # a scattered event: the largest branch potential and the soma's response
    t_sc = [t + LATENCY for t, i, k in events if k == 0 and i == 0][0]
    sc_max = float(res.probes["branch_v"].data[t_sc: t_sc + PERIOD, 0][:, ~group[0]].max())
    ctx.metric("scattered_branch_max_mv", sc_max, "largest branch potential, scattered event (mV)")
    ctx.metric("scattered_soma_mv", somatic_event(vs, t_sc)[0], "somatic depolarisation, scattered event (mV)")
    # synapse-count sweep: k = 1..K synchronous synapses on a fresh branch each
    kmin, k_dw = count_sweep(ctx, net)
    ctx.metric("plateau_min_synapses", kmin, "fewest synchronous synapses that start a plateau (closed form: "
               f"smallest k with k w > threshold; a published count was not found)")
    ctx.metric("sweep_dw_below", float(np.max(k_dw[:kmin - 1])) if kmin > 1 else 0.0,
               "sweep: max mean dw with fewer synapses than that (depression only)")
    ctx.extra["sweep_mean_dw"] = k_dw.tolist()
    r = net.projections["br0"].rule
    ctx.note(f"rule: dw = {r.dw} (g = relu at theta_+ {r.functions['g'].theta:g} mV = Bono & Clopath's -15 mV over "
             f"E_L -60 mV; h = relu at theta_- {r.functions['h'].theta:g} mV = rest, as Clopath et al. 2010; "
             "A_LTD / A_LTP = 5/12 as Bono & Clopath's reduced model); their low-pass filtered voltages are read "
             "unfiltered")
    ctx.note("not tested (set by the document, so a match would be circular): the plateau's amplitude and "
             "duration, the somatic amplitude and half-width (coupling and plateau_steps were chosen to give "
             "Schiller 2000's values) and the synapse count that starts a plateau (threshold / weight)")
    nspk = np.zeros((N, B, K))
    counts = res.spikes["inputs"].sum(0)
    for b in range(B):
        for i in range(N):
            nspk[i, b] = counts[masks[b, i]]
    ctx.metric("pre_spikes_plateau", float(nspk[group].mean()), "presynaptic spikes per synapse, plateau branches")
    ctx.metric("pre_spikes_noplateau", float(nspk[~group].mean()),
               "presynaptic spikes per synapse, non-plateau branches")
    ctx.note(f"{len(events)} complete events ({n_clustered} clustered) in {steps} steps; over each 600 ms cycle "
             "every synapse fires exactly once, so both kinds of branch see the same presynaptic activity; "
             "deterministic inputs (one run)")
    ctx.extra.update({"dw_rel": rel.tolist(), "clustered": clustered.tolist()})
    if ctx.out is not None:
        _plots(ctx, res, ctrl, rel, relc, group, t_ev, i_ev, b_ev, t_sc)


def count_sweep(ctx, net):
    """k = 1..K synapses of one branch fire in the same step, each k on its own
    branch (neuron (k-1) // B, branch (k-1) % B), one event every PERIOD steps.
    Returns (smallest k that starts a plateau, mean dw of the k synapses per k)."""
    steps = FIRST + K * PERIOD
    spikes = np.zeros((steps, N * B * K), bool)
    where = []
    for k in range(1, K + 1):
        i, b = divmod(k - 1, B)
        t = FIRST + (k - 1) * PERIOD
        spikes[t, [input_index(i, b, j) for j in range(k)]] = True
        where.append((t, i, b))
    sweep = net.model_copy(deep=True)
    sweep.populations["inputs"].values = spikes
    res = ctx.run(sweep, steps=steps)
    P = res.probes["plateau"].data
    kmin = K + 1
    mean_dw = np.zeros(K)
    for k, (t, i, b) in enumerate(where, start=1):
        if P[t + LATENCY, i, b] > 0 and kmin > K:
            kmin = k
        W, W0 = res.weights[f"br{b}"], res.initial_weights[f"br{b}"]
        cols = [input_index(i, b, j) for j in range(k)]
        mean_dw[k - 1] = float((W[i, cols] - W0[i, cols]).mean())
    return kmin, mean_dw


def _plots(ctx, res, ctrl, rel, rel_c, group, t_ev, i_ev, b_ev, t_sc):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    lo, hi = max(t_ev - 30, 0), t_ev + 2 * PERIOD + 50
    t = np.arange(lo, hi)
    D = res.probes["branch_v"].data
    ax = axes[0]
    for b in range(B):
        kind = "clustered" if group[i_ev, b] else "scattered"
        ax.plot(t, D[lo:hi, i_ev, b], lw=1.2 if b == b_ev else 0.8, label=f"branch {b} ({kind})")
    ax.axhline(res_threshold(ctx), color="0.5", lw=0.6, ls="--", label="plateau threshold")
    ax.set_xlabel("step (ms)")
    ax.set_ylabel("branch voltage d (mV above rest)")
    ax.set_title(f"neuron {i_ev}: branch voltages")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(t, res.probes["v"].data[lo:hi, i_ev], color="k", label="soma v")
    ax.plot(t, ctrl.probes["v"].data[lo:hi, i_ev], color="C3", lw=0.8, label="soma v, NMDA block")
    ax.axvline(t_ev, color="C0", lw=0.5)
    ax.set_xlabel("step (ms)")
    ax.set_ylabel("soma v (mV above rest)")
    ax.set_title("soma: plateau vs control")
    ax.legend(fontsize=7)
    ax = axes[2]
    rng = np.random.default_rng(0)
    cats = [("plateau\nbranches", rel[group].ravel(), "C0"), ("non-plateau\nbranches", rel[~group].ravel(), "C1"),
            ("control\n(NMDA block)", rel_c.ravel(), "C3")]
    for x, (name, vals, col) in enumerate(cats):
        ax.scatter(x + rng.uniform(-0.25, 0.25, vals.size), vals, s=6, color=col, alpha=0.6)
        ax.plot([x - 0.3, x + 0.3], [vals.mean()] * 2, color="k", lw=1.5)
    ax.set_xticks(range(len(cats)), [c[0] for c in cats])
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_ylabel("dw / w0 per synapse (bar: mean)")
    ax.set_title("weight change per synapse")
    fig.suptitle(f"dendritic_gating on {ctx.run_label}{' (short)' if ctx.short else ''}")
    ctx.save_figure(fig, "summary")


def res_threshold(ctx):
    return ctx.load().populations["cells"].plateau_threshold


if __name__ == "__main__":
    import sys

    if "--make-data" in sys.argv:
        masks, spikes, clustered, scattered, ev = make_data()
        np.savez_compressed(HERE / "network.npz", masks=masks, mask_b0=masks[0], mask_b1=masks[1],
                            mask_b2=masks[2], mask_b3=masks[3], spikes=spikes, clustered=clustered,
                            scattered=scattered, events=ev)
        print("wrote", HERE / "network.npz", spikes.shape, int(spikes.sum()), "spikes")
