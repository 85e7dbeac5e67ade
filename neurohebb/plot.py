"""Plots of results and comparisons, as matplotlib Figures.

>>> import neurohebb as nh
>>> res = nh.run("neurohebb/examples/stdp_song.yaml", steps=20_000)
>>> fig = nh.plot.weights(res, "syn")           # or res.plot.weights("syn")
>>> fig.savefig("weights.png")

Every function returns a :class:`matplotlib.figure.Figure` and never changes
matplotlib's backend (no ``matplotlib.use``): in Jupyter the figure shows
when it is a cell's value (``nh.plot.raster(res, "out")`` as the last line),
once; in a script, ``fig.savefig(path)`` writes it.  Pass ``ax=`` (an Axes of
your own, e.g. from ``plt.subplots()``) to draw into your figure instead, and
``plt.show()`` it as usual.

Figures this module creates itself are taken out of pyplot's list of open
figures when the inline backend (Jupyter) is active, so a returned figure is
displayed exactly once and none pile up; elsewhere they stay pyplot figures
(``plt.show()`` shows them).  docs/plotting.md shows each plot.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["weights", "weights_over_time", "final_weights", "raster", "rates", "comparison", "drift", "save",
           "new_figure", "ResultPlots"]


# ---------------------------------------------------------------------- figures
def _inline() -> bool:
    import matplotlib

    return "inline" in str(matplotlib.get_backend()).lower()


def new_figure(figsize=(6, 3.5), nrows=1, ncols=1, **kw):
    """``(fig, axes)`` like ``plt.subplots`` (``axes`` a 2-D array), without
    touching the backend; in Jupyter's inline backend the figure is released
    from pyplot so that returning it displays it once."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, **kw)
    if _inline():
        plt.close(fig)
    return fig, axes


def _axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    fig, axes = new_figure(figsize)
    return fig, axes[0, 0]


def save(fig, path, dpi=110) -> Path:
    """Write ``fig`` to ``path`` (layout tightened) and close it; returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _seconds(res, steps):
    return np.asarray(steps, float) * res.dt / 1000.0


# ---------------------------------------------------------------------- results
def weights(res, proj, ax=None, max_lines=30, label=None, probe=None):
    """Weights of ``proj`` over time: up to ``max_lines`` synapses (grey, a
    fixed random sample) and the mean (blue), from the initial to the final
    weights (:meth:`~neurohebb.result.Result.weight_history`; needs a weights
    probe on ``proj``)."""
    times, hist = res.weight_history(proj, probe)
    flat = hist.reshape(hist.shape[0], -1)
    t = _seconds(res, times)
    fig, ax = _axes(ax, (6, 3.5))
    if flat.shape[1]:
        rng = np.random.default_rng(0)
        idx = np.sort(rng.choice(flat.shape[1], size=min(max_lines, flat.shape[1]), replace=False))
        ax.plot(t, flat[:, idx], lw=0.6, alpha=0.5, color="0.5")
        ax.plot(t, flat.mean(1), lw=2, color="C0", label=label or "mean")
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"weights of {proj}")
    ax.set_title(f"{res.network_name}: {proj} over time ({res.backend}:{res.precision})")
    fig.tight_layout()
    return fig


weights_over_time = weights


def final_weights(res, proj, reference=None, ax=None):
    """The final weights of ``proj``: bars per post neuron (at most 4 post and
    64 pre neurons; ``reference``, a vector, is drawn beside them scaled to the
    first neuron's norm and sign), receptive fields as images (a square number
    of pre neurons, at most 64 post), else a histogram."""
    W = res.weights[proj]
    npost, npre = W.shape
    side = int(round(math.sqrt(npre)))
    if npost <= 4 and npre <= 64:
        fig, ax = _axes(ax, (6, 3.5))
        width = 0.8 / (npost + (reference is not None))
        for i in range(npost):
            ax.bar(np.arange(npre) + i * width, W[i], width, label=f"post {i}")
        if reference is not None:
            ref = np.asarray(reference, float)
            ref = ref * (np.sign(ref @ W[0]) or 1.0) * np.linalg.norm(W[0]) / max(np.linalg.norm(ref), 1e-300)
            ax.bar(np.arange(npre) + npost * width, ref, width, label="reference", color="k", alpha=0.6)
        ax.set_xlabel("pre neuron")
        ax.set_ylabel("final weight")
        ax.legend(fontsize=8)
        ax.set_title(f"{res.network_name}: final receptive field(s) of {proj}")
    elif side * side == npre and npost <= 64 and ax is None:
        cols = min(8, npost)
        rows = math.ceil(npost / cols)
        fig, axes = new_figure((1.4 * cols, 1.4 * rows + 0.4), rows, cols)
        for k, a in enumerate(axes.flat):
            a.axis("off")
            if k < npost:
                a.imshow(W[k].reshape(side, side), cmap="RdBu_r")
        fig.suptitle(f"{res.network_name}: final receptive fields of {proj}")
    else:
        fig, ax = _axes(ax, (6, 3.5))
        ax.hist(W.ravel(), bins=40, color="C1")
        ax.set_xlabel(f"final weight ({proj})")
        ax.set_ylabel("synapses")
        ax.set_title(f"{res.network_name}: final weight distribution of {proj}")
    fig.tight_layout()
    return fig


def raster(res, pop, ax=None, max_neurons=100, max_steps=2000):
    """Spikes of the first ``max_neurons`` neurons of ``pop`` in the last
    ``max_steps`` steps."""
    s = res.spikes[pop][-max_steps:, :max_neurons]
    t, i = np.nonzero(s)
    fig, ax = _axes(ax, (6, 3))
    ax.plot(_seconds(res, t + res.steps - s.shape[0]), i, "|", ms=3, color="k")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{pop} neuron")
    ax.set_title(f"{res.network_name}: spikes of {pop} (last {s.shape[0]} steps)")
    fig.tight_layout()
    return fig


def rates(res, pop, ax=None, bins=30):
    """Histogram of the mean firing rate per neuron of ``pop`` (Hz)."""
    r = res.rates(pop)
    fig, ax = _axes(ax, (5, 3))
    ax.hist(r, bins=bins, color="C2")
    ax.axvline(r.mean(), color="k", lw=1, label=f"mean {r.mean():.3g} Hz")
    ax.set_xlabel(f"rate of {pop} neurons (Hz)")
    ax.set_ylabel("neurons")
    ax.legend(fontsize=8)
    ax.set_title(f"{res.network_name}: rates of {pop}")
    fig.tight_layout()
    return fig


class ResultPlots:
    """``res.plot``: the functions of this module bound to one result."""

    def __init__(self, res):
        self._res = res

    def weights(self, proj, **kw):
        return weights(self._res, proj, **kw)

    def final_weights(self, proj, **kw):
        return final_weights(self._res, proj, **kw)

    def raster(self, pop, **kw):
        return raster(self._res, pop, **kw)

    def rates(self, pop, **kw):
        return rates(self._res, pop, **kw)

    def __repr__(self):
        return "plots of a Result: .weights(proj), .final_weights(proj), .raster(pop), .rates(pop)"


# ---------------------------------------------------------------------- comparisons
def comparison(cmp, projections=None):
    """Mean weight over time per projection of a
    :class:`~neurohebb.compare.ComparisonResult`, one line per run (mean over
    seeds, shaded +- sd over seeds), from the initial to the final weights."""
    from .errors import NeurohebbError

    projs = projections or sorted({p for h in cmp.histories.values() for p in h})
    if not projs:
        raise NeurohebbError("nothing to plot: no projection has weights over time")
    fig, axes = new_figure((7, 3 * len(projs)), len(projs), 1)
    for ax, proj in zip(axes[:, 0], projs):
        for k, run in enumerate(cmp.runs):
            if proj not in cmp.histories.get(run, {}):
                continue
            t, m = cmp.histories[run][proj]
            mu, sd = m.mean(0), m.std(0)
            ax.plot(t, mu, color=f"C{k}", label=run)
            if m.shape[0] > 1:
                ax.fill_between(t, mu - sd, mu + sd, color=f"C{k}", alpha=0.2)
        ax.set_xlabel("steps")
        ax.set_ylabel(f"mean weight of {proj}")
        ax.legend(fontsize=8)
        ax.set_title(f"{cmp.network}: {proj} ({len(cmp.seeds)} seed(s), mean +- sd)")
    fig.tight_layout()
    return fig


def drift(cmp, projection=None):
    """The float-vs-fixed drift of a comparison split into causes (see
    :meth:`~neurohebb.compare.ComparisonResult.drift`): one bar per cause,
    RMSE of the final weights in weight LSB, per projection."""
    from .errors import NeurohebbError

    d = cmp.drift() if callable(getattr(cmp, "drift", None)) else None
    if not d:
        raise NeurohebbError("no drift decomposition: compare a float and a fixed run of the reference backend "
                             "(runs=['reference:float', 'reference:fixed'])")
    projs = [projection] if projection else sorted(k for k, v in d.items() if "causes" in v)
    fig, axes = new_figure((7, 2.6 * len(projs)), len(projs), 1)
    for ax, proj in zip(axes[:, 0], projs):
        causes = {"total (fixed vs float)": d[proj]["total"], **d[proj]["causes"]}
        names = list(causes)
        vals = [causes[n].get("rmse_lsb", 0.0) for n in names]
        ax.barh(names[::-1], vals[::-1], color=[f"C{i}" for i in range(len(names))][::-1])
        ax.set_xlabel("RMSE of the final weights (weight LSB), mean over seeds")
        ax.set_title(f"{cmp.network}: drift of {proj}, float -> fixed, by cause")
    fig.tight_layout()
    return fig
