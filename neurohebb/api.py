"""The top-level Python API: ``load``, ``run``."""
from __future__ import annotations

from . import backends
from .ir import Network
from .ir import load as _load


def load(path) -> Network:
    """Read and validate a network document (YAML, with an optional .npz beside it)."""
    return _load(path)


def run(network, backend: str = "reference", precision: str = "float", seed=None, steps=None, progress=None,
        allow_modules=(), allow_dirs=(), on_nonfinite: str = "error", **backend_options):
    """Run ``network`` (a :class:`Network` or a path) on ``backend`` and return a
    :class:`~neurohebb.result.Result`.  ``seed``/``steps`` override ``run:``;
    the same document and seed give bit-identical results.  ``backend_options``
    go to the backend (e.g. ``board=True`` for lava, ``simulator="nengo_loihi"``
    for nengo).  A document's external populations may name factories
    (``function:``) in ``neurohebb.environments``, in ``allow_modules``
    (module names) and in Python files in ``allow_dirs`` (directories); see
    :func:`neurohebb.externals.permit`.  A run whose memory estimate exceeds
    the machine's memory is refused before it allocates
    (:mod:`neurohebb.ir.limits`).  A run whose state becomes NaN or infinite
    stops with :class:`~neurohebb.errors.NonFiniteState` naming the variable
    and the step; ``on_nonfinite="continue"`` keeps running and records it in
    ``result.report["nonfinite"]`` (:mod:`neurohebb.health`)."""
    from . import health
    from .externals import permit
    from .ir import limits

    if not isinstance(network, Network):
        network = load(network)
    if steps is not None:
        limits.check(network, int(steps))
    with permit(allow_modules, allow_dirs), health.policy(on_nonfinite):
        res = backends.get(backend).run(network, precision=precision, seed=seed, steps=steps, progress=progress,
                                        **backend_options)
        res = health.check_result(res)
    # what Result.save records: the document and the options that decide the run
    if getattr(res, "network", None) is None:
        res.network = network
    res.options = {k: v for k, v in backend_options.items() if isinstance(v, (str, int, float, bool))}
    return res
