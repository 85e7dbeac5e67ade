"""Facts about Lava's stock processes that the reference's stock semantics
and the lava backend's stock lowering both need (computed here once)."""
from __future__ import annotations

from .seeds import derived_seeds

#: ``ConnVarRandom``'s hard-wired seed: Lava's weight-rounding stream ignores ``rng_seed``
LAVA_ROUND_SEED = 2


def seeds_for(program, seed, parts=None):
    """``{projection: (trace seed, 2)}``: Lava's hard-wired rounding seed."""
    return {k: (derived_seeds(seed, k)[0], LAVA_ROUND_SEED) for k, pp in program.projections.items() if pp.plastic}


def lava_literal(c: float) -> tuple[int, int]:
    """The literal ``m * 2^e`` Lava's rule grammar holds nearest to ``c``
    (mantissa -8..7, exponent -7..8: lava/magma/core/learning/product_series.py);
    ``(0, 0)`` when ``|c|`` is below the grammar's smallest literal."""
    from ..compiler.program import mantissa_exponent

    return mantissa_exponent(c, (-8, 7), (-7, 8))
