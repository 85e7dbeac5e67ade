"""A small notebook, executed in a real Jupyter kernel (nbclient): inline plots
work (the returned figure is displayed once, the backend stays inline), the
Result's repr is compact and the progress setting sees the notebook."""
import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]

CELLS = [
    # 0: the backend Jupyter chose
    "import sys\nsys.path.insert(0, %r)\nimport matplotlib\nbackend0 = matplotlib.get_backend()\nbackend0" % str(ROOT),
    # 1: a small run
    """import neurohebb as nh
from neurohebb.ir.io import from_dict
net = from_dict({
    "name": "nb",
    "populations": {"inputs": {"type": "poisson", "n": 300, "rates": 15.0},
                    "out": {"type": "lif", "n": 5, "du": 0.18, "dv": 0.095, "vth": 1.0}},
    "projections": {"syn": {"pre": "inputs", "post": "out", "sign": "excitatory",
                            "weights": {"init": "uniform", "low": 0.0, "high": 0.05}, "bounds": [0.0, 0.05],
                            "rule": {"template": "stdp_pair", "a_plus": 5e-4, "a_minus": 5.2e-4}}},
    "probes": {"w": {"target": "syn", "var": "weights", "every": 50}},
    "run": {"steps": 500, "seed": 1}})
res = nh.run(net, progress=False)""",
    # 2: the result as the cell's value
    "res",
    # 3: a plot as the cell's value
    "nh.plot.weights(res, 'syn')",
    # 4: a plot assigned, then shown by name
    "fig = res.plot.raster('out')\nfig",
    # 5: the backend afterwards, and what the progress default sees
    "from neurohebb.progress import show_progress\n(matplotlib.get_backend() == backend0, show_progress(None))",
]


def test_notebook_inline_plots_and_repr(tmp_path, monkeypatch):
    # a kernel of this interpreter (not whatever "python3" means on this machine)
    spec = tmp_path / "jupyter" / "kernels" / "neurohebb-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "neurohebb test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("MPLBACKEND", None)
    client = nbclient.NotebookClient(nb, kernel_name="neurohebb-test", timeout=300, resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=env)
    except Exception as exc:  # a kernel that cannot start here is an environment problem, not ours
        if "No such kernel" in str(exc) or "kernel" in type(exc).__name__.lower() and "died" in str(exc).lower():
            pytest.skip(f"no usable Jupyter kernel: {exc}")
        raise
    out = [c.outputs for c in nb.cells]
    assert "inline" in out[0][0]["data"]["text/plain"]
    # the result: a short text repr and an HTML table, no arrays
    data = out[2][0]["data"]
    text = data["text/plain"]
    assert text.startswith("Result(nb on reference:float") and len(text.splitlines()) <= 8 and "array(" not in text
    assert "<table>" in data["text/html"] and "5x300" in data["text/html"]
    # each figure is displayed exactly once, as a PNG
    for i in (3, 4):
        pngs = [o for o in out[i] if "image/png" in o.get("data", {})]
        assert len(pngs) == 1, [o.get("output_type") for o in out[i]]
    assert out[5][0]["data"]["text/plain"] == "(True, True)"
