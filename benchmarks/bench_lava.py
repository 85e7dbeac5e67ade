"""reference:fixed vs lava:fixed: one n -> n LearningDense with pair STDP.

The network (both sizes): ``pre = poisson (n, 15 Hz)``, ``post = lif (n)``
(the Song et al. parameters of bench_song.py), one all-to-all plastic
projection with additive pair STDP (exclusive timing, emulated on the
inclusive engine), bounds [0, w_max].  Sizes 100 x 100 and 1000 x 1000,
1000 steps.

Both backends run the same compiled integer program with the same random
streams, so the script also checks that they agree bit for bit (spikes and
integer weights).  Times: the reference's best of ``--repeats`` warm runs
(numba kernels compiled once, untimed) and one Lava run per size, whole
``run()`` calls (Lava: building the processes, Lava's compiler, the run, reading
the results back).  For fixed point the reference is timed twice: ``run()``
as a user calls it (it compiles the network, which loads
``hardware_configs/loihi2.yaml`` with PyYAML: ~7 ms per call) and
``run_fixed(net, hardware=<HardwareConfig loaded once>)`` (what ``compare``
does: one config for all runs).  The target is reference at least
100x faster.

Run from the repo root:  .venv/bin/python benchmarks/bench_lava.py [--sizes 100 1000] [--steps 1000]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Lava before anything starts numba's parallel runtime (neurohebb.backends.lava copes either way)
from neurohebb.backends import lava as lava_backend  # noqa: E402

import numpy as np  # noqa: E402

TARGET = 100.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="n for n -> n")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3, help="timed reference runs (best reported)")
    p.add_argument("--lava-repeats", type=int, default=1, help="timed Lava runs (best reported)")
    p.add_argument("--float", action="store_true", help="also time reference:float and lava:float")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def network(n, steps, seed):
    from neurohebb.builder import Builder

    w_max = 0.0023 * 1000 / n  # the same total drive for every n
    b = Builder(f"pair_stdp_{n}x{n}", steps=steps, seed=seed)
    b.population("pre", type="poisson", n=n, rates=15.0)
    b.population("post", type="lif", n=n, du=1 - math.exp(-1 / 5.0), dv=1 - math.exp(-1 / 10.0), vth=1.0,
                 refractory=2)
    b.projection("p", "pre", "post", sign="excitatory", bounds=(0.0, w_max),
                 weights={"init": "uniform", "low": 0.0, "high": w_max},
                 rule={"template": "stdp_pair", "a_plus": 0.005 * w_max, "a_minus": 1.05 * 0.005 * w_max,
                       "tau_plus": 20.0, "tau_minus": 20.0})
    return b.build()


def best_of(fn, k):
    best, res = math.inf, None
    for _ in range(k):
        t0 = time.perf_counter()
        r = fn()
        dt = time.perf_counter() - t0
        if dt < best:
            best, res = dt, r
    return best, res


def one(n, a, precision):
    from neurohebb.backends.reference import simulator as ref

    from neurohebb.backends.reference.fixed import run_fixed
    from neurohebb.hardware import load_hardware

    net = network(n, a.steps, a.seed)
    ref.run(net, precision=precision, steps=min(a.steps, 50), progress=False)  # compile the kernels, untimed
    t_ref, r = best_of(lambda: ref.run(net, precision=precision, progress=False), a.repeats)
    if precision == "fixed":
        hw = load_hardware("loihi2")
        t_ref_hw, _ = best_of(lambda: run_fixed(net, hardware=hw, progress=False), a.repeats)
    else:
        t_ref_hw = t_ref
    t_lava, lv = best_of(lambda: lava_backend.run(net, precision=precision, progress=False), a.lava_repeats)
    same_spikes = all(np.array_equal(r.spikes[k], lv.spikes[k]) for k in r.spikes)
    if precision == "fixed":
        wdiff = int(np.abs(r.report["integer_weights"]["p"].astype(np.int64)
                           - lv.report["integer_weights"]["p"].astype(np.int64)).max())
        agree = f"integer weights max |diff| {wdiff}"
    else:
        wdiff = float(np.abs(r.weights["p"] - lv.weights["p"]).max() / np.abs(r.weights["p"]).max())
        agree = f"weights max rel. diff {wdiff:.2g}"
    lt = lv.report["timing_s"]
    return {"n": n, "precision": precision, "steps": a.steps, "reference_s": t_ref, "lava_s": t_lava,
            "ratio": t_lava / t_ref, "reference_preloaded_s": t_ref_hw, "ratio_preloaded": t_lava / t_ref_hw, "lava_run_s": lt["run"], "lava_build_s": lt["build"] + lt["plan"],
            "lava_ms_per_step": 1000 * lt["run"] / a.steps, "reference_ms_per_step": 1000 * t_ref / a.steps,
            "identical_spikes": bool(same_spikes), "weight_diff": wdiff, "agreement": agree,
            "post_rate_hz": float(r.rates("post").mean())}


def main(argv=None):
    a = parse_args(argv)
    rows = []
    for n in a.sizes:
        for prec in (("fixed", "float") if a.float else ("fixed",)):
            print(f"... {n} x {n} {prec}, {a.steps} steps", flush=True)
            rows.append(one(n, a, prec))
    print()
    from importlib.metadata import version

    print(f"LearningDense pair STDP, {a.steps} steps (lava-nc {version('lava-nc')}, Loihi2SimCfg, one run() per "
          f"Lava run; reference: best of {a.repeats} warm runs)")
    head = ("size", "precision", "reference run() (s)", "ref. config preloaded (s)", "lava (s)", "lava/reference",
            "lava run ms/step", "agreement", f">= {TARGET:g}x")
    table = [head]
    for r in rows:
        pre = f"{r['reference_preloaded_s']:.3f}" if r["precision"] == "fixed" else "-"
        ratio = f"{r['ratio']:.0f}x" + (f" ({r['ratio_preloaded']:.0f}x)" if r["precision"] == "fixed" else "")
        ok = "yes" if r["ratio"] >= TARGET else ("only preloaded" if r["ratio_preloaded"] >= TARGET else "NO")
        table.append((f"{r['n']}x{r['n']}", r["precision"], f"{r['reference_s']:.3f}", pre, f"{r['lava_s']:.1f}",
                      ratio, f"{r['lava_ms_per_step']:.2f}",
                      ("identical spikes, " if r["identical_spikes"] else "SPIKES DIFFER, ") + r["agreement"], ok))
    w = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(str(c).ljust(k) for c, k in zip(row, w)).rstrip())
    if a.json:
        a.json.write_text(json.dumps({"benchmark": "bench_lava", "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
