"""NIR interoperability: export a network to a NIR graph and import NIR graphs.

    graph = to_nir(network)                 # nir.NIRGraph; nir.write("net.nir", graph)
    net = from_nir(graph_or_path, dt=1.0)   # neurohebb Network (dt in ms)
    graph, report = export_nir(network)     # the same, with a Report of what
    net, report = import_nir(graph, dt=1.0) #   was approximated and by how much

The full mapping, the metadata format and the discretization are in
``docs/nir.md``.  In short:

* Time.  Step ``t`` covers ``(t*dt, (t+1)*dt]``: the state after step ``t``
  is the continuous state at ``(t+1)*dt`` (``v_init`` is at time 0), and an
  activity ``a`` emitted at step ``s`` is a pulse of integral ``a * dt`` (a
  spike is a unit pulse one step long, the convention of the Euler-discretized
  NIR tools) delivered at that same instant ``(s+1)*dt``; it changes the
  receiver's state from step ``s + 1`` on.  So neurohebb's one-step latency is
  NIR's zero-latency edge and a projection ``delay`` of ``d`` steps is a NIR
  ``Delay`` of ``d * dt``.
* Neurons.  ``lif`` <-> ``CubaLIF`` (``LIF`` when ``du = 1``, ``IF`` when also
  ``dv = 0`` and no bias); ``method="exact"`` (default) discretizes with
  ``du = 1 - exp(-dt/tau_syn)``, ``dv = 1 - exp(-dt/tau_mem)``, which makes
  the sub-threshold state at every step equal the continuous solution;
  ``method="euler"`` uses ``du = dt/tau_syn``, ``dv = dt/tau_mem`` (what
  snnTorch / lava-dl do).  ``r`` and ``w_in`` become a per-neuron gain on the
  incoming weights; ``v_leak`` becomes ``bias``.  Imported ``LI`` / ``I`` become
  a linear ``rate`` population with a one-to-one self projection (the leak).
  ``rate`` populations export as ``Affine(identity, bias)`` followed by a
  ``Delay(dt)`` (their one-step latency).  Sources export as ``Input``.
* Projections <-> ``Linear`` (weights: the initial weights the reference
  backend draws with ``run.seed``), plus a ``Delay`` node when ``delay > 0``.
  On import every chain of ``Affine``/``Linear``/``Scale``/``Delay``/
  ``Flatten`` nodes between two neuron nodes becomes one projection.
* Metadata.  Everything NIR cannot hold (rules, modulators, probes, run
  settings, source specs, weight-init specs, refractory periods, ...) travels
  under ``metadata["neurohebb"]`` of the nodes and the graph, so
  neurohebb -> NIR -> neurohebb is lossless; a tool that ignores the key reads
  the static network.

Every error is a :class:`NIRConversionError` (a ``NeurohebbError``) naming the
NIR node and its type.
"""
from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, field
from dataclasses import fields as dc_fields
from pathlib import Path

import numpy as np

try:  # the top-level NIR package; ``import nir`` is absolute here (this module is neurohebb.nir)
    import nir
except ImportError:  # pragma: no cover - nir is an optional dependency
    nir = None

from .errors import NeurohebbError, UnsupportedFeature
from .ir import schema as S
from .ir.io import from_dict, load, save, to_dict
from .ir.validate import SOURCE_TYPES, size, validate

__all__ = ["to_nir", "from_nir", "export_nir", "import_nir", "export_file", "import_file", "Report",
           "NIRConversionError", "NIRConversionWarning", "KEY", "METHODS", "TIME_UNITS"]

#: The metadata key (on nodes and on the graph) that carries the neurohebb document pieces.
KEY = "neurohebb"
META_VERSION = "1"
METHODS = ("exact", "euler")
#: NIR time unit -> seconds.  NIR itself does not fix a unit; snnTorch, Norse, lava-dl use seconds.
TIME_UNITS = {"s": 1.0, "ms": 1e-3}
#: Decays of exactly 0 or 1 have no finite NIR time constant; export clamps them to [CLAMP, 1 - CLAMP].
CLAMP = 1e-9
#: Relative tolerance when comparing NIR parameters with what the metadata describes.
RTOL = 1e-9

NEURON_TYPES = ("LIF", "CubaLIF", "IF", "LI", "I", "CubaLI")
STATIC_TYPES = ("Affine", "Linear", "Scale", "Delay", "Flatten", "Identity")
SUPPORTED = ("Input", "Output") + NEURON_TYPES + STATIC_TYPES
_HINTS = {
    "Conv1d": "a convolution; neurohebb projections are dense (post, pre) matrices: unroll it into an Affine first",
    "Conv2d": "a convolution; neurohebb projections are dense (post, pre) matrices: unroll it into an Affine first",
    "SumPool2d": "pooling is not a neurohebb projection: unroll it into an Affine first",
    "AvgPool2d": "pooling is not a neurohebb projection: unroll it into an Affine first",
    "Threshold": "a memoryless threshold has no neurohebb population (use LIF/IF, or a rate population)",
    "NIRGraph": "a nested subgraph; flatten it into the top-level graph first",
}


# ============================================================================ errors, report
class NIRConversionError(UnsupportedFeature):
    """A NIR graph or a network cannot be converted.  ``node`` and ``node_type``
    name the (first) NIR node concerned; ``problems`` lists every
    ``(node, node_type, message)`` found."""

    def __init__(self, message: str = "", node: str | None = None, node_type: str | None = None, problems=None):
        self.problems = list(problems) if problems else [(node, node_type, message)]
        self.node, self.node_type = self.problems[0][0], self.problems[0][1]
        lines = [(f"NIR node {n!r} ({t}): {m}" if n is not None else m) for n, t, m in self.problems]
        super().__init__(lines[0] if len(lines) == 1 else "cannot convert the NIR graph:\n  " + "\n  ".join(lines))


class NIRConversionWarning(UserWarning):
    """``to_nir`` / ``from_nir`` approximated something (see the :class:`Report`)."""


@dataclass
class Report:
    """What a conversion did that is not exact, and the measured discretization error.

    ``errors[node]`` holds, for every neuron node, the maximum error of the
    discrete impulse response (``impulse``) and of the ``v_leak`` step
    response (``leak``) against the continuous NIR solution, each relative to
    the peak of the continuous response (so a voltage trace driven by pulses
    ``q_k`` is within ``impulse * sum_k |q_k| * peak + leak * |v_leak|``);
    ``roundtrip`` (export) is the largest parameter change of
    neurohebb -> NIR -> neurohebb without metadata.  ``notes`` are
    ``(level, node, type, message)`` with level ``approx`` (dynamics differ, or
    data is missing) or ``info`` (carried in metadata only).
    """

    direction: str
    dt: float | None = None
    method: str | None = None
    time_unit: str | None = None
    used_metadata: bool = False
    spiking: bool = False
    notes: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)

    def note(self, level, node, node_type, message):
        self.notes.append((level, node, node_type, message))

    def max_error(self) -> float:
        vals = [v for e in self.errors.values() for k, v in e.items() if k != "type" and isinstance(v, float)]
        return max(vals, default=0.0)

    def approximations(self) -> list:
        return [n for n in self.notes if n[0] == "approx"]

    def lossy(self) -> bool:
        """True when something was approximated beyond floating-point rounding."""
        return bool(self.approximations()) or self.max_error() > 1e-9

    def summary(self) -> str:
        """Only what was approximated (the warning text)."""
        lines = [f"NIR {self.direction}" + (f" at dt = {self.dt:g} ms ({self.method})" if self.dt is not None else "")
                 + " approximated:"]
        for node, e in self.errors.items():
            big = {k: v for k, v in e.items() if k != "type" and isinstance(v, float) and v > 1e-9}
            if big:
                lines.append(f"  {node} ({e.get('type')}): " + ", ".join(f"{k} {v:.2g}" for k, v in big.items())
                             + " (relative discretization error vs the continuous NIR equations)")
        for _, node, typ, msg in self.approximations():
            lines.append(f"  {node} ({typ}): {msg}" if node is not None else f"  {msg}")
        return "\n".join(lines)

    def __str__(self) -> str:
        head = f"NIR {self.direction}"
        if self.direction == "import":
            head += (": neurohebb metadata found and used (lossless)" if self.used_metadata
                     else ": no usable neurohebb metadata; static network only")
        lines = [head]
        if self.dt is not None:
            lines.append(f"  dt = {self.dt:g} ms, NIR time unit {self.time_unit}, discretization {self.method}")
        if self.errors:
            lines.append("  discretization error vs the continuous NIR equations "
                         "(relative to the peak; impulse response / v_leak step response"
                         + (" / parameter round trip" if self.direction == "export" else "") + "):")
            for node, e in self.errors.items():
                parts = [f"{e.get('impulse', 0.0):.2g}", f"{e.get('leak', 0.0):.2g}"]
                if "roundtrip" in e:
                    parts.append(f"{e['roundtrip']:.2g}")
                lines.append(f"    {node} ({e.get('type')}): " + " / ".join(parts))
        if self.spiking:
            lines.append("  spike times are on the step grid: a threshold crossing inside a step is emitted at the "
                         "step's end (up to 1 dt late), and the reset starts from there")
        if self.notes:
            lines.append("  notes:")
            for level, node, typ, msg in self.notes:
                where = f"{node} ({typ}): " if node is not None else ""
                lines.append(f"    [{level}] {where}{msg}")
        return "\n".join(lines)


def _require():
    if nir is None:  # pragma: no cover
        raise NeurohebbError("the nir package is not installed; pip install nir")


def _tname(node) -> str:
    return type(node).__name__


# ============================================================================ discretization
def _kernel(t, ts, tm):
    """``(exp(-t/ts) - exp(-t/tm)) / (ts - tm)``, stable when ts ~ tm (limit t/tau^2 exp(-t/tau))."""
    t, ts, tm = np.broadcast_arrays(np.asarray(t, float), np.asarray(ts, float), np.asarray(tm, float))
    out = np.zeros(t.shape)
    fin = np.isfinite(ts) & np.isfinite(tm)
    if not fin.any():
        return out
    t_, s, m = t[fin], ts[fin], tm[fin]
    x = t_ * (s - m) / (s * m)
    small = np.abs(x) < 1e-3
    res = np.empty_like(t_)
    # near-equal time constants: exp(-t/tm) * t/(ts tm) * expm1(x)/x
    xs = x[small]
    phi = np.ones_like(xs)
    nz = xs != 0
    phi[nz] = np.expm1(xs[nz]) / xs[nz]
    res[small] = np.exp(-t_[small] / m[small]) * t_[small] / (s[small] * m[small]) * phi
    big = ~small
    res[big] = (np.exp(-t_[big] / s[big]) - np.exp(-t_[big] / m[big])) / (s[big] - m[big])
    out[fin] = res
    return out


def _decay(tau, dt, method, name, typ, fld):
    tau = np.asarray(tau, float)
    if method == "exact":
        return -np.expm1(-dt / tau)
    d = dt / tau
    if np.any(d > 1):
        raise NIRConversionError(f"Euler discretization needs dt <= {fld} (dt/{fld} = {d.max():.3g} at dt = {dt:g}); "
                                 "use method='exact' or a smaller dt", name, typ)
    return d


@dataclass
class _Neuron:
    """A NIR neuron node as a neurohebb population.

    ``gain``: neurohebb weight = gain * (NIR weight) for input pulses;
    ``bias_gain``: neurohebb bias += bias_gain * (constant NIR input level);
    ``loop``: LI / I leak, a one-to-one self projection.
    """

    spec: dict
    n: int
    gain: np.ndarray
    bias_gain: np.ndarray
    bias_exact: bool = True
    loop: np.ndarray | None = None
    var: str = "spikes"
    readout_only: bool = False
    err: dict = field(default_factory=dict)


def _scalar_or_list(a):
    a = np.asarray(a, float)
    return float(a[0]) if a.size and np.all(a == a[0]) else a


def _neuron_from_nir(name, node, dt, method) -> _Neuron:
    """Discretize one NIR neuron node at ``dt`` (NIR time units)."""
    typ = _tname(node)

    def P(f):
        return np.asarray(getattr(node, f), float).reshape(-1)

    def tau(f):
        a = P(f)
        if np.any(~(a > 0)):
            raise NIRConversionError(f"{f} must be > 0 (found {a.min():g})", name, typ)
        return a

    def uniform(f, a, nh_field):
        a = np.asarray(a, float)
        if a.size and not np.allclose(a, a[0], rtol=RTOL, atol=0.0, equal_nan=False):
            raise NIRConversionError(f"{f} differs between neurons (min {a.min():g}, max {a.max():g}); "
                                     f"a neurohebb lif population has one {nh_field}", name, typ)
        return float(a[0])

    def threshold():
        vth = uniform("v_threshold", P("v_threshold"), "vth")
        if not vth > 0:
            raise NIRConversionError(f"v_threshold = {vth:g}; neurohebb's lif needs a threshold > 0 "
                                     "(shift the voltages so that it is positive)", name, typ)
        vr = P("v_reset") if getattr(node, "v_reset", None) is not None else np.zeros(1)
        return vth, uniform("v_reset", vr, "v_reset")

    if typ in ("CubaLIF", "CubaLI"):
        ts, tm = tau("tau_syn"), tau("tau_mem")
        n = ts.size
        r, w_in, vl = (np.broadcast_to(P(f), (n,)) for f in ("r", "w_in", "v_leak"))
        uniform("tau_syn", ts, "du"), uniform("tau_mem", tm, "dv")
        du_a, dv_a = _decay(ts, dt, method, name, typ, "tau_syn"), _decay(tm, dt, method, name, typ, "tau_mem")
        du, dv = float(du_a[0]), float(dv_a[0])
        if method == "exact":
            gain = w_in * r * _kernel(dt, ts, tm) * dt
        else:
            gain = w_in * r * (dt / ts) * (dt / tm)
        spec = {"type": "lif", "n": n, "du": min(max(du, 0.0), 1.0), "dv": min(max(dv, 0.0), 1.0),
                "bias": _scalar_or_list(dv_a * vl)}
        if typ == "CubaLIF":
            spec["vth"], spec["v_reset"] = threshold()
            conv = _Neuron(spec, n, gain, dv_a * r * w_in, bias_exact=False)
        else:
            spec["vth"] = math.inf
            conv = _Neuron(spec, n, gain, dv_a * r * w_in, bias_exact=False, var="v", readout_only=True)
        conv.err = _response_error("cuba", dt, method, ts[0], tm[0])
    elif typ == "LIF":
        t = tau("tau")
        n = t.size
        r, vl = (np.broadcast_to(P(f), (n,)) for f in ("r", "v_leak"))
        uniform("tau", t, "dv")
        dv_a = _decay(t, dt, method, name, typ, "tau")
        dv = float(dv_a[0])
        gain = r * (1 - dv_a) * dt / t if method == "exact" else r * dt / t
        spec = {"type": "lif", "n": n, "du": 1.0, "dv": min(max(dv, 0.0), 1.0), "bias": _scalar_or_list(dv_a * vl)}
        spec["vth"], spec["v_reset"] = threshold()
        conv = _Neuron(spec, n, gain, dv_a * r)
        conv.err = _response_error("leaky", dt, method, None, t[0])
    elif typ == "IF":
        r = P("r")
        n = r.size
        spec = {"type": "lif", "n": n, "du": 1.0, "dv": 0.0}
        spec["vth"], spec["v_reset"] = threshold()
        conv = _Neuron(spec, n, r * dt, r * dt)
        conv.err = {"impulse": 0.0, "leak": 0.0}
    elif typ == "LI":
        t = tau("tau")
        n = t.size
        r, vl = (np.broadcast_to(P(f), (n,)) for f in ("r", "v_leak"))
        dv_a = _decay(t, dt, method, name, typ, "tau")
        gain = r * (1 - dv_a) * dt / t if method == "exact" else r * dt / t
        spec = {"type": "rate", "n": n, "bias": _scalar_or_list(dv_a * vl)}
        conv = _Neuron(spec, n, gain, dv_a * r, loop=1 - dv_a, var="output")
        errs = [_response_error("leaky", dt, method, None, tv) for tv in np.unique(t)[:50]]
        conv.err = {k: max(e[k] for e in errs) for k in ("impulse", "leak")}
    elif typ == "I":
        r = P("r")
        n = r.size
        conv = _Neuron({"type": "rate", "n": n}, n, r * dt, r * dt, loop=np.ones(n), var="output")
        conv.err = {"impulse": 0.0, "leak": 0.0}
    else:  # pragma: no cover - filtered by _check_supported
        raise NIRConversionError("not a neuron node", name, typ)
    conv.err = {"type": typ, **conv.err}
    return conv


def _response_error(kind, dt, method, ts, tm) -> dict:
    """Max error of the discrete impulse and v_leak-step responses vs the
    continuous solution (r = w_in = 1, v_leak = 1), relative to their peaks."""
    ts = None if ts is None else float(ts)
    tm = float(tm)
    finite = [x for x in (ts, tm) if x is not None and math.isfinite(x)]
    K = int(min(max(math.ceil(10 * max(finite, default=dt) / dt), 20), 20000))
    k = np.arange(1, K + 1)
    t = k * dt
    dv = float(_decay(tm, dt, method, None, None, "tau_mem"))
    if kind == "cuba":
        du = float(_decay(ts, dt, method, None, None, "tau_syn"))
        g = float(_kernel(dt, ts, tm) * dt) if method == "exact" else (dt / ts) * (dt / tm)
        cont = dt * _kernel(t, ts, tm)
        u = g * (1 - du) ** (k - 1)
        disc = np.empty(K)
        v = 0.0
        for i in range(K):
            v = v * (1 - dv) + u[i]
            disc[i] = v
    else:
        g = (1 - dv) * dt / tm if method == "exact" else dt / tm
        cont = dt / tm * np.exp(-t / tm)
        disc = g * (1 - dv) ** (k - 1)
    leak_c = -np.expm1(-t / tm)
    leak_d = 1 - (1 - dv) ** k
    rel = lambda d, c: float(np.max(np.abs(d - c)) / max(np.max(np.abs(c)), 1e-300))  # noqa: E731
    return {"impulse": rel(disc, cont), "leak": rel(leak_d, leak_c)}


def _lif_to_nir(name, spec: S.LIF, n, dt, method, report):
    """The NIR node whose discretization (same dt, method) is ``spec`` with gain 1."""
    du, dv = float(spec.du), float(spec.dv)
    bias = np.broadcast_to(np.asarray(spec.bias, float), (n,)).astype(float)
    vth = np.full(n, float(spec.vth))
    vr = np.full(n, float(spec.v_reset))
    if du == 1.0 and dv == 0.0 and not bias.any():
        return nir.IF(r=np.full(n, 1.0 / dt), v_threshold=vth, v_reset=vr)

    def clamp(d, what, typ):
        hi = 1.0 - CLAMP if method == "exact" else 1.0
        c = min(max(d, CLAMP), hi)
        if c != d:
            report.note("approx", name, typ, f"{what} = {d:g} has no finite NIR time constant; exported as {c:.10g} "
                                             "(other tools see that; the exact value is in the metadata)")
        return c

    if du == 1.0:
        dvc = clamp(dv, "dv", "LIF")
        if method == "exact":
            tau = -dt / math.log1p(-dvc)
            r = tau / ((1 - dvc) * dt)
        else:
            tau = dt / dvc
            r = tau / dt
        return nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=bias / dvc, v_threshold=vth, v_reset=vr)
    duc, dvc = clamp(du, "du", "CubaLIF"), clamp(dv, "dv", "CubaLIF")
    if method == "exact":
        ts, tm = -dt / math.log1p(-duc), -dt / math.log1p(-dvc)
        r = 1.0 / float(_kernel(dt, ts, tm) * dt)
    else:
        ts, tm = dt / duc, dt / dvc
        r = ts * tm / dt**2
    return nir.CubaLIF(tau_syn=np.full(n, ts), tau_mem=np.full(n, tm), r=np.full(n, r), v_leak=bias / dvc,
                       v_threshold=vth, v_reset=vr, w_in=np.ones(n))


# ============================================================================ metadata
def _npz_keys(obj, out):
    if isinstance(obj, dict):
        for v in obj.values():
            _npz_keys(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _npz_keys(v, out)
    elif isinstance(obj, str) and obj.startswith("npz:"):
        out.append(obj[4:])
    return out


def _meta(kind, name, piece=None, arrays=None, **extra) -> dict:
    m = {"version": META_VERSION, "kind": kind, "name": name, **extra}
    if piece is not None:
        m["spec"] = json.dumps(piece)
        used = _npz_keys(piece, [])
        if used:
            m["arrays"] = {k: np.asarray(arrays[k]) for k in used}
    return {KEY: m}


def _str(v):
    if isinstance(v, bytes):
        return v.decode("utf8")
    if isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind in "SO":
        return _str(v.item())
    return v


def _node_meta(node) -> dict | None:
    """The node's neurohebb metadata as plain Python (None if absent or unreadable)."""
    md = getattr(node, "metadata", None)
    if not isinstance(md, dict) or KEY not in md or not isinstance(md[KEY], dict):
        return None
    m = {k: _str(v) for k, v in md[KEY].items()}
    if m.get("kind") not in ("network", "population", "projection", "delay", "latency"):
        return None
    try:
        if "spec" in m:
            m["spec"] = json.loads(m["spec"])
    except (TypeError, ValueError):
        return None
    arrays = m.get("arrays") or {}
    m["arrays"] = {str(k): np.asarray(v) for k, v in arrays.items()} if isinstance(arrays, dict) else {}
    return m


# ============================================================================ export
def _as_network(network) -> S.Network:
    if isinstance(network, S.Network):
        return validate(network)
    if isinstance(network, dict):
        return from_dict(network)
    return load(network)


def export_nir(network, *, method: str = "exact", time_unit: str = "s"):
    """Convert ``network`` (a Network, a document dict or a YAML path) to a
    ``nir.NIRGraph``; returns ``(graph, report)``."""
    _require()
    from .semantics import initial_weights

    if method not in METHODS:
        raise NIRConversionError(f"unknown discretization method {method!r}; known: {', '.join(METHODS)}")
    if time_unit not in TIME_UNITS:
        raise NIRConversionError(f"unknown NIR time unit {time_unit!r}; known: {', '.join(TIME_UNITS)}")
    net = _as_network(network)
    dt = net.run.dt * 1e-3 / TIME_UNITS[time_unit]
    report = Report("export", dt=net.run.dt, method=method, time_unit=time_unit)
    arrays: dict = {}
    full = to_dict(net, arrays)
    nodes: dict = {}
    edges: list = []
    taken = set(net.populations) | set(net.projections) | set(net.modulators)

    def helper_name(base):
        name, i = base, 1
        while name in taken or name in nodes:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        return name

    out_of = {}  # population -> node whose output carries its activity
    for name, spec in net.populations.items():
        n = size(net, name)
        meta = _meta("population", name, full["populations"][name], arrays)
        if spec.type == "external":
            raise UnsupportedFeature(f"populations.{name}: an external (host step function) population has no NIR "
                                     "node (NIR graphs have no host callbacks); export the network without it and "
                                     "drive the NIR Input from your environment")
        if spec.type in SOURCE_TYPES:
            nodes[name] = nir.Input(input_type={"input": np.array([n])}, metadata=meta)
            report.note("info", name, "Input",
                        f"{spec.type} source: NIR has no input data; the source is in the metadata")
            out_of[name] = name
        elif spec.type == "lif_dendritic":
            raise NIRConversionError(
                "NIR has no multi-compartment neuron; a lif_dendritic population (dendritic branches with "
                "NMDA-like plateaus) cannot be exported (NIR's neurons are single-compartment: LIF, CubaLIF, IF, "
                "LI, CubaLI)", name, "lif_dendritic")
        elif spec.type == "lif":
            node = _lif_to_nir(name, spec, n, dt, method, report)
            node.metadata = meta
            nodes[name] = node
            typ = _tname(node)
            back = _neuron_from_nir(name, node, dt, method)
            bias = np.broadcast_to(np.asarray(spec.bias, float), (n,))
            bb = np.broadcast_to(np.asarray(back.spec.get("bias", 0.0), float), (n,))
            rt = max(abs(back.spec["du"] - spec.du), abs(back.spec["dv"] - spec.dv),
                     float(np.max(np.abs(back.gain - 1.0))), float(np.max(np.abs(bb - bias))))
            report.errors[name] = {**back.err, "roundtrip": rt}
            report.spiking = True
            if spec.refractory:
                report.note("info", name, typ, f"refractory = {spec.refractory} steps: NIR has no refractory period "
                                               "(kept in the metadata; other tools see none)")
            if np.any(np.asarray(spec.v_init) != 0):
                report.note("info", name, typ,
                            "v_init: NIR has no initial state (kept in the metadata; other tools start at 0)")
            if spec.prescribed is not None:
                report.note("info", name, typ, f"prescribed ({spec.prescribed.type}) output: other tools simulate "
                                               f"the {typ} instead (the prescription is in the metadata)")
            out_of[name] = name
        else:  # rate
            bias = np.broadcast_to(np.asarray(spec.bias, float), (n,)).astype(float)
            nodes[name] = nir.Affine(weight=np.eye(n), bias=bias, metadata=meta)
            lat = helper_name(f"{name}__latency")
            nodes[lat] = nir.Delay(delay=np.full(n, dt), metadata=_meta("latency", lat, of=name))
            edges.append((name, lat))
            out_of[name] = lat
            f = spec.nonlinearity
            msg = "rate neuron: exported as Affine(identity, bias) -> Delay(dt) (its one-step latency)"
            if f.name != "linear" or f.gain != 1.0:
                msg += (f"; the nonlinearity {f.name} is not in NIR "
                        "(other tools see a linear neuron; it is in the metadata)")
            report.note("info", name, "Affine", msg)
    for name, pr in net.projections.items():
        W, _ = initial_weights(net, name, net.run.seed, np.dtype("float64"))
        nodes[name] = nir.Linear(weight=np.asarray(W, float),
                                 metadata=_meta("projection", name, full["projections"][name], arrays))
        edges.append((out_of[pr.pre], name))
        if pr.delay:
            dn = helper_name(f"{name}__delay")
            nodes[dn] = nir.Delay(delay=np.full(size(net, pr.post), pr.delay * dt),
                                  metadata=_meta("delay", dn, of=name))
            edges += [(name, dn), (dn, pr.post)]
        else:
            edges.append((name, pr.post))
        extra = []
        if pr.rule is not None:
            extra.append(f"{pr.rule.template} rule")
        if pr.weights.init not in ("array", "constant"):
            extra.append(f"{pr.weights.init} weight init (NIR holds the weights drawn with seed {net.run.seed})")
        if pr.connectivity.type != "all_to_all" or pr.bounds is not None or pr.sign != "mixed":
            extra.append("connectivity, sign and bounds")
        if extra:
            report.note("info", name, "Linear", ", ".join(extra) + ": in the metadata only")
    if net.modulators or net.probes:
        report.note("info", None, None, f"modulators ({len(net.modulators)}), probes ({len(net.probes)}) and the "
                                        "run settings: in the graph metadata only")
    # NIR type inference needs an exit: if every population feeds another, mark the non-source ones as outputs
    sources = {e[0] for e in edges}
    if not any(k not in sources for k in nodes):
        for name, spec in net.populations.items():
            if spec.type not in SOURCE_TYPES:
                on = helper_name(f"output_{name}")
                nodes[on] = nir.Output(output_type={"output": np.array([size(net, name)])})
                edges.append((out_of[name], on))
    skel = {k: v for k, v in full.items() if k not in ("populations", "projections")}
    skel["populations"] = list(net.populations)
    skel["projections"] = list(net.projections)
    gmeta = _meta("network", net.name, skel, arrays, dt_ms=float(net.run.dt), method=method, time_unit=time_unit)
    try:
        graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=gmeta, type_check=True)
    except (ValueError, AssertionError) as exc:
        graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=gmeta, type_check=False)
        report.note("approx", None, None, f"NIR type inference failed ({exc}); read the file with "
                                          "nir.read(path, type_check=False)")
    return graph, report


def to_nir(network, *, method: str = "exact", time_unit: str = "s"):
    """``network`` as a ``nir.NIRGraph`` (see :func:`export_nir`); warns
    :class:`NIRConversionWarning` when something was approximated."""
    graph, report = export_nir(network, method=method, time_unit=time_unit)
    if report.lossy():
        warnings.warn(report.summary(), NIRConversionWarning, stacklevel=2)
    return graph


# ============================================================================ import
def _as_graph(graph):
    _require()
    if isinstance(graph, nir.NIRGraph):
        return graph
    if isinstance(graph, (str, Path)):
        path = Path(graph)
        if not path.exists():
            raise NIRConversionError(f"{path}: file not found")
        check_hdf5(path)
        try:
            return nir.read(path)
        except Exception as exc:  # h5py / nir raise many kinds
            try:
                g = nir.read(path, type_check=False)
            except Exception:
                raise NIRConversionError(f"{path}: not a readable NIR file ({type(exc).__name__}: {exc})") from None
            return g
    raise NIRConversionError(f"expected a nir.NIRGraph or a path to a .nir file; found {type(graph).__name__}")


def check_hdf5(path, max_depth: int = 64):
    """Refuse a .nir (HDF5) file that reads data from elsewhere: external
    links, soft links, datasets with external storage, virtual datasets; and
    datasets larger than half of the machine's available memory (checked from
    their headers, before anything is read)."""
    import h5py

    from .ir.limits import machine_memory

    path = Path(path)
    budget = machine_memory()[0] // 2
    total = 0
    problems = []

    def visit(group, prefix, depth):
        nonlocal total
        if depth > max_depth:
            problems.append(f"{prefix or '/'}: groups nested deeper than {max_depth}")
            return
        for name in group:
            where = f"{prefix}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                problems.append(f"{where}: an external link to {link.filename}:{link.path} (a .nir file must hold "
                                "its own data)")
                continue
            if isinstance(link, h5py.SoftLink):
                problems.append(f"{where}: a soft link to {link.path} (not written by NIR)")
                continue
            obj = group.get(name)
            if isinstance(obj, h5py.Dataset):
                if obj.external:
                    files = ", ".join(str(e[0]) for e in obj.external)
                    problems.append(f"{where}: a dataset with external storage ({files}); a .nir file must hold "
                                    "its own data")
                elif obj.is_virtual:
                    problems.append(f"{where}: a virtual dataset (it maps other files); a .nir file must hold its "
                                    "own data")
                else:
                    total += int(obj.size or 0) * obj.dtype.itemsize
            elif isinstance(obj, h5py.Group):
                visit(obj, where, depth + 1)

    try:
        with h5py.File(path, "r") as f:
            visit(f, "", 0)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise NIRConversionError(f"{path}: not a readable NIR file (HDF5: {type(exc).__name__}: {exc})") from None
    if problems:
        raise NIRConversionError(f"{path}: refused: " + "; ".join(problems[:5])
                                 + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    if total > budget:
        raise NIRConversionError(f"{path}: its datasets hold {total / 2**30:.3g} GB; this machine has "
                                 f"{2 * budget / 2**30:.3g} GB available")


def _check_supported(graph):
    problems = []
    for name, node in graph.nodes.items():
        typ = _tname(node)
        if typ not in SUPPORTED:
            problems.append((name, typ, _HINTS.get(typ, "no neurohebb equivalent") +
                             f"; supported node types: {', '.join(SUPPORTED)}"))
    if problems:
        raise NIRConversionError(problems=problems)


def _auto_io(node) -> bool:
    return isinstance(node, (nir.Input, nir.Output)) and _node_meta(node) is None


def import_nir(graph, dt: float | None = None, *, method: str | None = None, time_unit: str | None = None,
               inputs: dict | None = None, ignore_metadata: bool = False, name: str | None = None):
    """Convert a NIR graph (a ``nir.NIRGraph`` or a path to a .nir file) to a
    neurohebb Network; returns ``(network, report)``.

    ``dt``: the step in ms (``run.dt``); a graph exported by neurohebb keeps its
    own (and may not be given another).  ``method``: ``exact`` (default) or
    ``euler``; ``time_unit``: the unit of NIR's time constants and delays,
    ``s`` (default) or ``ms``.  ``inputs``: source specs for the graph's
    ``Input`` nodes by node name (else from their neurohebb metadata, else
    a silent poisson source); for a graph exported by neurohebb they replace
    the named sources.
    ``ignore_metadata``: read only the static network, as another tool would.
    """
    graph = _as_graph(graph)
    _check_supported(graph)
    for arg, known in ((method, METHODS), (time_unit, TIME_UNITS)):
        if arg is not None and arg not in known:
            raise NIRConversionError(f"unknown option {arg!r}; known: {', '.join(known)}")
    report = Report("import")
    gm = None if ignore_metadata else _node_meta(graph)
    if gm is not None and gm["kind"] == "network":
        net = _import_with_metadata(graph, gm, dt, method, time_unit, inputs, report)
        if net is not None:
            return net, report
        report.notes.append(("approx", None, None, "the graph's structure differs from its neurohebb metadata "
                                                   "(edited by another tool?): imported the static network only; "
                                                   "rules, modulators and probes were dropped"))
    stored = gm if gm is not None and gm["kind"] == "network" else {}
    report.method = method or str(stored.get("method", "exact"))
    report.time_unit = time_unit or str(stored.get("time_unit", "s"))
    if dt is None:
        dt = float(stored.get("dt_ms", 1.0))
        report.note("info", None, None, f"no dt given: using {dt:g} ms")
    report.dt = float(dt)
    net = _import_static(graph, float(dt), report.method, report.time_unit, inputs or {}, report, name,
                         use_sources=not ignore_metadata)
    return net, report


def from_nir(graph, dt: float | None = None, *, method: str | None = None, time_unit: str | None = None,
             inputs: dict | None = None, ignore_metadata: bool = False, name: str | None = None):
    """A neurohebb Network from a NIR graph (see :func:`import_nir`); warns
    :class:`NIRConversionWarning` with the report when something was approximated."""
    net, report = import_nir(graph, dt, method=method, time_unit=time_unit, inputs=inputs,
                             ignore_metadata=ignore_metadata, name=name)
    if report.lossy():
        warnings.warn(report.summary(), NIRConversionWarning, stacklevel=2)
    return net


# ---------------------------------------------------------------------------- with metadata
def _same_node(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, nir.Input):
        return np.array_equal(np.asarray(a.input_type["input"]), np.asarray(b.input_type["input"]))
    if isinstance(a, nir.Output):
        return np.array_equal(np.asarray(a.output_type["output"]), np.asarray(b.output_type["output"]))
    for f in dc_fields(a):
        if f.name in ("metadata", "input_type", "output_type"):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x is None or y is None:
            if (x is None) != (y is None):
                return False
            continue
        x, y = np.asarray(x, float), np.asarray(y, float)
        if x.shape != y.shape or not np.allclose(x, y, rtol=RTOL, atol=1e-12, equal_nan=True):
            return False
    return True


def _import_with_metadata(graph, gm, dt, method, time_unit, inputs, report):
    skel = gm.get("spec")
    if not isinstance(skel, dict):
        return None
    stored_dt = float(skel.get("run", {}).get("dt", 1.0))
    stored_method, stored_unit = str(gm.get("method", "exact")), str(gm.get("time_unit", "s"))
    if dt is not None and not math.isclose(float(dt), stored_dt, rel_tol=1e-12):
        raise NIRConversionError(f"this graph was exported by neurohebb at dt = {stored_dt:g} ms (its rules count "
                                 f"time in steps of that dt); omit dt, or pass ignore_metadata=True to re-discretize "
                                 f"the static network at dt = {dt:g} ms")
    for arg, stored, what in ((method, stored_method, "method"), (time_unit, stored_unit, "time_unit")):
        if arg is not None and arg != stored:
            raise NIRConversionError(f"this graph was exported by neurohebb with {what} = {stored!r}; omit {what}, "
                                     "or pass ignore_metadata=True")
    arrays = dict(gm["arrays"])
    pops, projs, node_of = {}, {}, {}
    for nname, node in graph.nodes.items():
        m = _node_meta(node)
        if m is None:
            continue
        if m["kind"] in ("population", "projection") and not isinstance(m.get("spec"), dict):
            return None
        if m["kind"] == "population":
            pops[m["name"]] = m["spec"]
        elif m["kind"] == "projection":
            projs[m["name"]] = m["spec"]
        else:
            continue
        node_of[m["name"]] = nname
        arrays.update(m["arrays"])
    order_p, order_j = skel.get("populations", []), skel.get("projections", [])
    if set(order_p) != set(pops) or set(order_j) != set(projs):
        return None
    doc = {k: v for k, v in skel.items() if k not in ("populations", "projections")}
    doc["populations"] = {p: pops[p] for p in order_p}
    if order_j:
        doc["projections"] = {p: projs[p] for p in order_j}
    net = from_dict(doc, source="NIR metadata", arrays=arrays)
    if inputs:  # new data for the sources; the static graph is unchanged by that
        for key, spec in inputs.items():
            if key not in net.populations or net.populations[key].type not in SOURCE_TYPES:
                raise NIRConversionError(f"inputs given for {key!r}, which is not a source population; sources: "
                                         f"{sorted(k for k, p in net.populations.items() if p.type in SOURCE_TYPES)}")
            doc["populations"][key] = spec.model_dump() if hasattr(spec, "model_dump") else dict(spec)
            report.note("info", key, "Input", "source replaced by the one given in inputs")
        net = from_dict(doc, source="NIR metadata + inputs", arrays=arrays)
    # what neurohebb would export now; differences are edits made by another tool
    expected, _ = export_nir(net, method=stored_method, time_unit=stored_unit)
    mine = lambda g: {k for k, v in g.nodes.items() if not _auto_io(v)}  # noqa: E731
    ours, theirs = mine(expected), mine(graph)
    if ours != theirs:
        return None
    e_ours = {e for e in expected.edges if e[0] in ours and e[1] in ours}
    e_theirs = {tuple(e) for e in graph.edges if e[0] in ours and e[1] in ours}
    if e_ours != e_theirs:
        return None
    changed = [k for k in ours if not _same_node(expected.nodes[k], graph.nodes[k])]
    report.dt, report.method, report.time_unit = stored_dt, stored_method, stored_unit
    report.used_metadata = True
    report.spiking = any(p.type == "lif" for p in net.populations.values())
    if changed:
        net = _apply_edits(net, graph, changed, node_of, stored_dt * 1e-3 / TIME_UNITS[stored_unit],
                           stored_method, report)
    return net


def _apply_edits(net, graph, changed, node_of, dt, method, report):
    """Take NIR parameters another tool changed, keep everything else from the metadata."""
    from .semantics import connectivity_mask, initial_weights

    doc = to_dict(net)
    gains = {}
    for nname in changed:
        node = graph.nodes[nname]
        typ = _tname(node)
        m = _node_meta(node)
        kind = m["kind"] if m else None
        if kind == "population":
            pop = m["name"]
            spec = doc["populations"][pop]
            if spec["type"] == "lif" and typ in ("CubaLIF", "LIF", "IF"):
                conv = _neuron_from_nir(nname, node, dt, method)
                if conv.n != spec["n"]:
                    return None
                for k in ("du", "dv", "vth", "v_reset", "bias"):
                    spec[k] = conv.spec.get(k, 0.0)
                if np.any(conv.gain != 1.0):
                    gains[pop] = conv.gain
                report.errors[nname] = conv.err
                report.note("approx", nname, typ, "parameters differ from the neurohebb metadata (edited by another "
                                                  "tool?): du, dv, vth, v_reset, bias re-discretized from NIR; "
                                                  "refractory, v_init, prescribed kept from the metadata")
            elif spec["type"] == "rate" and typ == "Affine" and np.array_equal(node.weight, np.eye(spec["n"])):
                spec["bias"] = _scalar_or_list(np.asarray(node.bias, float).reshape(-1))
                report.note("approx", nname, typ, "bias differs from the neurohebb metadata: taken from NIR")
            else:
                return None
        elif kind == "delay":
            proj = m["of"]
            d = np.asarray(node.delay, float).reshape(-1)
            steps = d / dt
            if not np.allclose(steps, steps[0], rtol=RTOL, atol=1e-9):
                raise NIRConversionError("delay differs between neurons; a neurohebb projection has one delay",
                                         nname, typ)
            k = int(round(float(steps[0])))
            if k < 1:
                return None
            doc["projections"][proj]["delay"] = k
            if abs(steps[0] - k) > 1e-6:
                report.note("approx", nname, typ, f"delay {d[0]:g} rounded to {k} steps")
            report.note("approx", nname, typ, f"delay differs from the neurohebb metadata: now {k} steps")
        elif kind != "projection":
            return None
    for proj, pspec in doc["projections"].items():
        nname = node_of[proj]
        post = pspec["post"]
        if nname not in changed and post not in gains:
            continue
        node = graph.nodes[nname]
        g = gains.get(post, np.ones(size(net, post)))
        W_new = g[:, None] * np.asarray(node.weight, float)
        W_old, _ = initial_weights(net, proj, net.run.seed, np.dtype("float64"))
        if W_new.shape == W_old.shape and np.allclose(W_new, W_old, rtol=RTOL, atol=1e-12):
            continue
        if W_new.shape != W_old.shape:
            return None
        pr = net.projections[proj]
        mask = connectivity_mask(net, proj, net.run.seed)
        msg = "weights differ from the neurohebb metadata (trained elsewhere?): imported as an array"
        if mask is not None:
            lost = int(np.count_nonzero(W_new[~mask]))
            if lost:
                msg += f"; {lost} nonzero weights outside the connectivity are dropped"
        lo, hi = pr.effective_bounds()
        outside = (W_new < lo) | (W_new > hi)
        if mask is not None:
            outside &= mask
        winit = {"init": "array", "values": W_new}
        if outside.any():
            winit["clip_to_bounds"] = True
            msg += f"; {int(outside.sum())} weights outside the bounds [{lo:g}, {hi:g}] are clipped"
        pspec["weights"] = winit
        report.note("approx", nname, _tname(node), msg)
    return from_dict(doc, source="NIR metadata + edits")


# ---------------------------------------------------------------------------- static graphs
_NAME_BAD = re.compile(r"[^A-Za-z0-9_]")


class _Names:
    def __init__(self):
        self.taken: set = set()

    def take(self, base) -> str:
        s = _NAME_BAD.sub("_", str(base)) or "node"
        if not re.match(r"[A-Za-z_]", s):
            s = "n_" + s
        name, i = s, 1
        while name in self.taken:
            name, i = f"{s}_{i}", i + 1
        self.taken.add(name)
        return name


def _shape_size(node) -> int:
    if isinstance(node, nir.Input):
        return int(np.prod(np.asarray(node.input_type["input"])))
    if isinstance(node, nir.Output):
        return int(np.prod(np.asarray(node.output_type["output"])))
    return int(np.prod(np.asarray(node.output_type["output"])))


def _import_static(graph, dt_ms, method, time_unit, inputs, report, name, use_sources=False):
    dt = dt_ms * 1e-3 / TIME_UNITS[time_unit]
    names = _Names()
    doc = {"format_version": S.FORMAT_VERSION, "name": name or "", "description": "imported from NIR",
           "populations": {}, "projections": {}, "probes": {}, "run": {"dt": dt_ms}}
    out_edges: dict = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        a, b = _str(a), _str(b)
        if a not in graph.nodes or b not in graph.nodes:
            raise NIRConversionError(f"edge ({a!r}, {b!r}) names a node that does not exist")
        out_edges[a].append(b)
    arrays: dict = {}   # npz: arrays of source specs taken from metadata
    pop_of: dict = {}   # NIR node -> population
    neurons: dict = {}  # NIR node -> _Neuron
    sizes: dict = {}
    for nname, node in graph.nodes.items():
        typ = _tname(node)
        if typ == "Input":
            pname = names.take(nname)
            n = _shape_size(node)
            spec = inputs.get(nname, inputs.get(pname))
            m = _node_meta(node) if use_sources and spec is None else None
            if m is not None and m["kind"] == "population" and isinstance(m.get("spec"), dict) \
                    and m["spec"].get("type") in SOURCE_TYPES:
                spec = m["spec"]
                arrays.update(m["arrays"])
                report.note("info", nname, typ, "source taken from its neurohebb metadata")
            elif spec is None:
                spec = {"type": "poisson", "n": n, "rates": 0.0}
                report.note("approx", nname, typ,
                            f"no input data in NIR: imported as a silent poisson source (rates 0); "
                            f"set populations.{pname} or pass inputs={{{nname!r}: ...}}")
            else:
                spec = spec.model_dump() if hasattr(spec, "model_dump") else dict(spec)
                spec.setdefault("n", n)
            doc["populations"][pname] = spec
            pop_of[nname], sizes[nname] = pname, n
        elif typ in NEURON_TYPES:
            conv = _neuron_from_nir(nname, node, dt, method)
            pname = names.take(nname)
            doc["populations"][pname] = conv.spec
            pop_of[nname], neurons[nname], sizes[nname] = pname, conv, conv.n
            report.errors[nname] = conv.err
            if conv.spec["type"] == "lif" and not conv.readout_only:
                report.spiking = True
            if conv.readout_only:
                report.note("info", nname, typ, "CubaLI (non-spiking) imported as a lif with vth = inf; "
                                                "its output is the probe of v")
    unused_inputs = set(inputs) - set(pop_of) - set(pop_of.values())
    if unused_inputs:
        raise NIRConversionError(f"inputs given for {sorted(unused_inputs)}, which are not Input nodes of the graph; "
                                 f"Input nodes: {sorted(k for k, v in graph.nodes.items() if _tname(v) == 'Input')}")

    # ---- walk every chain of static nodes from each population (and each static bias)
    conns: dict = {}     # (pre, post, steps) -> [M (None: identity), [first static node of each chain]]
    readouts: dict = {}  # Output node -> list of (pre, M, steps, trail)
    bias_in: dict = {}   # target node -> constant level (vector)
    probes_direct: list = []
    limit = [0]

    def static_op(nname):
        node = graph.nodes[nname]
        typ = _tname(node)
        if typ in ("Affine", "Linear"):
            W = np.asarray(node.weight, float)
            if W.ndim != 2:
                raise NIRConversionError(f"weight of shape {W.shape}; only 2-D (out, in) weights map to a projection",
                                         nname, typ)
            b = np.asarray(node.bias, float).reshape(-1) if typ == "Affine" else None
            return W, (b if b is not None and np.any(b) else None), 0.0
        if typ == "Scale":
            return np.diag(np.asarray(node.scale, float).reshape(-1)), None, 0.0
        if typ == "Delay":
            d = np.asarray(node.delay, float).reshape(-1)
            if d.size and not np.allclose(d, d[0], rtol=RTOL, atol=1e-15):
                raise NIRConversionError("delay differs between neurons; a neurohebb projection has one delay",
                                         nname, typ)
            if d.size and d[0] < 0:
                raise NIRConversionError(f"negative delay {d[0]:g}", nname, typ)
            return None, None, float(d[0]) if d.size else 0.0
        return None, None, 0.0  # Flatten, Identity

    def apply(A, M, n_in, nname):
        if A is None:
            return M
        rows_in = n_in if M is None else M.shape[0]
        if A.shape[1] != rows_in:
            raise NIRConversionError(f"receives a signal of size {rows_in} but its weight has {A.shape[1]} columns",
                                     nname, _tname(graph.nodes[nname]))
        return A if M is None else A @ M

    def explore(start, target, M, delay, trail, is_bias, n_in):
        limit[0] += 1
        if limit[0] > 100000:
            raise NIRConversionError("more than 100000 paths through static nodes; simplify the graph")
        typ = _tname(graph.nodes[target])
        if target in pop_of and typ != "Input":
            rows = n_in if M is None else M.shape[0]
            if rows != sizes[target]:
                raise NIRConversionError(f"receives a signal of size {rows} but has {sizes[target]} neurons",
                                         target, typ)
            if is_bias:
                bias_in[target] = bias_in.get(target, 0.0) + M
            else:
                _add_conn(start, target, M, delay, trail)
            return
        if typ == "Input":
            raise NIRConversionError("an Input node cannot receive edges", target, typ)
        if typ == "Output":
            if is_bias:
                bias_in[target] = bias_in.get(target, 0.0) + M
            elif M is None and delay == 0:
                probes_direct.append((start, target))
            else:
                readouts.setdefault(target, []).append((start, M, delay, trail))
            return
        if target in trail:
            raise NIRConversionError("a cycle through static nodes only (an algebraic loop): "
                                     + " -> ".join(trail + (target,)), target, typ)
        A, b, d = static_op(target)
        M2 = apply(A, M, n_in, target)
        for z in out_edges[target]:
            explore(start, z, M2, delay + d, trail + (target,), is_bias, n_in)

    def _add_conn(pre, post, M, delay, trail):
        steps = delay / dt
        k = int(round(steps))
        if abs(steps - k) > 1e-6:
            where = next((t for t in reversed(trail) if _tname(graph.nodes[t]) == "Delay"), post)
            report.note("approx", where, _tname(graph.nodes[where]),
                        f"delay {delay:g} {time_unit} is {steps:.4g} steps of dt; rounded to {k} "
                        f"(error {abs(steps - k) * dt:.3g} {time_unit})")
        key = (pre, post, k)
        _merge(key, M, trail)

    def _merge(key, M, trail):
        first = trail[0] if trail else None
        if key in conns:
            old, firsts = conns[key]
            n = sizes[key[0]]
            conns[key][0] = (np.eye(n) if old is None else old) + (np.eye(n) if M is None else M)
            if first not in firsts:
                firsts.append(first)
        else:
            conns[key] = [M, [first]]

    for nname in pop_of:
        for z in out_edges[nname]:
            explore(nname, z, None, 0.0, (), False, sizes[nname])
    for nname, node in graph.nodes.items():
        if _tname(node) == "Affine":
            _, b, _ = static_op(nname)
            if b is not None:
                for z in out_edges[nname]:
                    explore(nname, z, b, 0.0, (nname,), True, b.size)

    # ---- readout-only neurons (CubaLI) must not feed populations
    for (pre, post, k) in conns:
        if pre in neurons and neurons[pre].readout_only:
            raise NIRConversionError(f"feeds {post!r}; a non-spiking CubaLI can only be read out (feed Output nodes)",
                                     pre, _tname(graph.nodes[pre]))

    # ---- readout populations: an Output fed through static nodes
    readout_pop = {}
    for onode, items in readouts.items():
        pname = names.take(onode)
        n = _shape_size(graph.nodes[onode])
        spec = {"type": "rate", "n": n}
        b = bias_in.get(onode)
        if b is not None:
            spec["bias"] = _scalar_or_list(np.broadcast_to(b, (n,)))
        doc["populations"][pname] = spec
        readout_pop[onode] = pname
        sizes[onode] = n
        for pre, M, delay, trail in items:
            if pre in neurons and neurons[pre].readout_only:
                raise NIRConversionError(f"feeds {onode!r} through {trail[0]!r}; a non-spiking CubaLI can only be "
                                         "read out directly (an edge to an Output node)", pre, _tname(graph.nodes[pre]))
            rows = sizes[pre] if M is None else M.shape[0]
            if rows != n:
                raise NIRConversionError(f"receives a signal of size {rows} but has shape of size {n}", onode, "Output")
            steps = delay / dt
            k = int(round(steps))
            if abs(steps - k) > 1e-6:
                report.note("approx", onode, "Output", f"delay {delay:g} {time_unit} rounded to {k} steps")
            if k >= 1:
                k -= 1
            else:
                report.note("info", onode, "Output", f"read through {trail[0]!r} as the linear rate population "
                                                     f"{pname!r}, one step after the value NIR defines")
            _merge((pre, onode, k), M, trail)
        doc["probes"][_probe_name(onode, doc["probes"])] = {"target": pname, "var": "output"}

    # ---- biases from Affine nodes into neurons
    for target, level in bias_in.items():
        if target not in neurons:
            continue
        conv = neurons[target]
        spec = conv.spec
        extra = conv.bias_gain * np.broadcast_to(level, (conv.n,))
        spec["bias"] = _scalar_or_list(np.broadcast_to(np.asarray(spec.get("bias", 0.0), float), (conv.n,)) + extra)
        if not conv.bias_exact:
            report.note("approx", target, _tname(graph.nodes[target]),
                        "a constant (Affine bias) input is folded into the membrane bias: exact in steady state, "
                        "but the current's rise over tau_syn from t = 0 is not reproduced")

    # ---- LI / I leaks
    for nname, conv in neurons.items():
        if conv.loop is not None:
            pname = pop_of[nname]
            loop = np.asarray(conv.loop, float)
            w = ({"init": "constant", "value": float(loop[0])} if np.all(loop == loop[0])
                 else {"init": "array", "values": np.diag(loop)})
            doc["projections"][names.take(f"{pname}_leak")] = {
                "pre": pname, "post": pname, "weights": w, "connectivity": {"type": "one_to_one"}}

    # ---- projections
    first_count: dict = {}
    for M, firsts in conns.values():
        for f in firsts:
            first_count[f] = first_count.get(f, 0) + 1
    for (pre, post, k), (M, firsts) in conns.items():
        post_pop = pop_of.get(post, readout_pop.get(post))
        gain = neurons[post].gain if post in neurons else np.ones(sizes[post])
        named = [f for f in firsts if f is not None]
        if not named:
            base = f"{pop_of[pre]}_to_{post_pop}"
        elif len(named) == 1 and first_count[named[0]] == 1:
            base = named[0]
        else:
            base = "_".join(named) + f"_to_{post_pop}"
        pj = {"pre": pop_of[pre], "post": post_pop}
        if M is None:
            if sizes[pre] != sizes[post]:  # pragma: no cover - caught by the size check
                raise NIRConversionError("size mismatch", post, _tname(graph.nodes[post]))
            pj["connectivity"] = {"type": "one_to_one"}
            pj["weights"] = ({"init": "constant", "value": float(gain[0])} if np.all(gain == gain[0])
                             else {"init": "array", "values": np.diag(gain)})
        else:
            pj["weights"] = {"init": "array", "values": gain[:, None] * M}
        if k:
            pj["delay"] = k
        doc["projections"][names.take(base)] = pj

    # ---- probes of populations that feed Output nodes directly
    for pre, onode in probes_direct:
        pname = pop_of[pre]
        ptype = doc["populations"][pname]["type"]
        var = neurons[pre].var if pre in neurons else S.POP_VARS[ptype][0]
        doc["probes"][_probe_name(onode, doc["probes"])] = {"target": pname, "var": var}
    if not doc["projections"]:
        del doc["projections"]
    return from_dict(doc, source="NIR import", arrays=arrays)


def _probe_name(onode, existing=()) -> str:
    s = _NAME_BAD.sub("_", str(onode)) or "output"
    name, i = s, 1
    while name in existing:
        name, i = f"{s}_{i}", i + 1
    return name


# ============================================================================ files (CLI)
def _n(k, word):
    return f"{k} {word}" + ("" if k == 1 else "s")



def export_file(yaml_path, nir_path, *, method: str = "exact", time_unit: str = "s") -> str:
    """``neurohebb export-nir NET.yaml -o NET.nir``: returns a short report."""
    _require()
    net = load(yaml_path)
    graph, report = export_nir(net, method=method, time_unit=time_unit)
    nir_path = Path(nir_path)
    try:
        nir.write(nir_path, graph)
    except Exception as exc:
        raise NIRConversionError(f"{nir_path}: cannot write ({type(exc).__name__}: {exc})") from None
    rules = sum(p.rule is not None for p in net.projections.values())
    head = (f"wrote {nir_path}: {_n(len(graph.nodes), 'NIR node')}, {_n(len(graph.edges), 'edge')} "
            f"({_n(len(net.populations), 'population')}, {_n(len(net.projections), 'projection')}, {rules} plastic; "
            f"rules, modulators and probes under metadata['{KEY}'])")
    return head + "\n" + str(report)


def import_file(nir_path, yaml_path, dt: float | None = None, *, method: str | None = None,
                time_unit: str | None = None, inputs: dict | None = None, ignore_metadata: bool = False,
                force: bool = False) -> str:
    """``neurohebb import-nir NET.nir -o NET.yaml [--dt MS] [--force]``: returns
    a short report.  An existing ``NET.yaml`` or ``NET.npz`` is not
    overwritten unless ``force``."""
    yaml_path = Path(yaml_path)
    if not force:
        existing = [p for p in (yaml_path, yaml_path.with_suffix(".npz")) if p.exists()]
        if existing:
            raise NIRConversionError(f"{existing[0]} exists; refusing to overwrite it (pass --force, or choose "
                                     "another output with -o)")
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(nir_path).stem)[:100].lstrip(".-") or "imported"
    net, report = import_nir(nir_path, dt, method=method, time_unit=time_unit, inputs=inputs,
                             ignore_metadata=ignore_metadata, name=stem)
    path = save(net, yaml_path)
    rules = sum(p.rule is not None for p in net.projections.values())
    head = (f"wrote {path}: {_n(len(net.populations), 'population')}, {_n(len(net.projections), 'projection')} "
            f"({rules} plastic), {_n(len(net.probes), 'probe')}")
    return head + "\n" + str(report)
