"""The compiled (integer) program of a network for a fixed-point target, and
the small quantizers it is built from.

Every mapping between the document's float values and the hardware's
integers lives here, so the compiler, the reference fixed mode and the tests
use one definition:

* weights: ``w_float = w_int * WeightMap.scale`` (one LSB), integers in the
  sign mode's range, initial weights on the sign mode's grid;
* traces: ``z_float = z_int / TraceMap.scale`` with ``scale = impulse_int / impulse``;
* LIF state: ``v_float = v_int / (64 K)``, input ``I_float = I_int / K``;
* rule coefficients: ``m * 2**E`` with the engine exponent ``E + shift``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


# --------------------------------------------------------------------- helpers
def mantissa_exponent(c: float, mant=(-8, 7), exp=(-40, 40)) -> tuple[int, int]:
    """Nearest ``m * 2**E`` to ``c`` with ``m`` in ``mant`` (largest |m| for the
    given precision); ``E`` is not range-checked beyond ``exp`` (the caller
    checks the engine's range)."""
    if c == 0:
        return 0, 0
    e0 = math.floor(math.log2(abs(c))) - 2  # |c| / 2**e0 in [4, 8)
    best = None
    for e in (e0 - 1, e0, e0 + 1):
        e = min(max(e, exp[0]), exp[1])
        m = int(min(max(round(c / 2.0**e), mant[0]), mant[1]))  # pure Python: the impulse search calls this ~10^5 times
        err = abs(m * 2.0**e - c)
        if m != 0 and (best is None or err < best[0] - 1e-300 or (err == best[0] and abs(m) < abs(best[1]))):
            best = (err, m, e)
    if best is None:
        return 0, 0
    return best[1], best[2]


def rel_error(orig: float, back: float) -> float:
    if orig == back:
        return 0.0
    if orig == 0:
        return float("inf")
    return abs(back - orig) / abs(orig)


def fmt_pow2(m: int, e: int) -> str:
    return f"{m}*2^{e}"


# --------------------------------------------------------------------- mappings
@dataclass
class WeightMap:
    """``w_float = w_int * scale``; ``w_int`` in ``[lo, hi]`` (the engine clips
    there), initial weights rounded to multiples of ``step``."""

    sign_mode: str
    scale: float
    weight_exp: int
    lo: int
    hi: int
    step: int = 1
    doc_bounds: tuple[float, float] = (-math.inf, math.inf)
    range_source: str = ""

    def quantize(self, W) -> np.ndarray:
        """Nearest grid point (ties to even), clipped to the range."""
        W = np.asarray(W, float)
        q = np.rint(W / (self.scale * self.step)) * self.step
        lo = self.lo if self.step == 1 else -((-self.lo) // self.step) * self.step
        hi = self.hi if self.step == 1 else (self.hi // self.step) * self.step
        return np.clip(q, lo, hi).astype(np.int32)

    def dequantize(self, Wi) -> np.ndarray:
        return np.asarray(Wi, float) * self.scale

    @property
    def max_roundtrip_error(self) -> float:
        """Bound on |w - dequantize(quantize(w))| for w inside the range: half a grid step."""
        return 0.5 * self.step * self.scale


@dataclass
class TraceMap:
    """A trace on the target: ``z_int = z_float * scale`` (``scale =
    impulse_hw / impulse``); the impulse is ``impulse_int + impulse_frac /
    2**fraction_bits``; ``decay = exp(-1/tau)`` (0 for tau = 0)."""

    name: str
    impulse: float
    tau: float
    impulse_int: int
    impulse_frac: int
    fraction_bits: int
    scale: float
    max: int = 127

    @property
    def impulse_hw(self) -> float:
        return self.impulse_int + self.impulse_frac / 2**self.fraction_bits

    @property
    def decay(self) -> float:
        return 0.0 if self.tau == 0 else float(np.exp(-1.0 / np.float64(self.tau)))

    @property
    def headroom_impulses(self) -> float:
        return self.max / self.impulse_hw if self.impulse_hw else math.inf


@dataclass(frozen=True)
class HwFactor:
    """``clip(var + const, lo, hi)``; ``var`` in x0 y0 x1 x2 y1 y2 y3 w e."""

    var: str
    const: int
    width: int

    @property
    def clip(self) -> tuple[int, int]:
        return -(2**self.width), 2**self.width - 1

    def __str__(self) -> str:
        if self.const == 0:
            return self.var
        return f"({self.var} {'+' if self.const > 0 else '-'} {abs(self.const)})"


@dataclass
class HwProduct:
    """One product of the engine: ``((dep * prod(factors) * mantissa) >> shift) << (exp_engine + 7)``
    in accumulator units (weight LSB / 2**7)."""

    target: str  # "w" or "e"
    dep: str
    factors: tuple[HwFactor, ...]
    mantissa: int
    exponent: int  # E: the coefficient is mantissa * 2**E weight LSB per unit of the factors
    shift: int
    exp_engine: int  # what the engine is given: E + shift when compensated, else E
    ideal: float  # the exact hardware coefficient C
    source: str  # the document's product (after timing expansion)
    origin: str = ""  # e.g. "exclusive timing of 0.01*y0*x1"
    doc_coeff: float = 0.0
    max_abs_product: int = 0  # largest |dep * prod(factors) * mantissa|

    @property
    def coefficient(self) -> float:
        return self.mantissa * 2.0**self.exponent

    @property
    def rel_error(self) -> float:
        return rel_error(self.ideal, self.coefficient)

    @property
    def engine_string(self) -> str:
        """The product in Lava's rule syntax (engine exponent)."""
        dep = "u0" if self.dep == "u" else self.dep
        parts = [f"{self.mantissa}*2^{self.exp_engine}" if self.mantissa != 1 else f"2^{self.exp_engine}", dep]
        lava = {"e": "t"}
        for f in self.factors:
            v = lava.get(f.var, f.var)
            parts.append(v if f.const == 0 else f"({v}{'+' if f.const > 0 else '-'}{abs(f.const)})")
        return "*".join(parts)

    def __str__(self) -> str:
        return "*".join([fmt_pow2(self.mantissa, self.exponent), self.dep] + [str(f) for f in self.factors])


@dataclass
class TagMap:
    """The eligibility ``e`` (Lava's tag ``t``): ``e_float = e_int * scale``, in ``[lo, hi]``."""

    scale: float
    lo: int
    hi: int
    source: str = ""


@dataclass
class ThirdFactorMap:
    """``r`` enters as the post trace slot ``slot``: ``clip(rint(r * scale), lo, hi)``."""

    modulator: str
    slot: str
    scale: float
    lo: int
    hi: int
    r_max: float


@dataclass
class LifMap:
    """Fixed-point LIF of one population.  ``K``: hardware input units per float
    unit; v and u carry ``threshold_shift`` extra fraction bits."""

    K: float
    du: int
    dv: int
    du_offset: int
    dv_offset: int
    decay_bits: int
    vth: int
    threshold_shift: int
    activation_shift: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    v_init: np.ndarray
    v_reset: int
    refractory: int
    state_bits: int
    u_overflow: str
    v_overflow: str

    @property
    def v_scale(self) -> float:
        """hardware v units per float unit"""
        return self.K * 2**self.threshold_shift

    @property
    def bias_eff(self) -> np.ndarray:
        b = self.bias_mant.astype(np.int64)
        e = self.bias_exp.astype(np.int64)
        return np.where(e >= 0, b << np.maximum(e, 0), b >> np.maximum(-e, 0))


@dataclass
class ProjectionProgram:
    name: str
    pre: str
    post: str
    weights: WeightMap
    delay: int
    plastic: bool = False
    traces: dict = field(default_factory=dict)  # name -> TraceMap
    products: list = field(default_factory=list)  # HwProduct (dw then de)
    tag: TagMap | None = None
    third_factor: ThirdFactorMap | None = None
    timing_note: str = ""

    @property
    def dw(self):
        return [p for p in self.products if p.target == "w"]

    @property
    def de(self):
        return [p for p in self.products if p.target == "e"]


@dataclass
class FixedProgram:
    """What ``compile`` returns for a fixed-point target; the reference fixed
    mode executes it (``neurohebb.backends.reference.fixed.run_program``)."""

    network: object
    hardware: object
    populations: dict  # name -> LifMap (LIF, simulated) or None (sources, prescribed)
    projections: dict  # name -> ProjectionProgram
    options: dict
    report: object = None
    kind: str = "fixed"


@dataclass
class FloatProgram:
    """What ``compile`` returns for a float target (nothing is quantized)."""

    network: object
    hardware: object
    dtype: str
    options: dict
    report: object = None
    kind: str = "float"
