"""Hardware configs: a target's arithmetic and capacity, validated by a schema.

A config is a YAML file (``hardware_configs/<name>.yaml``) that states what a
compiler needs to map a float network onto the target: weight bits and sign
modes, weight exponent range, trace bits and impulse fraction bits, the
learning engine's coefficient mantissa/exponent ranges and per-product shift,
stochastic rounding, learning epoch, neuron state widths, and per-core
capacity.  ``kind: float`` configs (``cpu``) only name the float types.

>>> from neurohebb.hardware import load_hardware
>>> hw = load_hardware("loihi2")          # a shipped config, or a path to your own
>>> hw.learning.mantissa                  # (-8, 7)

Every field is documented in ``docs/hardware.md``; ``json_schema()`` gives the
JSON Schema for editors.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, Literal, Optional, Tuple

import yaml
from pydantic import Field, ValidationError, model_validator

from ..errors import HardwareConfigError, known
from ..ir.common import Model

#: the shipped configs: ``hardware_configs/`` at the repository root (beside the package)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "hardware_configs"
#: a wheel may carry them inside the package instead
PACKAGE_CONFIG_DIR = Path(__file__).resolve().parents[1] / "hardware_configs"
ENV_PATH = "NEUROHEBB_HARDWARE_PATH"

SignMode = Literal["excitatory", "inhibitory", "mixed"]
IntRange = Tuple[int, int]


def _ordered(r, what):
    if r[0] > r[1]:
        raise ValueError(f"{what}: lower end {r[0]} is above upper end {r[1]}")
    return r


class FloatArithmetic(Model):
    """Float targets: the dtypes a run may use."""

    dtypes: List[Literal["float32", "float64"]] = ["float64", "float32"]
    default: Literal["float32", "float64"] = "float64"


class WeightArithmetic(Model):
    """Synaptic weights: integers in ``ranges[sign_mode]``; the synaptic input
    of one projection is ``(sum of weights of the arriving spikes) * 2**weight_exp``
    (right shifts floor), with ``weight_exp`` in ``exponent``."""

    bits: int = Field(gt=0, le=16, description="magnitude bits of a weight")
    ranges: Dict[SignMode, IntRange] = Field(description="integer range per sign mode (the learning engine clips here)")
    initial_step: Dict[SignMode, int] = Field(
        default_factory=dict,
        description="grid of the initial weights per sign mode (2 for mixed: one bit holds the sign; default 1)")
    exponent: IntRange = Field(description="weight exponent range (shift of the summed synaptic input)")

    @model_validator(mode="after")
    def _check(self):
        for m, r in self.ranges.items():
            _ordered(r, f"ranges.{m}")
        _ordered(self.exponent, "exponent")
        return self

    def step(self, mode: str) -> int:
        return int(self.initial_step.get(mode, 1))


class TraceArithmetic(Model):
    """Pre/post traces: unsigned integers ``0 .. 2**bits - 1``.  Per step:
    ``z <- floor(exp(-1/tau) z) + [rand < frac]`` (stochastic rounding), then on
    a spike ``z <- min(2**bits - 1, z + impulse_int + [rand_i < impulse_frac])``
    with ``impulse_frac`` in units of ``2**-fraction_bits`` and ``rand_i`` a
    random integer of ``impulse_random_bits`` bits."""

    bits: int = Field(gt=0, le=16)
    fraction_bits: int = Field(ge=0, le=16, description="fraction bits of an impulse")
    impulse_random_bits: int = Field(ge=0, le=16, description="bits of the random integer that rounds the impulse fraction")
    tau_max: float = Field(gt=0, description="largest decay time constant (steps)")
    default_impulse: int = Field(gt=0, description="compiler default: integer impulse of a trace with tau > 0")
    zero_tau_impulse: int = Field(gt=0, description="compiler default: integer impulse of a trace with tau = 0 (no memory)")
    shared_random: bool = Field(True, description="one random number per step for all traces of one side (pre or post)")

    @property
    def max(self) -> int:
        return 2**self.bits - 1


class ThirdFactor(Model):
    """How the third factor ``r`` reaches the engine: the post neuron writes it
    into a post trace slot (Loihi 2 three-factor mode) as an integer in ``range``."""

    slots: List[Literal["y1", "y2", "y3"]]
    range: IntRange


class LearningArithmetic(Model):
    """The sum-of-products learning engine.  For one product with dependency D,
    factors F_k (each clipped to its width), mantissa m and exponent e::

        p = (D * prod F_k * m) >> max(0, sum(widths) + mantissa_bits - accumulator_bits)
        p = clip(p << (e + weight_fraction_bits), +-accumulator_limit)
        acc = clip(acc + p, +-accumulator_limit),   acc starts at w << weight_fraction_bits

    then ``w = stochastic_round(acc / 2**weight_fraction_bits)`` clipped to the
    weight range of the sign mode (excitatory first saturates acc at 0)."""

    dependencies: List[str] = ["x0", "y0", "u"]
    pre_traces: List[str] = ["x1", "x2"]
    post_traces: List[str] = ["y1", "y2", "y3"]
    synaptic: List[str] = Field(["w", "e"], description="synaptic variables a rule may update and read")
    factor_widths: Dict[str, int] = Field(description="bit width of each factor (sets the product shift and its clip)")
    mantissa: IntRange
    mantissa_bits: int = Field(gt=0)
    exponent: IntRange
    accumulator_bits: int = Field(gt=0, description="unsigned accumulator width")
    accumulator_limit: IntRange = Field(description="saturation of each product and of the sum")
    weight_fraction_bits: int = Field(ge=0, description="fraction bits of w in the accumulator")
    tag_range: IntRange = Field(description="range of the tag (eligibility) e")
    product_shift: bool = Field(True, description="the engine shifts each product right by sum(widths)+mantissa_bits-accumulator_bits")
    multiplier_bits: int = Field(31, description="largest |D * prod F * m| the multiplier holds without overflow")
    bracket_const: IntRange = Field(description="range of the integer constant c in a bracket (var + c)")
    epoch: IntRange = Field(description="learning epoch range (steps); the compiler uses 1")
    timing: Literal["inclusive", "exclusive"] = Field(
        "inclusive", description="what a spike-triggered product reads: traces after (inclusive) or before this step's impulses")
    stochastic_rounding: bool = True
    shared_random: bool = Field(True, description="one rounding random number per epoch for all synapses")
    third_factor: Optional[ThirdFactor] = None

    @model_validator(mode="after")
    def _check(self):
        for k in ("mantissa", "exponent", "accumulator_limit", "tag_range", "bracket_const", "epoch"):
            _ordered(getattr(self, k), k)
        need = set(self.dependencies[:2]) | set(self.pre_traces) | set(self.post_traces) | set(self.synaptic)
        missing = sorted(need - set(self.factor_widths))
        if missing:
            raise ValueError(f"factor_widths: no width for {', '.join(missing)}")
        return self


class NeuronArithmetic(Model):
    """Fixed-point current-based LIF (Lava ``PyLifModelBitAcc``)::

        u <- sgn(u (2^decay_bits - du - du_offset)) * (|...| >> decay_bits) + (I << activation_shift)
        v <- sgn(v (2^decay_bits - dv - dv_offset)) * (|...| >> decay_bits) + u + bias_mant * 2^bias_exp
        spike if v > vth << threshold_shift;  then v <- reset

    u wraps at ``state_bits`` (two's complement), v saturates."""

    model: Literal["lif"] = "lif"
    decay_bits: int = Field(gt=0)
    du_offset: int = Field(0, ge=0, le=1)
    dv_offset: int = Field(0, ge=0, le=1)
    state_bits: int = Field(gt=0)
    threshold_bits: int = Field(gt=0, description="unsigned threshold mantissa bits")
    threshold_shift: int = Field(ge=0)
    activation_shift: int = Field(ge=0)
    bias_mantissa_bits: int = Field(gt=0, description="signed bias mantissa bits (incl. sign)")
    bias_exponent: IntRange
    u_overflow: Literal["wrap", "saturate"] = "wrap"
    v_overflow: Literal["wrap", "saturate"] = "saturate"
    refractory: bool = Field(True, description="a refractory period can be programmed")
    reset_value: bool = Field(True, description="a reset value other than 0 can be programmed")


class SynapseBits(Model):
    """Bits of synapse memory per stored synapse (capacity estimate)."""

    weight: int = 8
    sign: int = Field(1, description="extra bit for mixed-sign projections")
    tag: int = Field(9, description="extra bits when the rule has an eligibility e")
    delay: int = Field(6, description="extra bits when the projection has a delay")


class Capacity(Model):
    """Per-chip and per-core resources (for the compile-time fit check)."""

    chips: int = Field(1, gt=0)
    cores_per_chip: int = Field(gt=0)
    neurons_per_core: int = Field(gt=0, description="compartments per core")
    input_axons_per_core: int = Field(gt=0)
    output_axons_per_core: int = Field(gt=0)
    synapse_memory_bits_per_core: int = Field(gt=0)
    synapse_bits: SynapseBits = SynapseBits()
    max_delay: int = Field(ge=0, description="largest synaptic delay (steps beyond the 1-step latency)")
    sources_on_chip: bool = Field(False, description="input sources occupy neuron cores (else the host injects them)")


class HardwareConfig(Model):
    """One target.  ``kind: fixed`` needs ``weights``, ``traces``, ``neuron``;
    ``learning: null`` means no on-chip learning; ``capacity: null`` skips the
    fit check; ``kind: float`` needs ``float``."""

    name: str
    label: str = Field("", description="how messages name the target, e.g. 'Loihi-2' (default: name)")
    description: str = ""
    kind: Literal["fixed", "float"]
    float: Optional[FloatArithmetic] = None
    weights: Optional[WeightArithmetic] = None
    traces: Optional[TraceArithmetic] = None
    learning: Optional[LearningArithmetic] = None
    learning_note: str = Field("", description="why learning is null (shown in errors)")
    neuron: Optional[NeuronArithmetic] = None
    capacity: Optional[Capacity] = None
    source: str = Field("", description="what the numbers were checked against")
    notes: List[str] = []

    @property
    def title(self) -> str:
        return self.label or self.name

    @model_validator(mode="after")
    def _kind(self):
        if self.kind == "fixed":
            missing = [k for k in ("weights", "traces", "neuron") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"kind 'fixed' needs {', '.join(missing)}")
        elif self.float is None:
            raise ValueError("kind 'float' needs 'float' (the dtypes)")
        return self


def search_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]
    return dirs + [d for d in (CONFIG_DIR, PACKAGE_CONFIG_DIR) if d.is_dir()]


def available() -> list[str]:
    """Names of the configs found in the search path."""
    names = []
    for d in search_dirs():
        if d.is_dir():
            names += [p.stem for p in sorted(d.glob("*.yaml")) if p.stem not in names]
    return names


def _find(name: str) -> Path:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise HardwareConfigError(f"hardware config file {name!r} does not exist")
        return p
    for d in search_dirs():
        cand = d / f"{name}.yaml"
        if cand.exists():
            return cand
    raise HardwareConfigError(f"unknown hardware {name!r}; known: {known(available())} "
                              f"(or give the path of a config file; search path: {ENV_PATH} then {CONFIG_DIR})")


_CACHE: dict = {}


def load_hardware(hw) -> HardwareConfig:
    """A :class:`HardwareConfig` from a name (``loihi2``), a path, a dict, or
    itself.  Files are parsed once per (path, modification time)."""
    if isinstance(hw, HardwareConfig):
        return hw
    if isinstance(hw, dict):
        return _validate(hw, "hardware config")
    path = _find(str(hw))
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _CACHE:
        try:
            data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise HardwareConfigError(f"{path}: not valid YAML: {exc}") from None
        _CACHE[key] = _validate(data, str(path))
    return _CACHE[key]


def _validate(data, src) -> HardwareConfig:
    try:
        return HardwareConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = ".".join(str(c) for c in e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            head, _, rest = msg.partition(": ")
            if rest and re.fullmatch(r"[a-z_][a-z0-9_.]*", head):  # "field: message" from a model validator
                loc, msg = (f"{loc}.{head}" if loc else head), rest
            lines.append(f"{src}: {loc}: {msg}" if loc else f"{src}: {msg}")
        raise HardwareConfigError("\n".join(lines)) from None


def json_schema() -> dict:
    return HardwareConfig.model_json_schema()
