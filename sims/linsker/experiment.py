"""linsker: Linsker (1986, PNAS 83) layers A -> B -> C with bounded Hebbian learning.

network.yaml: A = 20x20 independent binary noise (Poisson, p = 0.5 per step);
B = 20x20 linear cells, each with 30 synapses drawn from a Gaussian density
(sigma 1.5) on A; C and C0 = 25 linear cells each, synapses from a Gaussian density
(sigma 4, ~100 synapses) on B.  All sheets are tori (no edges).  Every projection
learns with the ``hebbian`` template, i.e. Linsker's rule

    dw = eta (x + x_offset) y + k1          (bounded; y = sum_j w_j x_j, linear)

whose average is Linsker's  dw_i/dt = lr [k1' + (1/N) sum_j (Q_ij + k2') w_j]
with Q the input covariance normalised to Q(0) = 1 (see network.yaml for the
mapping of k1', k2' to eta, x_offset, k1).

Protocol (Linsker developed the layers in turn): phase 1, B learns for 1500 steps
with C not plastic; phase 2, B's weights are frozen as learned and C, C0 learn.

Metrics: fraction of A->B synapses at the upper bound (B cells all-excitatory);
fraction of C cells that are centre-surround, in Linsker's regime (C: k1' = 0.6,
k2' = -3) and outside it (C0: k1' = 0, same k2'); the radial profile.

    python sims/linsker/experiment.py --make-data    # regenerate network.npz
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neurohebb.sims import QUALITATIVE

NAME = "linsker"
DESCRIPTION = ("Linsker 1986: Hebbian layers on uncorrelated noise; layer B all-excitatory, layer C centre-surround "
               "in the (k1, k2) regime")

HERE = Path(__file__).resolve().parent
S = 20                     # torus side (A and B)
SIGMA_B, N_B = 1.5, 30     # A -> B arbor
SIGMA_C = 4.0              # B -> C arbor (ordered-dither density)
NC_SIDE = 5                # C cells per side (spacing 4 = the dither period: every cell sees the same geometry)
PHASE1_STEPS = 1500
SHORT_SCALE = 2.0          # short: eta and k1 x2, steps /2
SHORT_STEPS = 100_000      # short phase-2 steps (with the x2 learning rate)



# ---------------------------------------------------------------- geometry
def _torus_d2(P, Q):
    d = np.abs(P[:, None, :] - Q[None, :, :])
    d = np.minimum(d, S - d)
    return (d**2).sum(-1)


def grid():
    return np.stack(np.meshgrid(np.arange(S), np.arange(S), indexing="ij"), -1).reshape(-1, 2).astype(float)


def c_positions():
    step = S / NC_SIDE
    return np.array([[i * step, j * step] for i in range(NC_SIDE) for j in range(NC_SIDE)])


def make_data(seed=5):
    """Masks: A->B, N_B synapses per B cell drawn without replacement with
    probability ~ exp(-d^2 / 2 sigma_B^2) (every B cell has the same count, so
    every B cell has the same mean activity); B->C, the Gaussian density
    exp(-d^2 / 2 sigma_C^2) thresholded by a 4x4 ordered dither (Bayer), which
    reproduces the density without random clumps."""
    rng = np.random.default_rng(seed)
    g = grid()
    d2 = _torus_d2(g, g)
    mab = np.zeros((S * S, S * S), bool)
    for i in range(S * S):
        p = np.exp(-d2[i] / (2 * SIGMA_B**2))
        mab[i, rng.choice(S * S, N_B, replace=False, p=p / p.sum())] = True
    bayer = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]) + 0.5) / 16
    thr = bayer[g[:, 0].astype(int) % 4, g[:, 1].astype(int) % 4]
    cpos = c_positions()
    mbc = np.exp(-_torus_d2(cpos, g) / (2 * SIGMA_C**2)) > thr[None, :]
    return mab, mbc


def rule_constants(k1, k2, lr, w_b=0.05, p=0.5, n_c=None):
    """The ``hebbian`` template's eta, x_offset, k1 for Linsker's k1', k2' (Q(0) = 1)."""
    if n_c is None:
        n_c = int(make_data()[1].sum(1).mean())
    mu = w_b * p * N_B                 # mean activity of a B cell at saturation
    var = w_b**2 * p * (1 - p) * N_B   # its variance
    return {"eta": lr / (n_c * var), "x_offset": k2 * var / mu - mu, "k1": lr * k1}


# ---------------------------------------------------------------- analysis
def _offsets(c, idx):
    d = grid()[idx] - c_positions()[c]
    return (d + S / 2) % S - S / 2


def classify(W, mask):
    """Per cell: (inner mean, max over the 4 quadrants of the outer-ring means,
    min of the same, fraction positive).  Inner: the 25 % of synapses nearest the
    cell's centre; outer ring: the 30 % farthest."""
    out = []
    for c in range(W.shape[0]):
        idx = np.nonzero(mask[c])[0]
        w = W[c, idx]
        d = _offsets(c, idx)
        r = np.hypot(d[:, 0], d[:, 1])
        q = (np.floor((np.arctan2(d[:, 1], d[:, 0]) + np.pi) / (np.pi / 2)).astype(int)) % 4
        inner = w[r <= np.quantile(r, 0.25)].mean()
        ring = r >= np.quantile(r, 0.70)
        quads = [w[ring & (q == k)].mean() for k in range(4)]
        out.append((inner, max(quads), min(quads), (w > 0).mean()))
    return np.array(out)


def centre_surround(cls, wmax=1.0):
    """On-centre: inner mean > 0.3 w_max and every outer quadrant negative;
    off-centre: the mirror image."""
    on = (cls[:, 0] > 0.3 * wmax) & (cls[:, 1] < 0)
    off = (cls[:, 0] < -0.3 * wmax) & (cls[:, 2] > 0)
    return on, off


def radial_profile(W, mask, edges=np.arange(0, 9.5, 1.0)):
    prof = np.full((W.shape[0], len(edges) - 1), np.nan)
    for c in range(W.shape[0]):
        idx = np.nonzero(mask[c])[0]
        d = _offsets(c, idx)
        r = np.hypot(d[:, 0], d[:, 1])
        for k in range(len(edges) - 1):
            sel = (r >= edges[k]) & (r < edges[k + 1])
            if sel.any():
                prof[c, k] = W[c, idx][sel].mean()
    return 0.5 * (edges[:-1] + edges[1:]), prof


def zero_crossing(centres, mean_profile):
    m = mean_profile
    for k in range(len(m) - 1):
        if m[k] > 0 >= m[k + 1]:
            return float(centres[k] + (centres[k + 1] - centres[k]) * m[k] / (m[k] - m[k + 1]))
    return float("nan")


# ---------------------------------------------------------------- the experiment
def _develop(ctx, net, mab, seed):
    """Phase 1 (B learns, C frozen) then phase 2 (B frozen, C and C0 learn), one seed."""
    from neurohebb.ir.schema import WArray

    phase2 = net.run.steps - PHASE1_STEPS
    n1 = net.model_copy(deep=True)
    for p in C_PROJS:
        n1.projections[p].rule = None
    n1.probes = {}
    r1 = ctx.run(n1, steps=PHASE1_STEPS, seed=seed)
    n2 = net.model_copy(deep=True)
    n2.projections["ab"].rule = None
    n2.projections["ab"].weights = WArray(values=r1.weights["ab"])
    for p in C_PROJS:
        n2.projections[p].weights = WArray(values=r1.weights[p])
    if ctx.short:
        phase2 = SHORT_STEPS
        for p in C_PROJS:
            rule = n2.projections[p].rule
            rule.eta = rule.eta * SHORT_SCALE
            rule.k1 = rule.k1 * SHORT_SCALE
    r2 = ctx.run(n2, steps=phase2, seed=seed)
    return r1, r2, phase2


C_PROJS = ("bc", "bc0")


def run(ctx):
    net = ctx.load()
    data = np.load(ctx.folder / "network.npz")
    mab, mbc = data["mask_ab"].astype(bool), data["mask_bc"].astype(bool)
    w_b = net.projections["ab"].effective_bounds()[1]
    runs = [_develop(ctx, net, mab, sd) for sd in ctx.seeds(short=1)]
    phase2 = runs[0][2]

    ctx.metric("frac_b_excitatory", [float((r1.weights["ab"][mab] > 0.9 * w_b).mean()) for r1, _, _ in runs],
               "A->B synapses at the upper bound (> 0.9 w_max)", target=(">=", 0.95),
               control=[float((r1.initial_weights["ab"][mab] > 0.9 * w_b).mean()) for r1, _, _ in runs],
               control_label="initial weights (no learning)",
               source=f"{QUALITATIVE} (Linsker 1986, PNAS 83:7508: layer B all-excitatory for k1 > 0)")
    out = {}
    per = {}
    for p in C_PROJS:
        per[p] = []
        for _, r2, _ in runs:
            cls = classify(r2.weights[p], mbc)
            on, off = centre_surround(cls)
            per[p].append((float((on | off).mean()), float(on.mean()), float(cls[:, 3].mean())))
        W = runs[0][1].weights[p]
        cls = classify(W, mbc)
        cen, prof = radial_profile(W, mbc)
        out[p] = (cls, prof, cen)
    ctx.metric("frac_cs_bc", [v[0] for v in per["bc"]], "centre-surround cells, C (k1'=0.6, k2'=-3: Linsker's regime)",
               target=(">=", 0.5), control=[v[0] for v in per["bc0"]],
               control_label="same rule with k1'=0 (C0, outside the regime)",
               source=f"{QUALITATIVE} (Linsker 1986 PNAS 83:7508; MacKay & Miller 1990: centre-surround needs "
                      "k1 in a band and k2 sufficiently negative); target: a majority of cells")
    for p, label in (("bc", "C"), ("bc0", "C0 (k1'=0)")):
        if p == "bc0":
            ctx.metric("frac_cs_bc0", [v[0] for v in per[p]], f"centre-surround cells, {label}")
        ctx.metric(f"frac_on_{p}", [v[1] for v in per[p]], f"  of which on-centre, {label}")
        ctx.metric(f"pos_{p}", [v[2] for v in per[p]], f"  fraction of positive weights, {label}")
    mp = np.nanmean(out["bc"][1], 0)
    cen = out["bc"][2]
    ctx.metric("centre_w", float(mp[0]), "C: mean weight at r < 1 (w_max = 1), first seed")
    ctx.metric("edge_w", float(mp[-1]), f"C: mean weight at r = {cen[-1]:g}, first seed")
    ctx.metric("zero_r", zero_crossing(cen, mp), "C: radius of the sign change (B-grid units), first seed")
    lr_note = "eta and k1 of C doubled, " if ctx.short else ""
    ctx.note(f"layer by layer as Linsker: B learns {PHASE1_STEPS} steps with C frozen, then C, C0 learn "
             f"{phase2} steps with B frozen ({lr_note}sigma_B 1.5, sigma_C 4 grid units, torus {S}x{S}); "
             f"{len(runs)} seed(s)")
    ctx.note("k1', k2' are in the normalisation dw/dt = lr [k1' + (1/N) sum_j (Q_ij + k2') w_j] with Q(0) = 1 and "
             "bounds [-1, 1]; Linsker's own numeric values were not found (docs/sims.md)")
    ctx.extra["classes"] = {p: out[p][0].tolist() for p in out}
    if ctx.out is not None:
        _plots(ctx, runs[0][1], mbc, out)


def _rf_image(W, mask, c):
    img = np.full(S * S, np.nan)
    img[mask[c]] = W[c, mask[c]]
    cp = c_positions()[c]
    img = img.reshape(S, S)
    return np.roll(np.roll(img, int(round(S / 2 - cp[0])), 0), int(round(S / 2 - cp[1])), 1)


def _plots(ctx, res, mask, out):
    import matplotlib.pyplot as plt

    n = NC_SIDE
    fig, axes = plt.subplots(n, 2 * n + 1, figsize=(2 * n + 1, n + 0.6),
                             gridspec_kw={"width_ratios": [1] * n + [0.3] + [1] * n})
    for k, (p, title) in enumerate((("bc", "C: Linsker's regime"), ("bc0", "C0: k1' = 0"))):
        for c in range(n * n):
            ax = axes[c // n, (c % n) + k * (n + 1)]
            ax.imshow(_rf_image(res.weights[p], mask, c), cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, k * (n + 1)].set_title(title, loc="left", fontsize=9)
    for r in range(n):
        axes[r, n].axis("off")
    fig.suptitle(f"linsker: receptive fields of layer C on layer B (red +, blue -), {ctx.run_label}", fontsize=9)
    ctx.save_figure(fig, "receptive_fields")

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for pr, color, label in (("bc", "C3", "C (Linsker's regime)"), ("bc0", "C0", "C0 (k1' = 0)")):
        cls, prof, cen = out[pr]
        m, s = np.nanmean(prof, 0), np.nanstd(prof, 0)
        ax.errorbar(cen, m, yerr=s, marker="o", color=color, capsize=2, label=label)
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_xlabel("distance from the cell's centre (B-grid units)")
    ax.set_ylabel("mean weight (+-sd over cells)")
    ax.set_title(f"linsker: radial profile of layer-C weights ({ctx.run_label})", fontsize=9)
    ax.legend(fontsize=8)
    ctx.save_figure(fig, "radial_profile")


if __name__ == "__main__":
    import sys

    if "--make-data" in sys.argv:
        mab, mbc = make_data()
        np.savez_compressed(HERE / "network.npz", mask_ab=mab, mask_bc=mbc)
        print("wrote", HERE / "network.npz", mab.shape, mbc.shape, "synapses per C cell", mbc.sum(1).min(),
              mbc.sum(1).max())
        for name, k1 in (("bc", 0.6), ("bc0", 0.0)):
            print(name, rule_constants(k1, -3.0, 0.0005, n_c=int(mbc.sum(1).mean())))
