"""``alignment``: learning rules for backward (feedback) weights B built from
Kunin et al.'s (2020) primitives (code: neuroailab/Neural-Alignment,
``Alignments/primitives.py``).

B (this projection, post ``i`` x pre ``j``) carries error signals from layer
l+1 back to layer l; its ``partner`` W is the forward projection l -> l+1
(``W.pre`` has B's post size, ``W.post`` B's pre size), so B ~ W^T.  With
``x`` the partner's arriving pre activity (``xp``) and ``Wx`` its post state
(``vp``: input + bias, no nonlinearity), each primitive is a loss term R and
the rule is gradient descent ``dB = -eta * dR/dB`` (every step, or gated by a
modulator)::

    Decay   R = ||W||^2 + ||B||^2         dB_ij = -2 eta decay * w_ij
    Self    R = -tr(BW)                    dB_ij = +eta self  * W_ji          (wT)
    Amp     R = -E[x^T B W x]              dB_ij = +eta amp   * x_i (Wx)_j     (xp*vp)
    Sparse  R = E||x^T B||^2 (+E||Wx||^2)  dB_ij = -2 eta sparse * x_i (B^T x)_j  (xp*bx)
    Null    R = E||B W x||^2               dB_ij = -2 eta null * (B W x)_i (Wx)_j  (bv*vp)

    dB = eta * u * [ -2 decay w + self wT + amp xp vp - 2 sparse xp bx - 2 null bv vp + noise xi ]

(times ``r`` in every product when a ``modulator`` is named: a gate or a
learning-rate schedule).  ``noise`` adds Gaussian noise ``N(0, noise^2)`` per
synapse and step to the update direction before ``eta``.  Combinations:
Symmetric Alignment = decay + self (fixed point B = self/(2 decay) W^T),
Activation Alignment = sparse + amp (fixed point B^T = amp/(2 sparse) W on the
span of the inputs), feedback alignment = no rule; ``eta = 1, decay = 0.5,
self = 1`` copies ``B = W^T`` every step (backprop's weight transport).  The
paper calls Decay, Amp and Null local (the neurons of B's two ends carry x and
Wx), Sparse and Self non-local; here every partner variable is outside the
Loihi learning-engine algebra (the reference float backend and the nengo
simulator run them; fixed point, Lava and nengo_loihi refuse them).  Null is
the primitive's local half, E||BWx||^2 (the second half, E||x^T B W||^2, needs
W at the synapse).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from .algebra import Factor, Product
from .base import RuleParams


class Alignment(RuleParams):
    template: Literal["alignment"] = "alignment"
    partner: Optional[str] = Field(None, description="the forward projection W (B ~ W^T)")
    eta: float = Field(description="learning rate of B")
    decay: float = 0.0
    self: float = 0.0
    amp: float = 0.0
    sparse: float = 0.0
    null: float = 0.0
    noise: float = Field(0.0, ge=0, description="std of the Gaussian noise added to the update direction")

    @model_validator(mode="after")
    def _needs_partner(self):
        if self.partner is None and any((self.self, self.amp, self.sparse, self.null)):
            raise ValueError("self, amp, sparse and null read the forward projection: name it in 'partner'")
        return self

    def expand(self):
        gate = (Factor("r"),) if self.modulator else ()
        terms = [
            (-2.0 * self.decay, ("w",)),
            (self.self, ("wT",)),
            (self.amp, ("xp", "vp")),
            (-2.0 * self.sparse, ("xp", "bx")),
            (-2.0 * self.null, ("bv", "vp")),
            (self.noise, ("xi",)),
        ]
        dw = [Product(self.eta * c, "u", gate + tuple(Factor(v) for v in vs)) for c, vs in terms]
        return self._rule(dw)
