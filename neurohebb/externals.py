"""External (closed-loop) populations: binding their step functions and checking
what they return.  Shared by every backend that runs them (reference float, Nengo).

A step function is any callable ``f(t, inputs) -> activity``: ``t`` is the step
index (0, 1, ...), ``inputs`` maps each population named in the population's
``reads`` to its activity of step ``t - 1`` (a read-only numpy vector; zeros at
``t = 0``), and the activity is ``n`` numbers (a scalar is accepted when ``n`` is
1), 0/1 when the population is ``spiking``.  See :class:`neurohebb.ir.schema.External`.
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from .errors import NetworkError, UnsupportedFeature, known

StepFunction = Callable[[int, Mapping[str, np.ndarray]], object]

#: modules a document may always name in ``function:`` (and their submodules)
SHIPPED_MODULES = ("neurohebb.environments",)
#: the command-line flag that lets a document name modules next to it
LOCAL_FLAG = "--allow-local-functions"

_PERMIT: contextvars.ContextVar = contextvars.ContextVar("neurohebb_function_permit", default=((), ()))
_LOCAL_MODULES: dict[str, object] = {}


@contextlib.contextmanager
def permit(modules: Iterable[str] = (), directories: Iterable = ()):
    """Within the block, documents may also name factories in ``modules``
    (module names; their submodules too) and in Python files in
    ``directories`` (``function: "mymod:make"`` -> ``DIR/mymod.py``).  Nests;
    :func:`neurohebb.run` takes the same as ``allow_modules``/``allow_dirs``."""
    mods, dirs = _PERMIT.get()
    token = _PERMIT.set((tuple(mods) + tuple(str(m) for m in modules),
                         tuple(dirs) + tuple(Path(d).resolve() for d in directories)))
    try:
        yield
    finally:
        _PERMIT.reset(token)


def external_populations(network) -> list[str]:
    return [name for name, p in network.populations.items() if p.type == "external"]


def _under(mod: str, roots) -> bool:
    return any(mod == r or mod.startswith(r + ".") for r in roots)


def _local_file(mod: str, dirs) -> Path | None:
    rel = Path(*mod.split("."))
    for d in dirs:
        for cand in (d / rel.with_suffix(".py"), d / rel / "__init__.py"):
            if cand.is_file() and cand.resolve().is_relative_to(d):
                return cand.resolve()
    return None


def _refusal(mod: str) -> str:
    return (f"module {mod!r} is not allowed: a document may name factories in "
            f"{', '.join(SHIPPED_MODULES)}, or in a module file next to the document when you allow it "
            f"(neurohebb run/compare/validate {LOCAL_FLAG}; API: run(..., allow_dirs=[DIR])); a program can "
            f"allow a module (run(..., allow_modules=[{mod!r}])) or pass the step function itself "
            "(run(..., externals={name: f}))")


def check_functions(network) -> list[tuple[str, str]]:
    """Problems with the ``function:`` of every external population under the
    current permission: a module that is not allowed is refused without being
    imported; an allowed one is imported and must define the factory."""
    problems = []
    for name in external_populations(network):
        fn = network.populations[name].function
        if fn is None:
            continue
        try:
            _import(fn, f"populations.{name}.function")
        except NetworkError as exc:
            problems.extend(exc.problems)
    return problems


def _import(path: str, where: str):
    mod_name, _, attr = path.partition(":")
    mods, dirs = _PERMIT.get()
    if _under(mod_name, SHIPPED_MODULES) or _under(mod_name, mods):
        try:
            obj = importlib.import_module(mod_name)
        except ImportError as exc:
            raise NetworkError([(where, f"cannot import module {mod_name!r} ({exc}); the module must be importable "
                                        "(installed, or on PYTHONPATH)")]) from None
    else:
        file = _local_file(mod_name, dirs)
        if file is None:
            raise NetworkError([(where, _refusal(mod_name))])
        obj = _load_local(mod_name, file, where)
    if attr.startswith("_") or not hasattr(obj, attr):
        raise NetworkError([(where, f"module {mod_name!r} has no factory {attr!r}")])
    fn = getattr(obj, attr)
    if getattr(fn, "__module__", None) != obj.__name__:
        raise NetworkError([(where, f"{attr!r} is not defined in module {mod_name!r} (it is imported there); "
                                    "name the factory in the module that defines it")])
    if not callable(fn):
        raise NetworkError([(where, f"{path!r} is not callable; it must be a factory returning a step function")])
    return fn


def _load_local(mod_name: str, file: Path, where: str):
    """A module file next to a document, loaded once per process under a
    private name (its directory is on sys.path while it runs, for its own
    sibling imports)."""
    key = str(file)
    if key in _LOCAL_MODULES:
        return _LOCAL_MODULES[key]
    spec = importlib.util.spec_from_file_location(f"_neurohebb_local.{mod_name}", file)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module: report, do not crash
        raise NetworkError([(where, f"{file}: importing it failed: {type(exc).__name__}: {exc}")]) from None
    finally:
        try:
            sys.path.remove(str(file.parent))
        except ValueError:
            pass
    _LOCAL_MODULES[key] = module
    return module


def _reported(fn, name: str, function: str):
    """A step function bound from the document: an exception it raises (the
    document's params drove it) becomes a :class:`NetworkError` naming the
    population's params and the step; the original stays chained."""
    def step(t, inputs):
        try:
            return fn(t, inputs)
        except Exception as exc:  # noqa: BLE001 - the document's factory and params
            raise NetworkError([(f"populations.{name}.params", f"the step function of {function} failed at step "
                                                               f"{t}: {type(exc).__name__}: {exc}")]) from exc
    return step


def bind(network, externals: Mapping[str, StepFunction] | None) -> dict[str, StepFunction]:
    """The step function of every external population: from ``externals`` (run
    time) or the document's ``function`` factory, imported only from modules
    the user allowed (:data:`SHIPPED_MODULES`, :func:`permit`).  Raises a clear
    error for a missing binding, an unknown name, a module that is not allowed,
    or a factory that does not give a callable."""
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
            except Exception as exc:  # noqa: BLE001 - the document's params: report, do not crash
                raise NetworkError([(f"populations.{name}.params",
                                     f"{spec.function}(**params) failed: {type(exc).__name__}: {exc}")]) from None
            if not callable(fn):
                raise NetworkError([(where, f"{spec.function}(**params) returned {type(fn).__name__}, not a step "
                                            "function f(t, inputs) -> activity")])
            fn = _reported(fn, name, spec.function)
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
