"""Record or check what every shipped document computes on the reference backend.

    python scripts/behaviour_snapshot.py record SNAP.npz [--steps N]
    python scripts/behaviour_snapshot.py check  SNAP.npz

``record`` runs each shipped document (neurohebb/examples/*.yaml, sims/*/*.yaml)
for N steps on reference float and fixed (where the document is expressible)
and stores spikes, final weights and probe data.  ``check`` re-runs and
requires fixed point to be bit-identical and float within 1e-12 (absolute, and
identical spikes).  Used to show that a refactor of the reference leaves
behaviour unchanged; externals (closed loops) are bound by the documents.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def documents():
    docs = sorted((ROOT / "neurohebb" / "examples").glob("*.yaml")) + sorted((ROOT / "sims").glob("*/*.yaml"))
    return docs


def snapshot(steps):
    import neurohebb as nh
    from neurohebb.errors import NeurohebbError

    out = {}
    for doc in documents():
        net = nh.load(doc)
        key = f"{doc.parent.name}/{doc.stem}"
        for prec in ("float", "fixed"):
            try:
                res = nh.run(net, precision=prec, steps=steps, progress=False)
            except NeurohebbError as exc:
                out[f"{key}|{prec}|refused"] = np.array(str(exc).splitlines()[0])
                continue
            for k, v in res.spikes.items():
                out[f"{key}|{prec}|spikes|{k}"] = v
            for k, v in res.weights.items():
                out[f"{key}|{prec}|weights|{k}"] = v
            for k, p in res.probes.items():
                out[f"{key}|{prec}|probe|{k}"] = np.asarray(p.data, float)
            print(f"{key:40s} {prec:6s} ok", file=sys.stderr)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("record", "check"))
    ap.add_argument("path")
    ap.add_argument("--steps", type=int, default=300)
    a = ap.parse_args(argv)
    if a.mode == "record":
        snap = snapshot(a.steps)
        np.savez_compressed(a.path, **snap)
        print(f"recorded {len(snap)} arrays to {a.path}")
        return 0
    old = dict(np.load(a.path))
    new = snapshot(a.steps)
    bad = 0
    for k in sorted(set(old) | set(new)):
        if k not in old or k not in new:
            print(f"MISSING {k}: {'old' if k not in new else 'new'} only")
            bad += 1
            continue
        o, n = old[k], new[k]
        if o.shape != n.shape:
            print(f"SHAPE {k}: {o.shape} vs {n.shape}")
            bad += 1
            continue
        exact = "|fixed|" in k or "|spikes|" in k or "|refused" in k
        if o.dtype.kind in "US":
            same = bool(np.all(o == n))
        elif exact:
            same = np.array_equal(o, n, equal_nan=True)
        else:
            same = np.allclose(o, n, rtol=0, atol=1e-12, equal_nan=True)
        if not same:
            d = "" if o.dtype.kind in "US" else f" max|diff| {np.nanmax(np.abs(o.astype(float) - n.astype(float))):.3g}"
            print(f"DIFF {k}{d}")
            bad += 1
    print(f"{len(old)} arrays compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
