"""The contract every backend implements.

A backend is an object with

* ``name`` and ``precisions`` (e.g. ``("float", "fixed")``);
* ``unsupported(network, precision="float", **options)``: the reasons it
  cannot run ``network`` at ``precision``, as ``(field path, reason)`` pairs
  (empty when it can).  Cheap: it never runs the network; it may compile it;
* ``run(network, precision="float", seed=None, steps=None, progress=None,
  **options)``: a :class:`~neurohebb.result.Result`.  Options every backend
  accepts (:data:`COMMON_OPTIONS`): ``externals`` (step functions of external
  populations), ``threads`` (how many threads it may use; None: its default)
  and, for fixed-point precisions, ``hardware`` and the compiler's options;
  the rest is the backend's own (``lowering``, ``board``, ``simulator``, ...);
* optionally ``session(network, precision, **options)``: a stateful
  simulator (``run(steps)`` again and again, ``reset``, ``state``,
  ``set_plasticity``, checkpoints); backends without one raise
  :class:`~neurohebb.errors.UnsupportedFeature`.

Backends subclass :class:`Backend` for the defaults and register with
:func:`neurohebb.backends.register` (one line in
``neurohebb/backends/__init__.py`` naming the module and the packages it
needs), so nothing else in neurohebb names a backend: ``compare``, ``sims``
and ``search`` go through this contract only.
"""
from __future__ import annotations

from ..errors import NeurohebbError, UnsupportedFeature

#: options that every backend's ``run`` accepts (and may ignore when they do not apply)
COMMON_OPTIONS = ("externals", "threads", "hardware")


class Backend:
    """Defaults for the contract; subclasses set ``name`` and ``precisions``
    and implement ``run`` (and ``unsupported`` where they have limits)."""

    name: str = ""
    precisions: tuple = ("float",)

    def check_precision(self, precision) -> list[tuple[str, str]]:
        if precision not in self.precisions:
            return [("precision", f"{self.name} backend: precision {precision!r} is not available; "
                                  f"known: {', '.join(self.precisions)}")]
        return []

    def unsupported(self, network, precision="float", **options) -> list[tuple[str, str]]:
        return self.check_precision(precision)

    #: copies of a (post, pre) float64 matrix a backend holding dense weights keeps per projection
    DENSE_COPIES = 4

    def dense_matrix_problems(self, network) -> list[tuple[str, str]]:
        """For backends that hold every projection as dense (post, pre)
        matrices (built from :func:`neurohebb.semantics.initial_weights`):
        the projections whose matrices would not fit in this machine's memory,
        with the estimate (the reference stores such projections sparsely)."""
        from ..ir.limits import machine_memory
        from ..ir.sizes import size

        avail, phys = machine_memory()
        out = []
        for k, pr in network.projections.items():
            npre, npost = size(network, pr.pre), size(network, pr.post)
            need = npre * npost * 8 * self.DENSE_COPIES
            if need > avail:
                out.append((f"projections.{k}", f"{self.name} backend: holds this projection as dense {npost} x "
                                               f"{npre} matrices, about {need / 2**30:.3g} GB; this machine has "
                                               f"{avail / 2**30:.3g} GB available ({phys / 2**30:.3g} GB in total). "
                                               "The reference backend stores sparse connectivity sparsely "
                                               "(layout: sparse)"))
        return out

    def run(self, network, precision="float", seed=None, steps=None, progress=None, **options):  # pragma: no cover
        raise NotImplementedError

    def session(self, network, precision="float", **options):
        raise UnsupportedFeature(f"{self.name} backend: no stateful simulator (run, continue, checkpoint); "
                                 "use neurohebb.run, or the reference backend's Simulator")

    def load_session(self, path, network=None, **options):
        raise UnsupportedFeature(f"{self.name} backend: no checkpoints")

    def __repr__(self):
        return f"<backend {self.name} ({', '.join(self.precisions)})>"


def reasons_of(exc: NeurohebbError) -> list[tuple[str, str]]:
    """An error's (path, reason) pairs (one pair with an empty path when it has none)."""
    problems = getattr(exc, "problems", None)
    if problems:
        return [(str(p), str(m)) for p, m in problems]
    return [("", str(exc))]
