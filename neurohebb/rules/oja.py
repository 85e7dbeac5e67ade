"""``oja``: Oja's (1982) normalised Hebbian rule, single-neuron form.

    dw = eta * x1 * y1 * u  -  eta * y1 * y1 * w * u        (= eta y (x - y w))

With a linear rate neuron ``y = w.x`` on zero-mean inputs, ``w`` converges to
the unit top eigenvector of the input covariance (needs eta * lambda_1 < 1).
``x_tau``/``y_tau`` = 0 read the instantaneous activity.
"""
from __future__ import annotations

from typing import Literal

from .algebra import Factor, Product
from .base import RuleParams


class Oja(RuleParams):
    template: Literal["oja"] = "oja"
    eta: float
    x_tau: float = 0.0
    y_tau: float = 0.0

    def expand(self):
        x1, y1, w = Factor("x1"), Factor("y1"), Factor("w")
        dw = [Product(self.eta, "u", (x1, y1)), Product(-self.eta, "u", (y1, y1, w))]
        return self._rule(dw, traces={"x1": (1.0, self.x_tau), "y1": (1.0, self.y_tau)})
