"""A stateful reference simulation: run, continue, inspect, train/test, checkpoint.

:class:`Session` keeps one :class:`~.engine.Engine`; ``run(a)`` then ``run(b)``
computes exactly what one run of ``a + b`` steps computes (bit for bit, in
float and fixed point): the engine keeps its ring buffers, traces, tags,
neuron states, modulator states and every random stream.

A checkpoint (:meth:`Session.save`) is one ``.npz`` file (no pickles), written
atomically, holding the document, the complete state and the metadata of the
run (seed, precision, options, package versions).  :meth:`Session.load`
rebuilds the network from the stored document and restores the state; a
checkpoint written by another neurohebb version, or restored into another
document, is refused with the reason.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ...errors import NeurohebbError, UnsupportedFeature

FORMAT = "neurohebb-checkpoint-1"
#: attributes never saved: parameters, references to other objects, compiled kernels
_SKIP = {"spec", "pp", "hw", "lm", "rule", "layout", "pre", "post", "src", "fn", "shared", "dtype", "prods",
         "program", "network", "trains", "projs", "projections", "populations", "modulators", "nl_pairs",
         "init_w", "clipped0", "f", "args", "K", "Pv", "FC", "FL", "FH", "FS", "values", "events"}
_STATE_MODULES = ("neurohebb.backends.reference", "neurohebb.semantics")


class CheckpointError(NeurohebbError):
    """A checkpoint that cannot be written or restored (with the reason)."""


def document_digest(network) -> str:
    """The document's SHA-256 (:func:`neurohebb.result.document_hash`, as result files record it)."""
    from ...result import document_hash

    return document_hash(network)


def versions() -> dict:
    """Versions of Python, neurohebb and the packages that decide a result (:func:`neurohebb.result.package_versions`)."""
    from ...result import package_versions

    return package_versions()


# ------------------------------------------------------------------ state walking
def _walk(obj, prefix, visit, seen):
    """Call ``visit(path, owner, attr, value)`` for every piece of mutable state
    reachable from ``obj`` (arrays, random generators, scalars), in a fixed order."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    for attr, val in sorted(vars(obj).items()):
        if attr in _SKIP or attr.startswith("__") or callable(val) and not isinstance(val, np.ndarray):
            continue
        path = f"{prefix}.{attr}"
        if isinstance(val, (np.ndarray, np.random.Generator)) or val is None or isinstance(
                val, (bool, int, float, np.integer, np.floating)):
            visit(path, obj, attr, val)
        elif isinstance(val, list) and val and all(isinstance(g, np.random.Generator) for g in val):
            for i, g in enumerate(val):
                visit(f"{path}.{i}", val, i, g)
        elif isinstance(val, dict) and all(isinstance(v, np.ndarray) for v in val.values()):
            for k in sorted(val):
                visit(f"{path}.{k}", val, k, val[k])
        elif type(val).__module__.startswith(_STATE_MODULES):
            _walk(val, path, visit, seen)


def _roots(engine):
    m = engine.model
    roots = [("pop." + k, p) for k, p in m.populations.items()]
    roots += [("proj." + pr.name, pr) for pr in m.projections]
    roots += [("mod." + k, mm) for k, mm in m.modulators.items()]
    roots += [("train." + path, tr) for tr, path in m.trains]
    return roots


def dump_state(engine) -> tuple[dict, dict]:
    """(arrays, scalars) of the engine's complete state."""
    arrays, scalars = {}, {}

    def visit(path, owner, attr, val):
        if isinstance(val, np.ndarray):
            arrays[path] = val.copy()
        elif isinstance(val, np.random.Generator):
            scalars[path] = {"generator": _jsonable(val.bit_generator.state)}
        else:
            scalars[path] = val.item() if isinstance(val, np.generic) else val

    seen: set = set()
    for prefix, obj in _roots(engine):
        _walk(obj, prefix, visit, seen)
    for name in engine.buf:
        arrays[f"engine.buf.{name}"] = engine.buf[name].copy()
        arrays[f"engine.next_input.{name}"] = engine.next_input[name].copy()
    scalars["engine.t"] = engine.t
    return arrays, scalars


def dump_records(engine) -> tuple[dict, dict]:
    """(arrays, scalars) of what the engine recorded (spikes, probe data)."""
    arrays = {}
    for name, chunks in engine.spike_chunks.items():
        n = engine.model.populations[name].n
        arrays[f"rec.spikes.{name}"] = np.concatenate(chunks) if chunks else np.zeros((0, n), bool)
    for pname, (times, data) in engine.probe_data.items():
        arrays[f"rec.probe_times.{pname}"] = np.asarray(times, np.int64)
        if data:
            arrays[f"rec.probe_data.{pname}"] = np.asarray(data)
    for name, W in (engine.w_record or {}).items():
        arrays[f"rec.w_record.{name}"] = W
    return arrays, {"engine.t_record": engine.t_record}


def load_records(engine, arrays, scalars):
    engine.t_record = int(scalars["engine.t_record"])
    w = {k[len("rec.w_record."):]: v for k, v in arrays.items() if k.startswith("rec.w_record.")}
    engine.w_record = w or None
    for name in engine.spike_chunks:
        engine.spike_chunks[name] = [arrays[f"rec.spikes.{name}"].astype(bool)]
    for pname in engine.probe_data:
        times = [int(t) for t in arrays[f"rec.probe_times.{pname}"]]
        data = list(arrays[f"rec.probe_data.{pname}"]) if f"rec.probe_data.{pname}" in arrays else []
        engine.probe_data[pname] = (times, data)


def load_state(engine, arrays, scalars):
    seen: set = set()
    missing = []

    def visit(path, owner, attr, val):
        if path in arrays:
            new = arrays[path]
            if isinstance(val, np.ndarray) and val.shape == new.shape and val.dtype == new.dtype:
                val[...] = new  # in place: keeps arrays that alias each other aliased
            else:
                _set(owner, attr, np.array(new))
        elif path in scalars:
            s = scalars[path]
            if isinstance(s, dict) and "generator" in s:
                val.bit_generator.state = _from_json(s["generator"])
            else:
                _set(owner, attr, type(val)(s) if isinstance(val, np.generic) else s)
        else:
            missing.append(path)

    for prefix, obj in _roots(engine):
        _walk(obj, prefix, visit, seen)
    if missing:
        raise CheckpointError(f"the checkpoint lacks state {missing[:5]} of this network")
    for name in engine.buf:
        engine.buf[name][...] = arrays[f"engine.buf.{name}"]
        engine.next_input[name][...] = arrays[f"engine.next_input.{name}"]
    engine.t = int(scalars["engine.t"])
    engine.clear_records()


def _set(owner, attr, val):
    if isinstance(owner, (list, dict)):
        owner[attr] = val
    else:
        setattr(owner, attr, val)


def _jsonable(state):
    if isinstance(state, dict):
        return {k: _jsonable(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {"__array__": state.tolist(), "dtype": str(state.dtype)}
    if isinstance(state, np.generic):
        return state.item()
    return state


def _from_json(state):
    if isinstance(state, dict):
        if "__array__" in state:
            return np.asarray(state["__array__"], dtype=state["dtype"])
        return {k: _from_json(v) for k, v in state.items()}
    return state


def atomic_savez(path: Path, arrays: dict) -> Path:
    """``np.savez_compressed`` to a temporary file in the same folder, then
    ``os.replace``: a killed writer never leaves a truncated file at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# ------------------------------------------------------------------ the session
class Session:
    """The reference backend's stateful simulator (see :class:`neurohebb.Simulator`).

    ``precision``: ``float`` or ``fixed``; ``seed``: the run seed (default the
    document's); fixed point is compiled once, for ``hardware`` and the horizon
    ``steps`` (default the document's ``run.steps``: the compiler sizes third
    factors for it).  ``externals``: step functions of external populations."""

    backend = "reference"

    def __init__(self, network, precision="float", seed=None, steps=None, parallel=True, externals=None,
                 hardware="loihi2", **compile_options):
        from ...api import load
        from ...ir import Network

        if not isinstance(network, Network):
            network = load(network)
        self.network = network
        self.precision = precision
        self.seed = network.run.seed if seed is None else int(seed)
        self.horizon = network.run.steps if steps is None else int(steps)
        self.options = {"parallel": bool(parallel), "hardware": hardware, **compile_options}
        self._externals = externals
        self._compile_options = compile_options
        self._hardware = hardware
        self._build()

    def _build(self):
        from .simulator import build_engine

        opts = dict(self._compile_options)
        if self.precision == "fixed":
            opts["hardware"] = self._hardware
        self.engine = build_engine(self.network, self.precision, seed=self.seed, steps=self.horizon,
                                   parallel=self.options["parallel"], externals=self._externals, **opts)
        self._plastic = {pr.name: pr.plastic for pr in self.engine.model.projections}

    # ------------------------------------------------------------ running
    @property
    def t(self) -> int:
        """Steps simulated since the start (or the last reset)."""
        return self.engine.t

    def run(self, steps, progress=None):
        """Simulate ``steps`` more steps."""
        steps = int(steps)
        if steps < 0:
            raise UnsupportedFeature(f"run: steps must be >= 0, got {steps}")
        self.engine.run(steps, progress=progress)

    def result(self):
        """A :class:`~neurohebb.result.Result` of everything recorded since the
        start, the last reset or the last :meth:`clear` (spikes, probes; the
        weights are the current ones)."""
        res = self.engine.result()
        res.report.setdefault("session", {"t": self.t, "from_step": self.engine.t_record})
        return res

    def clear(self):
        """Forget the recorded spikes and probe data (the network keeps its state)."""
        self.engine.clear_records()

    def reset(self, seed=None):
        """Back to step 0 with fresh state (``seed``: a new run seed)."""
        if seed is not None:
            self.seed = int(seed)
        self._build()

    # ------------------------------------------------------------ plasticity and weights
    def _proj(self, name):
        for pr in self.engine.model.projections:
            if pr.name == name:
                return pr
        raise UnsupportedFeature(f"no projection {name!r}; known: {', '.join(self._plastic)}")

    def set_plasticity(self, projection=None, on=True):
        """Switch learning of ``projection`` (None: every plastic projection) on
        or off.  Off, the projection transmits with its current weights and its
        rule does not run (weights, tags and traces stay as they are)."""
        names = list(self._plastic) if projection is None else [projection]
        for name in names:
            pr = self._proj(name)
            if on and not self._plastic[name]:
                raise UnsupportedFeature(f"projections.{name} has no rule; plasticity cannot be switched on")
            pr.plastic = bool(on) and self._plastic[name]

    def weights(self, projection) -> np.ndarray:
        """Current (post, pre) weights (in the document's units)."""
        pr = self._proj(projection)
        if self.precision == "fixed":
            W = pr.pp.weights.dequantize(pr.W)
            return W if pr.sp is None else pr.sp.dense(W)
        return pr.dense_weights()

    def set_weights(self, projection, W):
        """Overwrite the (post, pre) weights; absent synapses (a mask) stay 0;
        fixed point quantizes them as the compiler quantizes initial weights."""
        pr = self._proj(projection)
        W = np.asarray(W, float)
        from ...ir.sizes import size

        shape = (size(self.network, pr.spec.post), size(self.network, pr.spec.pre))
        if W.shape != shape:
            raise UnsupportedFeature(f"set_weights({projection!r}): shape {W.shape}, the projection is {shape} "
                                     "(post, pre)")
        if not np.all(np.isfinite(W)):
            raise UnsupportedFeature(f"set_weights({projection!r}): weights must be finite")
        if self.precision == "fixed":
            Wi = pr.pp.weights.quantize(W)
            if pr.sp is not None:
                pr.W[...] = pr.sp.from_dense(Wi)
                return
            M = pr.syn.M if pr.syn is not None and pr.syn.masked else None
            pr.W[...] = np.where(M, Wi, 0) if M is not None else Wi
        else:
            pr.assign_weights(W)

    @property
    def state(self) -> dict:
        """Everything the network holds now, by object: ``{"t": step,
        "pop.<name>.v": ..., "proj.<name>.W": ..., ...}`` (copies)."""
        arrays, scalars = dump_state(self.engine)
        return {"t": self.t, **arrays, **{k: v for k, v in scalars.items() if k != "engine.t"}}

    # ------------------------------------------------------------ checkpoints
    def save(self, path) -> Path:
        """Write a checkpoint (atomically) to ``path`` (.npz): the document, the
        complete state, what has been recorded since the start (or the last
        :meth:`clear`) and the run's metadata."""
        from ...ir.io import to_dict

        if any(p.type == "external" for p in self.network.populations.values()):
            raise CheckpointError("checkpoints of networks with external (host) populations are not supported: "
                                  "the step functions' own state (an agent, an environment) is not neurohebb's")
        arrays, scalars = dump_state(self.engine)
        rec_arrays, rec_scalars = dump_records(self.engine)
        arrays.update(rec_arrays)
        scalars.update(rec_scalars)
        doc_arrays: dict = {}
        doc = to_dict(self.network, doc_arrays)
        meta = {
            "format": FORMAT, "backend": self.backend, "precision": self.precision, "seed": self.seed,
            "horizon": self.horizon, "options": {k: v for k, v in self.options.items()
                                                 if isinstance(v, (str, int, float, bool, type(None)))},
            "plastic": {k: bool(self._proj(k).plastic) for k in self._plastic},
            "document_digest": document_digest(self.network), "document": doc, "versions": versions(),
            "t": self.t, "scalars": scalars,
        }
        out = {"meta": np.array(json.dumps(meta))}
        out.update({f"state/{k}": v for k, v in arrays.items()})
        out.update({f"doc/{k}": v for k, v in doc_arrays.items()})
        return atomic_savez(Path(path), out)

    @classmethod
    def load(cls, path, network=None, **options) -> "Session":
        """Restore a checkpoint.  ``network``: the document it must belong to
        (refused when it differs); default: the document stored in it."""
        from ...ir.io import from_dict

        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
            meta = json.loads(str(data["meta"]))
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path}: not a neurohebb checkpoint ({exc})") from None
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"{path}: checkpoint format {meta.get('format')!r}; this neurohebb reads {FORMAT}")
        if meta.get("versions", {}).get("neurohebb") != versions()["neurohebb"]:
            raise CheckpointError(f"{path}: written by neurohebb {meta.get('versions', {}).get('neurohebb')}, this "
                                  f"is {versions()['neurohebb']}; a checkpoint resumes only with the version that "
                                  "wrote it (the arithmetic may differ)")
        if network is None:
            doc_arrays = {k[4:]: v for k, v in data.items() if k.startswith("doc/")}
            network = from_dict(meta["document"], f"{path} (stored document)", doc_arrays)
        elif document_digest(network) != meta["document_digest"]:
            raise CheckpointError(f"{path}: the checkpoint belongs to another document (its digest differs from "
                                  f"{network.name!r}'s); resume with the document that wrote it")
        opts = {**meta["options"], **options}
        sess = cls(network, precision=meta["precision"], seed=meta["seed"], steps=meta["horizon"], **opts)
        arrays = {k[6:]: v for k, v in data.items() if k.startswith("state/")}
        load_state(sess.engine, arrays, meta["scalars"])
        load_records(sess.engine, arrays, meta["scalars"])
        for name, on in meta.get("plastic", {}).items():
            sess._proj(name).plastic = on
        return sess

    # ------------------------------------------------------------ context manager
    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return (f"<reference Session {self.network.name!r} {self.precision}, seed {self.seed}, t = {self.t}, "
                f"{len(self.engine.model.populations)} populations, {len(self._plastic)} projections>")
