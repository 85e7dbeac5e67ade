"""The common result every backend returns, and its file format.

``Result.save(path)`` writes one ``.npz`` file: every array (spikes, final
and initial weights, probes, arrays of the run report) plus one JSON record
of metadata (the document's canonical text and its SHA-256, seed, steps, dt,
backend, precision, lowering and backend options, package versions, the run
report with the fixed-point saturation counters).  The file is written to a
temporary file in the same folder and renamed over ``path``, so a run killed
while saving never leaves a truncated file that looks like a result.
``neurohebb.load_result(path)`` (or ``Result.load``) restores a
:class:`Result` that behaves like the original.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import NeurohebbError

#: the result file's format; bumped when the layout changes (older files are refused with the reason)
RESULT_FORMAT = "neurohebb-result/1"
_META = "__neurohebb_meta__"


@dataclass
class ProbeData:
    """``data[k]`` was recorded after step ``times[k]`` (0-based), i.e. after
    ``times[k] + 1`` steps had run."""

    target: str
    var: str
    times: np.ndarray
    data: np.ndarray

    def __repr__(self) -> str:
        return (f"ProbeData({self.target}.{self.var}: {len(self.times)} samples of shape "
                f"{tuple(np.shape(self.data)[1:])})")


@dataclass(repr=False)
class Result:
    """``spikes[pop]``: (steps, n) bool for spiking populations;
    ``weights[proj]``: final (post, pre) array, or, for a projection the
    reference stores sparsely with more than 2**22 (post, pre) entries, a
    ``scipy.sparse.csr_matrix`` of its synapses (a ``weights``/``e`` probe of
    such a projection records one value per synapse, in (post, pre) order);
    ``initial_weights[proj]`` likewise;
    ``probes[name]``: :class:`ProbeData`; ``report``: what the backend wants to
    say (compile report, saturation counts, timings); ``network``: the
    document that ran (when known); ``options``: the backend options."""

    network_name: str
    backend: str
    precision: str
    seed: int
    steps: int
    dt: float
    spikes: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    initial_weights: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    wall_time: float = 0.0
    network: object = None
    options: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)  # what load_result read (versions, document hash, ...)
    start: int = 0  # the step recording started at (a Simulator's result after clear(): > 0)

    # ------------------------------------------------------------------ data
    def weight_history(self, proj: str, probe: str | None = None):
        """``(times, W)`` of projection ``proj``: ``W[k]`` (post, pre) are the
        weights after ``times[k]`` steps.  The first entry is the initial
        weights (``times[0] == 0``, or ``start`` for a result recorded from a
        later step), then every sample of the weights probe ``probe``
        (default: the first weights probe on ``proj``; a sample recorded after
        step ``t`` is at ``t + 1``), and the last entry is always the final
        weights (``times[-1] == start + steps``), added when the probe did not
        sample the last step.  Seconds: ``times * res.dt / 1000``."""
        for name, p in self.probes.items():
            if p.target == proj and p.var == "weights" and (probe is None or name == probe):
                end = self.start + self.steps
                times = [np.array([self.start], np.int64), np.asarray(p.times, np.int64) + 1]
                hist = [self.initial_weights[proj][None], np.asarray(p.data).reshape((-1,) + self.initial_weights[proj].shape)]
                if not len(p.times) or int(p.times[-1]) + 1 != end:
                    times.append(np.array([end], np.int64))
                    hist.append(self.weights[proj][None])
                return np.concatenate(times), np.concatenate(hist)
        raise KeyError(f"no weights probe on projection {proj!r}; add probes: {{w: {{target: {proj}, var: weights, every: 100}}}}")

    def rates(self, pop: str) -> np.ndarray:
        """Mean firing rate per neuron in Hz."""
        s = self.spikes[pop]
        return s.mean(axis=0) * 1000.0 / self.dt

    @property
    def plot(self):
        """Plots of this result as matplotlib Figures: ``res.plot.weights("syn")``,
        ``res.plot.final_weights("syn")``, ``res.plot.raster("out")``,
        ``res.plot.rates("out")`` (see :mod:`neurohebb.plot`)."""
        from .plot import ResultPlots

        return ResultPlots(self)

    # ------------------------------------------------------------------ repr
    def _summary_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for pop, s in self.spikes.items():
            r = self.rates(pop) if s.size else np.zeros(0)
            rows.append(("population", pop, f"{s.shape[1] if s.ndim == 2 else 0} neurons; spikes: mean rate "
                                            f"{_g(r.mean()) if r.size else '-'} Hz"
                                            + (f" (min {_g(r.min())}, max {_g(r.max())})" if r.size > 1 else "")))
        for proj, w in self.weights.items():
            w0 = self.initial_weights.get(proj)
            txt = f"{w.shape[0]}x{w.shape[1]} weights: mean {_g(w.mean())} (sd {_g(w.std())}, range [{_g(w.min())}, {_g(w.max())}])" \
                if w.size else "no synapses"
            if w0 is not None and w0.size:
                txt += f"; initially mean {_g(w0.mean())}"
            rows.append(("projection", proj, txt))
        for name, p in self.probes.items():
            shape = tuple(np.shape(p.data)[1:])
            every = int(p.times[1] - p.times[0]) if len(p.times) > 1 else None
            rows.append(("probe", name, f"{p.target}.{p.var}: {len(p.times)} samples of {shape}"
                                        + (f", every {every} steps" if every else "")))
        sat = self.report.get("saturation") if isinstance(self.report, dict) else None
        for proj, s in (sat or {}).items():
            ts = s.get("trace_saturations", {})
            rows.append(("saturation", proj, ", ".join(
                [f"trace {t} {n}" for t, n in ts.items()] +
                [f"{k.replace('_', ' ')} {s[k]}" for k in ("weight_clips", "accumulator_saturations", "tag_clips")
                 if k in s])))
        return rows

    def _head(self) -> str:
        return (f"{self.network_name or 'network'} on {self.backend}:{self.precision}, seed {self.seed}, "
                f"{self.steps} steps of {_g(self.dt)} ms" + (f" (from step {self.start})" if self.start else "") + (f", {self.wall_time:.3g} s wall" if self.wall_time else ""))

    def __repr__(self) -> str:
        lines = [f"Result({self._head()})"]
        for kind, name, txt in self._summary_rows():
            lines.append(f"  {kind} {name}: {txt}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(f"<tr><td>{e(k)}</td><td><b>{e(n)}</b></td><td style='text-align:left'>{e(t)}</td></tr>"
                       for k, n, t in self._summary_rows())
        return (f"<div><b>neurohebb Result</b>: {e(self._head())}"
                f"<table><tr><th>kind</th><th>name</th><th style='text-align:left'>summary</th></tr>{rows}</table></div>")

    # ------------------------------------------------------------------ files
    def save(self, path) -> Path:
        """Write this result (arrays + metadata + run report) to ``path``
        (``.npz`` added when missing), atomically; returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        arrays: dict = {}
        for k, v in self.spikes.items():
            arrays[f"spikes/{k}"] = np.asarray(v)
        for k, v in self.weights.items():
            arrays[f"weights/{k}"] = np.asarray(v)
        for k, v in self.initial_weights.items():
            arrays[f"initial_weights/{k}"] = np.asarray(v)
        probes = {}
        for k, p in self.probes.items():
            arrays[f"probes/{k}/times"] = np.asarray(p.times)
            arrays[f"probes/{k}/data"] = np.asarray(p.data)
            probes[k] = {"target": p.target, "var": p.var}
        meta = {
            "format": RESULT_FORMAT,
            "network_name": self.network_name, "backend": self.backend, "precision": self.precision,
            "seed": int(self.seed), "steps": int(self.steps), "start": int(self.start), "dt": float(self.dt),
            "wall_time": float(self.wall_time),
            "lowering": _lowering(self), "options": _jsonable(self.options, arrays, "options"),
            "probes": probes, "versions": package_versions(self.backend),
            "report": _jsonable(self.report, arrays, "report"),
        }
        doc = document_record(self.network, arrays) if self.network is not None else self.metadata.get("document")
        if doc is not None:
            meta["document"] = doc
        arrays[_META] = np.array(json.dumps(meta, allow_nan=True))
        atomic_write(path, lambda f: np.savez_compressed(f, **arrays))
        return path

    @classmethod
    def load(cls, path) -> "Result":
        """Read a file written by :meth:`save` (see :func:`load_result`)."""
        return load_result(path)

    def to_dict(self) -> dict:
        """The metadata record that :meth:`save` writes (arrays left out)."""
        return {"network_name": self.network_name, "backend": self.backend, "precision": self.precision,
                "seed": self.seed, "steps": self.steps, "dt": self.dt, "wall_time": self.wall_time,
                "lowering": _lowering(self), "versions": package_versions(self.backend)}


def load_result(path) -> Result:
    """Read a result file written by :meth:`Result.save`: a :class:`Result`
    with the same arrays, probes, report (the compile report as a
    :class:`~neurohebb.compiler.CompileReport`) and, when the file holds the
    document, ``network``; ``metadata`` holds what else the file says
    (versions, document hash).  A file that is not a neurohebb result, or
    from a newer format, is refused with the reason."""
    path = Path(path)
    if not path.exists():
        raise NeurohebbError(f"{path}: no such result file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError
        raise NeurohebbError(f"{path}: not a readable .npz result file ({type(exc).__name__}: {exc})") from None
    if _META not in arrays:
        raise NeurohebbError(f"{path}: an .npz without neurohebb metadata (written by an older neurohebb or by "
                             "another program); it holds: " + ", ".join(sorted(arrays)[:10]))
    try:
        meta = json.loads(str(arrays.pop(_META)))
    except ValueError as exc:
        raise NeurohebbError(f"{path}: its metadata is not valid JSON ({exc})") from None
    if meta.get("format") != RESULT_FORMAT:
        raise NeurohebbError(f"{path}: result format {meta.get('format')!r}; this neurohebb reads {RESULT_FORMAT!r}")
    res = Result(meta["network_name"], meta["backend"], meta["precision"], meta["seed"], meta["steps"], meta["dt"])
    res.wall_time = meta.get("wall_time", 0.0)
    res.start = int(meta.get("start", 0))
    for key, v in arrays.items():
        kind, _, name = key.partition("/")
        if kind == "spikes":
            res.spikes[name] = v
        elif kind == "weights":
            res.weights[name] = v
        elif kind == "initial_weights":
            res.initial_weights[name] = v
    for name, p in meta.get("probes", {}).items():
        res.probes[name] = ProbeData(p["target"], p["var"], arrays[f"probes/{name}/times"], arrays[f"probes/{name}/data"])
    res.report = _restore(meta.get("report", {}), arrays)
    res.options = _restore(meta.get("options", {}), arrays)
    res.metadata = {k: meta[k] for k in ("versions", "lowering", "document") if k in meta}
    res.metadata["path"] = str(path)
    doc = meta.get("document")
    if doc is not None:
        res.network = _network_from_record(doc, arrays)
    return res


# ---------------------------------------------------------------------- helpers
def atomic_write(path, write) -> Path:
    """Call ``write(file object)`` on a temporary file in ``path``'s folder,
    flush it to disk, then rename it over ``path`` (``os.replace``): readers
    see the old file or the complete new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def package_versions(backend: str = "") -> dict:
    """Versions of Python, neurohebb and the packages that decide a result."""
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    names = ["neurohebb", "numpy", "numba", "scipy"]
    names += {"nengo": ["nengo", "nengo-loihi"], "lava": ["lava-nc"], "nest": ["nest-simulator"]}.get(backend, [])
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            if n == "neurohebb":
                from . import __version__

                out[n] = __version__
    return out


def document_record(network, arrays: dict) -> dict:
    """``{"name", "yaml", "sha256"}`` of ``network``: the canonical YAML
    (large arrays as ``npz:KEY``, stored in ``arrays`` under ``document/KEY``)
    and the SHA-256 of that text and those arrays (names and bytes)."""
    import yaml

    from .ir.io import to_dict

    doc_arrays: dict = {}
    text = yaml.safe_dump(to_dict(network, doc_arrays), sort_keys=False, default_flow_style=None, width=100)
    h = hashlib.sha256(text.encode())
    for k in sorted(doc_arrays):
        a = np.ascontiguousarray(doc_arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
        arrays[f"document/{k}"] = a
    return {"name": network.name, "yaml": text, "sha256": h.hexdigest(), "arrays": sorted(doc_arrays)}


def document_hash(network) -> str:
    """The SHA-256 that :meth:`Result.save` records for ``network``."""
    return document_record(network, {})["sha256"]


def _network_from_record(doc, arrays):
    import yaml

    from .ir.io import from_dict

    try:
        data = yaml.safe_load(doc["yaml"])
        return from_dict(data, source="result file", arrays={k: arrays[f"document/{k}"] for k in doc.get("arrays", [])})
    except Exception:  # a document this version no longer reads: keep the text in metadata
        return None


def _lowering(res) -> str | None:
    for src in (res.report if isinstance(res.report, dict) else {}, res.options or {}):
        v = src.get("lowering")
        if isinstance(v, str):
            return v
    return None


def _jsonable(obj, arrays: dict, path: str):
    """JSON-able copy of a report; arrays go to ``arrays`` (``{"__array__": key}``),
    objects with ``to_dict`` keep their type name (``{"__type__", "data"}``)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, arrays, f"{path}/{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, arrays, f"{path}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        arrays[path] = obj
        return {"__array__": path}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "to_dict"):
        return {"__type__": f"{type(obj).__module__}:{type(obj).__qualname__}",
                "data": _jsonable(obj.to_dict(), arrays, path)}
    return str(obj)


def _restore(obj, arrays):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return arrays[obj["__array__"]]
        if set(obj) == {"__type__", "data"}:
            data = _restore(obj["data"], arrays)
            return _from_dict(obj["__type__"], data)
        return {k: _restore(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v, arrays) for v in obj]
    return obj


def _from_dict(type_name: str, data):
    """An object of a neurohebb class with ``from_dict`` (e.g. the compile
    report) rebuilt from its record; other types stay plain data."""
    import importlib

    mod, _, qual = str(type_name).partition(":")
    if not mod.startswith("neurohebb.") or not qual:
        return data
    try:
        cls = importlib.import_module(mod)
        for part in qual.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError):
        return data
    from_dict = getattr(cls, "from_dict", None)
    return from_dict(data) if callable(from_dict) else data


def _g(x) -> str:
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.4g}"


__all__ = ["Result", "ProbeData", "load_result", "atomic_write", "package_versions", "document_hash", "RESULT_FORMAT"]
