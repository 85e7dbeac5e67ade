"""Metrics used by the examples, experiments and ``compare``."""
from __future__ import annotations

import numpy as np


def bimodality_coefficient(x) -> float:
    """Sarle's bimodality coefficient  BC = (g^2 + 1) / (k + 3 (n-1)^2 / ((n-2)(n-3)))
    with sample skewness g and excess kurtosis k; a uniform distribution gives
    5/9 = 0.555..., values above it suggest bimodality."""
    x = np.asarray(x, float).ravel()
    n = x.size
    if n < 4:
        raise ValueError("bimodality_coefficient needs at least 4 values")
    d = x - x.mean()
    m2 = (d**2).mean()
    if m2 == 0:
        return float("nan")
    g = (d**3).mean() / m2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
    k = ((d**4).mean() / m2**2 - 3.0)
    k = ((n + 1) * k + 6) * (n - 1) / ((n - 2) * (n - 3))
    return float((g * g + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def abs_cosine(a, b) -> float:
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).ravel()
    return float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))
