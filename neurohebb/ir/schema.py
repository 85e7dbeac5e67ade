"""The network IR: small, parameters-only nodes.  Each docstring states the
discrete-time equations; :mod:`neurohebb.backends.reference` executes them and
is the executable specification every other backend is tested against.

Units: every duration (trace time constants, delays, refractory periods, spike
times) is in **time steps**; rates are in Hz; ``run.dt`` is in ms and only
converts Hz to per-step probabilities (and labels plots).

One step ``t`` of a network, in order:

1. every population reads its input ``I[t] = sum_p W_p(t) @ a_pre[t - 1 - delay_p]``
   (a spike or activity emitted at step ``s`` arrives ``1 + delay`` steps later);
2. every population updates its state and emits ``a[t]`` (spikes 0/1, or a
   graded activity for rate neurons and float arrays); prescribed populations
   emit their prescribed train instead;
3. every plastic projection updates its traces from the *arriving* pre activity
   ``a_pre[t - 1 - delay]`` and the post activity ``a_post[t]``, evaluates its
   rule (see :mod:`neurohebb.rules.algebra` for the timing of traces) and
   applies ``w += dw`` (clipped to ``bounds``), ``e += de``;
4. probes record.
"""
from __future__ import annotations

import math

import re
from typing import Any, ClassVar, Dict, List, Literal, Optional, Tuple, Union

import numpy as np
from pydantic import Field, field_validator, model_validator
from typing_extensions import Annotated

from ..rules import TEMPLATES
from .common import Array, Model, NonNegInt, Nonlinearity, PosInt

FORMAT_VERSION = "1.0"
#: names of populations, projections, modulators and probes: ASCII identifiers
#: (checked with ``fullmatch``, so a trailing newline is not part of a name)
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}", re.ASCII)
#: the document's ``name`` (output files are named after it): letters, digits,
#: ``_``, ``-`` and ``.``, not starting with ``.`` or ``-``
DOC_NAME_RE = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-]{0,99})?", re.ASCII)
#: ``function: "package.module:factory"`` of an external population
FUNCTION_RE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"  # rust regex: $ ends the text


# ----------------------------------------------------------------- sources
class SpikeTimes(Model):
    """Explicit spikes: neuron ``k`` emits a spike at each step in ``times[k]``."""

    is_source: ClassVar[bool] = True  # emits a prescribed train; has no state or input
    type: Literal["spike_times"] = "spike_times"
    n: Optional[PosInt] = None
    times: List[List[NonNegInt]]


class Poisson(Model):
    """Independent Bernoulli spikes, ``P(spike at step t) = rate * dt / 1000``.

    ``rates`` (Hz): a number, one per neuron (n,), or one per step and neuron
    (steps, n); a shorter schedule repeats.
    """

    is_source: ClassVar[bool] = True  # emits a prescribed train; has no state or input
    type: Literal["poisson"] = "poisson"
    n: Optional[PosInt] = None
    rates: Array


class ArraySource(Model):
    """Activity from an array (steps, n): booleans are spikes, numbers a graded
    activity (rate inputs).  ``repeat`` cycles a shorter array; without it the
    array must cover every step."""

    is_source: ClassVar[bool] = True  # emits a prescribed train; has no state or input
    type: Literal["array"] = "array"
    n: Optional[PosInt] = None
    values: Array
    repeat: bool = False

    @property
    def graded(self) -> bool:
        """True when the activity carries values (anything but 0 and 1), not spikes."""
        v = np.asarray(self.values)
        return bool(v.size) and not bool(np.all((v == 0) | (v == 1)))


Source = Annotated[Union[SpikeTimes, Poisson, ArraySource], Field(discriminator="type")]


# ----------------------------------------------------------------- neurons
class LIF(Model):
    """Discrete-time current-based LIF (Lava's ``LIF``/``LIFRefractory`` float model)::

        u[t] = u[t-1] * (1 - du) + I[t]
        v[t] = v[t-1] * (1 - dv) + u[t] + bias        (not while refractory)
        spike if v[t] > vth;  then v[t] = v_reset and the neuron is
        refractory (v held at v_reset) for the next ``refractory`` steps.

    ``prescribed`` replaces the output spikes (teacher forcing); the state is
    then not simulated.
    """

    type: Literal["lif"] = "lif"
    n: PosInt
    du: float = Field(ge=0, le=1, description="current decay per step")
    dv: float = Field(ge=0, le=1, description="voltage decay per step")
    vth: float = Field(gt=0)
    bias: Array = 0.0
    refractory: NonNegInt = 0
    v_reset: float = 0.0
    v_init: Array = 0.0
    prescribed: Optional[Source] = None


class Rate(Model):
    """Rate neuron: ``v[t] = I[t] + bias``,  ``a[t] = f(v[t])`` with the declared
    ``nonlinearity`` (default linear).  ``prescribed`` replaces ``a``."""

    type: Literal["rate"] = "rate"
    n: PosInt
    nonlinearity: Nonlinearity = Nonlinearity()
    bias: Array = 0.0
    prescribed: Optional[Source] = None


class LIFDendritic(Model):
    """A LIF soma (as ``lif``) with ``branches`` dendritic compartments per neuron
    that produce NMDA-like plateaus (all-or-none, fixed amplitude and duration).
    A projection onto it names the branch its synapses sit on
    (``Projection.branch``); without one its synapses sit on the soma.  For
    branch ``b`` of neuron ``i`` (``I_b``: the summed input of the projections
    with ``branch: b``; ``I``: of those without a branch)::

        s_b[t] = s_b[t-1] * (1 - dd) + I_b[t]                  passive branch potential
        q_b[t] = max(q_b[t-1] - 1, 0);
                 if q_b[t] == 0 and s_b[t] > plateau_threshold:  q_b[t] = plateau_steps
        P_b[t] = 1 if q_b[t] > 0 else 0                        plateau indicator
        d_b[t] = s_b[t] + plateau_amplitude * P_b[t]           branch voltage (the rule's d)
        u[t]   = u[t-1] * (1 - du) + I[t]
        v[t]   = v[t-1] * (1 - dv) + u[t] + bias + sum_b coupling_b * d_b[t]
                                                               (not while refractory)
        spike if v[t] > vth;  then v[t] = v_reset and v is held there for the
        next ``refractory`` steps (the branches keep integrating).

    A plateau therefore starts in the step in which the passive potential
    crosses ``plateau_threshold`` and lasts exactly ``plateau_steps`` steps; it
    restarts at once if the potential is still above threshold when it ends
    (sustained input prolongs it).  A sustained plateau adds
    ``coupling_b * plateau_amplitude / dv`` to the soma's ``v`` at steady state
    (for ``dv > 0``): ``coupling_b / dv`` is the branch-to-soma attenuation.
    Somatic spikes do not propagate back into the branches.  An unreachable
    ``plateau_threshold`` (e.g. ``1e30``) models NMDA block: the branches stay
    passive.  ``coupling``: one number or one per branch (proximal vs distal).
    Voltages are in the soma's units (rest 0).
    """

    type: Literal["lif_dendritic"] = "lif_dendritic"
    n: PosInt
    du: float = Field(ge=0, le=1, description="somatic current decay per step")
    dv: float = Field(ge=0, le=1, description="somatic voltage decay per step")
    vth: float = Field(gt=0)
    bias: Array = 0.0
    refractory: NonNegInt = 0
    v_reset: float = 0.0
    v_init: Array = 0.0
    branches: PosInt = Field(description="dendritic branches per neuron")
    dd: float = Field(ge=0, le=1, description="branch potential decay per step")
    plateau_threshold: float = Field(description="passive branch potential that starts a plateau")
    plateau_amplitude: float = Field(ge=0, description="plateau voltage added to the branch, soma units")
    plateau_steps: PosInt = Field(description="plateau duration in steps")
    coupling: Array = Field(description="branch-to-soma coupling per step: a number or one per branch")


class External(Model):
    """A closed-loop population computed on the host (an environment, an agent,
    a task): at step ``t`` its activity is::

        a[t] = f(t, {P: a_P[t-1] for P in reads})

    a vector of ``n`` values (0/1 when ``spiking``), from a Python step function
    ``f`` that sees the previous step's activity of the populations in ``reads``
    (and nothing else).  It takes no projections as input; other populations
    read it through projections and modulators (``type: population``) like any
    source.  ``f`` is bound at run time (``run(net, externals={"env": f})``) or
    named here: ``function: "package.module:factory"`` is imported and called
    once per run as ``factory(**params)``, which returns ``f``.  External
    populations run on the reference (float) and Nengo backends (a
    ``nengo.Node``); the fixed-point mode, the chip targets and Lava refuse them.
    """

    type: Literal["external"] = "external"
    n: PosInt
    spiking: bool = False
    reads: List[str] = []
    function: Optional[str] = Field(None, pattern=FUNCTION_RE, max_length=200)
    params: Dict[str, Any] = {}


Population = Annotated[Union[SpikeTimes, Poisson, ArraySource, LIF, Rate, LIFDendritic, External],
                       Field(discriminator="type")]

#: the population types that are sources (``is_source``)
SOURCE_TYPES = ("spike_times", "poisson", "array")


# ----------------------------------------------------------------- weights
class WConstant(Model):
    """``w_ij = value``."""

    init: Literal["constant"] = "constant"
    value: float
    clip_to_bounds: bool = False


class WUniform(Model):
    """``w_ij ~ U(low, high)``."""

    init: Literal["uniform"] = "uniform"
    low: float
    high: float
    clip_to_bounds: bool = False

    @model_validator(mode="after")
    def _order(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        return self


class WNormal(Model):
    """``w_ij ~ N(mean, std^2)``."""

    init: Literal["normal"] = "normal"
    mean: float = 0.0
    std: float = Field(ge=0)
    clip_to_bounds: bool = False


class WGaussianArbor(Model):
    """Pre and post neurons on 2-D grids (row-major); post ``i`` sits at ``c_i``
    on the pre grid (grids aligned by their centres, scaled to the pre grid)::

        w_ij = amplitude * exp(-|p_j - c_i|^2 / (2 sigma^2))    (+ N(0, noise^2))
    """

    init: Literal["gaussian_arbor"] = "gaussian_arbor"
    amplitude: float
    sigma: float = Field(gt=0, description="in pre-grid units")
    pre_shape: Tuple[PosInt, PosInt]
    post_shape: Tuple[PosInt, PosInt]
    noise: float = Field(0.0, ge=0)
    clip_to_bounds: bool = False


class WArray(Model):
    """Explicit weights of shape (post, pre)."""

    init: Literal["array"] = "array"
    values: Array
    clip_to_bounds: bool = False


class WList(Model):
    """One weight per synapse of a ``from_list`` connectivity, in the order of
    its ``pairs``."""

    init: Literal["list"] = "list"
    values: Array
    clip_to_bounds: bool = False


Weights = Annotated[Union[WConstant, WUniform, WNormal, WGaussianArbor, WArray, WList], Field(discriminator="init")]


# ----------------------------------------------------------------- connectivity
class AllToAll(Model):
    """Every pre neuron to every post neuron."""

    type: Literal["all_to_all"] = "all_to_all"


class OneToOne(Model):
    """``pre k -> post k``; needs equal sizes."""

    type: Literal["one_to_one"] = "one_to_one"


class FixedProbability(Model):
    """Each synapse exists independently with probability ``p``; ``allow_self``
    false removes ``i == j`` (recurrent projections)."""

    type: Literal["fixed_probability"] = "fixed_probability"
    p: float = Field(ge=0, le=1)
    allow_self: bool = True


class GaussianConnectivity(Model):
    """Linsker's synaptic density: synapse ``ij`` exists with probability
    ``p_max * exp(-|p_j - c_i|^2 / (2 sigma^2))`` (grids as in ``gaussian_arbor``)."""

    type: Literal["gaussian_arbor"] = "gaussian_arbor"
    p_max: float = Field(1.0, ge=0, le=1)
    sigma: float = Field(gt=0)
    pre_shape: Tuple[PosInt, PosInt]
    post_shape: Tuple[PosInt, PosInt]


class Mask(Model):
    """Explicit boolean mask of shape (post, pre)."""

    type: Literal["mask"] = "mask"
    values: Array


class FixedIndegree(Model):
    """Every post neuron receives exactly ``k`` synapses from distinct pre
    neurons drawn uniformly (``allow_self`` false excludes pre ``i`` for post
    ``i``).  Random weight inits draw one value per synapse, in (post, pre)
    order."""

    type: Literal["fixed_indegree"] = "fixed_indegree"
    k: NonNegInt
    allow_self: bool = True


class FixedOutdegree(Model):
    """Every pre neuron sends exactly ``k`` synapses to distinct post neurons
    drawn uniformly (``allow_self`` as in ``fixed_indegree``).  Random weight
    inits draw one value per synapse, in (post, pre) order."""

    type: Literal["fixed_outdegree"] = "fixed_outdegree"
    k: NonNegInt
    allow_self: bool = True


class DistanceConnectivity(Model):
    """Distance-dependent: pre and post neurons on 2-D grids (placed as in
    ``gaussian_arbor``); synapse ``ij`` exists with probability
    ``p_max * exp(-|p_j - c_i| / scale)`` when ``|p_j - c_i| <= max_distance``
    (no cut-off when omitted), in pre-grid units.  Random weight inits draw one
    value per synapse, in (post, pre) order."""

    type: Literal["distance"] = "distance"
    p_max: float = Field(1.0, ge=0, le=1)
    scale: float = Field(gt=0, description="decay length, in pre-grid units")
    max_distance: Optional[float] = Field(None, gt=0)
    pre_shape: Tuple[PosInt, PosInt]
    post_shape: Tuple[PosInt, PosInt]


class FromList(Model):
    """Explicit synapses: ``pairs`` is a list of ``[post, pre]`` indices
    (each pair at most once).  Their initial weights come from the
    projection's ``weights`` (``init: list`` gives one value per pair, in this
    order; random inits draw one value per synapse in (post, pre) order)."""

    type: Literal["from_list"] = "from_list"
    pairs: Array


Connectivity = Annotated[
    Union[AllToAll, OneToOne, FixedProbability, GaussianConnectivity, Mask, FixedIndegree, FixedOutdegree, FromList,
          DistanceConnectivity],
    Field(discriminator="type")
]

RuleSpec = Annotated[Union[tuple(TEMPLATES.values())], Field(discriminator="template")]


class Projection(Model):
    """Synapses ``pre -> post`` with weights ``W`` (post x pre); absent synapses
    (connectivity) hold 0 and never learn.

    ``sign``: ``excitatory`` needs ``w >= 0``, ``inhibitory`` ``w <= 0``, ``mixed``
    either.  ``bounds`` ``[w_min, w_max]`` clip every learning update (and the
    initial weights only when the init says ``clip_to_bounds``); the default
    bounds follow the sign.  ``delay``: extra axonal delay in steps (total
    latency ``1 + delay``).  ``branch``: for a ``lif_dendritic`` post, the
    dendritic branch (``0 .. branches-1``) every synapse of this projection
    sits on (its input goes to ``I_b`` and a rule reads that branch's voltage
    as ``d``); omitted, the synapses sit on the soma.  To spread one input
    population over several branches, declare one projection per branch
    (with ``mask`` connectivity).  ``layout`` chooses how the reference
    stores the synapses (results do not depend on it): ``dense`` a (post, pre)
    matrix, ``sparse`` one entry per existing synapse (memory proportional to
    the synapse count; event-driven rules touch only the synapses of neurons
    that spiked), ``auto`` sparse when the connectivity's density is below
    ``neurohebb.ir.layout.AUTO_DENSITY``.
    """

    pre: str
    post: str
    weights: Weights
    connectivity: Connectivity = AllToAll()
    sign: Literal["excitatory", "inhibitory", "mixed"] = "mixed"
    delay: NonNegInt = 0
    bounds: Optional[Tuple[Optional[float], Optional[float]]] = None
    rule: Optional[RuleSpec] = None
    branch: Optional[NonNegInt] = Field(None, description="lif_dendritic post: the branch the synapses sit on")
    layout: Literal["auto", "dense", "sparse"] = Field(
        "auto", description="reference storage of the synapses: dense (post x pre) matrix, sparse (one entry per "
                            "synapse), or auto (sparse below a density threshold)")

    def effective_bounds(self) -> tuple[float, float]:
        lo, hi = (None, None) if self.bounds is None else self.bounds
        inf = float("inf")
        lo = -inf if lo is None else lo
        hi = inf if hi is None else hi
        if self.sign == "excitatory":
            lo = max(lo, 0.0)
        elif self.sign == "inhibitory":
            hi = min(hi, 0.0)
        return lo, hi


# ----------------------------------------------------------------- modulators
class _ModBase(Model):
    """``r[t] = exp(-1/tau) r[t-1] + s[t]`` (``tau`` = 0: ``r = s``), with
    ``s`` from the source below; ``scope`` global (one value) or per_post (one
    value per post neuron of the projection that reads it)."""

    scope: Literal["global", "per_post"] = "global"
    tau: float = Field(0.0, ge=0)

    @property
    def decay(self) -> float:
        """``exp(-1/tau)``, 0 for ``tau`` = 0 (no memory)."""
        return math.exp(-1.0 / self.tau) if self.tau > 0 else 0.0


class ModArray(_ModBase):
    """``s[t] = values[t]``: shape (steps,) or (steps, n_post)."""

    type: Literal["array"] = "array"
    values: Array
    repeat: bool = False


class ModConstant(_ModBase):
    """``s[t] = value``."""

    type: Literal["constant"] = "constant"
    value: float


class ModPulses(_ModBase):
    """``s[t] = amplitude`` for ``times[k] <= t < times[k] + width``, else 0."""

    type: Literal["pulses"] = "pulses"
    times: List[NonNegInt]
    amplitude: float = 1.0
    width: PosInt = 1


class ModSine(_ModBase):
    """``s[t] = offset + amplitude * sin(2 pi t / period + phase)``."""

    type: Literal["sine"] = "sine"
    amplitude: float = 1.0
    period: float = Field(gt=0)
    phase: float = 0.0
    offset: float = 0.0


class ModStep(_ModBase):
    """``s[t] = before`` for ``t < at``, else ``after``."""

    type: Literal["step"] = "step"
    at: NonNegInt
    before: float = 0.0
    after: float = 1.0


class ModPopulation(_ModBase):
    """``s[t] = gain * (a_P[t-1] - baseline)`` from population ``P``'s activity
    of the previous step; ``global`` scope averages over P's neurons,
    ``per_post`` needs P as large as the post population."""

    type: Literal["population"] = "population"
    population: str
    gain: float = 1.0
    baseline: float = 0.0


Modulator = Annotated[
    Union[ModArray, ModConstant, ModPulses, ModSine, ModStep, ModPopulation], Field(discriminator="type")
]


# ----------------------------------------------------------------- probes, run
POP_VARS = {"lif": ("spikes", "v", "u", "input"),
            "lif_dendritic": ("spikes", "v", "u", "input", "branch_v", "plateau", "branch_input"), "rate": ("output", "v", "input"),
            "spike_times": ("spikes",), "poisson": ("spikes",), "array": ("output",),
            "external": ("output", "spikes")}
PROJ_VARS = ("weights", "e", "x1", "x2", "y1", "y2", "y3")
MOD_VARS = ("r",)


class Probe(Model):
    """Record ``var`` of ``target`` (a population, projection or modulator)
    every ``every`` steps, after the step's updates.  A ``lif_dendritic``
    population's ``branch_v`` (``d``), ``plateau`` (``P``) and ``branch_input``
    (``I_b``) are recorded with shape ``(n, branches)``."""

    target: str
    var: str
    every: PosInt = 1


class Run(Model):
    """Run settings.  The same document and seed give bit-identical results."""

    dt: float = Field(1.0, gt=0, description="ms per step")
    steps: PosInt = 1000
    seed: int = Field(0, ge=0, le=2**32 - 1)
    dtype: Literal["float64", "float32"] = "float64"


class Network(Model):
    """A network document: populations, projections (with plasticity),
    modulators (third factors), probes and run settings."""

    format_version: str = FORMAT_VERSION
    name: str = ""
    description: str = ""
    populations: Dict[str, Population]
    projections: Dict[str, Projection] = {}
    modulators: Dict[str, Modulator] = {}
    probes: Dict[str, Probe] = {}
    run: Run = Run()

    @field_validator("format_version")
    @classmethod
    def _version(cls, v):
        if v != FORMAT_VERSION:
            raise ValueError(f"found {v!r}; this neurohebb reads format_version {FORMAT_VERSION!r}")
        return v

    @field_validator("populations", "projections", "modulators", "probes")
    @classmethod
    def _names(cls, v):
        for k in v:
            if not isinstance(k, str) or not NAME_RE.fullmatch(k):
                raise ValueError(f"name {k!r} is not an identifier (ASCII letters, digits, _; not starting with a "
                                 "digit; at most 100 characters)")
        return v

    @field_validator("name")
    @classmethod
    def _doc_name(cls, v):
        if not DOC_NAME_RE.fullmatch(v):
            raise ValueError(f"name {v!r}: allowed are ASCII letters, digits, _, - and . (not first), at most 100 "
                             "characters (output files are named after it)")
        return v

    @field_validator("populations")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("a network needs at least one population")
        return v
