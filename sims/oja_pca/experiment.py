"""oja_pca: Oja's rule (Oja 1982) and Sanger's k-neuron extension in deflation form.

network.yaml: 10 correlated zero-mean inputs (covariance C exactly, eigenvalues
4, 2, 1, 0.5, ...); y1 runs Oja's rule on x (the single neuron); y2 and y3 run
Oja's rule on explicit residual populations r1 = x - w1 y1 and r2 = r1 - w2 y2,
whose feedback weights learn with a local anti-Hebbian rule (see the document).

Metrics: |cos(w_i, PC_i)| and |w_i| for i = 1..3 (targets >= 0.99 and within 2 %
of 1), and how well the learned feedback copies the forward weights.

    python sims/oja_pca/experiment.py --make-data    # regenerate network.npz and network_spiking.npz

Part ``spiking`` (``run_sim("oja_pca", part="spiking")``, ``neurohebb sims run
oja_pca --part spiking``): the chip-expressible variant in network_spiking.yaml
(rate-coded spike inputs with the same covariance structure, one LIF neuron,
Oja's rule in spiking form).  Metrics: |cos(w, PC1 of the input rates)| at the
end and averaged over the second half of the run (the objective of
``searches/oja_spiking.yaml``), |w| and the output rate.  It runs in
reference:float, reference:fixed and on Lava; the rate-based main document does
not compile for Loihi 2.
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


SPIKING_R0, SPIKING_GAIN, SPIKING_HOLD, SPIKING_SAMPLES = 60.0, 25.0, 100, 1000   # Hz, Hz per unit of x, steps
SPIKING_SHORT_STEPS = 100_000


def make_spiking_data(x, seed=0):
    """Rate-coded spikes (steps, 10) for network_spiking.yaml: sample k of ``x``
    sets the rates ``max(0, R0 + GAIN * x_k)`` Hz for HOLD steps; each input
    emits a spike whenever its phase accumulator (random start) passes 1.
    Returns ``(spikes, rates)`` (rates: (samples, 10) in Hz)."""
    rates = np.clip(SPIKING_R0 + SPIKING_GAIN * x[:SPIKING_SAMPLES], 0.0, None)
    per_step = np.repeat(rates, SPIKING_HOLD, axis=0) / 1000.0
    acc = np.random.default_rng(seed).uniform(0.0, 1.0, size=rates.shape[1])
    spikes = np.zeros(per_step.shape, bool)
    for t in range(per_step.shape[0]):
        acc += per_step[t]
        spikes[t] = acc >= 1.0
        acc[spikes[t]] -= 1.0
    return spikes, rates


def rate_pc1(rates):
    """The first principal component of the input rates (the spiking part's target)."""
    return principal_components(np.cov(np.asarray(rates, float).T, bias=True))[1][:, 0]


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
    seeds = ctx.seeds(short=1)
    runs = [ctx.run(net, steps=steps, seed=sd) for sd in seeds]
    res = runs[0]
    init = "initial weights (no learning)"
    src = {1: "Oja 1982 (J. Math. Biol. 15:267): w -> +-PC1, |w| -> 1 (closed form); tolerance 0.01",
           2: "Sanger 1989 (Neural Netw. 2:459): w_i -> +-PC_i (closed form); tolerance 0.01"}
    for i in range(1, K + 1):
        label = "single neuron (Oja)" if i == 1 else f"neuron {i} of {K} (residual form)"
        ctx.metric(f"cos_pc{i}", [abs_cosine(r.weights[f"w{i}"][0], pcs[:, i - 1]) for r in runs],
                   f"|cos(w{i}, PC{i})|, {label}", target=(">=", 0.99),
                   control=[abs_cosine(r.initial_weights[f"w{i}"][0], pcs[:, i - 1]) for r in runs],
                   control_label=init, source=src[min(i, 2)])
    for i in range(1, K + 1):
        ctx.metric(f"norm_w{i}", [np.linalg.norm(r.weights[f"w{i}"][0]) for r in runs], f"|w{i}|",
                   target=("between", 0.98, 1.02),
                   control=[np.linalg.norm(r.initial_weights[f"w{i}"][0]) for r in runs], control_label=init,
                   source="Oja 1982: |w| -> 1 (closed form); tolerance 0.02")
    for i in range(1, K):
        ctx.metric(f"fb_err{i}", [np.linalg.norm(r.weights[f"fb{i}"][:, 0] + r.weights[f"w{i}"][0]) for r in runs],
                   f"|fb{i} + w{i}| (feedback copy error)",
                   control=[np.linalg.norm(r.initial_weights[f"fb{i}"][:, 0] + r.initial_weights[f"w{i}"][0])
                            for r in runs], control_label=init)
    ctx.metric("cos_true_pc1", [abs_cosine(r.weights["w1"][0], principal_components(C)[1][:, 0]) for r in runs],
               "|cos(w1, PC1 of the generating C)|")
    ctx.note(NONLOCAL)
    ctx.note(f"eigenvalues of the input covariance: {', '.join(f'{v:g}' for v in lam[:5])}, ...; "
             f"eta = {net.projections['w1'].rule.eta:g}, {steps or net.run.steps} steps")
    ctx.extra["weights"] = {k: res.weights[k].tolist() for k in res.weights}
    if ctx.out is not None:
        _plots(ctx, res, pcs)


def run_spiking(ctx):
    """Part ``spiking``: network_spiking.yaml; see the module docstring."""
    net = ctx.load("network_spiking.yaml")
    pc1 = rate_pc1(np.load(ctx.folder / "network_spiking.npz")["rates"])
    steps = SPIKING_SHORT_STEPS if ctx.short else None
    res = ctx.run(net, steps=steps)
    w = res.weights["w"][0]
    times, hist = res.weight_history("w")
    W = hist[:, 0, :]
    cos = np.abs(W @ pc1) / np.maximum(np.linalg.norm(W, axis=1), 1e-12)
    tail = cos[len(cos) // 2:]
    w0 = res.initial_weights["w"][0]
    ctx.metric("spiking_cos_pc1", abs_cosine(w, pc1), "spiking: |cos(w, PC1 of the input rates)| at the end",
               control=abs_cosine(w0, pc1), control_label="initial weights")
    ctx.metric("spiking_cos_pc1_mean", float(tail.mean()),
               "spiking: |cos(w, PC1)| averaged over the second half", control=abs_cosine(w0, pc1),
               control_label="initial weights")
    ctx.metric("spiking_norm_w", np.linalg.norm(w), "spiking: |w|")
    ctx.metric("spiking_rate_hz", res.spikes["y"].mean() * 1000.0 / res.dt, "spiking: output rate (Hz)")
    ctx.note(f"spiking variant: {steps or net.run.steps} steps; rule dw = {net.projections['w'].rule.dw}; "
             "random weights score |cos| ~ 0.3, the learned vector's sign is arbitrary")
    ctx.extra["spiking_weights"] = w.tolist()
    ctx.extra["spiking_cos_history"] = {"times": times.tolist(), "cos": cos.tolist()}
    if ctx.out is not None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        ax = axes[0]
        pc = pc1 * np.sign(pc1 @ w) * np.linalg.norm(w)
        ax.bar(np.arange(len(w)) - 0.2, w, 0.4, label="w (learned)")
        ax.bar(np.arange(len(w)) + 0.2, pc, 0.4, label="PC1 x |w|", color="k", alpha=0.6)
        ax.set_xlabel("input")
        ax.legend(fontsize=7)
        ax.set_title(f"|cos| = {abs_cosine(w, pc1):.3f}")
        ax = axes[1]
        ax.plot(times / 1000.0, cos, label="|cos(w, PC1)|")
        ax.plot(times / 1000.0, np.linalg.norm(W, axis=1), "--", lw=0.8, label="|w|")
        ax.set_xlabel("steps (thousands)")
        ax.legend(fontsize=7)
        fig.suptitle(f"oja_pca (spiking) on {ctx.run_label}{' (short)' if ctx.short else ''}")
        ctx.save_figure(fig, "spiking_weights")


#: parts that run alone: run_sim("oja_pca", part="spiking")
PARTS = {"spiking": run_spiking}


def _plots(ctx, res, pcs):
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
        ax.plot(times / 1000.0, cos, label=f"|cos(w{i}, PC{i})|")
        ax.plot(times / 1000.0, np.linalg.norm(W, axis=1), "--", lw=0.8, label=f"|w{i}|")
    ax.axhline(0.99, color="0.6", lw=0.6)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("steps (thousands)")
    ax.legend(fontsize=7)
    ax.set_title("convergence")
    fig.suptitle(f"oja_pca on {ctx.run_label}{' (short)' if ctx.short else ''}")
    ctx.save_figure(fig, "weights")


if __name__ == "__main__":
    import sys

    if "--make-data" in sys.argv:
        X, C = make_data()
        np.savez_compressed(HERE / "network.npz", x=X, covariance=C)
        print("wrote", HERE / "network.npz", X.shape)
        spikes, rates = make_spiking_data(X)
        np.savez_compressed(HERE / "network_spiking.npz", spikes=spikes, rates=rates)
        print("wrote", HERE / "network_spiking.npz", spikes.shape)
