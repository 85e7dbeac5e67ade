"""Run the nest backend in a fresh process (``python -m
neurohebb.backends.nest.isolated IN OUT``): :func:`run_isolated` pickles the
arguments to ``IN`` and reads the Result (or the error) from ``OUT``.

Used when numba has launched its ``omp`` threading layer in the calling
process: NEST's OpenMP runtime and numba's cannot live in one process (see
:func:`neurohebb.backends.nest.module.openmp_conflict`).
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from ...errors import NeurohebbError, UnsupportedFeature


def run_isolated(network, **kwargs):
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue",
               PYTHONPATH=os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    with tempfile.TemporaryDirectory(prefix="neurohebb_nest_") as tmp:
        inp, out = Path(tmp) / "in.pkl", Path(tmp) / "out.pkl"
        inp.write_bytes(pickle.dumps((network, kwargs)))
        proc = subprocess.run([sys.executable, "-m", "neurohebb.backends.nest.isolated", str(inp), str(out)], env=env)
        if not out.exists():
            raise UnsupportedFeature(f"nest backend: the NEST process stopped with exit code {proc.returncode} "
                                     "before it returned a result")
        status, payload = pickle.loads(out.read_bytes())
    if status == "error":
        raise payload
    return payload


def main(inp, out):
    network, kwargs = pickle.loads(Path(inp).read_bytes())
    from ... import backends  # the registry: this process has no numba OpenMP layer, so NEST runs here

    try:
        payload = ("ok", backends.get("nest").run(network, **kwargs))
    except NeurohebbError as exc:
        payload = ("error", exc)
    Path(out).write_bytes(pickle.dumps(payload))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
