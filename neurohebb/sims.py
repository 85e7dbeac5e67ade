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

``run_sim`` prints nothing and returns a dict: the measured metrics (mean and
spread over seeds), next to each its control measured in the same run (the claim's
cause removed: untrained weights, plasticity off, a rule term removed, shuffled
input), the target with its source (a paper's figure or table, or
:data:`QUALITATIVE`), whether it is met (the value passes and the control fails),
the paths of the plots written (none without ``out``) and notes.  When a backend or
precision cannot express an experiment, the backend's or the compiler's
:class:`neurohebb.errors.NeurohebbError` propagates unchanged (its message says why).

An ``experiment.py`` defines ``NAME``, ``DESCRIPTION`` (one line) and
``run(ctx)``, where ``ctx`` is a :class:`SimContext`: it loads the folder's
documents, runs them on the requested backend (``ctx.run(net)``), records metrics
(``ctx.metric(...)``, over the seeds of ``ctx.seeds()``), plots (``ctx.plot_path(stem)``) and notes.
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

#: the source text of a claim no paper gives a number for
QUALITATIVE = "no published value: qualitative claim"
#: a full protocol reports every targeted metric over at least this many seeds
FULL_SEEDS = 5
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
    """Every folder of :func:`sims_root` that holds an ``experiment.py``, alphabetically
    (no hand-kept list: a new folder is an experiment)."""
    root = sims_root()
    return sorted(d.name for d in root.iterdir() if (d / "experiment.py").is_file())


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
    """``[(name, one-line description)]`` of every experiment, alphabetically."""
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

    def seeds(self, short: int = 1, full: int = FULL_SEEDS) -> list[int]:
        """The seeds of this run: ``short`` of them in a short variant, at least
        :data:`FULL_SEEDS` in a full protocol; consecutive from the caller's
        ``seed`` (default 1, the documents' seed)."""
        n = max(1, int(short)) if self.short else max(int(full), FULL_SEEDS)
        base = 1 if self.seed is None else int(self.seed)
        return [base + i for i in range(n)]

    def metric(self, key, value, label=None, *, target=None, control=None, control_label="", source="",
               deterministic=False, pooled=False, gap=""):
        """Record a metric.

        ``value``: a number, or one per seed (mean and spread are reported; the
        target is judged on the mean).  ``target``: ``(op, threshold)`` with op in
        >=, <=, >, <, or ``("between", low, high)``, or None (reported only).
        ``control``: the same quantity measured in the same run with the claim's
        cause removed (untrained weights, plasticity off, the rule's key term
        removed, shuffled input), a number or one per seed; ``control_label``
        says which.  ``source``: where the target comes from (paper, figure or
        table) or :data:`QUALITATIVE`.

        A row with a target is met when the value passes it and the control
        fails it.  A target without a control or a source is an error of the
        experiment (:class:`SimError`), and so is a full protocol's target over
        fewer than :data:`FULL_SEEDS` seeds unless ``deterministic`` (the
        quantity does not depend on the seed) or ``pooled`` (one value from
        the events of every seed together, e.g. a conditional probability).

        ``gap``: for a published value this model does not reach, why (the row
        is reported as not met, and does not count against the run's
        ``passed``); ignored when the value reaches the target (then a
        passing control fails the row as usual)."""
        vals = _values(value)
        mean, spread = _stats(vals)
        cvals = None if control is None else _values(control)
        cmean, cspread = (None, None) if cvals is None else _stats(cvals)
        ok = vok = cok = None
        ttxt = ""
        if target is not None:
            where = f"experiment {self.name!r}, metric {key!r}"
            if cvals is None:
                raise SimError(f"{where}: a target needs a control measured in the same run (control=...)")
            if not source:
                raise SimError(f"{where}: a target needs its source (paper, figure or table) or "
                               f"sims.QUALITATIVE (source=...)")
            if not self.short and not (deterministic or pooled) and len(vals) < FULL_SEEDS:
                raise SimError(f"{where}: a full protocol judges targets over at least {FULL_SEEDS} seeds "
                               f"(got {len(vals)}); use ctx.seeds()")
            ttxt = _target_text(target)
            vok = _passes(target, mean)
            cok = _passes(target, cmean)
            ok = bool(vok and not cok)
            if vok:
                gap = ""          # the value reaches the target: met, or a real failure if the control does too
        self.rows.append({"key": key, "label": label or key, "value": mean, "spread": spread, "n": len(vals),
                          "values": vals, "control": cmean, "control_spread": cspread,
                          "control_n": 0 if cvals is None else len(cvals), "control_label": control_label,
                          "target": ttxt, "source": source, "value_ok": vok, "control_ok": cok, "ok": ok,
                          "gap": gap if target is not None else "", "pooled": bool(pooled)})
        return mean


def _values(v) -> list[float]:
    if isinstance(v, (list, tuple)) or (hasattr(v, "ndim") and getattr(v, "ndim", 0) > 0):
        out = [float(x) for x in v]
    else:
        out = [float(v)]
    if not out:
        raise SimError("a metric needs at least one value")
    return out


def _stats(vals):
    finite = [v for v in vals if not math.isnan(v)]
    if not finite:
        return float("nan"), float("nan")
    mean = sum(finite) / len(finite)
    if len(finite) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))


def _target_text(target) -> str:
    if target[0] == "between":
        return f"in [{target[1]:.4g}, {target[2]:.4g}]"
    return f"{target[0]} {target[1]:.4g}"


def _passes(target, value) -> bool:
    if value is None or math.isnan(value):
        return False
    if target[0] == "between":
        return bool(target[1] <= value <= target[2])
    return bool(_OPS[target[0]](value, target[1]))


def run_sim(name, backend="reference", precision="float", out=None, short=False, seed=None,
            overrides=None, part=None) -> dict:
    """Run experiment ``name`` on ``backend``/``precision``; see the module docstring
    (``overrides``: ``{projection: rule spec}`` applied to every loaded document;
    ``part``: one of the experiment's ``PARTS``).

    Returns ``{"name", "description", "backend", "precision", "short", "seed",
    "metrics": {key: mean value}, "controls": {key: mean control value},
    "rows": [{"key", "label", "value", "spread", "n", "values", "control",
    "control_spread", "control_n", "control_label", "target", "source",
    "value_ok", "control_ok", "ok", "gap"}], "passed", "plots": [paths], "notes": [...],
    "wall_time"}`` (``value``/``control``: means over seeds, ``spread``: their
    sample standard deviation; ``ok``: the value passes the target and the
    control fails it; ``passed``: every row without a ``gap`` is ok).
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
    oks = [r["ok"] for r in ctx.rows if r["ok"] is not None and not r["gap"]]
    return {
        "name": name,
        "part": part,
        "description": mod.DESCRIPTION,
        "backend": backend,
        "precision": precision,
        "short": bool(short),
        "seed": seed,
        "metrics": {r["key"]: r["value"] for r in ctx.rows},
        "controls": {r["key"]: r["control"] for r in ctx.rows if r["control"] is not None},
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


def format_value(mean, spread=None, n=1) -> str:
    """``mean ± spread (n)`` (``mean`` alone for one value)."""
    if mean is None:
        return "-"
    if n is None or n < 2 or spread is None or math.isnan(spread):
        return _fmt(mean)
    return f"{_fmt(mean)} ± {_fmt(spread)} ({n})"


def format_control(row) -> str:
    """A row's control: its value (mean ± spread over seeds) and what it is."""
    if row.get("control") is None:
        return "-"
    v = format_value(row["control"], row.get("control_spread"), row.get("control_n", 1))
    return f"{v} [{row['control_label']}]" if row.get("control_label") else v


def met_text(row) -> str:
    """yes / NO / NO (control passes) / blank for a reported-only row."""
    if row["ok"] is None:
        return ""
    if row["ok"]:
        return "yes"
    if row.get("gap"):
        return "NO (known gap)"
    return "NO (control passes)" if row.get("value_ok") and row.get("control_ok") else "NO"


def format_result(result: dict) -> str:
    """The text ``neurohebb sims run`` prints: a table (metric, value as mean ±
    spread (seeds), its control, target, source, met), the notes and the plots."""
    head = (f"{result['name']} on {result['backend']}:{result['precision']}"
            f"{' (short)' if result.get('short') else ''}: {result['description']}")
    rows = [[r["label"], format_value(r["value"], r.get("spread"), r.get("n", 1)), format_control(r),
             r["target"] or "-", r.get("source") or "-", met_text(r)] for r in result["rows"]]
    lines = [head, "", table(rows, ["metric", "value", "control", "target", "source", "met"])]
    if result.get("passed") is not None:
        lines.append("")
        gaps = sum(1 for r in result["rows"] if r.get("gap"))
        lines.append(("all targets met, every control fails them" if result["passed"] else "some targets NOT met")
                     + (f" ({gaps} known gap{'s' if gaps > 1 else ''}: published values not reached)" if gaps else ""))
    for r in result["rows"]:
        if r.get("gap"):
            lines.append(f"known gap: {r['label']}: {r['gap']}")
    for n in result.get("notes", []):
        lines.append(f"note: {n}")
    if result.get("plots"):
        lines.append("plots: " + ", ".join(result["plots"]))
    lines.append(f"wall time: {result['wall_time']:.1f} s")
    return "\n".join(lines)


def _one_seed(name, seed, kw):
    out = kw.get("out")
    kw = dict(kw, out=None if out is None else Path(out) / f"seed{seed}")
    return run_sim(name, seed=seed, **kw)


def run_sim_seeds(name, seeds, cluster=None, workers=None, progress=False, **kw) -> dict:
    """:func:`run_sim` once per seed in ``seeds`` (plots of seed ``s`` in
    ``<out>/seed<s>/``), on Dask when ``workers`` (local processes) or
    ``cluster`` (a scheduler address) is given, else one after the other; the
    results are the same either way.  Returns ``{"name", "seeds", "runs": [one
    run_sim result per seed], "summary": [{"key", "label", "mean", "sd", "n",
    "met", "control", "control_label", "target", "source"}], "wall_time"}``
    (``mean``, ``sd``: over the runs' values, each itself a mean over the
    experiment's own seeds)."""
    from .parallel import map_tasks

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise SimError("seeds: give at least one seed")
    load_experiment(name)  # unknown names fail here, not on a worker
    t0 = time.perf_counter()
    runs = map_tasks(_one_seed, [(name, s, kw) for s in seeds], cluster=cluster, workers=workers,
                     progress=progress, desc=f"sims {name}")
    summary = []
    for row in runs[0]["rows"]:
        vals = [next((r["value"] for r in res["rows"] if r["key"] == row["key"]), math.nan) for res in runs]
        oks = [next((r["ok"] for r in res["rows"] if r["key"] == row["key"]), None) for res in runs]
        n = len(vals)
        mean = sum(vals) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else math.nan
        met = None if all(o is None for o in oks) else sum(bool(o) for o in oks)
        ctl = [next((r["control"] for r in res["rows"] if r["key"] == row["key"]), None) for res in runs]
        ctl = [c for c in ctl if c is not None]
        summary.append({"key": row["key"], "label": row["label"], "mean": mean, "sd": sd, "n": n, "met": met,
                        "control": sum(ctl) / len(ctl) if ctl else None, "control_label": row["control_label"],
                        "target": row["target"], "source": row["source"]})
    return {"name": name, "seeds": seeds, "runs": runs, "summary": summary, "wall_time": time.perf_counter() - t0}


def format_seeds(result: dict) -> str:
    """The text ``neurohebb sims run NAME --seeds ...`` prints: mean and sd over seeds."""
    first = result["runs"][0]
    head = (f"{result['name']} on {first['backend']}:{first['precision']}{' (short)' if first.get('short') else ''}"
            f" over {len(result['seeds'])} seeds ({', '.join(map(str, result['seeds']))}): {first['description']}")
    rows = [[r["label"], _fmt(r["mean"]), "-" if math.isnan(r["sd"]) else _fmt(r["sd"]),
             "-" if r["control"] is None else f"{_fmt(r['control'])} [{r['control_label']}]",
             r["target"] or "-", r["source"] or "-", "" if r["met"] is None else f"{r['met']}/{r['n']}"]
            for r in result["summary"]]
    return "\n".join([head, "", table(rows, ["metric", "mean", "sd", "control (mean)", "target", "source", "met"]), "",
                      f"wall time: {result['wall_time']:.1f} s"])

