"""Cost of the non-finite check (neurohebb.health) on the Song STDP example:
the run with the check against the same run with the check disabled, in the
same process (best of N), and the cost of one check measured directly.

    .venv/bin/python benchmarks/bench_health.py [--steps 100000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import neurohebb as nh
from neurohebb import health
from neurohebb.backends.reference.simulator import build_engine
from neurohebb.ir import load

DOC = Path(__file__).resolve().parent.parent / "neurohebb" / "examples" / "stdp_song.yaml"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    net = load(DOC)
    nh.run(net, steps=200, progress=False)  # compiled kernels
    orig = health.Monitor.check
    times = {"with check": [], "without": []}
    try:
        for _ in range(args.repeats):
            for mode in times:
                health.Monitor.check = orig if mode == "with check" else (lambda self, t: None)
                t0 = time.perf_counter()
                nh.run(net, steps=args.steps, progress=False)
                times[mode].append(time.perf_counter() - t0)
    finally:
        health.Monitor.check = orig
    eng = build_engine(net)
    eng.run(100)
    t0 = time.perf_counter()
    for _ in range(2000):
        eng.health.check(99)
    one = (time.perf_counter() - t0) / 2000
    a, b = min(times["with check"]), min(times["without"])
    per_step = b / args.steps
    print(f"Song, {args.steps} steps (best of {args.repeats}): with check {a:.3f} s, without {b:.3f} s, ratio {a / b:.3f}")
    print(f"one check {one * 1e6:.1f} us every {health.CHECK_EVERY} steps of {per_step * 1e6:.1f} us: "
          f"{one / (health.CHECK_EVERY * per_step) * 100:.2f} % of the run")


if __name__ == "__main__":
    main()
