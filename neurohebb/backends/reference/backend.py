"""The reference backend's contract object (:mod:`neurohebb.backends.base`)."""
from __future__ import annotations

from ...errors import NeurohebbError
from ...externals import external_populations
from ..base import Backend, reasons_of


class ReferenceBackend(Backend):
    """The executable specification: float (the IR's equations) and fixed
    (the Loihi-2 learning engine's arithmetic, compiled for ``hardware``)."""

    name = "reference"
    precisions = ("float", "fixed")

    def available(self):
        return None

    def unsupported(self, network, precision="float", hardware="loihi2", externals=None, semantics="document",
                    stock_parts=None, latency=None, drop_refractory=False, **options):
        # drop_refractory: the lava stock lowering's consent to lose refractory periods; the reference's
        # stock semantics model stock LIF, which has none, either way
        problems = self.check_precision(precision)
        if problems:
            return problems
        from .stock import parts_of

        try:
            parts_of(semantics, stock_parts, precision)
        except NeurohebbError as exc:
            return reasons_of(exc)
        if precision == "fixed":
            ext = external_populations(network)
            if ext:
                return [(f"populations.{name}", "an external (host) population: the fixed-point model of the "
                                                "Loihi-2 learning engine has no host callbacks; run it in float")
                        for name in ext]
            from .fixed import compile_for

            try:
                compile_for(network, hardware, **options)
            except NeurohebbError as exc:
                return reasons_of(exc)
        return []

    def run(self, network, precision="float", seed=None, steps=None, progress=None, threads=None, **options):
        from .simulator import run

        if threads is not None:  # numba's parallel rows for more than one thread
            options["parallel"] = threads > 1
        options.pop("drop_refractory", None)  # see unsupported()
        return run(network, precision=precision, seed=seed, steps=steps, progress=progress, **options)

    def session(self, network, precision="float", threads=None, **options):
        from .session import Session

        if threads is not None:
            options["parallel"] = threads > 1
        return Session(network, precision=precision, **options)

    def load_session(self, path, network=None, **options):
        from .session import Session

        return Session.load(path, network=network, **options)


BACKEND = ReferenceBackend()
