"""External (closed-loop) populations: binding their step functions and checking
what they return.  Shared by every backend that runs them (reference float, Nengo).

A step function is any callable ``f(t, inputs) -> activity``: ``t`` is the step
index (0, 1, ...), ``inputs`` maps each population named in the population's
``reads`` to its activity of step ``t - 1`` (a read-only numpy vector; zeros at
``t = 0``), and the activity is ``n`` numbers (a scalar is accepted when ``n`` is
1), 0/1 when the population is ``spiking``.  See :class:`neurohebb.ir.schema.External`.
"""
from __future__ import annotations

import importlib
from typing import Callable, Mapping

import numpy as np

from .errors import NetworkError, UnsupportedFeature, known

StepFunction = Callable[[int, Mapping[str, np.ndarray]], object]


def external_populations(network) -> list[str]:
    return [name for name, p in network.populations.items() if p.type == "external"]


def _import(path: str, where: str):
    mod_name, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(mod_name)
    except ImportError as exc:
        raise NetworkError([(where, f"cannot import module {mod_name!r} ({exc}); the module must be importable "
                                    "(installed, or on PYTHONPATH)")]) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise NetworkError([(where, f"module {mod_name!r} has no attribute {attr!r}")])
        obj = getattr(obj, part)
    if not callable(obj):
        raise NetworkError([(where, f"{path!r} is not callable; it must be a factory returning a step function")])
    return obj


def bind(network, externals: Mapping[str, StepFunction] | None) -> dict[str, StepFunction]:
    """The step function of every external population: from ``externals`` (run
    time) or the document's ``function`` factory.  Raises a clear error for a
    missing binding, an unknown name, or a factory that does not give a callable."""
    externals = dict(externals or {})
    names = external_populations(network)
    extra = [k for k in externals if k not in names]
    if extra:
        raise UnsupportedFeature(f"externals: {extra[0]!r} is not an external population of this network; "
                                 f"external populations: {known(names)}")
    out = {}
    for name in names:
        spec = network.populations[name]
        where = f"populations.{name}.function"
        if name in externals:
            fn = externals[name]
            if not callable(fn):
                raise UnsupportedFeature(f"externals[{name!r}]: {type(fn).__name__} is not callable; give a step "
                                         "function f(t, inputs) -> activity")
        elif spec.function is not None:
            factory = _import(spec.function, where)
            try:
                fn = factory(**spec.params)
            except TypeError as exc:
                raise NetworkError([(f"populations.{name}.params", f"{spec.function}(**params) failed: {exc}")]) from None
            if not callable(fn):
                raise NetworkError([(where, f"{spec.function}(**params) returned {type(fn).__name__}, not a step "
                                            "function f(t, inputs) -> activity")])
        else:
            raise UnsupportedFeature(
                f"populations.{name}: an external population needs a step function: pass "
                f"run(..., externals={{{name!r}: f}}) or declare function: 'package.module:factory' in the document")
        out[name] = fn
    return out


def check_activity(name: str, spec, value, t: int, dtype) -> np.ndarray:
    """``value`` as a vector of ``spec.n`` numbers of ``dtype``, or a clear error."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise UnsupportedFeature(f"populations.{name}: the step function returned {type(value).__name__} at step {t}; "
                                 f"expected {spec.n} numbers") from None
    if a.ndim == 0 and spec.n == 1:
        a = a.reshape(1)
    if a.shape != (spec.n,):
        raise UnsupportedFeature(f"populations.{name}: the step function returned shape {a.shape} at step {t}; "
                                 f"expected ({spec.n},)")
    if not np.all(np.isfinite(a)):
        raise UnsupportedFeature(f"populations.{name}: the step function returned NaN or infinity at step {t}")
    if spec.spiking and not np.all((a == 0) | (a == 1)):
        raise UnsupportedFeature(f"populations.{name}: spiking, but the step function returned values other than "
                                 f"0 and 1 at step {t} (e.g. {a[(a != 0) & (a != 1)][0]}); return spikes, or "
                                 "declare spiking: false for a graded activity")
    return a.astype(dtype)
