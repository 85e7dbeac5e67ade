"""``bcm``: Bienenstock-Cooper-Munro rule with a sliding threshold.

    dw    = eta * x1 * y1 * (y1 - theta) * u
    theta = y2**2 / y_target
    y2[t] = a * y2[t-1] + (1 - a) * y[t],   a = exp(-1/tau_theta)

so, as a sum of products,

    dw = eta * u*x1*y1*y1  -  (eta / y_target) * u*x1*y1*y2*y2

``y2`` is a running average of the post activity (impulse ``1 - a``); the
threshold rises when the neuron is more active than ``y_target`` and so
stabilises its rate at ``y_target``.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from .algebra import Factor, Product
from .base import RuleParams


class BCM(RuleParams):
    template: Literal["bcm"] = "bcm"
    eta: float
    tau_theta: float = Field(gt=0, description="time constant of the activity average (steps)")
    y_target: float = Field(gt=0, description="target activity; theta = <y>^2 / y_target")
    x_tau: float = 0.0
    y_tau: float = 0.0

    def expand(self):
        x1, y1, y2 = Factor("x1"), Factor("y1"), Factor("y2")
        dw = [Product(self.eta, "u", (x1, y1, y1)), Product(-self.eta / self.y_target, "u", (x1, y1, y2, y2))]
        a = math.exp(-1.0 / self.tau_theta)
        return self._rule(dw, traces={"x1": (1.0, self.x_tau), "y1": (1.0, self.y_tau), "y2": (1.0 - a, self.tau_theta)})
