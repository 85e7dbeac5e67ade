"""Pieces shared by the IR schema and the rule templates."""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema
from typing_extensions import Annotated


#: the largest integer a count, size, step, delay or probe interval may hold
#: (every backend indexes with int32 or int64); what a run can afford is
#: checked against the machine's memory before it allocates
#: (:mod:`neurohebb.ir.limits`)
MAX_INT = 2**31 - 1
#: the largest element count of one array in a document or its .npz
MAX_ARRAY_ELEMENTS = 2**28


class Model(BaseModel):
    """Base of every IR node: parameters only, unknown fields are an error,
    every float is finite (NaN and infinity are refused)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, validate_assignment=True,
                              allow_inf_nan=False)

    #: populations: True for the source types (spike_times, poisson, array)
    is_source: ClassVar[bool] = False


def check_array(arr: np.ndarray) -> np.ndarray:
    """``arr`` if it holds finite real numbers or booleans, else ValueError."""
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"expected numbers (or true/false) in the array; found dtype {arr.dtype}")
    if arr.size > MAX_ARRAY_ELEMENTS:
        raise ValueError(f"{arr.size} elements; at most {MAX_ARRAY_ELEMENTS} are allowed in one array")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = f" at index {list(map(int, bad))}" if arr.ndim else ""
        raise ValueError(f"contains NaN or infinity{where} ({arr[tuple(bad)]}); every value must be finite")
    return arr


def _array_in(v: Any):
    if isinstance(v, bool):
        raise ValueError("expected a number or an array, got a boolean")
    if isinstance(v, (int, float, np.integer, np.floating)):
        try:
            f = float(v)
        except OverflowError:
            raise ValueError(f"{v} is too large for a float") from None
        if not np.isfinite(f):
            raise ValueError(f"{f} is not a finite number; every value must be finite")
        return f
    if isinstance(v, np.ndarray):
        return check_array(v)
    if isinstance(v, (list, tuple)):
        try:
            arr = np.asarray(v)
        except (ValueError, OverflowError):
            raise ValueError("ragged list: every row must have the same length") from None
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise ValueError("expected numbers (or true/false) in the array (integers beyond 64 bits are not numbers here)")
        return check_array(arr)
    if isinstance(v, str):
        raise ValueError(
            f"found the string {v!r}; an array is a number, a list, or 'npz:KEY' naming an array in the .npz file beside the document"
        )
    raise ValueError(f"expected a number or an array, got {type(v).__name__}")


def _array_out(v):
    return v.tolist() if isinstance(v, np.ndarray) else v


#: A number, a (nested) list, a numpy array, or in YAML ``npz:KEY``.
Array = Annotated[
    Any,
    PlainValidator(_array_in),
    PlainSerializer(_array_out),
    WithJsonSchema(
        {
            "description": "a number, a (nested) list of numbers, or 'npz:KEY' (an array in the .npz file beside the document)",
            "anyOf": [{"type": "number"}, {"type": "array"}, {"type": "string", "pattern": "^npz:.+$"}],
        }
    ),
]

NonNegInt = Annotated[int, Field(ge=0, le=MAX_INT)]
PosInt = Annotated[int, Field(gt=0, le=MAX_INT)]
Steps = Annotated[float, Field(ge=0, description="a duration in time steps")]


class Nonlinearity(Model):
    """An elementwise function ``f(x)``; see :mod:`neurohebb.nonlinearities` for the equations."""

    name: Literal["linear", "relu", "rect_power", "power", "tanh", "sigmoid", "exp"] = "linear"
    gain: float = 1.0
    theta: float = 0.0
    power: float = 2.0
    slope: float = 1.0


class Trace(Model):
    """``z[t] = exp(-1/tau) z[t-1] + impulse a[t]``; ``tau`` in steps, 0 = no memory."""

    impulse: float = 1.0
    tau: Steps = 0.0
