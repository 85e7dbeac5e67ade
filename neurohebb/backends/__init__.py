"""Backends register by name; see :mod:`neurohebb.backends.base` for the contract.

>>> from neurohebb import backends
>>> backends.names()            # every registered backend
>>> backends.get("reference")   # the Backend object; raises BackendUnavailable with the reason
>>> backends.available_pairs()  # [(backend, precision)] that can run here

Adding a backend: a folder ``neurohebb/backends/<name>/`` whose ``backend.py``
defines ``BACKEND`` (a :class:`~neurohebb.backends.base.Backend`), and one
``register`` line below.  The module is imported only when the backend is
asked for; an ImportError while importing it makes the backend unavailable
(with the reason), and ``BACKEND.available()`` may add other checks.
"""
from __future__ import annotations

import importlib
from typing import Callable

from ..errors import BackendUnavailable, known
from .base import Backend, reasons_of  # noqa: F401  (the contract, re-exported)

_REGISTRY: dict[str, object] = {}
_LOADED: dict[str, object] = {}


def register(name: str, module: str | Callable[[], str | None], factory: Callable[[], object] | None = None):
    """Register backend ``name`` as the module path of its ``BACKEND`` object
    (``register("nest", "neurohebb.backends.nest.backend")``), or as an
    ``availability()`` function (None when it can run, else why not) and a
    ``factory()`` returning the backend."""
    if factory is None:
        _REGISTRY[name] = str(module)
    else:
        _REGISTRY[name] = (module, factory)
    _LOADED.pop(name, None)


def names() -> list[str]:
    return list(_REGISTRY)


def _load(name):
    if name in _LOADED:
        return _LOADED[name]
    entry = _REGISTRY[name]
    if isinstance(entry, str):
        be = importlib.import_module(entry).BACKEND
    else:
        be = _Adapter(name, entry[1]())
    _LOADED[name] = be
    return be


def unavailable_reason(name: str) -> str | None:
    if name not in _REGISTRY:
        return f"unknown backend {name!r}; known: {known(_REGISTRY)}"
    entry = _REGISTRY[name]
    if isinstance(entry, tuple):
        return entry[0]()
    try:
        be = _load(name)
    except ImportError as exc:
        return f"its packages are not installed ({exc}); pip install 'neurohebb[{name}]'"
    except Exception as exc:  # BackendUnavailable, or a broken install of the backend's packages
        return f"its packages cannot be imported ({exc})"
    return be.available()


def available(name: str) -> bool:
    return unavailable_reason(name) is None


def get(name: str) -> Backend:
    """The backend ``name``; :class:`BackendUnavailable` with the reason when it cannot run here."""
    reason = unavailable_reason(name)
    if reason is not None:
        raise BackendUnavailable(f"backend {name!r} cannot run here: {reason}")
    return _load(name)


def available_pairs() -> list[tuple[str, str]]:
    """Every (backend, precision) that can run on this machine."""
    return [(n, p) for n in names() if available(n) for p in get(n).precisions]


class _Adapter(Backend):
    """A backend given as a module with ``run`` and ``PRECISIONS`` (and
    optionally ``unsupported``)."""

    def __init__(self, name, module):
        self.name, self.module = name, module
        self.precisions = tuple(getattr(module, "PRECISIONS", ("float",)))

    def available(self):
        return None

    def unsupported(self, network, precision="float", **options):
        fn = getattr(self.module, "unsupported", None)
        return self.check_precision(precision) or (fn(network, precision, **options) if fn else [])

    def run(self, network, precision="float", seed=None, steps=None, progress=None, threads=None, **options):
        return self.module.run(network, precision=precision, seed=seed, steps=steps, progress=progress, **options)


register("reference", "neurohebb.backends.reference.backend")
register("nengo", "neurohebb.backends.nengo.backend")
register("lava", "neurohebb.backends.lava.backend")
register("nest", "neurohebb.backends.nest.backend")
