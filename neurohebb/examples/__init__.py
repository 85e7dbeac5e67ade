"""Shipped examples: a network document each, a metric and plots.

``EXAMPLES[name]`` gives the document path and ``metrics(result, network)``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..metrics import abs_cosine, bimodality_coefficient

HERE = Path(__file__).resolve().parent


def _oja_metrics(res, net):
    C = np.load(HERE / "oja_pca.npz")["covariance"]
    pc1 = np.linalg.eigh(C)[1][:, -1]
    w = res.weights["w"][0]
    return {"|cos(w, PC1)|": abs_cosine(w, pc1), "|w|": float(np.linalg.norm(w))}


def _song_metrics(res, net):
    pr = net.projections["syn"]
    wmax = pr.effective_bounds()[1]
    w = res.weights["syn"].ravel() / wmax
    tail = res.spikes["out"][-min(10000, res.steps):]
    return {
        "bimodality coeff. (>0.555)": bimodality_coefficient(w),
        "frac. w<0.1 wmax": float((w < 0.1).mean()),
        "frac. w>0.9 wmax": float((w > 0.9).mean()),
        "output rate, last 10 s (Hz)": float(tail.mean() * 1000.0 / res.dt),
    }


EXAMPLES = {
    "oja_pca": {"path": HERE / "oja_pca.yaml", "metrics": _oja_metrics, "projection": "w"},
    "stdp_song": {"path": HERE / "stdp_song.yaml", "metrics": _song_metrics, "projection": "syn",
                  "compare_metrics": ["bimodality coeff. (>0.555)", "output rate, last 10 s (Hz)"]},
}
