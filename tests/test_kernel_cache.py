"""The generated numba kernels are cached on disk (``NEUROHEBB_CACHE``): processes that
start together on an empty cache all run, write each kernel's source once, and a later
process loads every kernel's machine code instead of compiling it."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
import neurohebb as nh
from neurohebb.backends.reference import kernels

b = nh.Builder("cache_probe", steps=60, seed=3)
b.population("a", type="poisson", n=12, rates=80.0)
b.population("b", type="lif", n=3, du=0.2, dv=0.1, vth=0.3)
b.projection("p", "a", "b", sign="excitatory", bounds=(0, 0.5), weights={"init": "constant", "value": 0.2},
             rule={"template": "stdp_pair", "a_plus": 0.0123, "a_minus": 0.0117})
res = {}
for precision in ("float", "fixed"):
    r = nh.run(b.build(), precision=precision, progress=False)
    res[precision] = [float(r.weights[k].sum()) for k in ("p",)]
used = {}
for key, mod in kernels._loaded.items():
    for name in ("dense", "events", "step", "build_ab_shape"):
        fn = getattr(mod, name, None)
        if fn is not None and fn.signatures:
            st = fn.stats
            used[f"{key}.{name}"] = [sum(st.cache_hits.values()), sum(st.cache_misses.values())]
print(json.dumps({"weights": res, "used": used}))
"""


def _start(cache):
    env = dict(os.environ, NEUROHEBB_CACHE=str(cache), PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _result(p):
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_kernels_are_written_once_and_loaded_from_the_disk_cache(tmp_path):
    cache = tmp_path / "cache"
    first = [_result(p) for p in [_start(cache), _start(cache)]]   # two processes at once, empty cache
    files = sorted((cache / "kernels").glob("*.py"))
    assert len(files) == 2 and not list((cache / "kernels").glob(".*.tmp"))
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    later = _result(_start(cache))
    assert later["weights"] == first[0]["weights"] == first[1]["weights"]
    # every generated module the first run compiled is used again (a cached ``step`` carries its callees)
    modules = {k.split(".")[0] for k in first[0]["used"]}
    assert len(modules) == 2 and {k.split(".")[0] for k in later["used"]} == modules
    for name, (hits, misses) in later["used"].items():
        assert hits >= 1 and misses == 0, f"{name} compiled again: {later['used']}"
    assert {f: f.stat().st_mtime_ns for f in sorted((cache / "kernels").glob("*.py"))} == mtimes
