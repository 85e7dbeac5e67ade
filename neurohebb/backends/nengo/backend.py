"""The nengo backend's contract object (:mod:`neurohebb.backends.base`).
Importing this module imports nengo (the availability check)."""
from __future__ import annotations

from ...errors import NeurohebbError
from ..base import Backend, reasons_of
from .lowering import refuse_dendritic
from .simulator import PRECISIONS, run


class NengoBackend(Backend):
    """``nengo.Simulator`` (float) and the nengo_loihi emulator (``loihi1``)."""

    name = "nengo"
    precisions = PRECISIONS

    def available(self):
        return None

    def unsupported(self, network, precision="float", simulator=None, **options):
        problems = self.check_precision(precision) or self.dense_matrix_problems(network)
        if problems:
            return problems
        try:
            refuse_dendritic(network)
        except NeurohebbError as exc:
            return reasons_of(exc)
        if precision == "loihi1" or simulator == "nengo_loihi":
            ext = [k for k, p in network.populations.items() if p.type == "external"]
            if ext:
                return [(f"populations.{ext[0]}", "simulator 'nengo_loihi' does not run external (host step "
                                                  "function) populations; use precision 'float'")]
            if network.run.dtype != "float64":
                return [("run.dtype", "nengo_loihi runs its host part in float64 only")]
            from .loihi import plan_placement

            plan = plan_placement(network)
            if not any(where == "chip" for where, _ in plan.values()):
                return [(f"populations.{k}", f"cannot run on the Loihi chip: {why}") for k, (_, why) in plan.items()
                        ] + [("", "nengo-loihi needs at least one on-chip ensemble")]
        return []

    def run(self, network, precision="float", seed=None, steps=None, progress=None, threads=None, **options):
        # threads: Lava and Nengo choose their own (processes, numpy's BLAS)
        return run(network, precision=precision, seed=seed, steps=steps, progress=progress, **options)


BACKEND = NengoBackend()
