"""``hebbian``: (covariance) Hebbian learning with Linsker's constants.

    dw = eta * (x1 + x_offset) * (y1 + y_offset) * u  +  k1 * u  -  decay * w * u

x1, y1 are pre/post traces with impulse 1 and time constants ``x_tau``,
``y_tau`` (0 = the instantaneous activity, as for rate neurons).  With
``x_offset = -<x>`` and ``y_offset = -<y>`` this is the covariance rule;
``k1`` is Linsker's constant drift.  Bound the weights with the projection's
``bounds``.
"""
from __future__ import annotations

from typing import Literal

from .algebra import Factor, Product
from .base import RuleParams


class Hebbian(RuleParams):
    template: Literal["hebbian"] = "hebbian"
    eta: float
    x_offset: float = 0.0
    y_offset: float = 0.0
    k1: float = 0.0
    decay: float = 0.0
    x_tau: float = 0.0
    y_tau: float = 0.0

    def expand(self):
        dw = [Product(self.eta, "u", (Factor("x1", self.x_offset), Factor("y1", self.y_offset)))]
        if self.k1:
            dw.append(Product(self.k1, "u"))
        if self.decay:
            dw.append(Product(-self.decay, "u", (Factor("w"),)))
        return self._rule(dw, traces={"x1": (1.0, self.x_tau), "y1": (1.0, self.y_tau)})
