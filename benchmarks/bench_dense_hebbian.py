"""Dense rate-based Hebbian learning, 1000 -> 1000, float32: neurohebb vs numpy.

neurohebb network (reference backend, ``run: {dtype: float32}``)::

    pre  = {type: array, values: X (cycle, n_pre) float32, repeat: true}
    post = {type: rate, n: n_post}                       # y[t] = W(t) x[t-1]
    proj = {rule: {template: hebbian, eta: 1e-6}, bounds: [-1, 1],
            weights: uniform(-0.01, 0.01)}               # W += eta * outer(y, x), clipped

The numpy peer runs the same recursion in float32 in a plain Python loop::

    y = W @ x;  W += eta * np.outer(y, x)    (and, for the same semantics, np.clip(W, lo, hi, out=W))

timed with and without the clip.

Both start from the same W and see the same inputs, so the final weights are
compared too (they differ only by float32 rounding: the two sum W @ x in a
different order).

Run from the repo root:  .venv/bin/python benchmarks/bench_dense_hebbian.py
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "benchmarks"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n-pre", type=int, default=1000)
    p.add_argument("--n-post", type=int, default=1000)
    p.add_argument("--steps", type=int, default=2000, help="timed steps")
    p.add_argument("--warmup", type=int, default=50, help="steps of the untimed warm-up run (numba compile/load)")
    p.add_argument("--cycle", type=int, default=100, help="rows of the input array X (repeated)")
    p.add_argument("--eta", type=float, default=1e-6)
    p.add_argument("--bound", type=float, default=1.0, help="bounds [-bound, bound]")
    p.add_argument("--repeats", type=int, default=3, help="timed runs (the best is reported)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def make_network(a, X, steps):
    from neurohebb.builder import Builder

    b = Builder("dense_hebbian_bench", steps=steps, seed=a.seed, dtype="float32")
    b.population("pre", type="array", values=X, repeat=True)
    b.population("post", type="rate", n=a.n_post)
    b.projection("hebb", "pre", "post", sign="mixed", bounds=(-a.bound, a.bound),
                 weights={"init": "uniform", "low": -0.01, "high": 0.01},
                 rule={"template": "hebbian", "eta": a.eta})
    return b.build()


def run_neurohebb(a, X):
    from neurohebb.backends.reference import simulator

    t0 = time.perf_counter()
    warm = simulator.run(make_network(a, X, a.warmup), progress=False)
    first = time.perf_counter() - t0
    net = make_network(a, X, a.steps)
    one = min(_timed(lambda: simulator.run(net, steps=1, progress=False)) for _ in range(3))
    walls, res = [], None
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        res = simulator.run(net, progress=False)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    return dict(first_run=first, warmup_steps=a.warmup, wall=wall, walls=walls, setup=one,
                steps_per_s=a.steps / wall, steps_per_s_excl_setup=(a.steps - 1) / max(wall - one, 1e-9),
                W0=res.initial_weights["hebb"], W=res.weights["hebb"])


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def numpy_peer(W0, X, steps, eta, lo, hi, clip):
    """The same recursion as the IR: the input of step t is the pre activity of
    step t-1 (zero at t = 0), y[t] = W x[t-1], W += eta * outer(y, x[t-1])."""
    W = W0.copy()
    eta = np.float32(eta)
    cyc = X.shape[0]
    for t in range(1, steps):
        x = X[(t - 1) % cyc]
        y = W @ x
        W += eta * np.outer(y, x)
        if clip:
            np.clip(W, lo, hi, out=W)
    return W


def run_numpy(a, X, W0, clip):
    numpy_peer(W0, X, min(a.warmup, a.steps), a.eta, -a.bound, a.bound, clip)
    walls, W = [], None
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        W = numpy_peer(W0, X, a.steps, a.eta, -a.bound, a.bound, clip)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)
    return dict(wall=wall, walls=walls, steps_per_s=a.steps / wall, W=W)


def main(argv=None):
    a = parse_args(argv)
    rng = np.random.default_rng(a.seed)
    X = rng.random((a.cycle, a.n_pre), dtype=np.float32)  # graded (non-binary) rates in [0, 1)
    from bench_song import busy_cores, fmt_table, machine_line

    print(f"dense Hebbian, float32: {a.n_pre} -> {a.n_post} ({a.n_pre * a.n_post:,} synapses), eta {a.eta}, "
          f"{a.steps} timed steps")
    print(machine_line())
    busy0 = busy_cores()
    nh = run_neurohebb(a, X)
    print(f"neurohebb: first run ({a.warmup} steps, numba load/compile) {nh['first_run']:.3f} s; "
          f"{a.steps} steps {nh['wall']:.3f} s (setup of a run {1000 * nh['setup']:.1f} ms)")
    npc = run_numpy(a, X, nh["W0"], clip=True)
    npn = run_numpy(a, X, nh["W0"], clip=False)
    err = float(np.abs(npc["W"] - nh["W"]).max())
    scale = float(np.abs(npc["W"] - nh["W0"]).max())
    rows = [
        ["neurohebb reference (float32)", f"{nh['wall']:.3f}", f"{nh['steps_per_s']:.0f}",
         f"{1e6 / nh['steps_per_s']:.0f}", "1.00"],
        ["numpy loop: W@x, W += eta*outer, clip", f"{npc['wall']:.3f}", f"{npc['steps_per_s']:.0f}",
         f"{1e6 / npc['steps_per_s']:.0f}", f"{nh['steps_per_s'] / npc['steps_per_s']:.2f}"],
        ["numpy loop: W@x, W += eta*outer (no clip)", f"{npn['wall']:.3f}", f"{npn['steps_per_s']:.0f}",
         f"{1e6 / npn['steps_per_s']:.0f}", f"{nh['steps_per_s'] / npn['steps_per_s']:.2f}"],
    ]
    print()
    print(fmt_table(rows, ["implementation", "wall [s]", "steps/s", "us/step", "neurohebb speed-up"]))
    print()
    print(f"neurohebb float32 dense Hebbian: {nh['steps_per_s']:.0f} steps/s "
          f"({nh['steps_per_s_excl_setup']:.0f} excluding the per-run setup); target >= 2500: "
          f"{'met' if nh['steps_per_s'] >= 2500 else 'NOT met'}")
    print(f"agreement with the numpy peer: max |W_neurohebb - W_numpy| = {err:.2e} "
          f"(largest weight change {scale:.2e})")
    out = {"neurohebb": {k: v for k, v in nh.items() if k not in ("W", "W0")},
           "numpy_clip": {k: v for k, v in npc.items() if k != "W"},
           "numpy_noclip": {k: v for k, v in npn.items() if k != "W"},
           "busy_cores_start": busy0, "busy_cores_end": busy_cores(),
           "max_abs_diff": err, "max_change": scale, "steps": a.steps, "n_pre": a.n_pre, "n_post": a.n_post}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
