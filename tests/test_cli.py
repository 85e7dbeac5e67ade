"""The compile / compare / demo commands: output and exit codes."""
import subprocess
import sys

import yaml


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "neurohebb", *args], capture_output=True, text=True)


def _stdp_doc(steps=400):
    return {
        "name": "tiny_stdp",
        "populations": {"a": {"type": "poisson", "n": 20, "rates": 40.0},
                        "b": {"type": "lif", "n": 3, "du": 0.2, "dv": 0.1, "vth": 1.0}},
        "projections": {"p": {"pre": "a", "post": "b", "sign": "excitatory", "bounds": [0, 0.5],
                              "weights": {"init": "uniform", "low": 0.1, "high": 0.4},
                              "rule": {"template": "stdp_pair", "a_plus": 0.01, "a_minus": 0.0105}}},
        "run": {"steps": steps, "seed": 1},
    }


def test_compile_prints_report(tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(yaml.safe_dump(_stdp_doc()))
    r = _cli("compile", str(f), "--hardware", "loihi2")
    assert r.returncode == 0, r.stderr
    for piece in ("Quantized parameters", "populations.b.du", "projections.p.bounds (upper)", "Rule coefficients",
                  "m*2^E", "Capacity"):
        assert piece in r.stdout
    r = _cli("compile", str(f), "--hardware", "nosuchchip")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "nosuchchip" in r.stderr


def test_compile_inexpressible_rule_exit_2(tmp_path):
    doc = _stdp_doc()
    doc["populations"]["b"] = {"type": "rate", "n": 3}
    doc["populations"]["a"] = {"type": "array", "values": [[0.5] * 20] * 10, "repeat": True}
    doc["projections"]["p"]["sign"] = "mixed"
    doc["projections"]["p"]["bounds"] = [-1, 1]
    doc["projections"]["p"]["rule"] = {"template": "nonlinear_hebbian", "eta": 0.01, "h": {"name": "rect_power"}}
    f = tmp_path / "nl.yaml"
    f.write_text(yaml.safe_dump(doc))
    r = _cli("compile", str(f))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "not expressible for loihi2" in r.stderr
    assert "h(v)" in r.stderr and "projections.p.rule" in r.stderr


def test_compare_table_and_plot(tmp_path):
    f = tmp_path / "net.yaml"
    f.write_text(yaml.safe_dump(_stdp_doc(300)))
    r = _cli("compare", str(f), "--runs", "reference:float,reference:fixed", "--seeds", "2", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    for metric in ("spike_count_corr", "weight_rmse_lsb", "weight_corr", "weight_w1_lsb"):
        assert metric in r.stdout
    assert (tmp_path / "net_compare.png").stat().st_size > 1000
    r = _cli("compare", str(f), "--runs", "reference:float")
    assert r.returncode == 2 and "at least two runs" in r.stderr


def test_board_without_lava_loihi_says_what_is_missing(tmp_path):
    import importlib.util

    if importlib.util.find_spec("lava") is None:
        import pytest

        pytest.skip("lava-nc not installed")
    from lava.utils import loihi

    if loihi.is_installed():
        import pytest

        pytest.skip("lava-loihi is installed here")
    f = tmp_path / "net.yaml"
    f.write_text(yaml.safe_dump(_stdp_doc(20)))
    r = _cli("run", str(f), "--backend", "lava", "--precision", "fixed", "--board")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "needs lava-loihi" in r.stderr
    r = _cli("run", str(f), "--board")
    assert r.returncode == 2 and "--board runs on a Loihi 2 board through the lava backend" in r.stderr


def test_sims_list_and_unknown():
    r = _cli("sims", "list")
    assert r.returncode == 0, r.stderr
    for name in ("song_stdp", "oja_pca"):
        assert name in r.stdout
    r = _cli("sims", "run", "nosuch")
    assert r.returncode == 2 and "unknown experiment 'nosuch'; known:" in r.stderr and "Traceback" not in r.stderr


def test_help_and_docstring_list_every_command_and_version_is_the_package_version():
    import argparse
    import re
    from pathlib import Path

    import neurohebb
    from neurohebb import cli

    subs = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    commands = sorted(subs.choices)
    assert len(commands) >= 12
    r = _cli("--help")
    assert r.returncode == 0, r.stderr
    listed = set(re.findall(r"^\s{4}(\S+)", r.stdout, flags=re.M))
    assert set(commands) <= listed, f"--help misses {set(commands) - listed}"
    documented = set(re.findall(r"^  (\S+)\s", cli.__doc__, flags=re.M))
    assert set(commands) <= documented, f"the CLI's docstring misses {set(commands) - documented}"
    r = _cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"neurohebb {neurohebb.__version__}"
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', pyproject, flags=re.M).group(1) == neurohebb.__version__
