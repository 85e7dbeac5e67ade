"""``reward_stdp``: reward-modulated STDP with an eligibility trace
(Izhikevich 2007; Loihi's / Lava's RewardModulatedSTDP).

    de = a_plus*y0*x1 - a_minus*x0*y1 - (1 - exp(-1/tau_e)) * e * u
    dw = eta * e * r * u

The tag ``e`` collects pair-STDP coincidences and decays with ``tau_e``; the
weight changes only while the third factor ``r`` (a modulator, e.g. a dopamine
trace with its own ``tau``) is non-zero.  No reward, no weight change.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from .algebra import Factor, Product
from .base import RuleParams


class RewardStdp(RuleParams):
    template: Literal["reward_stdp"] = "reward_stdp"
    a_plus: float = Field(ge=0)
    a_minus: float = Field(ge=0)
    tau_plus: float = Field(20.0, gt=0)
    tau_minus: float = Field(20.0, gt=0)
    tau_e: float = Field(1000.0, gt=0, description="eligibility time constant (steps)")
    eta: float = 1.0

    def expand(self):
        x1, y1, e, r = Factor("x1"), Factor("y1"), Factor("e"), Factor("r")
        de = [
            Product(self.a_plus, "y0", (x1,)),
            Product(-self.a_minus, "x0", (y1,)),
            Product(-(1.0 - math.exp(-1.0 / self.tau_e)), "u", (e,)),
        ]
        dw = [Product(self.eta, "u", (e, r))]
        return self._rule(dw, de, traces={"x1": (1.0, self.tau_plus), "y1": (1.0, self.tau_minus)})
