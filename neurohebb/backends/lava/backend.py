"""The lava backend's contract object (:mod:`neurohebb.backends.base`).
Importing this module imports lava-nc (the availability check)."""
from __future__ import annotations

from ...errors import NeurohebbError
from ..base import Backend, reasons_of
from . import lowering as L
from .simulator import PRECISIONS, compile_for, run


class LavaBackend(Backend):
    """Lava processes on ``Loihi2SimCfg`` (float, fixed point) or a board."""

    name = "lava"
    precisions = PRECISIONS

    def available(self):
        return None

    @staticmethod
    def _lowering(options):
        """``semantics`` (the contract's name: ``document`` or ``stock``) chooses the lowering."""
        sem = options.pop("semantics", None)
        if sem is not None and "lowering" not in options:
            options["lowering"] = {"document": "emulate", "stock": "stock"}.get(sem, sem)
        return options

    def unsupported(self, network, precision="float", hardware="loihi2", **options):
        options = self._lowering(dict(options))
        lowering = options.pop("lowering", "emulate")
        drop_refractory = options.pop("drop_refractory", False)
        problems = self.check_precision(precision) or self.dense_matrix_problems(network)
        if problems:
            return problems
        compile_options = {k: v for k, v in options.items() if k not in ("board", "rounding", "readback", "externals")}
        try:
            program, _ = compile_for(network, precision, hardware, compile_options=compile_options)
        except NeurohebbError as exc:
            return reasons_of(exc)
        if precision != "fixed":
            program = None  # the stock checks read the fixed-point program only
        if lowering == "stock" or options.get("board"):
            from . import stock

            return stock.problems(network, precision, program, drop_refractory)
        return L.check_supported(network, precision)

    def run(self, network, precision="float", seed=None, steps=None, progress=None, threads=None, **options):
        # threads: Lava and Nengo choose their own (processes, numpy's BLAS)
        options = self._lowering(options)
        return run(network, precision=precision, seed=seed, steps=steps, progress=progress, **options)


BACKEND = LavaBackend()
