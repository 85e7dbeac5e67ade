"""Population sizes, as declared or implied by a source's data."""
from __future__ import annotations

import numpy as np

from . import schema as S
from .schema import SOURCE_TYPES


def source_size(src) -> int | None:
    """The neuron count a source declares or implies (None if it cannot tell)."""
    if src.n is not None:
        return src.n
    if isinstance(src, S.SpikeTimes):
        return len(src.times)
    if isinstance(src, S.Poisson):
        r = np.asarray(src.rates)
        return r.shape[-1] if r.ndim >= 1 else None
    if isinstance(src, S.ArraySource):
        v = np.asarray(src.values)
        return v.shape[1] if v.ndim == 2 else None
    return None


def size(net, pop: str) -> int:
    p = net.populations[pop]
    return source_size(p) if p.type in SOURCE_TYPES else p.n
