"""The reference backend: the executable specification of the IR.

``run(network, precision)`` instantiates the network on a model of its
arithmetic (float: :mod:`.float_model`; fixed point: :mod:`.fixed`, the
Loihi-2 learning engine as Lava models it) and drives it with the one
scheduler, :class:`.engine.Engine`.  :class:`Session` keeps the engine for
stateful use (``neurohebb.Simulator``).
"""
from __future__ import annotations

from ...errors import UnsupportedFeature
from ...externals import bind, external_populations
from ...ir.validate import validate
from .engine import NAME, Engine  # noqa: F401  (NAME re-exported)
from .float_model import FloatModel

PRECISIONS = ("float", "fixed")


def _check_precision(precision):
    if precision not in PRECISIONS:
        raise UnsupportedFeature(
            f"reference backend: precision {precision!r} is not available; known: {', '.join(PRECISIONS)}")


def build_engine(network, precision="float", seed=None, steps=None, parallel=True, externals=None, hardware="loihi2",
                 program=None, seeds=None, semantics="document", stock_parts=None, latency=None,
                 **options) -> Engine:
    """Instantiate ``network`` on the model for ``precision`` (not yet run).
    Fixed point compiles the network for ``hardware`` (``steps`` is the
    horizon the compiler sizes third factors for) unless ``program`` is given.
    ``semantics``: ``document`` (the IR's) or ``stock`` (what Lava's stock
    processes compute, :mod:`.stock`: what the lava backend's
    ``lowering="stock"`` runs, bit for bit in fixed point); ``stock_parts``
    applies only some of its departures, ``latency`` is the host input latency
    in steps."""
    stock = dict(semantics=semantics, stock_parts=stock_parts, latency=latency)
    _check_precision(precision)
    seed = network.run.seed if seed is None else int(seed)
    if precision == "fixed":
        ext = external_populations(network)
        if ext:
            raise UnsupportedFeature(
                f"reference backend, precision 'fixed': populations.{ext[0]} is an external (host) population; "
                "the fixed-point model of the Loihi-2 learning engine has no host callbacks; run it in float")
        from .fixed import FixedModel, compile_for

        if program is None:
            program = compile_for(network, hardware, seed, steps, **options)
        return Engine(FixedModel(program, seed, parallel=parallel, seeds=seeds, **stock))
    if options:
        raise UnsupportedFeature(f"reference backend, precision 'float': unknown options {sorted(options)}")
    validate(network)
    ext_fns = bind(network, externals)
    return Engine(FloatModel(network, seed, externals=ext_fns, parallel=parallel, **stock))


def run(network, precision="float", seed=None, steps=None, progress=None, parallel=True, externals=None, **options):
    """Run ``network`` on the reference backend; see :func:`neurohebb.run`.
    ``externals``: step functions of external populations (``{name: f}``);
    fixed-point ``options`` go to the compiler (``hardware=``, ...)."""
    eng = build_engine(network, precision, seed=seed, steps=steps, parallel=parallel, externals=externals, **options)
    eng.run(network.run.steps if steps is None else int(steps), progress=progress)
    return eng.result()
