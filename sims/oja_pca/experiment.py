"""oja_pca: Oja's rule (Oja 1982) and Sanger's k-neuron extension in deflation form.

network.yaml: 10 correlated zero-mean inputs (covariance C exactly, eigenvalues
4, 2, 1, 0.5, ...); y1 runs Oja's rule on x (the single neuron); y2 and y3 run
Oja's rule on explicit residual populations r1 = x - w1 y1 and r2 = r1 - w2 y2,
whose feedback weights learn with a local anti-Hebbian rule (see the document).

Metrics: |cos(w_i, PC_i)| and |w_i| for i = 1..3 (targets >= 0.99 and within 2 %
of 1), and how well the learned feedback copies the forward weights.

    python sims/oja_pca/experiment.py --make-data    # regenerate network.npz
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neurohebb.metrics import abs_cosine

NAME = "oja_pca"
DESCRIPTION = ("Oja 1982: a linear neuron learns PC1; three neurons with local residual populations (Sanger's "
               "deflation) learn PC1-PC3")

HERE = Path(__file__).resolve().parent
K = 3
SHORT_STEPS = 30_000
EIGENVALUES = (4.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.15, 0.1, 0.07, 0.05)

NONLOCAL = ("Sanger's GHA (dw_ij = eta y_i (x_j - sum_{k<=i} w_kj y_k)) and Oja's subspace rule are not local: "
            "the sum runs over other post neurons' weights and outputs, which the rule algebra (products of this "
            "synapse's pre, post, w and a modulator) cannot read. This experiment uses the local construction "
            "instead: neuron i runs Oja's rule on an explicit residual population r_(i-1) = x - sum_(k<i) w_k y_k "
            "(Sanger's deflation form), whose feedback weights learn with the anti-Hebbian rule -eta*y*r and "
            "converge to -w_k from a random start")


def make_data(n=10, samples=5000, seed=3):
    """``samples`` inputs whose sample covariance is exactly ``C = Q diag(EIGENVALUES) Q^T``."""
    rng = np.random.default_rng(seed)
    lam = np.asarray(EIGENVALUES[:n])
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    C = (Q * lam) @ Q.T
    Z = rng.normal(size=(samples, n))
    Z -= Z.mean(0)
    ev, V = np.linalg.eigh(Z.T @ Z / samples)
    Z = Z @ (V / np.sqrt(ev)) @ V.T                      # exactly white
    X = Z @ np.linalg.cholesky(C).T                       # exactly covariance C
    return X, C


def principal_components(C):
    ev, V = np.linalg.eigh(C)
    return ev[::-1], V[:, ::-1]


def run(ctx):
    net = ctx.load()
    data = np.load(ctx.folder / "network.npz")
    C = data["covariance"]
    X = data["x"]
    lam, pcs = principal_components(np.cov(X.T, bias=True))
    steps = SHORT_STEPS if ctx.short else None
    res = ctx.run(net, steps=steps)
    for i in range(1, K + 1):
        w = res.weights[f"w{i}"][0]
        label = "single neuron (Oja)" if i == 1 else f"neuron {i} of {K} (residual form)"
        ctx.metric(f"cos_pc{i}", abs_cosine(w, pcs[:, i - 1]), f"|cos(w{i}, PC{i})|, {label}",
                   "1 (Oja 1982)" if i == 1 else "1 (Sanger 1989)", (">=", 0.99))
    for i in range(1, K + 1):
        w = res.weights[f"w{i}"][0]
        ctx.metric(f"norm_w{i}", np.linalg.norm(w), f"|w{i}|", "1", ("between", 0.98, 1.02))
    for i in range(1, K):
        err = np.linalg.norm(res.weights[f"fb{i}"][:, 0] + res.weights[f"w{i}"][0])
        ctx.metric(f"fb_err{i}", err, f"|fb{i} + w{i}| (feedback copy error)", "0 (construction)")
    ctx.metric("cos_true_pc1", abs_cosine(res.weights["w1"][0], principal_components(C)[1][:, 0]),
               "|cos(w1, PC1 of the generating C)|", "1")
    ctx.note(NONLOCAL)
    ctx.note(f"eigenvalues of the input covariance: {', '.join(f'{v:g}' for v in lam[:5])}, ...; "
             f"eta = {net.projections['w1'].rule.eta:g}, {steps or net.run.steps} steps")
    ctx.extra["weights"] = {k: res.weights[k].tolist() for k in res.weights}
    if ctx.out is not None:
        _plots(ctx, res, pcs)


def _plots(ctx, res, pcs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, K + 1, figsize=(4 * (K + 1), 3.4))
    d = pcs.shape[0]
    for i in range(1, K + 1):
        ax = axes[i - 1]
        w = res.weights[f"w{i}"][0]
        pc = pcs[:, i - 1] * np.sign(pcs[:, i - 1] @ w)
        ax.bar(np.arange(d) - 0.2, w, 0.4, label=f"w{i} (learned)")
        ax.bar(np.arange(d) + 0.2, pc, 0.4, label=f"PC{i}", color="k", alpha=0.6)
        ax.set_title(f"neuron {i}: |cos| = {abs_cosine(w, pc):.4f}")
        ax.set_xlabel("input")
        ax.legend(fontsize=7)
    ax = axes[K]
    for i in range(1, K + 1):
        times, hist = res.weight_history(f"w{i}")
        W = hist[:, 0, :]
        cos = np.abs(W @ pcs[:, i - 1]) / np.maximum(np.linalg.norm(W, axis=1), 1e-12)
        ax.plot((times + 1) / 1000.0, cos, label=f"|cos(w{i}, PC{i})|")
        ax.plot((times + 1) / 1000.0, np.linalg.norm(W, axis=1), "--", lw=0.8, label=f"|w{i}|")
    ax.axhline(0.99, color="0.6", lw=0.6)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("steps (thousands)")
    ax.legend(fontsize=7)
    ax.set_title("convergence")
    fig.suptitle(f"oja_pca on {ctx.run_label}{' (short)' if ctx.short else ''}")
    fig.tight_layout()
    p = ctx.plot_path("weights")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    ctx.add_plot(p)


if __name__ == "__main__":
    import sys

    if "--make-data" in sys.argv:
        X, C = make_data()
        np.savez_compressed(HERE / "network.npz", x=X, covariance=C)
        print("wrote", HERE / "network.npz", X.shape)
