"""``custom``: a rule written directly in the algebra (see :mod:`.algebra`).

    rule:
      template: custom
      dw: "0.01*y0*x1 - 0.0105*x0*y1"
      de: null                      # optional eligibility update
      traces: {x1: {impulse: 1, tau: 20}, y1: {impulse: 1, tau: 20}}
      functions: {h: {name: rect_power, theta: 1, power: 2}}
      partner: null                 # a projection running the other way, for the
                                    # non-local variables wT, xp, vp, bx, bv
"""
from __future__ import annotations

from typing import Dict, Literal, Optional

from pydantic import field_validator, model_validator

from ..ir.common import Nonlinearity, Trace
from .algebra import TRACES, RuleSyntaxError, check_trace_names, parse_sum
from .base import RuleParams


class Custom(RuleParams):
    template: Literal["custom"] = "custom"
    dw: str
    de: Optional[str] = None
    traces: Dict[str, Trace] = {}
    functions: Dict[str, Nonlinearity] = {}
    partner: Optional[str] = None  # the projection read by the non-local variables wT, xp, vp, bx, bv

    @field_validator("traces")
    @classmethod
    def _trace_names(cls, v):
        return check_trace_names(v)

    @model_validator(mode="after")
    def _parse(self):
        for fld in ("dw", "de"):
            text = getattr(self, fld)
            if text is None:
                continue
            try:
                prods = parse_sum(text, self.functions)
            except RuleSyntaxError as exc:
                raise ValueError(f"{fld}: {exc}") from None
            for p in prods:
                for f in p.factors:
                    if f.var in TRACES and f.var not in self.traces:
                        raise ValueError(f"{fld}: uses trace {f.var!r} but 'traces' does not declare it "
                                         f"(add traces: {{{f.var}: {{impulse: 1, tau: 20}}}})")
        return self

    def expand(self):
        dw = parse_sum(self.dw, self.functions)
        de = parse_sum(self.de, self.functions) if self.de else ()
        return self._rule(dw, de, traces={k: (t.impulse, t.tau) for k, t in self.traces.items()},
                          functions=self.functions)
