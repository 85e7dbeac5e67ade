"""``neurohebb.Simulator``: a network you can run, continue, inspect, switch
between training and testing, and checkpoint.

>>> import neurohebb as nh
>>> with nh.Simulator(net, precision="fixed") as sim:
...     sim.run(2000)                      # train
...     sim.set_plasticity(on=False)       # test with frozen weights
...     sim.run(500)
...     res = sim.result()                 # everything recorded so far
...     sim.save("ckpt.npz")               # resume later with nh.Simulator.load("ckpt.npz")

``run(a)`` followed by ``run(b)`` gives exactly what one run of ``a + b``
steps gives (bit for bit, float and fixed point); ``neurohebb.run`` is one
``Simulator(...).run(steps)``.  Backends offer a session through their
contract (:meth:`neurohebb.backends.base.Backend.session`); today the
reference backend does.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import NeurohebbError


def checkpoint_backend(path) -> str:
    """The backend that wrote checkpoint ``path`` (from its metadata)."""
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            return str(json.loads(str(z["meta"]))["backend"])
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise NeurohebbError(f"{path}: not a neurohebb checkpoint ({type(exc).__name__}: {exc})") from None


class Simulator:
    """A stateful simulation of ``network`` (a Network or a path) on
    ``backend`` at ``precision``; ``options`` go to the backend (``seed``,
    ``steps`` = the compile horizon of fixed point, ``hardware``,
    ``externals``, ``threads``)."""

    def __init__(self, network, backend="reference", precision="float", **options):
        from . import backends

        self._session = backends.get(backend).session(network, precision=precision, **options)

    @classmethod
    def load(cls, path, network=None, **options) -> "Simulator":
        """Resume from a checkpoint written by :meth:`save` (``network``: the
        document it must belong to; default the one stored in it)."""
        from . import backends

        self = cls.__new__(cls)
        self._session = backends.get(checkpoint_backend(path)).load_session(Path(path), network=network, **options)
        return self

    # the session's interface
    network = property(lambda self: self._session.network)
    precision = property(lambda self: self._session.precision)
    seed = property(lambda self: self._session.seed)
    t = property(lambda self: self._session.t, doc="steps simulated since the start or the last reset")
    state = property(lambda self: self._session.state, doc="the complete state now (copies)")

    def run(self, steps, progress=None):
        """Simulate ``steps`` more steps."""
        self._session.run(steps, progress=progress)
        return self

    def result(self):
        """The :class:`~neurohebb.result.Result` recorded since the start, the last reset or :meth:`clear`."""
        return self._session.result()

    def clear(self):
        """Forget recorded spikes and probes (the network keeps its state)."""
        self._session.clear()

    def reset(self, seed=None):
        """Back to step 0 (``seed``: a new run seed)."""
        self._session.reset(seed)

    def set_plasticity(self, projection=None, on=True):
        """Learning on or off for ``projection`` (None: all plastic projections)."""
        self._session.set_plasticity(projection, on)

    def weights(self, projection):
        return self._session.weights(projection)

    def set_weights(self, projection, W):
        self._session.set_weights(projection, W)

    def save(self, path) -> Path:
        """Write a checkpoint (one .npz, atomically)."""
        return self._session.save(path)

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return repr(self._session).replace("Session", "Simulator", 1)
