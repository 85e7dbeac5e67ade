"""PNG files of a result, named the same way by ``neurohebb run`` and
``neurohebb demo`` (``make run``):

* ``<stem>_<projection>_weights_over_time.png`` (projections with a weights probe),
* ``<stem>_<projection>_final_weights.png``,
* ``<stem>_<population>_raster.png`` (simulated spiking populations that spiked).

The figures come from :mod:`neurohebb.plot`; this module only writes them.
It never selects a matplotlib backend (the CLI chooses Agg for itself before
it imports pyplot).
"""
from __future__ import annotations

from pathlib import Path

from . import plot


def plot_name(stem, target, kind) -> str:
    """The file name every command uses for one plot."""
    return f"{stem}_{target}_{kind}.png"


def weights_over_time(res, proj, path, max_lines=30):
    return plot.save(plot.weights(res, proj, max_lines=max_lines), path)


def final_weights(res, proj, path, reference=None):
    return plot.save(plot.final_weights(res, proj, reference=reference), path)


def raster(res, pop, path, max_neurons=100, max_steps=2000):
    return plot.save(plot.raster(res, pop, max_neurons=max_neurons, max_steps=max_steps), path)


def all_plots(res, net, out_dir, stem=None, references=None) -> list[Path]:
    """Write every plot of ``res`` to ``out_dir``; ``references``: {projection:
    vector} drawn beside the final weights."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    stem = stem or res.network_name or "network"
    for proj in res.weights:
        try:
            files.append(weights_over_time(res, proj, out / plot_name(stem, proj, "weights_over_time")))
        except KeyError:
            pass
        files.append(final_weights(res, proj, out / plot_name(stem, proj, "final_weights"),
                                   reference=(references or {}).get(proj)))
    for pop, s in res.spikes.items():
        spec = net.populations[pop]
        if spec.type in ("lif", "lif_dendritic") and getattr(spec, "prescribed", None) is None and s.any():
            files.append(raster(res, pop, out / plot_name(stem, pop, "raster")))
    return files
