"""``stdp_triplet``: Pfister & Gerstner (2006) triplet STDP, all-to-all.

Traces (impulse 1 per spike): x1 = r1 (tau_plus), x2 = r2 (tau_x),
y1 = o1 (tau_minus), y2 = o2 (tau_y).

    post spike:  dw = +x1 * (a2_plus + a3_plus * y2)     (y2 = o2(t-), before the spike)
    pre spike:   dw = -y1 * (a2_minus + a3_minus * x2)   (x2 = r2(t-))

    dw = a2_plus*y0*x1 + a3_plus*y0*x1*y2 - a2_minus*x0*y1 - a3_minus*x0*y1*x2

With ``timing: exclusive`` (the default) and zero delay this is NEST's
``stdp_triplet_synapse`` (Aplus=a2_plus, Aplus_triplet=a3_plus, ...) when no
pre and post spike share a step.  Defaults: visual cortex, all-to-all, minimal
model (Pfister & Gerstner 2006, Table 4).

The amplitudes are **absolute weight changes**, in the units of the
projection's weights (one pairing with traces at 1 changes w by ``a2_plus``),
not fractions of ``w_max``: the published defaults assume weights of order 1.
With weights of another scale multiply every ``a`` by it (e.g. by ``w_max``
for bounds ``[0, w_max]``); otherwise one pairing can move a weight across its
whole range.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .algebra import Factor, Product
from .base import RuleParams


class StdpTriplet(RuleParams):
    template: Literal["stdp_triplet"] = "stdp_triplet"
    a2_plus: float = Field(0.0, ge=0, description="pair potentiation, absolute weight change per pairing")
    a3_plus: float = Field(6.5e-3, ge=0, description="triplet potentiation, absolute weight change")
    a2_minus: float = Field(7.1e-3, ge=0, description="pair depression, absolute weight change per pairing")
    a3_minus: float = Field(0.0, ge=0, description="triplet depression, absolute weight change")
    tau_plus: float = Field(16.8, gt=0)
    tau_minus: float = Field(33.7, gt=0)
    tau_x: float = Field(101.0, gt=0)
    tau_y: float = Field(114.0, gt=0)

    def expand(self):
        x1, x2, y1, y2 = (Factor(v) for v in ("x1", "x2", "y1", "y2"))
        dw = []
        if self.a2_plus:
            dw.append(Product(self.a2_plus, "y0", (x1,)))
        if self.a3_plus:
            dw.append(Product(self.a3_plus, "y0", (x1, y2)))
        if self.a2_minus:
            dw.append(Product(-self.a2_minus, "x0", (y1,)))
        if self.a3_minus:
            dw.append(Product(-self.a3_minus, "x0", (y1, x2)))
        return self._rule(
            dw,
            traces={"x1": (1.0, self.tau_plus), "x2": (1.0, self.tau_x), "y1": (1.0, self.tau_minus), "y2": (1.0, self.tau_y)},
        )
