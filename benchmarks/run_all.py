"""Run every benchmark (each in its own process) and print one summary table.

Called by ``make bench``.  Run from the repo root::

    .venv/bin/python benchmarks/run_all.py [--quick] [--no-brian2]
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_song import fmt_table  # noqa: E402


def run(script, args, json_path):
    cmd = [sys.executable, str(HERE / script), *args, "--json", str(json_path)]
    print(f"$ {' '.join(shlex.quote(c) for c in cmd)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=HERE.parent)
    print(f"[{script}: exit {proc.returncode}, {time.perf_counter() - t0:.1f} s]\n", flush=True)
    if proc.returncode != 0:
        return None
    return json.loads(Path(json_path).read_text())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and repeats (a smoke run, not for the numbers)")
    p.add_argument("--no-brian2", action="store_true", help="skip the Brian2 runs of bench_song")
    p.add_argument("--song-args", default="", help="extra arguments for bench_song.py (one quoted string)")
    p.add_argument("--dense-args", default="", help="extra arguments for bench_dense_hebbian.py")
    p.add_argument("--json", type=Path, help="write all results to this JSON file")
    a = p.parse_args(argv)

    song_args = shlex.split(a.song_args)
    dense_args = shlex.split(a.dense_args)
    if a.quick:
        song_args = ["--steps", "2000", "--repeats", "1", "--check-steps", "500"] + song_args
        dense_args = ["--steps", "500", "--repeats", "1"] + dense_args
    if a.no_brian2:
        song_args.append("--no-brian2")

    with tempfile.TemporaryDirectory() as tmp:
        song = run("bench_song.py", song_args, Path(tmp) / "song.json")
        dense = run("bench_dense_hebbian.py", dense_args, Path(tmp) / "dense.json")

    rows = []
    failed = []
    if song is None:
        failed.append("bench_song.py")
    else:
        P = song["params"]
        label = f"Song STDP {P['n_in']}->{P['n_out']}, {P['steps']} steps"
        nh = song["neurohebb_float64"]
        rows.append([label, "neurohebb float64 (warm)", f"{nh['warm']:.3f} s", f"{P['steps'] / nh['warm']:.0f}",
                     f"out {nh['rate_out']:.1f} Hz, w/w_max {nh['w_mean'] / P['w_max']:.3f}"])
        if "neurohebb_float32" in song:
            n32 = song["neurohebb_float32"]
            rows.append(["", "neurohebb float32 (warm)", f"{n32['warm']:.3f} s", f"{P['steps'] / n32['warm']:.0f}",
                         f"out {n32['rate_out']:.1f} Hz, w/w_max {n32['w_mean'] / P['w_max']:.3f}"])
        if "neurohebb_fixed" in song:
            nf = song["neurohebb_fixed"]
            rf = song["ratio_fixed_over_float"]
            rows.append(["", "neurohebb fixed, loihi2 (warm)", f"{nf['warm']:.3f} s", f"{P['steps'] / nf['warm']:.0f}",
                         f"fixed/float {rf:.2f}x (target <= 2x: {'met' if rf <= 2 else 'NOT met'}); "
                         f"out {nf['rate_out']:.1f} Hz"])
        if "brian2" in song:
            b2 = song["brian2"]
            rows.append(["", "Brian2 cython runtime (warm)", f"{b2['warm']:.3f} s", f"{P['steps'] / b2['warm']:.0f}",
                         f"out {b2['rate_out']:.1f} Hz, w/w_max {b2['w_mean'] / P['w_max']:.3f}"])
            r = song["ratio_brian2_over_neurohebb"]
            rows.append(["", "ratio Brian2 / neurohebb float64", f"{r:.2f}x", "",
                         f"target >= 3x: {'met' if r >= 3 else 'NOT met'}"])
            if "exact_check" in song:
                ex = song["exact_check"]
                rows.append(["", "exact cross-check", "", "",
                             f"{ex['spike_mismatches']} spike mismatches, max |dw| {ex['max_abs_w_diff']:.1e}"])
    if dense is None:
        failed.append("bench_dense_hebbian.py")
    else:
        label = f"dense Hebbian {dense['n_pre']}->{dense['n_post']} f32, {dense['steps']} steps"
        nh = dense["neurohebb"]
        rows.append([label, "neurohebb reference", f"{nh['wall']:.3f} s", f"{nh['steps_per_s']:.0f}",
                     f"target >= 2500 steps/s: {'met' if nh['steps_per_s'] >= 2500 else 'NOT met'}"])
        for key, name in (("numpy_clip", "numpy loop (with clip)"), ("numpy_noclip", "numpy loop (no clip)")):
            r = dense[key]
            rows.append(["", name, f"{r['wall']:.3f} s", f"{r['steps_per_s']:.0f}",
                         f"neurohebb {nh['steps_per_s'] / r['steps_per_s']:.1f}x faster"])
        rows.append(["", "agreement with numpy", "", "", f"max |dW| {dense['max_abs_diff']:.1e} "
                                                         f"(max change {dense['max_change']:.1e})"])
    print(f"== neurohebb benchmarks summary ({os.cpu_count()} cores) ==")
    print(fmt_table(rows, ["benchmark", "implementation", "wall", "steps/s", "notes"]))
    busy = [r.get("busy_cores_start") for r in (song, dense) if r]
    busy = [b for b in busy if b is not None]
    if busy:
        print(f"cores busy with other processes before each benchmark: {', '.join(f'{b:.2f}' for b in busy)}"
              + ("  ** timings not representative **" if max(busy) > 0.3 else ""))
    if a.json:
        a.json.write_text(json.dumps({"song": song, "dense_hebbian": dense}, indent=2))
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
