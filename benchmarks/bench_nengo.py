"""Reference backend vs the Nengo backend (nengo.Simulator), same documents.

Two 1000 -> 1000 networks, all-to-all (1 000 000 plastic synapses):

* ``dense_hebbian`` (rate): ``pre = array (100, 1000) in [0, 1), repeat``,
  ``post = rate (linear)``, ``rule: hebbian (eta 1e-6)``, bounds [-1, 1]:
  every synapse changes every step (the reference's fused numba kernel vs
  the Nengo operator's one BLAS rank-k update + clip).
* ``pair_stdp`` (spiking): ``pre = poisson 15 Hz``, ``post = lif`` (the Song
  et al. parameters of bench_song.py), ``rule: stdp_pair`` additive, bounds
  [0, w_max]: event-driven updates of the rows/columns that spiked.

Both backends run the same document and seed; the script checks that they
agree (identical spikes, max relative weight difference) and prints wall
times, steps/s and the ratio nengo / reference.  Times exclude nothing: the
Nengo time includes building the nengo.Network and the Simulator (reported
separately), the reference time its per-run setup (numba kernels are warmed
up once, untimed).

Run from the repo root:  .venv/bin/python benchmarks/bench_nengo.py [--steps 2000]
"""
from __future__ import annotations

import argparse
import json
import math
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
    p.add_argument("--n", type=int, default=1000, help="neurons per population (n -> n)")
    p.add_argument("--steps", type=int, default=2000, help="timed steps per run")
    p.add_argument("--repeats", type=int, default=2, help="timed runs per backend (the best is reported)")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="run.dtype of both networks")
    p.add_argument("--only", choices=("dense_hebbian", "pair_stdp"), help="run one benchmark")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def dense_hebbian(a, steps):
    from neurohebb.builder import Builder

    rng = np.random.default_rng(a.seed)
    X = rng.random((100, a.n), dtype=np.float32 if a.dtype == "float32" else np.float64)
    b = Builder("dense_hebbian", steps=steps, seed=a.seed, dtype=a.dtype)
    b.population("pre", type="array", values=X, repeat=True)
    b.population("post", type="rate", n=a.n)
    b.projection("p", "pre", "post", sign="mixed", bounds=(-1.0, 1.0),
                 weights={"init": "uniform", "low": -0.01, "high": 0.01},
                 rule={"template": "hebbian", "eta": 1e-6})
    return b.build()


def pair_stdp(a, steps):
    from neurohebb.builder import Builder

    w_max = 0.0023
    b = Builder("pair_stdp", steps=steps, seed=a.seed, dtype=a.dtype)
    b.population("pre", type="poisson", n=a.n, rates=15.0)
    b.population("post", type="lif", n=a.n, du=1 - math.exp(-1 / 5.0), dv=1 - math.exp(-1 / 10.0), vth=1.0,
                 refractory=2)
    b.projection("p", "pre", "post", sign="excitatory", bounds=(0.0, w_max),
                 weights={"init": "uniform", "low": 0.0, "high": w_max},
                 rule={"template": "stdp_pair", "a_plus": 0.005 * w_max, "a_minus": 1.05 * 0.005 * w_max,
                       "tau_plus": 20.0, "tau_minus": 20.0})
    return b.build()


def timed(fn, repeats):
    walls, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
    return min(walls), walls, out


def bench(name, make, a):
    from neurohebb.backends import nengo as nb
    from neurohebb.backends.reference import simulator as ref

    ref.run(make(a, 20), progress=False)  # numba kernels: compile/load, untimed
    nb.run(make(a, 5), progress=False)    # imports, untimed
    net = make(a, a.steps)
    wr, wrs, r = timed(lambda: ref.run(net, progress=False), a.repeats)
    wn, wns, n = timed(lambda: nb.run(net, progress=False), a.repeats)
    spike_mismatch = int(sum((r.spikes[k] != n.spikes[k]).sum() for k in r.spikes))
    W_r, W_n = r.weights["p"], n.weights["p"]
    rel = float(np.abs(W_n - W_r).max() / max(np.abs(W_r).max(), 1e-300))
    out = {
        "name": name, "steps": a.steps, "n": a.n, "dtype": a.dtype,
        "reference": {"wall": wr, "walls": wrs, "steps_per_s": a.steps / wr},
        "nengo": {"wall": wn, "walls": wns, "steps_per_s": a.steps / wn, "build_s": n.report["build_s"],
                  "run_s": n.report["run_s"]},
        "ratio_nengo_over_reference": wn / wr,
        "spike_mismatches": spike_mismatch,
        "post_rate_hz": float(r.spikes["post"].mean() * 1000.0 / r.dt) if "post" in r.spikes else None,
        "max_rel_weight_diff": rel,
        "max_weight_change": float(np.abs(W_r - r.initial_weights["p"]).max()),
    }
    return out


def main(argv=None):
    a = parse_args(argv)
    from bench_song import busy_cores, fmt_table, machine_line

    print(f"reference vs nengo.Simulator, {a.n} -> {a.n} all-to-all ({a.n * a.n:,} plastic synapses), "
          f"{a.steps} steps, {a.dtype}")
    print(machine_line())
    busy0 = busy_cores()
    todo = [("dense_hebbian", dense_hebbian), ("pair_stdp", pair_stdp)]
    results = {}
    rows = []
    for name, make in todo:
        if a.only and a.only != name:
            continue
        res = bench(name, make, a)
        results[name] = res
        rows.append([name, "reference", f"{res['reference']['wall']:.3f}", f"{res['reference']['steps_per_s']:.0f}", ""])
        rows.append(["", "nengo.Simulator", f"{res['nengo']['wall']:.3f}", f"{res['nengo']['steps_per_s']:.0f}",
                     f"build {res['nengo']['build_s']:.2f} s"])
        rows.append(["", "ratio nengo / reference", f"{res['ratio_nengo_over_reference']:.1f}x", "", ""])
        agree = f"{res['spike_mismatches']} spike mismatches, max rel |dW| {res['max_rel_weight_diff']:.1e}"
        if res["post_rate_hz"] is not None:
            agree += f", post {res['post_rate_hz']:.1f} Hz"
        rows.append(["", "agreement", "", "", agree])
    print()
    print(fmt_table(rows, ["benchmark", "backend", "wall [s]", "steps/s", "notes"]))
    busy1 = busy_cores()
    if busy0 is not None and max(busy0, busy1 or 0) > 0.3:
        print(f"cores busy with other processes: {busy0:.2f} before, {busy1:.2f} after  ** timings not representative **")
    out = {"results": results, "busy_cores_start": busy0, "busy_cores_end": busy1}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
