"""The search spec: what is searched, what it is scored by, on which target.

A spec is a YAML file (or a dict); every field is checked here and a bad one
raises :class:`SearchSpecError` naming the file and the field::

    name: oja_spiking                      # default: the file's stem
    description: rediscover Oja's rule      # optional
    objective:
      experiment: oja_pca                  # a sims/ experiment ...
      part: spiking                        # ... optionally one of its PARTS
      document: network_spiking.yaml       # the document that holds the projection (compiled first)
      metric: spiking_cos_pc1_mean         # a key of run_sim(...)["metrics"]
      direction: maximize                  # or minimize
      short: true                          # the experiment's short protocol
      seeds: [1]                           # score = mean over these run seeds
      # instead of experiment/metric: a user's function
      # function: mypkg.objectives:score   (or path/to/file.py:score)
      # network: path/to/network.yaml      (the document the function's rule goes into)
    projection: w                          # the projection whose rule is searched
    target: loihi2                         # hardware config every candidate is compiled for
    evaluate: {backend: reference, precision: fixed}
    space:
      timing: inclusive
      mantissa: [1, 7]                     # |mantissa| of every coefficient (default: the target's)
      exponent: [-12, -4]                  # coefficient = sign * mantissa * 2**exponent (document units);
                                           # searched as one ordinal index into the sorted grid of these values
      traces:
        x1: {tau: [5, 50]}                 # [low, high]: integer steps, log-uniform; a number: fixed
        x2: {tau_choices: [100, 200, 400]} # or one of these
        y1: {tau: 20, impulse: 1}          # impulse: a number, or "1/tau" (trace = rate per step, mean independent of tau)
      terms:
        - {product: "y0*x1", sign: positive}            # always present
        - {product: "y0", sign: negative, optional: true}
        - {product: "y0*y1*w", sign: both, optional: true, exponent: [-14, -8]}
      # or a template's fields (template: alignment, fixed: {partner: w_out, eta: 1.0}):
      #   - {param: decay, sign: positive, optional: true}      # coefficient from the grid
      #   - {param: tau_plus, values: [10, 20, 40]}             # or one of these values
      # drop_unused: [partner, modulator]   # fixed fields removed when the validator says a candidate does not use them
    budget: {trials: 60, timeout_s: null}  # trials: candidates in the study (evaluated + not expressible)
    sampler: {name: tpe, seed: 0, startup_trials: 10}   # tpe | random (Optuna)
    workers: 2                             # local Dask workers (processes)
    scheduler_address: null                # tcp://host:8786: use an existing Dask cluster instead
    storage: null                          # default <out>/<name>.journal (Optuna JournalStorage)
    recheck: {top: 3, seeds: [2, 3], float: true, lava: true, lava_steps: 1000}   # seeds: re-score on other seeds
    references:                            # hand-written rules scored the same way, shown next to the best
      - {label: "Oja (hand-written)", rule: {template: custom, dw: "...", traces: {...}}}
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Literal, Optional, Tuple, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import NeurohebbError
from ..rules.algebra import TRACES, RuleSyntaxError, check_trace_names, parse_sum


class SearchSpecError(NeurohebbError):
    """A search spec that cannot be used; the message names the file and field."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


IntRange = Tuple[int, int]


def _check_range(v, what):
    if v is not None and v[0] > v[1]:
        raise ValueError(f"{what}: lower end {v[0]} is above upper end {v[1]}")
    return v


class Objective(_M):
    experiment: Optional[str] = None
    part: Optional[str] = None
    document: str = "network.yaml"
    metric: Optional[str] = None
    function: Optional[str] = None
    network: Optional[str] = None
    direction: Literal["maximize", "minimize"] = "maximize"
    short: bool = True
    seeds: List[int] = Field(default_factory=lambda: [1], min_length=1)

    @model_validator(mode="after")
    def _one_kind(self):
        if self.function is not None:
            if self.experiment is not None or self.metric is not None:
                raise ValueError("give either function (with network) or experiment with metric, not both")
            if self.network is None:
                raise ValueError("function needs network: the document whose projection gets the candidate rule")
            if not re.match(r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$", self.function):
                raise ValueError(f"function {self.function!r} is not 'module:function' or 'path/file.py:function'")
        else:
            if self.experiment is None:
                raise ValueError("needs experiment (a sims/ experiment) and metric, or function and network")
            if self.metric is None:
                raise ValueError(f"needs metric: the key of experiment {self.experiment!r}'s metrics to optimise")
        return self


class TraceSpace(_M):
    tau: Union[IntRange, float] = 20.0
    tau_choices: Optional[List[float]] = None
    impulse: Union[Literal["1/tau"], float] = 1.0

    @field_validator("impulse")
    @classmethod
    def _impulse(cls, v):
        if not isinstance(v, str) and v <= 0:
            raise ValueError(f"impulse {v}: must be > 0, or '1/tau' (the trace is then a rate per step)")
        return v

    @model_validator(mode="after")
    def _per_tau(self):
        taus = self.tau_choices if self.tau_choices is not None else (
            list(self.tau) if isinstance(self.tau, tuple) else [self.tau])
        if self.impulse == "1/tau" and min(taus) <= 0:
            raise ValueError("impulse '1/tau' needs time constants > 0")
        return self

    @field_validator("tau")
    @classmethod
    def _tau(cls, v):
        if isinstance(v, tuple):
            _check_range(v, "tau")
            if v[0] < 1:
                raise ValueError(f"tau range starts at {v[0]}; a searched time constant is >= 1 step")
        elif v < 0:
            raise ValueError(f"tau {v}: time constants are >= 0 (0 = no memory)")
        return v

    @field_validator("tau_choices")
    @classmethod
    def _choices(cls, v):
        if v is not None and (not v or any(t < 0 for t in v)):
            raise ValueError("tau_choices: a non-empty list of time constants >= 0")
        return v


class Term(_M):
    product: Optional[str] = None
    param: Optional[str] = None
    sign: Literal["positive", "negative", "both"] = "both"
    optional: bool = False
    mantissa: Optional[IntRange] = None
    exponent: Optional[IntRange] = None
    values: Optional[List[float]] = None

    @model_validator(mode="after")
    def _one(self):
        if (self.product is None) == (self.param is None):
            raise ValueError("a term names either product (a custom rule's product) or param (a template's field)")
        if self.values is not None and not self.values:
            raise ValueError("values: an empty list of choices")
        return self

    @field_validator("product")
    @classmethod
    def _product(cls, v):
        if v is None:
            return v
        try:
            prods = parse_sum("1*" + v)
        except RuleSyntaxError as exc:
            raise ValueError(f"product {v!r}: {exc}") from None
        if len(prods) != 1:
            raise ValueError(f"product {v!r} is a sum; give one product per term")
        if prods[0].coeff != 1:
            raise ValueError(f"product {v!r} has a number in it; the coefficient is searched")
        return v

    @field_validator("mantissa", "exponent")
    @classmethod
    def _rng(cls, v, info):
        return _check_range(v, info.field_name)


class Space(_M):
    template: str = "custom"
    fixed: dict = {}
    drop_unused: List[str] = []
    timing: Literal["exclusive", "inclusive"] = "inclusive"
    mantissa: Optional[IntRange] = None
    exponent: IntRange = (-12, -4)
    traces: dict[str, TraceSpace] = {}
    terms: List[Term] = Field(min_length=1)

    @field_validator("mantissa", "exponent")
    @classmethod
    def _rng(cls, v, info):
        return _check_range(v, info.field_name)

    @field_validator("traces")
    @classmethod
    def _trace_names(cls, v):
        return check_trace_names(v)

    @model_validator(mode="after")
    def _traces_declared(self):
        from ..rules import TEMPLATES

        if self.template not in TEMPLATES:
            raise ValueError(f"template {self.template!r} is not a rule template; known: {', '.join(TEMPLATES)}")
        if self.template != "custom":
            fields = set(TEMPLATES[self.template].model_fields) - {"template"}
            for i, t in enumerate(self.terms):
                if t.param is None:
                    raise ValueError(f"terms[{i}]: template {self.template!r} is searched by its fields: give param, "
                                     f"one of {', '.join(sorted(fields))}")
                if t.param not in fields:
                    raise ValueError(f"terms[{i}].param: {t.param!r} is not a field of template {self.template!r}; "
                                     f"known: {', '.join(sorted(fields))}")
            bad = sorted(set(self.fixed) - fields)
            if bad:
                raise ValueError(f"fixed: {bad[0]!r} is not a field of template {self.template!r}; "
                                 f"known: {', '.join(sorted(fields))}")
            return self
        if self.fixed:
            raise ValueError("fixed: only for a template other than custom (a custom rule is its terms and traces)")
        for i, t in enumerate(self.terms):
            if t.product is None:
                raise ValueError(f"terms[{i}]: a custom rule is searched by products: give product (e.g. y0*x1)")
            for p in parse_sum("1*" + t.product):
                for f in p.factors:
                    if f.var in TRACES and f.var not in self.traces:
                        raise ValueError(f"terms[{i}] ({t.product}) uses trace {f.var!r} but traces does not declare it "
                                         f"(add traces: {{{f.var}: {{tau: 20}}}})")
        return self


class Budget(_M):
    trials: int = Field(40, ge=1)
    timeout_s: Optional[float] = Field(None, gt=0)


class Sampler(_M):
    name: Literal["tpe", "random"] = "tpe"
    seed: Optional[int] = 0
    startup_trials: int = Field(10, ge=1, description="TPE: random candidates before the model is used")


class Evaluate(_M):
    backend: Literal["reference"] = "reference"
    precision: Literal["fixed", "float"] = "fixed"


class Recheck(_M):
    top: int = Field(3, ge=0)
    seeds: List[int] = []
    float: bool = True
    lava: bool = True
    lava_steps: int = Field(1000, ge=1)


class Reference(_M):
    label: str
    rule: dict


class SearchSpec(_M):
    name: Optional[str] = None
    description: str = ""
    objective: Objective
    projection: str
    target: str = "loihi2"
    evaluate: Evaluate = Evaluate()
    space: Space
    budget: Budget = Budget()
    sampler: Sampler = Sampler()
    workers: int = Field(2, ge=1)
    scheduler_address: Optional[str] = None
    storage: Optional[str] = None
    recheck: Recheck = Recheck()
    references: List[Reference] = []
    #: where the spec was read from (set by load_spec; relative paths resolve against its folder)
    source: Optional[str] = None

    @field_validator("scheduler_address")
    @classmethod
    def _addr(cls, v):
        if v is not None and not re.match(r"^(tcp|tls|inproc|ucx|ws|wss)://", v):
            raise ValueError(f"{v!r} is not a Dask scheduler address (tcp://host:port)")
        return v

    def resolve(self, path: Optional[str]) -> Optional[Path]:
        """``path`` relative to the spec's folder (absolute paths unchanged)."""
        if path is None:
            return None
        p = Path(path)
        if not p.is_absolute() and self.source:
            cand = Path(self.source).parent / p
            if cand.exists() or not p.exists():
                return cand
        return p


def _format(exc: ValidationError, source: str) -> str:
    lines = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        if e["type"] == "literal_error":
            msg = f"{e.get('input')!r} is not allowed; {msg.lower()}"
        lines.append(f"{source}: {loc}: {msg}")
    return "\n".join(lines)


def load_spec(spec, **overrides) -> SearchSpec:
    """A :class:`SearchSpec` from a YAML path, a dict or itself; ``overrides``
    replace top-level fields (e.g. ``budget={"trials": 10}``)."""
    import yaml

    source = "search spec"
    if isinstance(spec, SearchSpec):
        data = spec.model_dump()
        source = spec.source or source
    elif isinstance(spec, dict):
        data = dict(spec)
    else:
        path = Path(spec)
        if not path.is_file():
            raise SearchSpecError(f"{path}: search spec not found")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise SearchSpecError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise SearchSpecError(f"{path}: a search spec is a mapping (name, objective, projection, space, ...)")
        source = str(path)
        data.setdefault("name", path.stem)
        data["source"] = source
    for k, v in overrides.items():
        if v is not None:
            data[k] = v
    try:
        s = SearchSpec.model_validate(data)
    except ValidationError as exc:
        raise SearchSpecError(_format(exc, source)) from None
    if s.name is None:
        s.name = "search"
    if not re.match(r"^[A-Za-z0-9_.-]+$", s.name):
        raise SearchSpecError(f"{source}: name: {s.name!r} must be letters, digits, _ . - (it names the output files)")
    return s
