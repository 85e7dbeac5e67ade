"""The Song network at 10^5 synapses on the reference backend and on NEST (1 and 2 threads).

1000 Poisson inputs (15 Hz) -> 100 LIF neurons, all-to-all (10^5 plastic
synapses), additive pair STDP, the shipped ``stdp_song.yaml`` parameters.
Every run gets the same input trains and initial weights (neurohebb's
semantics layer), so the runs are also checked against each other: identical
output spikes and the largest final weight difference are printed.  Times are
wall-clock seconds of ``neurohebb.run`` (build + simulate; the NEST build
includes creating 10^5 synapses), best of ``--repeats``; ratios are against
the reference measured in the same process.

``--sweep`` also times ``compare --seeds`` (reference:float vs nest:float)
serially and on a local Dask cluster of ``--workers`` processes.

Run from the repo root:  .venv/bin/python benchmarks/bench_nest.py [--steps 10000] [--sweep]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def song(n_in, n_out, steps, seed=1):
    from neurohebb.builder import Builder

    b = Builder("song_nest_bench", steps=steps, seed=seed)
    b.population("inputs", type="poisson", n=n_in, rates=15.0)
    b.population("out", type="lif", n=n_out, du=0.1813, dv=0.0952, vth=1.0, refractory=2)
    b.projection("syn", "inputs", "out", sign="excitatory", bounds=(0.0, 0.004),
                 weights={"init": "uniform", "low": 0.0, "high": 0.004},
                 rule={"template": "stdp_pair", "a_plus": 1.0e-4, "a_minus": 1.05e-4, "tau_plus": 20, "tau_minus": 20})
    return b.build()


def best_of(fn, repeats):
    best, res = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-in", type=int, default=1000)
    p.add_argument("--n-out", type=int, default=100)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--sweep", action="store_true", help="also time compare --seeds serially and on Dask")
    p.add_argument("--seeds", type=int, default=4, help="seeds of the sweep")
    p.add_argument("--sweep-steps", type=int, default=3000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json", help="write the numbers here")
    args = p.parse_args(argv)

    import neurohebb as nh
    from neurohebb import backends

    why = backends.unavailable_reason("nest")
    if why is not None:
        print(f"nest backend unavailable: {why}")
        return 1
    net = song(args.n_in, args.n_out, args.steps)
    print(f"Song network: {args.n_in} x {args.n_out} = {args.n_in * args.n_out} plastic synapses, {args.steps} steps")
    nh.run(net, steps=50, progress=False)  # numba compilation, module build: not timed
    nh.run(net, backend="nest", steps=50, progress=False)
    rows, out = [], {"synapses": args.n_in * args.n_out, "steps": args.steps}
    t_ref, ref = best_of(lambda: nh.run(net, progress=False), args.repeats)
    rows.append(("reference:float", t_ref, 1.0, "", ""))
    out["reference_s"] = t_ref
    for threads in (1, 2):
        t, res = best_of(lambda: nh.run(net, backend="nest", progress=False, threads=threads), args.repeats)
        mism = int(sum((ref.spikes[k] != res.spikes[k]).sum() for k in ref.spikes))
        dw = float(np.abs(ref.weights["syn"] - res.weights["syn"]).max())
        rows.append((f"nest:float, {threads} thread{'s' if threads > 1 else ''}", t, t / t_ref, mism, f"{dw:.2e}"))
        out[f"nest_{threads}_s"] = t
        out[f"nest_{threads}_run_s"] = res.report["run_s"]
        out[f"nest_{threads}_spike_mismatches"] = mism
        out[f"nest_{threads}_max_dw"] = dw
    print(f"\n{'run':26s} {'wall s':>8s} {'/ reference':>12s} {'spike mismatches':>17s} {'max |dw|':>10s}")
    for name, t, ratio, mism, dw in rows:
        print(f"{name:26s} {t:8.2f} {ratio:12.2f} {str(mism):>17s} {dw:>10s}")
    print(f"\nnest threads: 2 threads / 1 thread = {out['nest_2_s'] / out['nest_1_s']:.2f} (wall), "
          f"{out['nest_2_run_s'] / out['nest_1_run_s']:.2f} (simulate only)")
    if args.sweep:
        from neurohebb.compare import compare

        small = song(args.n_in, args.n_out // 10 or 1, args.sweep_steps)
        kw = dict(runs=["reference:float", "nest:float"], seeds=args.seeds, steps=args.sweep_steps)
        t0 = time.perf_counter()
        a = compare(small, **kw)
        t_serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        b = compare(small, workers=args.workers, progress=False, **kw)
        t_dask = time.perf_counter() - t0
        same = all(np.array_equal(ra["values"], rb["values"], equal_nan=True) for ra, rb in zip(a.rows, b.rows))
        print(f"\ncompare --seeds {args.seeds} (reference:float vs nest:float, {args.sweep_steps} steps): serial "
              f"{t_serial:.1f} s, {args.workers} Dask workers {t_dask:.1f} s: speed-up {t_serial / t_dask:.2f} "
              f"(cluster start-up included); same rows as serial: {same}")
        out.update({"sweep_serial_s": t_serial, "sweep_dask_s": t_dask, "sweep_workers": args.workers,
                    "sweep_same": same})
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
