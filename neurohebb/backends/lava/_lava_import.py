"""Import Lava robustly.

Lava's message infrastructure calls ``multiprocessing.set_start_method("fork")``
when it is first imported; that raises ``RuntimeError: context has already
been set`` once anything has fixed the start method, which numba's parallel
runtime does the first time a parallel kernel runs (the reference fixed mode,
``compare`` before a Lava run).  Lava needs ``fork``, which is also what the
start method is then (Linux default), so the import is retried with
``set_start_method`` made a no-op for the method already in force.  Any other
situation (another start method in force, Windows) is a clear error.
"""
from __future__ import annotations

import importlib
import multiprocessing as mp

from ...errors import BackendUnavailable

MODULES = (
    "lava.magma.runtime.message_infrastructure.multiprocessing",
    "lava.magma.core.run_configs",
    "lava.magma.core.run_conditions",
    "lava.magma.core.learning.learning_rule",
    "lava.proc.dense.models",
    "lava.proc.io.source",
    "lava.utils.loihi",
)


def _import_all():
    for m in MODULES:
        importlib.import_module(m)


def import_lava() -> None:
    """Import the Lava modules the backend needs; raises ImportError when
    lava-nc is missing and BackendUnavailable when it cannot be imported."""
    try:
        _import_all()
        return
    except RuntimeError as exc:
        if "context has already been set" not in str(exc):
            raise BackendUnavailable(f"lava-nc cannot be imported: {exc}") from exc
        current = mp.get_start_method(allow_none=True)
        if current != "fork":
            raise BackendUnavailable(
                f"lava-nc needs the 'fork' multiprocessing start method but {current!r} is already in force "
                "(something called multiprocessing.set_start_method before Lava was imported); import "
                "neurohebb.backends.lava (or lava) first") from exc
    orig = mp.set_start_method

    def _keep(method, force=False):
        if method == mp.get_start_method(allow_none=True):
            return None
        return orig(method, force=force)

    mp.set_start_method = _keep
    try:
        _import_all()
    finally:
        mp.set_start_method = orig


def board_available() -> bool:
    """Is lava-loihi (Intel's extension for the chip) installed?  Checked with
    ``lava.utils.loihi.is_installed()``, which only looks the module up, so
    Lava's ``Loihi2HwCfg`` (NameError ``CLoihiProcessModel`` without
    lava-loihi) is never touched."""
    from lava.utils.loihi import is_installed

    return bool(is_installed())
