"""Experiments: classic plasticity results reproduced from one network document each.

Every experiment lives in ``sims/<name>/`` (repository root, or the folder named
by ``$NEUROHEBB_SIMS``): ``network.yaml`` (+ ``network.npz``), ``experiment.py``
(the metric and the plots) and a ``README.md``.  This module finds them and runs
them on any backend and precision::

    >>> from neurohebb.sims import list_sims, run_sim, format_result
    >>> list_sims()                                   # [(name, one-line description), ...]
    >>> res = run_sim("oja_pca", backend="reference", precision="float", out="out/sims", short=True)
    >>> print(format_result(res))

Two hooks serve rule search (:mod:`neurohebb.search`) and other callers that
want an experiment's metric for a rule other than the document's:

* ``overrides={projection: rule_spec}``: every document the experiment loads
  (``ctx.load``) gets ``rule_spec`` (a rule dict, as in YAML) on that
  projection before validation; an override that matches no projection of any
  loaded document is an error (:class:`SimError`), never silently ignored;
* ``part=NAME``: run only the experiment's part ``NAME`` (an experiment.py may
  define ``PARTS = {name: function(ctx)}``), e.g. the chip-expressible spiking
  variant of oja_pca.

``run_sim`` prints nothing and returns a dict: the measured metrics, the published
reference value next to each, the experiment's target and whether it is met, the
paths of the plots written (none without ``out``) and notes.  When a backend or
precision cannot express an experiment, the backend's or the compiler's
:class:`neurohebb.errors.NeurohebbError` propagates unchanged (its message says why).

An ``experiment.py`` defines ``NAME``, ``DESCRIPTION`` (one line) and
``run(ctx)``, where ``ctx`` is a :class:`SimContext`: it loads the folder's
documents, runs them on the requested backend (``ctx.run(net)``), records metrics
(``ctx.metric(...)``), plots (``ctx.plot_path(stem)``) and notes.
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys
import time
from pathlib import Path

from .errors import NeurohebbError, known
from .text import table

#: the listing order; folders not listed here come after, alphabetically
ORDER = ("song_stdp", "oja_pca", "linsker", "nonlinear_hebbian", "assemblies", "reversal", "iso",
         "credit_assignment", "dendritic_gating")
ENV = "NEUROHEBB_SIMS"


class SimError(NeurohebbError):
    """An experiment that does not exist or cannot be loaded."""


def sims_root() -> Path:
    """The folder holding the experiments: ``$NEUROHEBB_SIMS``, else ``<repository>/sims``."""
    env = os.environ.get(ENV)
    if env:
        p = Path(env)
        if not p.is_dir():
            raise SimError(f"${ENV}={env!r} is not a folder")
        return p
    p = Path(__file__).resolve().parent.parent / "sims"
    if not p.is_dir():
        raise SimError(f"no experiments folder: {p} does not exist (set ${ENV} to the sims/ folder of a "
                       "neurohebb checkout)")
    return p


def _names() -> list[str]:
    root = sims_root()
    found = sorted(d.name for d in root.iterdir() if (d / "experiment.py").is_file())
    return [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]


_MODULES: dict[str, object] = {}


def load_experiment(name: str):
    """The ``experiment.py`` module of ``sims/<name>/``."""
    names = _names()
    if name not in names:
        raise SimError(f"unknown experiment {name!r}; known: {known(names)}")
    if name not in _MODULES:
        path = sims_root() / name / "experiment.py"
        spec = importlib.util.spec_from_file_location(f"neurohebb_sims_{name}", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        _MODULES[name] = mod
    return _MODULES[name]


def list_sims() -> list[tuple[str, str]]:
    """``[(name, one-line description)]`` of every experiment, in listing order (``ORDER``)."""
    return [(n, load_experiment(n).DESCRIPTION) for n in _names()]


# ------------------------------------------------------------------ context
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


class SimContext:
    """What an experiment's ``run(ctx)`` gets: where it is, how to run, where to write."""

    def __init__(self, name, folder, backend, precision, out, short, seed, overrides=None):
        self.name, self.folder = name, Path(folder)
        self.overrides = dict(overrides or {})
        self.applied: set = set()
        self.backend, self.precision = backend, precision
        self.out = None if out is None else Path(out)
        self.short, self.seed = bool(short), seed
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.plots: list[str] = []
        self.extra: dict = {}
        self.results: dict = {}

    # documents and runs
    def load(self, doc: str = "network.yaml"):
        """The folder's document ``doc`` (validated), with the context's rule
        overrides applied to the projections it has."""
        from .api import load

        if not self.overrides:
            return load(self.folder / doc)
        import numpy as np
        import yaml

        from .ir.io import from_dict

        path = self.folder / doc
        d = yaml.safe_load(path.read_text())
        for proj, rule in self.overrides.items():
            if proj in (d.get("projections") or {}):
                d["projections"][proj]["rule"] = rule
                self.applied.add(proj)
        npz = path.with_suffix(".npz")
        arrays = dict(np.load(npz, allow_pickle=False)) if npz.exists() else None
        return from_dict(d, f"{path} (rule of {', '.join(sorted(self.overrides))} overridden)", arrays, npz)

    def run(self, net, steps=None, seed=None, backend=None, precision=None, externals=None):
        """Run ``net`` on the experiment's backend and precision (``seed``: the
        caller's ``seed`` when given, else the document's; errors propagate).
        ``externals``: step functions of the network's external populations."""
        from . import backends

        s = seed if seed is not None else self.seed
        backend = backend or self.backend
        precision = precision or self.precision
        be = backends.get(backend)
        opts = {"externals": externals} if externals else {}
        # One thread: the experiments' per-step work is small, and parallel rows cost more in
        # thread synchronisation than they save (on a loaded 2-core machine a 10-synapse Oja
        # network ran 200x slower with numba's parallel rows).
        return be.run(net, precision=precision, seed=s, steps=steps, progress=None, threads=1, **opts)

    @property
    def run_label(self) -> str:
        return f"{self.backend}:{self.precision}"

    # outputs
    def plot_path(self, stem: str):
        """``<out>/<name>_<stem>.png`` (folders created), or None when no ``out`` was given."""
        if self.out is None:
            return None
        self.out.mkdir(parents=True, exist_ok=True)
        return self.out / f"{self.name}_{stem}.png"

    def save_figure(self, fig, stem: str, dpi: int = 110):
        """Lay out ``fig``, write it to :meth:`plot_path` (``stem``), close it and
        record the plot; returns the path (None, and nothing written, without ``out``)."""
        import matplotlib.pyplot as plt

        path = self.plot_path(stem)
        if path is not None:
            fig.tight_layout()
            fig.savefig(path, dpi=dpi)
            self.add_plot(path)
        plt.close(fig)
        return path

    def add_plot(self, path):
        if path is not None:
            self.plots.append(str(path))

    def note(self, text: str):
        self.notes.append(text)

    def metric(self, key, value, label=None, published="", target=None):
        """Record a metric.  ``target``: ``(op, threshold)`` with op in >=, <=, >, <,
        or ``("between", low, high)`` (met or not is reported), or None (reported only)."""
        value = float(value)
        ok = None
        ttxt = ""
        if target is not None and target[0] == "between":
            _, lo, hi = target
            ok = bool(lo <= value <= hi)
            ttxt = f"in [{lo:.4g}, {hi:.4g}]"
        elif target is not None:
            op, thr = target
            ok = bool(_OPS[op](value, thr)) if not math.isnan(value) else False
            ttxt = f"{op} {thr:.4g}"
        self.rows.append({"key": key, "label": label or key, "value": value, "published": published,
                          "target": ttxt, "ok": ok})
        return value


def run_sim(name, backend="reference", precision="float", out=None, short=False, seed=None,
            overrides=None, part=None) -> dict:
    """Run experiment ``name`` on ``backend``/``precision``; see the module docstring
    (``overrides``: ``{projection: rule spec}`` applied to every loaded document;
    ``part``: one of the experiment's ``PARTS``).

    Returns ``{"name", "description", "backend", "precision", "short", "seed",
    "metrics": {key: value}, "rows": [{"key", "label", "value", "published",
    "target", "ok"}], "passed", "plots": [paths], "notes": [...], "wall_time"}``.
    Raises the backend's or compiler's :class:`NeurohebbError` when the
    experiment cannot be expressed there.
    """
    mod = load_experiment(name)
    fn = mod.run
    if part is not None:
        parts = getattr(mod, "PARTS", {})
        if part not in parts:
            raise SimError(f"experiment {name!r} has no part {part!r}; known: {known(list(parts)) if parts else 'none'}")
        fn = parts[part]
    ctx = SimContext(name, sims_root() / name, backend, precision, out, short, seed, overrides)
    t0 = time.perf_counter()
    fn(ctx)
    wall = time.perf_counter() - t0
    missing = sorted(set(ctx.overrides) - ctx.applied)
    if missing:
        raise SimError(f"overrides: no document that experiment {name!r}{f' (part {part!r})' if part else ''} loads "
                       f"has a projection named {', '.join(map(repr, missing))}")
    oks = [r["ok"] for r in ctx.rows if r["ok"] is not None]
    return {
        "name": name,
        "part": part,
        "description": mod.DESCRIPTION,
        "backend": backend,
        "precision": precision,
        "short": bool(short),
        "seed": seed,
        "metrics": {r["key"]: r["value"] for r in ctx.rows},
        "rows": ctx.rows,
        "passed": all(oks) if oks else None,
        "plots": ctx.plots,
        "notes": ctx.notes,
        "extra": ctx.extra,
        "wall_time": wall,
    }


def _fmt(v: float) -> str:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:.3e}"
    if a >= 100:
        return f"{v:.1f}"
    return f"{v:.4f}"


def format_result(result: dict) -> str:
    """The text ``neurohebb sims run`` prints: a table (metric, value, published
    reference, target, met), the notes and the plots."""
    head = (f"{result['name']} on {result['backend']}:{result['precision']}"
            f"{' (short)' if result.get('short') else ''}: {result['description']}")
    rows = [[r["label"], _fmt(r["value"]), r["published"] or "-", r["target"] or "-",
             "" if r["ok"] is None else ("yes" if r["ok"] else "NO")] for r in result["rows"]]
    lines = [head, "", table(rows, ["metric", "value", "published", "target", "met"])]
    if result.get("passed") is not None:
        lines.append("")
        lines.append("all targets met" if result["passed"] else "some targets NOT met")
    for n in result.get("notes", []):
        lines.append(f"note: {n}")
    if result.get("plots"):
        lines.append("plots: " + ", ".join(result["plots"]))
    lines.append(f"wall time: {result['wall_time']:.1f} s")
    return "\n".join(lines)
