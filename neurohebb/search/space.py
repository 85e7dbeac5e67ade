"""The search space: Optuna parameters <-> a rule of the algebra.

Parameters (names as stored in the study):

* ``<trace>.tau``: a trace's time constant (steps), when the spec searches it;
* ``t<i>.on``: whether optional term ``i`` is present;
* ``t<i>.sign``: +1 or -1 when the term's sign is ``both``;
* ``t<i>.k``: the coefficient's magnitude, as an index into the sorted grid
  of the values ``m * 2**e`` (``m`` in the mantissa range, ``e`` in the
  exponent range; document units).  One ordinal parameter rather than ``m``
  and ``e`` separately lets the sampler see that neighbouring values are
  close (TPE models it as an ordered integer); the coefficient is then
  ``sign * m * 2**e`` with the smallest such ``e``.

:func:`build_rule` is a pure function of the parameters, so a stored trial can
always be turned back into its rule.
"""
from __future__ import annotations

from ..rules.algebra import TRACES, parse_sum


def mantissa_range(spec, hw=None) -> tuple[int, int]:
    """``|mantissa|`` range: the spec's, else the target's (1 .. largest
    magnitude both signs can hold, 7 on Loihi 2)."""
    if spec.space.mantissa is not None:
        return tuple(spec.space.mantissa)
    if hw is not None and hw.learning is not None:
        lo, hi = hw.learning.mantissa
        return 1, max(1, min(-lo, hi))
    return 1, 7


def coefficient_grid(spec, i, mant=None) -> list[tuple[float, int, int]]:
    """``[(value, m, e)]`` of term ``i``, sorted by value, each value once
    (with the smallest exponent that represents it)."""
    term = spec.space.terms[i]
    m0, m1 = term.mantissa or mant or mantissa_range(spec, _hw(spec))
    e0, e1 = term.exponent or spec.space.exponent
    out = {}
    for e in range(int(e0), int(e1) + 1):
        for m in range(max(1, int(m0)), int(m1) + 1):
            out.setdefault(m * 2.0**e, (m, e))
    return [(v, *out[v]) for v in sorted(out)]


def _hw(spec):
    from ..hardware import load_hardware

    try:
        return load_hardware(spec.target)
    except Exception:  # the runner reports a bad target with the spec's field name
        return None


def suggest(trial, spec, mant) -> dict:
    """Sample one candidate's parameters on an Optuna ``trial`` (define-by-run:
    the mantissa, exponent and sign of an absent term are not sampled)."""
    params = {}
    sp = spec.space
    used = _used_traces(spec)
    for name, t in sp.traces.items():
        if name not in used:
            continue
        if t.tau_choices is not None:
            params[f"{name}.tau"] = trial.suggest_categorical(f"{name}.tau", list(t.tau_choices))
        elif isinstance(t.tau, tuple):
            params[f"{name}.tau"] = trial.suggest_int(f"{name}.tau", int(t.tau[0]), int(t.tau[1]), log=True)
    for i, term in enumerate(sp.terms):
        if term.optional:
            on = trial.suggest_categorical(f"t{i}.on", [True, False])
            params[f"t{i}.on"] = on
            if not on:
                continue
        if term.values is not None:
            params[f"t{i}.v"] = trial.suggest_categorical(f"t{i}.v", list(term.values))
            continue
        if term.sign == "both":
            params[f"t{i}.sign"] = trial.suggest_categorical(f"t{i}.sign", [1, -1])
        g = coefficient_grid(spec, i, mant)
        params[f"t{i}.k"] = trial.suggest_int(f"t{i}.k", 0, len(g) - 1)
    return params


def _used_traces(spec) -> set:
    out = set()
    if spec.space.template != "custom":
        return out
    for term in spec.space.terms:
        for p in parse_sum("1*" + term.product):
            out |= {f.var for f in p.factors if f.var in TRACES}
    return out


def terms_of(spec, params) -> list[tuple[int, int, int, str]]:
    """``[(sign, mantissa, exponent, product or param)]`` of the present terms
    (a term with ``values`` gives ``(1, value, None, name)``)."""
    out = []
    for i, term in enumerate(spec.space.terms):
        if term.optional and not params.get(f"t{i}.on", False):
            continue
        if term.values is not None:
            out.append((1, params[f"t{i}.v"], None, term.param or term.product))
            continue
        if term.sign == "both":
            sign = int(params[f"t{i}.sign"])
        else:
            sign = 1 if term.sign == "positive" else -1
        _, m, e = coefficient_grid(spec, i)[int(params[f"t{i}.k"])]
        out.append((sign, m, e, term.param or term.product))
    return out


def build_rule(spec, params) -> dict:
    """The rule spec (a dict, as in YAML) of one candidate: a ``custom`` rule
    of the present products, or the spec's template with the ``fixed`` fields
    and the present params (absent ones keep the template's default)."""
    terms = terms_of(spec, params)
    if spec.space.template != "custom":
        rule = {"template": spec.space.template, **spec.space.fixed}
        for sign, m, e, name in terms:
            rule[name] = float(m) if e is None else float(sign * m * 2.0**e)
        return rule
    parts = []
    for sign, m, e, prod in terms:
        c = f"{m}*2**{e}*{prod}"
        parts.append(("- " if sign < 0 else "+ ") + c)
    dw = " ".join(parts).lstrip("+ ") if parts else "0*u"
    if dw.startswith("- "):
        dw = "-" + dw[2:]
    used = set()
    for _, _, _, prod in terms:
        for p in parse_sum("1*" + prod):
            used |= {f.var for f in p.factors if f.var in TRACES}
    traces = {}
    for name in sorted(used):
        t = spec.space.traces[name]
        tau = float(params.get(f"{name}.tau", t.tau))
        traces[name] = {"impulse": 1.0 / tau if t.impulse == "1/tau" else float(t.impulse), "tau": tau}
    return {"template": "custom", "timing": spec.space.timing, "dw": dw, "traces": traces}


def describe(rule: dict) -> str:
    """One line: the rule's dw and its trace time constants (a template rule: its fields)."""
    if rule.get("template") != "custom":
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in rule.items())
    tr = ", ".join(f"tau_{k}={v['tau']:g}" for k, v in rule.get("traces", {}).items())
    return f"dw = {rule['dw']}" + (f"  ({tr})" if tr else "")
