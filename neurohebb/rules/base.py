"""Fields every rule template shares."""
from __future__ import annotations

from typing import Literal, Optional

from ..ir.common import Model


class RuleParams(Model):
    """Common to every rule.

    ``timing``: ``exclusive`` (NEST convention: a spike-triggered product reads
    traces without this step's impulses) or ``inclusive`` (Lava/Loihi: traces
    already hold this step's impulses).  ``modulator``: name of the modulator
    that supplies the third factor ``r``.
    """

    template: str
    timing: Literal["exclusive", "inclusive"] = "exclusive"
    modulator: Optional[str] = None

    def uses_modulator(self) -> bool:
        """True when the expanded rule reads the third factor ``r``."""
        return "r" in self.expand().used_vars()

    def expand(self):  # pragma: no cover - every template overrides
        raise NotImplementedError

    def _rule(self, dw, de=(), traces=None, functions=None):
        from .algebra import Rule, TraceSpec

        tr = {k: TraceSpec(v[0], v[1]) for k, v in (traces or {}).items()}
        # a product with coefficient 0 does nothing: leave it out (targets need not
        # represent 0), but keep the traces it declares (they may be probed)
        used = Rule(tuple(dw), tuple(de)).used_vars()
        dw = [p for p in dw if p.coeff != 0]
        de = [p for p in de if p.coeff != 0]
        rule = Rule(tuple(dw), tuple(de), tr, dict(functions or {}), self.timing, self.modulator, self.template)
        return Rule(rule.dw, rule.de, {k: t for k, t in tr.items() if k in used}, rule.functions,
                    rule.timing, rule.modulator, rule.template, getattr(self, "partner", None))
