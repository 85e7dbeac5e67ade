"""Rule templates: one file each, all expanding into the algebra of :mod:`.algebra`.

``TEMPLATES`` maps a template name to its parameter model; ``expand(spec)``
returns the :class:`~.algebra.Rule` every backend consumes.
"""
from __future__ import annotations

from .algebra import Factor, Product, Rule, RuleSyntaxError, TraceSpec, parse_sum
from .alignment import Alignment
from .bcm import BCM
from .custom import Custom
from .hebbian import Hebbian
from .nonlinear_hebbian import NonlinearHebbian
from .oja import Oja
from .reward_stdp import RewardStdp
from .stdp_pair import StdpPair
from .stdp_triplet import StdpTriplet

TEMPLATES = {
    cls.model_fields["template"].default: cls
    for cls in (Hebbian, Oja, BCM, StdpPair, StdpTriplet, RewardStdp, NonlinearHebbian, Alignment, Custom)
}


def expand(spec) -> Rule:
    """The algebra form of a rule spec (any template)."""
    return spec.expand()


__all__ = ["TEMPLATES", "expand", "Rule", "Product", "Factor", "TraceSpec", "parse_sum", "RuleSyntaxError"]
