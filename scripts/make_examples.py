"""Regenerate the arrays of the shipped examples (neurohebb/examples/*.npz).

    .venv/bin/python scripts/make_examples.py
"""
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent / "neurohebb" / "examples"


def oja_inputs(n=8, steps=4000, seed=3):
    """Zero-mean Gaussian inputs with a known covariance C = Q diag(lam) Q^T."""
    rng = np.random.default_rng(seed)
    lam = np.array([4.0, 2.0, 1.0, 0.6, 0.4, 0.3, 0.2, 0.1])[:n]
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    C = (Q * lam) @ Q.T
    X = rng.multivariate_normal(np.zeros(n), C, size=steps)
    return X.astype(np.float64), C


if __name__ == "__main__":
    X, C = oja_inputs()
    np.savez_compressed(HERE / "oja_pca.npz", x=X, covariance=C)
    print("wrote", HERE / "oja_pca.npz", X.shape)
