"""Prototype, NOT part of neurohebb: sizes the change suggested in docs/performance.md.

It re-implements the reference backend's step loop for the Song STDP benchmark
network (Poisson -> LIF, additive pair STDP, exclusive timing, no delay) in two
ways, reusing neurohebb's own Poisson trains and initial weights, and checks
that both give bit-identical spikes and weights to ``neurohebb``'s reference
backend:

* ``fused``: the same Python loop over steps, but one numba call per
  population (``lif_step``) and ONE numba call per plastic projection
  (``stdp_step``: trace updates, spike-index scan, event-driven weight update
  and the forward spike gather of the next step's input), instead of ~25 numpy
  calls (masks, ``flatnonzero``, ``any``, per-product A/B filling).
* ``compiled``: the whole loop of steps in one numba function (the ceiling).

    .venv/bin/python benchmarks/profiling/song_fused_prototype.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_song  # noqa: E402
from neurohebb.backends.reference import simulator  # noqa: E402
from neurohebb.semantics import SourceTrain, initial_weights  # noqa: E402
from neurohebb.ir.validate import size  # noqa: E402


@numba.njit(cache=True, nogil=True)
def lif_step(u, v, I, bias, rl, kdu, kdv, vth, v_reset, R, out):
    """The IR's LIF step (same operation order as float_model._LIFPop.step);
    kdu = 1 - du and kdv = 1 - dv, computed in the run's dtype."""
    n = u.shape[0]
    nspk = 0
    for i in range(n):
        u[i] = u[i] * kdu + I[i]
        if R > 0 and rl[i] > 0:
            rl[i] -= 1
        else:
            v[i] = v[i] * kdv + u[i] + bias[i]
        if v[i] > vth:
            v[i] = v_reset
            out[i] = 1.0
            nspk += 1
            if R > 0:
                rl[i] = R
        else:
            out[i] = 0.0
    return nspk


@numba.njit(cache=True, nogil=True)
def stdp_step(W, x_arr, y, xnext, x1a, x1b, y1a, y1b, dx, dy, a_plus, a_minus, lo, hi, nxt):
    """Traces, additive pair-STDP events (exclusive timing) and the forward gather,
    with the reference's arithmetic: dw = (a_plus*y_i)*x1b_j + (-a_minus*y1b_i)*x_j."""
    npost, npre = W.shape
    for j in range(npre):
        x1b[j] = x1a[j] * dx
        x1a[j] = x_arr[j] + x1b[j]
    for i in range(npost):
        y1b[i] = y1a[i] * dy
        y1a[i] = y[i] + y1b[i]
    # rows: post spikes (LTP with every pre trace, LTD where a pre spike arrives)
    for i in range(npost):
        if y[i] == 0:
            continue
        a0 = a_plus * y[i]
        a1 = -a_minus * y1b[i]
        for j in range(npre):
            w2 = W[i, j] + (a0 * x1b[j] + a1 * x_arr[j])
            W[i, j] = min(max(w2, lo), hi)
    # columns: arriving pre spikes onto the other (silent) post neurons
    for j in range(npre):
        if x_arr[j] == 0:
            continue
        for i in range(npost):
            if y[i] != 0:
                continue
            a1 = -a_minus * y1b[i]
            w2 = W[i, j] + a1 * x_arr[j]  # the reference adds 0 * x1b[j]: no change
            W[i, j] = min(max(w2, lo), hi)
    # next step's input: W(t+1) @ x[t] for binary spikes
    for j in range(npre):
        if xnext[j] != 0:
            for i in range(npost):
                nxt[i] += W[i, j]


def setup(P, dtype):
    net = bench_song.neurohebb_network(P, dtype)
    dt = np.dtype(dtype)
    train = SourceTrain(net.populations["inputs"], size(net, "inputs"), 1.0, P["seed"], "source:inputs", dt)
    W, _ = initial_weights(net, "syn", P["seed"], dt)
    return net, train, W


def run_fused(P, dtype="float64"):
    net, train, W = setup(P, dtype)
    dt = np.dtype(dtype)
    n_in, n_out, steps = P["n_in"], P["n_out"], P["steps"]
    t0 = time.perf_counter()
    u, v, I, nxt = (np.zeros(n_out, dt) for _ in range(4))
    bias, rl, y = np.zeros(n_out, dt), np.zeros(n_out, np.int64), np.zeros(n_out, dt)
    x1a, x1b, y1a, y1b = np.zeros(n_in, dt), np.zeros(n_in, dt), np.zeros(n_out, dt), np.zeros(n_out, dt)
    x_prev, x_cur = np.zeros(n_in, dt), np.zeros(n_in, dt)
    rec_in, rec_out = np.zeros((steps, n_in), bool), np.zeros((steps, n_out), bool)
    dx = dy = dt.type(np.exp(-1.0 / P["tau"]))
    c = dt.type
    for t in range(steps):
        I, nxt = nxt, I
        nxt[:] = 0
        x_prev, x_cur = x_cur, x_prev
        x_cur[:] = train.at(t)
        lif_step(u, v, I, bias, rl, c(1) - c(P["du"]), c(1) - c(P["dv"]), P["vth"], c(0.0), P["refractory"], y)
        rec_in[t] = x_cur != 0
        rec_out[t] = y != 0
        stdp_step(W, x_prev, y, x_cur, x1a, x1b, y1a, y1b, dx, dy, c(P["a_plus"]), c(P["a_minus"]),
                  c(0.0), c(P["w_max"]), nxt)
    return time.perf_counter() - t0, rec_out, W


@numba.njit(cache=True, nogil=True)
def _loop(W, spikes_in, kdu, kdv, vth, R, dx, dy, a_plus, a_minus, lo, hi, rec_out):
    steps, n_in = spikes_in.shape
    n_out = W.shape[0]
    u = np.zeros(n_out, W.dtype)
    v = np.zeros(n_out, W.dtype)
    I = np.zeros(n_out, W.dtype)
    nxt = np.zeros(n_out, W.dtype)
    bias = np.zeros(n_out, W.dtype)
    y = np.zeros(n_out, W.dtype)
    rl = np.zeros(n_out, np.int64)
    x1a = np.zeros(n_in, W.dtype)
    x1b = np.zeros(n_in, W.dtype)
    y1a = np.zeros(n_out, W.dtype)
    y1b = np.zeros(n_out, W.dtype)
    x_prev = np.zeros(n_in, W.dtype)
    for t in range(steps):
        I, nxt = nxt, I
        nxt[:] = 0
        lif_step(u, v, I, bias, rl, kdu, kdv, vth, v[0] * 0, R, y)
        for i in range(n_out):
            rec_out[t, i] = y[i] != 0
        stdp_step(W, x_prev, y, spikes_in[t], x1a, x1b, y1a, y1b, dx, dy, a_plus, a_minus, lo, hi, nxt)
        x_prev = spikes_in[t]


def run_compiled(P, dtype="float64"):
    net, train, W = setup(P, dtype)
    dt = np.dtype(dtype)
    c = dt.type
    t0 = time.perf_counter()
    spikes_in = np.stack([train.at(t) for t in range(P["steps"])])  # the same Poisson draws, as a (steps, n) array
    rec_out = np.zeros((P["steps"], P["n_out"]), np.bool_)
    _loop(W, spikes_in, c(1) - c(P["du"]), c(1) - c(P["dv"]), P["vth"], P["refractory"], c(np.exp(-1.0 / P["tau"])),
          c(np.exp(-1.0 / P["tau"])), c(P["a_plus"]), c(P["a_minus"]), c(0.0), c(P["w_max"]), rec_out)
    return time.perf_counter() - t0, rec_out, W


def main():
    P = bench_song.params(bench_song.parse_args(sys.argv[1:]))
    for dtype in ("float64", "float32"):
        net = bench_song.neurohebb_network(P, dtype)
        simulator.run(net, progress=False)
        ref_t = []
        for _ in range(3):
            t0 = time.perf_counter()
            ref = simulator.run(net, progress=False)
            ref_t.append(time.perf_counter() - t0)
        run_fused(dict(P, steps=10), dtype)
        run_compiled(dict(P, steps=10), dtype)
        fu = [run_fused(P, dtype) for _ in range(3)]
        co = [run_compiled(P, dtype) for _ in range(3)]
        for name, runs in (("fused", fu), ("compiled", co)):
            _, spk, W = runs[-1]
            same = np.array_equal(spk, ref.spikes["out"]) and np.array_equal(W, ref.weights["syn"])
            print(f"{dtype} {name:9s}: {min(r[0] for r in runs):.3f} s  (reference {min(ref_t):.3f} s, "
                  f"speed-up {min(ref_t) / min(r[0] for r in runs):.1f}x); bit-identical to the reference: {same}")


if __name__ == "__main__":
    main()
