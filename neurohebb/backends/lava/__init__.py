"""Lava backend: the IR as Lava processes, simulated with Lava 0.10's
``Loihi2SimCfg`` in float (``floating_pt``) or fixed point (``fixed_pt``, the
compiled integer program: Loihi 2's learning engine as Lava's bit-approximate
models implement it), or run on a board with ``Loihi2HwCfg`` (needs lava-loihi).

>>> import neurohebb as nh
>>> res = nh.run(net, backend="lava", precision="fixed")     # bit-identical to reference:fixed
>>> from neurohebb.backends import lava as lb
>>> res = lb.run(net, precision="float", board=False)
>>> res = lb.run(net, precision="fixed", lowering="stock")   # Lava's own classes: what a Loihi 2 board runs

Lava is imported when this package is imported (see ``_lava_import``: Lava
must fix the multiprocessing start method, which fails once numba's parallel
runtime has run, unless handled).  See docs/backends/lava.md.
"""
from __future__ import annotations

from ._lava_import import board_available, import_lava

import_lava()

from .lowering import check_supported  # noqa: E402
from .simulator import NAME, PRECISIONS, ROUNDINGS, reference_seeds, run  # noqa: E402

__all__ = ["run", "NAME", "PRECISIONS", "ROUNDINGS", "reference_seeds", "check_supported", "board_available",
           "import_lava"]
