"""``stdp_pair``: pair-based STDP, all-to-all spike interaction.

Traces x1 (pre, tau_plus) and y1 (post, tau_minus), impulse 1 per spike.

* ``additive``:        dw = a_plus * y0*x1  -  a_minus * x0*y1
* ``multiplicative``:  dw = a_plus/w_max * y0*x1*(w_max - w)  -  a_minus/w_max * x0*y1*w
  (soft bounds; NEST ``mu_plus = mu_minus = 1``)
* ``van_rossum``:      dw = a_plus * y0*x1  -  a_minus/w_max * x0*y1*w
  (additive LTP, multiplicative LTD; NEST ``mu_plus = 0, mu_minus = 1``)

With ``timing: exclusive`` this is the rule of NEST's ``stdp_synapse``
(``lambda = a_plus / w_max``, ``alpha = a_minus / a_plus``, Wmax = w_max = the
upper bound; same-time pairs excluded).  Timing is measured at the synapse: a
pre spike counts when it arrives (1 + delay steps after it was emitted).  NEST
pairs at emission with post spikes seen one delay late instead, i.e. 2 x (1 +
delay) steps later; the nest backend runs the IR's timing with its own synapse
(docs/backends/nest.md).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from .algebra import Factor, Product
from .base import RuleParams


class StdpPair(RuleParams):
    template: Literal["stdp_pair"] = "stdp_pair"
    a_plus: float = Field(ge=0)
    a_minus: float = Field(ge=0)
    tau_plus: float = Field(20.0, gt=0, description="pre trace time constant (steps)")
    tau_minus: float = Field(20.0, gt=0, description="post trace time constant (steps)")
    weight_dependence: Literal["additive", "multiplicative", "van_rossum"] = "additive"
    w_max: Optional[float] = Field(None, gt=0, description="needed by multiplicative and van_rossum")

    @model_validator(mode="after")
    def _need_wmax(self):
        if self.weight_dependence != "additive" and self.w_max is None:
            raise ValueError(f"weight_dependence '{self.weight_dependence}' needs w_max (the soft upper bound)")
        return self

    def expand(self):
        x1, y1, w = Factor("x1"), Factor("y1"), Factor("w")
        wd = self.weight_dependence
        if wd == "multiplicative":
            ltp = Product(-self.a_plus / self.w_max, "y0", (x1, Factor("w", -self.w_max)))
        else:
            ltp = Product(self.a_plus, "y0", (x1,))
        if wd == "additive":
            ltd = Product(-self.a_minus, "x0", (y1,))
        else:
            ltd = Product(-self.a_minus / self.w_max, "x0", (y1, w))
        return self._rule([ltp, ltd], traces={"x1": (1.0, self.tau_plus), "y1": (1.0, self.tau_minus)})
