"""The compile report: every quantized parameter (original, hardware value,
relative error), every rule product as mantissa/exponent with the product
shift and its compensation, the mappings chosen, capacity, and notes."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ..text import table as _table


@dataclass
class Quantized:
    """One quantized parameter.  ``value`` is what the hardware represents, in
    the document's units; ``rel_error = |value - original| / |original|`` (for
    arrays: the largest over elements, ``note`` says more)."""

    path: str
    original: object
    hardware: str
    value: object
    rel_error: float
    note: str = ""


@dataclass
class RuleRow:
    projection: str
    target: str
    source: str  # the document's product
    ideal: float  # exact hardware coefficient C (weight LSB per factor unit)
    mantissa: int
    exponent: int
    shift: int
    exp_engine: int
    rel_error: float
    engine: str  # in Lava's syntax
    unit_lsb: float  # one unit of this product in weight (or tag) LSB: 2**exp_engine
    origin: str = ""
    zero_below: str = ""


@dataclass
class CapacityRow:
    population: str
    neurons: int
    cores: int
    neurons_per_core: int
    input_axons: int
    output_axons: int
    synapse_bits: int


@dataclass
class CompileReport:
    network: str
    hardware: str
    kind: str
    seed: int = 0
    quantized: list = field(default_factory=list)
    rules: list = field(default_factory=list)
    mappings: list = field(default_factory=list)  # (path, text)
    capacity: list = field(default_factory=list)
    capacity_limits: dict = field(default_factory=dict)
    cores_used: int = 0
    cores_available: int = 0
    notes: list = field(default_factory=list)  # (path, text)
    compensate: bool = True
    forecast: list = field(default_factory=list)  # trace saturation forecast rows (dicts), see forecast_trace_saturation

    # ---------------------------------------------------------------- helpers
    def add(self, path, original, hardware, value, note=""):
        if isinstance(original, (int, float)) and isinstance(value, (int, float)):
            if original == value:
                err = 0.0
            elif original == 0:
                err = math.inf
            else:
                err = abs(value - original) / abs(original)
        else:
            err = float("nan")
        self.quantized.append(Quantized(path, original, hardware, value, err, note))

    def add_array(self, path, orig, back, hardware, note=""):
        import numpy as np

        orig = np.asarray(orig, float).ravel()
        back = np.asarray(back, float).ravel()
        nz = orig != 0
        err = float(np.max(np.abs(back[nz] - orig[nz]) / np.abs(orig[nz]))) if nz.any() else 0.0
        if (~nz).any() and np.any(back[~nz] != 0):
            err = math.inf
        if orig.size == 1:
            self.quantized.append(Quantized(path, float(orig[0]), hardware, float(back[0]), err, note))
        else:
            self.quantized.append(Quantized(path, f"{orig.size} values in [{orig.min():.4g}, {orig.max():.4g}]",
                                            hardware, f"[{back.min():.4g}, {back.max():.4g}]", err, note))

    def note(self, path, text):
        self.notes.append((path, text))

    def mapping(self, path, text):
        self.mappings.append((path, text))

    def find(self, path):
        """Quantized rows whose path starts with ``path``."""
        return [q for q in self.quantized if q.path.startswith(path)]

    def to_dict(self) -> dict:
        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            return v

        d = asdict(self)
        for key in ("quantized", "rules"):
            d[key] = [{k: clean(v) for k, v in row.items()} for row in d[key]]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CompileReport":
        """The inverse of :meth:`to_dict` (a report read back from a result file)."""
        def num(v):
            return float(v) if isinstance(v, str) and v in ("inf", "-inf", "nan") else v

        import dataclasses

        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: d[k] for k in ("network", "hardware", "kind") if k in d}
        rep = cls(**kw)
        for k in ("seed", "capacity_limits", "cores_used", "cores_available", "compensate", "forecast"):
            if k in d and k in names:
                setattr(rep, k, d[k])
        rep.quantized = [Quantized(**{k: num(v) for k, v in q.items()}) for q in d.get("quantized", [])]
        rep.rules = [RuleRow(**{k: num(v) for k, v in r.items()}) for r in d.get("rules", [])]
        rep.capacity = [CapacityRow(**c) for c in d.get("capacity", [])]
        rep.mappings = [tuple(m) for m in d.get("mappings", [])]
        rep.notes = [tuple(n) for n in d.get("notes", [])]
        return rep

    # ---------------------------------------------------------------- text
    def format(self) -> str:
        out = [f"compile report: {self.network or 'network'} -> {self.hardware} "
               f"({self.kind} point; initial weights of seed {self.seed})"]
        if self.kind == "float":
            out.append("float target: nothing is quantized.")
        if self.mappings:
            out.append("\nMappings")
            for p, t in self.mappings:
                out.append(f"  {p}: {t}")
        if self.quantized:
            out.append("\nQuantized parameters")
            rows = [[q.path, _v(q.original), q.hardware, _v(q.value), _e(q.rel_error), q.note] for q in self.quantized]
            out.append(_indent(_table(rows, ["parameter", "original", "hardware", "value", "rel.error", "note"])))
        if self.rules:
            comp = "compensated (engine exponent = E + shift)" if self.compensate else "NOT compensated (engine exponent = E)"
            out.append(f"\nRule coefficients (C = m*2^E weight LSB per unit of the hardware factors; "
                       f"product shift {comp})")
            rows = []
            for r in self.rules:
                rows.append([f"{r.projection}.{'dw' if r.target == 'w' else 'de'}", r.source, f"{r.ideal:.4g}",
                             f"{r.mantissa}*2^{r.exponent}", str(r.shift), str(r.exp_engine), _e(r.rel_error),
                             r.engine, r.origin or r.zero_below])
            out.append(_indent(_table(rows, ["rule", "product", "C ideal", "m*2^E", "shift", "engine exp",
                                             "rel.error", "engine product (Lava syntax)", "note"])))
        if self.capacity:
            lim = self.capacity_limits
            out.append(f"\nCapacity ({self.cores_used} of {self.cores_available} cores)")
            rows = [[c.population, c.neurons, c.cores, c.neurons_per_core, c.input_axons, c.output_axons,
                     c.synapse_bits] for c in self.capacity]
            rows.append(["limit per core", "", "", lim.get("neurons_per_core", ""), lim.get("input_axons_per_core", ""),
                         lim.get("output_axons_per_core", ""), lim.get("synapse_memory_bits_per_core", "")])
            out.append(_indent(_table(rows, ["population", "neurons", "cores", "neurons/core", "input axons/core",
                                             "output axons/core", "synapse bits/core"])))
        if self.forecast:
            f0 = self.forecast[0]
            out.append(f"\nTrace saturation forecast (a float run of {f0['steps']} steps, seed {f0['seed']}: the "
                       "traces at the rates this network produces, in hardware units)")
            rows = [[f"{f['projection']}.{f['trace']}", f"{f['population']} ({f['side']})", f"{f['rate_hz']:.3g}",
                     f"{f['impulse']:g}", f"{f['mean']:.3g}", f"{f['peak']:.3g}", str(f["max"]),
                     f"{f['saturated']:.2%}", f["advice"]] for f in self.forecast]
            out.append(_indent(_table(rows, ["trace", "population", "mean rate (Hz)", "impulse", "mean", "peak",
                                             "saturates at", "neuron-steps saturated", "advice"])))
        if self.notes:
            out.append("\nNotes")
            for p, t in self.notes:
                out.append(f"  - {p}: {t}" if p else f"  - {t}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()


def _v(x):
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _e(x):
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        if math.isinf(x):
            return "inf"
        return "0" if x == 0 else f"{x:.2%}" if x >= 1e-4 else f"{x:.1e}"
    return str(x)


def _indent(s, n=2):
    return "\n".join(" " * n + line for line in s.splitlines())

