"""PNG plots of results (matplotlib, Agg backend)."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def weights_over_time(res, proj, path, max_lines=30, ax=None, label=None):
    times, hist = res.weight_history(proj)
    flat = hist.reshape(hist.shape[0], -1)
    t = (times + 1) * res.dt / 1000.0
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    rng = np.random.default_rng(0)
    idx = rng.choice(flat.shape[1], size=min(max_lines, flat.shape[1]), replace=False)
    ax.plot(t, flat[:, idx], lw=0.6, alpha=0.5, color="0.5")
    ax.plot(t, flat.mean(1), lw=2, color="C0", label=label or "mean")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"weights of {proj}")
    ax.set_title(f"{res.network_name}: {proj} over time ({res.backend}:{res.precision})")
    ax.legend(loc="best", fontsize=8)
    if own:
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return path


def final_weights(res, proj, path, reference=None):
    """Receptive fields (small or square pre) or a histogram of the final weights."""
    W = res.weights[proj]
    npost, npre = W.shape
    side = int(round(math.sqrt(npre)))
    fig = None
    if npost <= 4 and npre <= 64:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        width = 0.8 / (npost + (reference is not None))
        for i in range(npost):
            ax.bar(np.arange(npre) + i * width, W[i], width, label=f"post {i}")
        if reference is not None:
            ref = np.asarray(reference) * np.sign(reference @ W[0]) * np.linalg.norm(W[0])
            ax.bar(np.arange(npre) + npost * width, ref, width, label="reference", color="k", alpha=0.6)
        ax.set_xlabel("pre neuron")
        ax.set_ylabel("final weight")
        ax.legend(fontsize=8)
        ax.set_title(f"{res.network_name}: final receptive field(s)")
    elif side * side == npre and npost <= 64:
        cols = min(8, npost)
        rows = math.ceil(npost / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.4 * rows), squeeze=False)
        for k, ax in enumerate(axes.flat):
            ax.axis("off")
            if k < npost:
                ax.imshow(W[k].reshape(side, side), cmap="RdBu_r")
        fig.suptitle(f"{res.network_name}: final receptive fields")
    else:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(W.ravel(), bins=40, color="C1")
        ax.set_xlabel(f"final weight ({proj})")
        ax.set_ylabel("synapses")
        ax.set_title(f"{res.network_name}: final weight distribution")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def raster(res, pop, path, max_neurons=100, max_steps=2000):
    s = res.spikes[pop][-max_steps:, :max_neurons]
    t, i = np.nonzero(s)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot((t + res.steps - s.shape[0]) * res.dt / 1000.0, i, "|", ms=3, color="k")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{pop} neuron")
    ax.set_title(f"{res.network_name}: spikes of {pop} (last {s.shape[0]} steps)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def all_plots(res, net, out_dir, stem=None) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    stem = stem or res.network_name or "network"
    for proj in res.weights:
        try:
            files.append(weights_over_time(res, proj, out / f"{stem}_{proj}_weights_over_time.png"))
        except KeyError:
            pass
        files.append(final_weights(res, proj, out / f"{stem}_{proj}_final_weights.png"))
    for pop, s in res.spikes.items():
        if net.populations[pop].type in ("lif", "lif_dendritic") and s.any():
            files.append(raster(res, pop, out / f"{stem}_{pop}_raster.png"))
    return files
