"""The top-level Python API: ``load``, ``run``."""
from __future__ import annotations

from . import backends
from .ir import Network
from .ir import load as _load


def load(path) -> Network:
    """Read and validate a network document (YAML, with an optional .npz beside it)."""
    return _load(path)


def run(network, backend: str = "reference", precision: str = "float", seed=None, steps=None, progress=None,
        **backend_options):
    """Run ``network`` (a :class:`Network` or a path) on ``backend`` and return a
    :class:`~neurohebb.result.Result`.  ``seed``/``steps`` override ``run:``;
    the same document and seed give bit-identical results.  ``backend_options``
    go to the backend (e.g. ``board=True`` for lava, ``simulator="nengo_loihi"``
    for nengo)."""
    if not isinstance(network, Network):
        network = load(network)
    res = backends.get(backend).run(network, precision=precision, seed=seed, steps=steps, progress=progress,
                                    **backend_options)
    # what Result.save records: the document and the options that decide the run
    if getattr(res, "network", None) is None:
        res.network = network
    res.options = {k: v for k, v in backend_options.items() if isinstance(v, (str, int, float, bool))}
    return res
