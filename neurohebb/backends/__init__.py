"""Backends register by short name with an availability check.

>>> from neurohebb import backends
>>> backends.names()            # every registered backend
>>> backends.get("reference")   # raises BackendUnavailable with the reason
"""
from __future__ import annotations

from typing import Callable

from ..errors import BackendUnavailable, known

_REGISTRY: dict[str, tuple[Callable[[], str | None], Callable[[], object]]] = {}


def register(name: str, availability: Callable[[], str | None], factory: Callable[[], object]):
    """``availability()`` returns None when the backend can run, else why not;
    ``factory()`` imports and returns the backend (with ``run(...)``)."""
    _REGISTRY[name] = (availability, factory)


def names() -> list[str]:
    return list(_REGISTRY)


def unavailable_reason(name: str) -> str | None:
    if name not in _REGISTRY:
        return f"unknown backend {name!r}; known: {known(_REGISTRY)}"
    return _REGISTRY[name][0]()


def available(name: str) -> bool:
    return unavailable_reason(name) is None


def get(name: str):
    reason = unavailable_reason(name)
    if reason is not None:
        raise BackendUnavailable(f"backend {name!r} cannot run here: {reason}")
    return _REGISTRY[name][1]()


def _reference():
    from .reference import simulator

    return simulator


register("reference", lambda: None, _reference)


def _nengo_available():
    try:
        import nengo  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install
        return f"nengo is not installed ({exc}); pip install 'neurohebb[nengo]'"
    return None


def _nengo():
    from .nengo import simulator

    return simulator


register("nengo", _nengo_available, _nengo)


def _lava_available():
    try:
        from . import lava  # noqa: F401  (imports lava-nc, robust to numba having fixed the start method)
    except ImportError as exc:
        return f"lava-nc is not installed ({exc}); pip install lava-nc (needs Python 3.10)"
    except Exception as exc:  # BackendUnavailable, or a broken install
        return f"lava-nc cannot be imported ({exc})"
    return None


def _lava():
    from .lava import simulator

    return simulator


register("lava", _lava_available, _lava)
