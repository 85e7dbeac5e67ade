"""The plasticity algebra: every rule is a sum of products of local variables.

Per synapse (post ``i``, pre ``j``) a rule is::

    dw_ij = sum_k  c_k * D_k * F_k1 * F_k2 * ...        (and optionally de_ij)

* ``D_k`` is the product's **dependency**: ``x0`` (pre spike arriving this
  step), ``y0`` (post spike this step) or ``u`` (every step).  For graded (rate)
  populations ``x0``/``y0`` carry the activity value, so a term triggered by
  them scales with it.
* each factor ``F`` is a variable or a bracket ``(var + c)``:

  ======  ============================================================
  x1 x2   presynaptic traces   (per pre neuron j, see below)
  y1 y2   postsynaptic traces  (per post neuron i)
  y3
  r       third factor (modulator), global or per post neuron
  v       the post neuron's state: membrane voltage (LIF) or input + bias
          (rate neuron).  Not a Loihi learning-engine variable.
  d       the voltage ``d_b`` of the dendritic branch the synapse sits on
          (``lif_dendritic`` post, projection with ``branch: b``): passive
          potential plus the NMDA-like plateau.  Per post neuron, like v; a
          branch-gated rule reads it through a declared function, e.g.
          ``relu`` with ``theta`` between the passive and the plateau range.
          Not a Loihi learning-engine variable.
  w       the weight w_ij
  e       the eligibility / tag e_ij (a second synaptic variable, updated
          by ``de``)
  f(var)  a declared elementwise nonlinearity of a pre- or post-level
          variable (``functions:``); outside the Loihi algebra.
  ======  ============================================================

  **Non-local partner variables** (the rule names a ``partner`` projection
  ``P`` running the other way: ``P.pre`` has this projection's post size,
  ``P.post`` its pre size; credit assignment, Kunin et al. 2020).  They read
  what this synapse cannot see: the reference float backend and the nengo
  simulator run them; the compiler (fixed point, Lava) and nengo_loihi
  refuse them:

  ======  ============================================================
  wT      the partner's weight ``W_P[j, i]`` (the transposed weight)
  xp      (post level) the partner's arriving pre activity at ``i``
  vp      (pre level) the partner's post state ``v`` at ``j``
  bx      (pre level) ``sum_i w_ij xp_i``: xp sent back through this
          projection's own weights
  bv      (post level) ``sum_j w_ij vp_j``: vp sent through them
  xi      a fresh standard normal number per synapse and step (noise)
  ======  ============================================================

  Partner variables (and ``xi``) are read before any learning of the step:
  ``wT`` is ``W_P`` before its own update in this step.

* traces: ``z[t] = exp(-1/tau) * z[t-1] + impulse * a[t]`` with ``a`` the
  (arriving) pre or the post activity; ``tau = 0`` means no memory
  (``z[t] = impulse * a[t]``, a rate read-out).  ``tau`` is in steps.

Timing (what a product sees when spikes fall in the current step):

* ``exclusive`` (default, NEST's all-to-all convention): products with
  dependency ``x0`` or ``y0`` read every trace as it was *before* this step's
  impulses (decayed, impulse not yet added), so a spike never pairs with itself
  or with a partner in the same step.  Products with dependency ``u`` read the
  traces *after* the impulses (a rate estimate that includes the present).
* ``inclusive`` (Lava / Loihi learning engine): every product reads the traces
  after this step's impulses.

All products of one step read the state (w, e, traces) before any of the
step's updates; then ``w += dw`` and ``e += de`` are applied together and
``w`` is clipped to the projection's bounds.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Mapping

DEPENDENCIES = ("x0", "y0", "u")
PRE_TRACES = ("x1", "x2")
POST_TRACES = ("y1", "y2", "y3")
TRACES = PRE_TRACES + POST_TRACES
POST_LEVEL = POST_TRACES + ("r", "v", "d") + ("xp", "bv")
PRE_LEVEL = PRE_TRACES + ("vp", "bx")
SYNAPTIC = ("w", "e") + ("wT", "xi")
#: non-local variables: need the rule's ``partner`` projection (xi: noise, no partner)
PARTNER_VARS = ("wT", "xp", "vp", "bx", "bv")
NONLOCAL_VARS = PARTNER_VARS + ("xi",)
FACTOR_VARS = PRE_LEVEL + POST_LEVEL + SYNAPTIC
ALL_VARS = DEPENDENCIES + FACTOR_VARS
TIMINGS = ("exclusive", "inclusive")
#: limits of a rule: products in dw + de, factors in one product, characters of an expression
MAX_PRODUCTS = 64
MAX_FACTORS = 16
MAX_EXPRESSION = 4000


def check_trace_names(traces):
    """``traces`` (a mapping keyed by trace name) unchanged, or ValueError naming
    the first unknown name and the known ones (pydantic field validators)."""
    bad = [k for k in traces if k not in TRACES]
    if bad:
        raise ValueError(f"unknown trace {bad[0]!r}; known: {', '.join(TRACES)}")
    return traces


class RuleSyntaxError(ValueError):
    """A rule expression that is not a sum of products of known variables."""


@dataclass(frozen=True)
class Factor:
    """``var + offset`` (a bracket when offset != 0), or ``fn(var)`` when ``fn`` is set."""

    var: str
    offset: float = 0.0
    fn: str | None = None

    @property
    def level(self) -> str:
        if self.var in PRE_LEVEL:
            return "pre"
        if self.var in POST_LEVEL:
            return "post"
        return "synapse"

    def __str__(self) -> str:
        if self.fn:
            return f"{self.fn}({self.var})"
        if self.offset == 0:
            return self.var
        sign = "+" if self.offset > 0 else "-"
        return f"({self.var} {sign} {_num(abs(self.offset))})"


@dataclass(frozen=True)
class Product:
    """``coeff * dep * prod(factors)``."""

    coeff: float
    dep: str
    factors: tuple[Factor, ...] = ()

    def vars(self) -> set[str]:
        return {f.var for f in self.factors}

    def __str__(self) -> str:
        return "*".join([_num(self.coeff), self.dep] + [str(f) for f in self.factors])


@dataclass(frozen=True)
class TraceSpec:
    """A trace ``z[t] = exp(-1/tau) z[t-1] + impulse a[t]`` (tau in steps, 0: no memory)."""

    impulse: float = 1.0
    tau: float = 0.0

    @property
    def decay(self) -> float:
        return 0.0 if self.tau == 0 else math.exp(-1.0 / self.tau)


@dataclass(frozen=True)
class Rule:
    """An expanded rule: what every backend receives."""

    dw: tuple[Product, ...]
    de: tuple[Product, ...] = ()
    traces: Mapping[str, TraceSpec] = field(default_factory=dict)
    functions: Mapping[str, object] = field(default_factory=dict)  # name -> Nonlinearity
    timing: str = "exclusive"
    modulator: str | None = None
    template: str = "custom"
    partner: str | None = None  # the projection whose variables wT, xp, vp, bx, bv read

    def nonlocal_vars(self) -> list[str]:
        """The non-local variables (:data:`NONLOCAL_VARS`) the rule reads, in order."""
        used = self.used_vars()
        return [v for v in NONLOCAL_VARS if v in used]

    def products(self):
        return self.dw + self.de

    def used_vars(self) -> set[str]:
        out: set[str] = set()
        for p in self.products():
            out |= p.vars()
            out.add(p.dep)
        return out

    def equations(self) -> dict[str, str]:
        eq = {"dw": format_sum(self.dw)}
        if self.de:
            eq["de"] = format_sum(self.de)
        return eq

    def __str__(self) -> str:
        return "; ".join(f"{k} = {v}" for k, v in self.equations().items())


def format_sum(products) -> str:
    if not products:
        return "0"
    s = " + ".join(str(p) for p in products)
    return s.replace("+ -", "- ")


def _num(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


# --------------------------------------------------------------------------- parser
def parse_sum(text: str, functions: Mapping[str, object] = ()) -> tuple[Product, ...]:
    """Parse ``"0.01*y0*x1 - 0.0105*x0*y1"`` into products.

    Grammar: a sum (``+``/``-``) of products (``*``) of numbers (``2**-5`` is a
    number), variables, brackets ``(var + c)`` / ``(var - c)`` and declared
    functions ``f(var)``.  Each product needs exactly one dependency
    (x0, y0 or u).
    """
    if not isinstance(text, str) or not text.strip():
        raise RuleSyntaxError("expected a non-empty expression such as '0.01*u*x1*y1'")
    if len(text) > MAX_EXPRESSION:
        raise RuleSyntaxError(f"the expression has {len(text)} characters; at most {MAX_EXPRESSION} are allowed")
    try:
        tree = ast.parse(text, mode="eval").body
        terms: list[tuple[float, ast.AST]] = []
        _split_sum(tree, 1.0, terms)
    except SyntaxError as exc:
        raise RuleSyntaxError(f"cannot parse {text!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise RuleSyntaxError("the expression is nested too deeply (or has too many factors)") from None
    if len(terms) > MAX_PRODUCTS:
        raise RuleSyntaxError(f"{len(terms)} products; a rule may have at most {MAX_PRODUCTS}")
    try:
        return tuple(_product(sign, node, text, functions) for sign, node in terms)
    except RecursionError:
        raise RuleSyntaxError("the expression is nested too deeply (or has too many factors)") from None


def _split_sum(node, sign, out):
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) and not _is_bracket(node):
        _split_sum(node.left, sign, out)
        _split_sum(node.right, -sign if isinstance(node.op, ast.Sub) else sign, out)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _split_sum(node.operand, -sign, out)
    else:
        out.append((sign, node))


def _is_bracket(node) -> bool:
    """``var +/- number`` (a bracket factor)."""
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, (ast.Add, ast.Sub))
        and isinstance(node.left, ast.Name)
        and _const(node.right) is not None
    )


def _const(node):
    """Evaluate a numeric literal expression (numbers, unary -, **, *, /), else
    None; RuleSyntaxError for a number that is not real and finite."""
    v = _const_raw(node)
    if v is not None and (not isinstance(v, float) or not math.isfinite(v)):
        raise RuleSyntaxError(f"{ast.unparse(node)} is {v!r}; a coefficient must be a real, finite number")
    return v


def _const_raw(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        try:
            return float(node.value)
        except OverflowError:
            return math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _const_raw(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.Div, ast.Mult)):
        a, b = _const_raw(node.left), _const_raw(node.right)
        if a is None or b is None:
            return None
        if not (isinstance(a, float) and isinstance(b, float) and math.isfinite(a) and math.isfinite(b)):
            return complex("nan") if isinstance(a, complex) or isinstance(b, complex) else math.inf
        try:
            if isinstance(node.op, ast.Pow):
                v = a**b
            elif isinstance(node.op, ast.Div):
                v = a / b if b != 0 else math.inf
            else:
                v = a * b
        except OverflowError:
            return math.inf
        except ZeroDivisionError:  # 0.0 ** negative
            return math.inf
        return v if isinstance(v, float) else complex(v)
    return None


def _flatten_mul(node, out):
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and _const(node) is None:
        _flatten_mul(node.left, out)
        _flatten_mul(node.right, out)
    else:
        out.append(node)


def _product(sign, node, text, functions) -> Product:
    parts: list[ast.AST] = []
    _flatten_mul(node, parts)
    coeff = sign
    deps: list[str] = []
    factors: list[Factor] = []
    for p in parts:
        c = _const(p)
        if c is not None:
            coeff *= c
            continue
        if isinstance(p, ast.UnaryOp) and isinstance(p.op, ast.USub):
            coeff = -coeff
            p = p.operand
        if isinstance(p, ast.Name):
            name = p.id
            if name in DEPENDENCIES:
                deps.append(name)
            elif name in FACTOR_VARS:
                factors.append(Factor(name))
            else:
                raise RuleSyntaxError(f"unknown variable {name!r} in {text!r}; known: {', '.join(ALL_VARS)}")
        elif _is_bracket(p):
            name = p.left.id
            off = _const(p.right) * (1 if isinstance(p.op, ast.Add) else -1)
            if name not in FACTOR_VARS:
                raise RuleSyntaxError(
                    f"bracket ({ast.unparse(p)}) in {text!r}: {name!r} cannot be bracketed; allowed: {', '.join(FACTOR_VARS)}"
                )
            factors.append(Factor(name, off))
        elif isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and len(p.args) == 1 and not p.keywords:
            fn = p.func.id
            if fn not in functions:
                raise RuleSyntaxError(
                    f"function {fn!r} in {text!r} is not declared; declare it under 'functions:' (declared: {', '.join(functions) or 'none'})"
                )
            arg = p.args[0]
            if not isinstance(arg, ast.Name) or arg.id not in PRE_LEVEL + POST_LEVEL:
                raise RuleSyntaxError(
                    f"{ast.unparse(p)} in {text!r}: a function takes one pre- or post-level variable ({', '.join(PRE_LEVEL + POST_LEVEL)})"
                )
            factors.append(Factor(arg.id, 0.0, fn))
        else:
            raise RuleSyntaxError(
                f"{ast.unparse(p)!r} in {text!r} is not a factor; a rule is a sum of products of numbers, "
                f"variables, brackets (var + c) and declared functions"
            )
    if len(deps) != 1:
        raise RuleSyntaxError(
            f"product {_short(ast.unparse(node))!r} has {len(deps)} dependencies ({', '.join(deps[:5]) or 'none'}); "
            "each product needs exactly one of x0, y0, u"
        )
    if len(factors) > MAX_FACTORS:
        raise RuleSyntaxError(f"product {_short(ast.unparse(node))!r} has {len(factors)} factors; at most "
                              f"{MAX_FACTORS} are allowed")
    if not math.isfinite(coeff):
        raise RuleSyntaxError(f"product {_short(ast.unparse(node))!r}: its coefficient is {coeff}; a coefficient "
                              "must be a real, finite number")
    return Product(coeff, deps[0], tuple(factors))


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."
