"""``nonlinear_hebbian``: Brito & Gerstner (2016) nonlinear Hebbian learning.

    dw = eta * x1 * h(v) * u  -  eta * w * v * h(v) * u      (normalize: oja)
    dw = eta * x1 * h(v) * u                                  (normalize: none)

``v`` is the post neuron's input (w.x + bias for a rate neuron; declare the
output nonlinearity g on the population), ``h`` a declared nonlinearity
(e.g. ``rect_power`` with theta 1, power 2: the quadratic rectifier).  The Oja
term keeps ``||w||`` at 1 whenever E[v h(v)] > 0.  ``h(v)`` is outside the
Loihi learning-engine algebra.
"""
from __future__ import annotations

from typing import Literal

from ..ir.common import Nonlinearity
from .algebra import Factor, Product
from .base import RuleParams


class NonlinearHebbian(RuleParams):
    template: Literal["nonlinear_hebbian"] = "nonlinear_hebbian"
    eta: float
    h: Nonlinearity
    normalize: Literal["oja", "none"] = "oja"
    x_tau: float = 0.0

    def expand(self):
        hv = Factor("v", 0.0, "h")
        dw = [Product(self.eta, "u", (Factor("x1"), hv))]
        if self.normalize == "oja":
            dw.append(Product(-self.eta, "u", (Factor("w"), Factor("v"), hv)))
        return self._rule(dw, traces={"x1": (1.0, self.x_tau)}, functions={"h": self.h})
