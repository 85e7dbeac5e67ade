"""Sweeps on Dask: ``compare --seeds`` and ``sims run --seeds`` with
``workers``/``cluster`` give the same result as the serial run (the same
computation, one task per seed, in another process; compared to 1e-12)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from neurohebb import sims  # noqa: E402
from neurohebb.compare import compare  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SONG = ROOT / "neurohebb/examples/stdp_song.yaml"
TOL = 1e-12


def test_compare_on_two_workers_equals_serial():
    kw = dict(runs=["reference:float", "reference:fixed"], seeds=3, steps=600)
    a = compare(SONG, **kw)
    b = compare(SONG, workers=2, progress=False, **kw)
    assert [(r["kind"], r["target"], r["metric"], r["run"]) for r in a.rows] == \
           [(r["kind"], r["target"], r["metric"], r["run"]) for r in b.rows]
    for ra, rb in zip(a.rows, b.rows):
        np.testing.assert_allclose(rb["values"], ra["values"], rtol=0, atol=TOL, err_msg=str(ra))
    assert len(a.rows[0]["values"]) == 3 and np.ptp(a.values("syn", "w_mean", "reference:float")) > 0
    for run, h in a.histories.items():
        for k, (t, m) in h.items():
            np.testing.assert_array_equal(t, b.histories[run][k][0])
            np.testing.assert_allclose(b.histories[run][k][1], m, rtol=0, atol=TOL)


def test_sims_seeds_on_two_workers_equals_serial(tmp_path):
    a = sims.run_sim_seeds("oja_pca", [1, 2], short=True, part="spiking")
    b = sims.run_sim_seeds("oja_pca", [1, 2], workers=2, short=True, part="spiking", out=tmp_path)
    assert [r["seed"] for r in b["runs"]] == [1, 2]
    for ra, rb in zip(a["runs"], b["runs"]):
        assert ra["metrics"].keys() == rb["metrics"].keys()
        for k in ra["metrics"]:
            np.testing.assert_allclose(rb["metrics"][k], ra["metrics"][k], rtol=0, atol=TOL, err_msg=k)
    for sa, sb in zip(a["summary"], b["summary"]):
        assert sa["key"] == sb["key"]
        np.testing.assert_allclose(sb["mean"], sa["mean"], rtol=0, atol=TOL)
        vals = [r["metrics"][sa["key"]] for r in a["runs"]]
        np.testing.assert_allclose(sa["mean"], np.mean(vals), rtol=1e-12)
    assert (tmp_path / "seed1").is_dir() and (tmp_path / "seed2").is_dir()
    assert "over 2 seeds" in sims.format_seeds(a)


def test_cli_sweep_options_are_checked(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "neurohebb", *args], capture_output=True, text=True, cwd=ROOT)

    bad = cli("compare", str(SONG), "--seeds", "2", "--steps", "50", "--workers", "0", "--out", str(tmp_path))
    assert bad.returncode == 2 and "--workers must be a positive integer" in bad.stderr
    bad = cli("sims", "run", "oja_pca", "--workers", "2")
    assert bad.returncode == 2 and "give --seeds too" in bad.stderr
    bad = cli("sims", "run", "oja_pca", "--seeds", "x,y")
    assert bad.returncode == 2 and "comma-separated list" in bad.stderr


def test_cli_sims_seeds_prints_mean_and_sd(tmp_path):
    out = subprocess.run([sys.executable, "-m", "neurohebb", "sims", "run", "oja_pca", "--part", "spiking", "--short",
                          "--seeds", "1", "--seed", "3", "--quiet", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "over 1 seeds (3)" in out.stdout and "mean" in out.stdout
    assert (tmp_path / "seed3").is_dir()
