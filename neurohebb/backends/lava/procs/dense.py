"""``NHDense`` (static) and ``NHLearningDense`` (plastic): Lava's Dense and
LearningDense with the IR's timing.

Timing.  The IR delivers ``I[t] = W(t) @ a_pre[t - 1 - delay]`` with ``W(t)``
the weights *after* the learning of step ``t - 1``, and the learning of step
``t`` pairs the spike that *arrives* at the synapse at ``t`` (emitted at
``t - 1 - delay``) with the post spike of step ``t``.  Lava's ``Dense``
delivers ``W @ s(t - 1)`` at ``t`` with the weights of step ``t - 1`` *before*
its learning phase, and ``LearningDense`` learns from the spike it receives at
``t`` (emitted at ``t``).  So ``run_spk`` here keeps the received spikes in a
ring of ``delay + 1`` steps and, at step ``t``, (1) sends ``W @ a_pre[t - 1 -
delay]`` computed with the current weights (= after step ``t - 1``'s learning),
(2) receives ``a_pre[t]``, (3) hands ``a_pre[t - 1 - delay]`` (the arriving
spike) and the bAP of step ``t`` to Lava's learning engine
(``recv_traces``).  Lava's own learning phase (``run_lrn``) then runs
unchanged: traces, dependencies, products, stochastic rounding, saturation.

What the models change in Lava's ``LearningConnectionModelFloat`` /
``...BitApproximate`` (each documented in docs/backends/lava.md):

* float: rule coefficients and bracket constants are the IR's float values
  (Lava's rule grammar only holds ``m * 2^e`` literals and integer
  constants), spikes may be factors (``y0 * x0``: the exclusive-timing
  emulation), trace decays ``exp(-1/tau)`` are computed with ``math.exp`` as
  the reference does and a ``tau = 0`` trace holds one impulse (Lava's float
  model produces NaN, lava-nc #658); weights are clipped to the projection's
  bounds (Lava's float model clips only at 0 for a sign mode);
* fixed: the weight-rounding stream can be seeded (``round_seed``; Lava
  hard-wires ``ConnVarRandom`` seed 2);
* both: in three-factor mode the post traces received from the neuron are
  used as they are (Lava additionally decays them with tau = 65535 inside the
  epoch); absent synapses (connectivity mask) stay 0.
"""
import math

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.learning.learning_rule_applier import LearningRuleApplierFloat
from lava.magma.core.learning.random import ConnVarRandom
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.dense.models import PyLearningDenseModelBitApproximate, PyLearningDenseModelFloat
from lava.proc.dense.process import Dense, LearningDense
from lava.utils.weightutils import truncate_weights

from ....errors import UnsupportedFeature

REC_VARS = ("weights", "e", "x1", "x2", "y1", "y2", "y3")
_VAR_ATTR = {"weights": "weights", "e": "tag_1", "x1": "x1", "x2": "x2", "y1": "y1", "y2": "y2", "y3": "y3"}


class NHDense(Dense):
    """Static projection: ``I[t] = W @ a_pre[t - 1 - delay]`` (fixed: the sum of
    integer weights shifted by ``weight_exp``, ``>>`` flooring)."""

    def __init__(self, *, weights, delay=0, weight_exp=0, name=None, **kwargs):
        super().__init__(weights=weights, delay=int(delay), weight_exp=int(weight_exp), name=name, **kwargs)


class NHLearningDense(LearningDense):
    """Plastic projection (see the module docstring).  Extra parameters:
    ``delay``, ``weight_exp``, ``bounds`` (float lo, hi), ``mask`` (bool
    (post, pre) or None), ``float_rules`` ({"dw"|"dt": applier expression}),
    ``trace_params`` (float: {trace: (impulse, tau)}), ``round_seed`` (fixed;
    None: Lava's seed 2), ``rec`` ({var: sorted list of steps}), ``steps``,
    ``dump`` (a path: write the final weights, tags and recordings there as
    ``.npz`` after the last step, since ``Var.get()`` sends one element per
    message)."""

    def __init__(self, *, weights, learning_rule, delay=0, weight_exp=0, bounds=(-math.inf, math.inf), mask=None,
                 float_rules=None, trace_params=None, round_seed=None, rec=None, steps=1, dump=None, name=None,
                 **kwargs):
        rec = rec or {}
        super().__init__(weights=weights, learning_rule=learning_rule, delay=int(delay), weight_exp=int(weight_exp),
                         bounds=(float(bounds[0]), float(bounds[1])), mask=mask, float_rules=float_rules or {},
                         trace_params=trace_params or {}, round_seed=round_seed, rec=rec, steps=steps, dump=dump,
                         name=name, **kwargs)
        post, pre = weights.shape
        shapes = {"weights": (post, pre), "e": (post, pre), "x1": (pre,), "x2": (pre,), "y1": (post,),
                  "y2": (post,), "y3": (post,)}
        for var in REC_VARS:
            k = len(rec.get(var, ()))
            setattr(self, f"rec_{var}", Var(shape=(max(k, 1),) + shapes[var], init=0))


# ----------------------------------------------------------------------------- static
class _DelayRing:
    """Spikes received at steps t - delay .. t (read before write)."""

    def _ring_init(self, npre):
        self._depth = int(self.proc_params.get("delay", 0)) + 1
        self._ring = np.zeros((self._depth, npre), bool)

    def _arriving(self):
        """a_pre[t - 1 - delay] at Lava time step t + 1 (zeros before the start)."""
        return self._ring[(self.time_step - 1) % self._depth].copy()

    def _store(self, s):
        self._ring[(self.time_step - 1) % self._depth] = s


def _float_input(W, x):
    """W @ x for binary x, adding the columns of the spikes in ascending order
    (the reference simulator's summation order)."""
    out = np.zeros(W.shape[0])
    for j in np.flatnonzero(x):
        out += W[:, j]
    return out


def _fixed_input(W, x, wexp):
    acc = W[:, x].sum(axis=1, dtype=np.int64) if x.any() else np.zeros(W.shape[0], np.int64)
    return (acc << wexp) if wexp >= 0 else (acc >> -wexp)


@implements(proc=NHDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyNHDenseFloat(PyLoihiProcessModel, _DelayRing):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    num_message_bits: np.ndarray = LavaPyType(np.ndarray, int, precision=5)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._ring = None

    def run_spk(self):
        if self._ring is None:
            self._ring_init(self.weights.shape[1])
        self.a_out.send(_float_input(self.weights, self._arriving()))
        self._store(self.s_in.recv() != 0)


@implements(proc=NHDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyNHDenseFixed(PyLoihiProcessModel, _DelayRing):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=9)
    num_message_bits: np.ndarray = LavaPyType(np.ndarray, int, precision=5)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._ring = None
        self._wexp = int(proc_params.get("weight_exp", 0))

    def run_spk(self):
        if self._ring is None:
            self._ring_init(self.weights.shape[1])
        self.a_out.send(_fixed_input(self.weights, self._arriving(), self._wexp).astype(np.int32))
        self._store(self.s_in.recv() != 0)


# ----------------------------------------------------------------------------- plastic
class NHFloatApplier(LearningRuleApplierFloat):
    """Lava's float applier evaluating an expression built from the IR's float
    coefficients (same variables: ``x0``, ``y0``, ``u``, ``weights``, ``tag_1``,
    ``x1_y0`` ...)."""

    def __init__(self, product_series, expr):
        self._nh_expr = expr
        super().__init__(product_series)

    def _build_applier_str(self):
        return self._nh_expr


class _LearningMixin(_DelayRing):
    def _nh_setup(self):
        pp = self.proc_params
        self._ring = None
        m = pp.get("mask")
        self._mask = None if m is None else np.asarray(m, bool)
        self._3f = isinstance(self._learning_rule, Loihi3FLearningRule)
        self._rec = {k: {t: i for i, t in enumerate(v)} for k, v in pp["rec"].items()}
        self._steps = pp["steps"]
        self._dump = pp.get("dump")

    def run_spk(self):
        if self._ring is None:
            self._first_step()
        x = self._arriving()
        self.a_out.send(self._input(x))
        self._store(self.s_in.recv() != 0)
        self.recv_traces(x)

    def run_lrn(self):
        super().run_lrn()
        if self._mask is not None:
            self.weights = np.where(self._mask, self.weights, 0).astype(self.weights.dtype)
            if "tag_1" in self._learning_rule_appliers:
                self.tag_1 = np.where(self._mask, self.tag_1, 0).astype(self.tag_1.dtype)
        t = self.time_step - 1
        for var, rows in self._rec.items():
            row = rows.get(t)
            if row is not None:
                getattr(self, f"rec_{var}")[row] = getattr(self, _VAR_ATTR[var])
        if self._dump and self.time_step == self._steps:
            arrays = {"weights": self.weights, "tag_1": self.tag_1}
            for var in self._rec:
                arrays[f"rec_{var}"] = getattr(self, f"rec_{var}")
            np.savez(self._dump, **arrays)


@implements(proc=NHLearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyNHLearningDenseFloat(_LearningMixin, PyLearningDenseModelFloat):
    implements_process = None  # re-declared: the parent implements Lava's LearningDense
    tags = []
    rec_weights: np.ndarray = LavaPyType(np.ndarray, float)
    rec_e: np.ndarray = LavaPyType(np.ndarray, float)
    rec_x1: np.ndarray = LavaPyType(np.ndarray, float)
    rec_x2: np.ndarray = LavaPyType(np.ndarray, float)
    rec_y1: np.ndarray = LavaPyType(np.ndarray, float)
    rec_y2: np.ndarray = LavaPyType(np.ndarray, float)
    rec_y3: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._nh_setup()
        lo, hi = proc_params["bounds"]
        self._lo, self._hi = lo, hi
        tp = proc_params["trace_params"]

        def spec(names):
            imp = np.array([tp.get(k, (0.0, 0.0))[0] for k in names], float)
            dec = np.array([0.0 if tp.get(k, (0.0, 0.0))[1] == 0 else math.exp(-1.0 / tp[k][1]) for k in names])
            return imp[:, None], dec[:, None]

        self._ximp, self._xdec = spec(("x1", "x2"))
        self._yimp, self._ydec = spec(("y1", "y2", "y3"))

    def _first_step(self):
        self._ring_init(self.weights.shape[1])

    def _input(self, x):
        return _float_input(self.weights, x)

    def _create_learning_rule_applier(self, product_series):
        return NHFloatApplier(product_series, self.proc_params["float_rules"][product_series.target])

    def _compute_trace_histories(self):
        """t_epoch = 1: after = impulse * spike + before * exp(-1/tau), as the
        reference's ``kernels.update_traces`` (tau = 0: one impulse)."""
        if self._learning_rule.t_epoch != 1:
            raise UnsupportedFeature(f"lava emulate: learning epoch t_epoch = {self._learning_rule.t_epoch}; "
                                     "this process model runs t_epoch = 1 only")
        X, Y = self._x_traces, self._y_traces
        xs = (self.tx == 1).astype(float)[None, :]
        Xh = np.stack([X, xs * self._ximp + X * self._xdec])
        if self._3f:
            Yh = np.stack([Y, Y])
        else:
            ys = (self.ty == 1).astype(float)[None, :]
            Yh = np.stack([Y, ys * self._yimp + Y * self._ydec])
        return Xh, Yh

    def _saturate_synaptic_variable(self, name, values):
        if name == "weights":
            return np.clip(values, self._lo, self._hi)
        return values


@implements(proc=NHLearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyNHLearningDenseFixed(_LearningMixin, PyLearningDenseModelBitApproximate):
    implements_process = None  # re-declared: the parent implements Lava's LearningDense
    tags = []
    rec_weights: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_e: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_x1: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_x2: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_y1: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_y2: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_y3: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._nh_setup()
        self._wexp = int(proc_params.get("weight_exp", 0))

    def _init_randoms(self):
        super()._init_randoms()
        seed = self.proc_params.get("round_seed")
        if seed is not None:
            self._conn_var_random = ConnVarRandom(seed_stochastic_rounding=int(seed))

    def _first_step(self):
        self._ring_init(self.weights.shape[1])
        # as PyLearningDenseModelBitApproximate.run_spk at its first step (a no-op on compiled weights)
        if not self.weights_set:
            self.weights = truncate_weights(self.weights, sign_mode=self.sign_mode,
                                            num_weight_bits=self.num_weight_bits)
            self.weights_set = True

    def _input(self, x):
        return _fixed_input(self.weights, x, self._wexp).astype(np.int32)

    def _compute_trace_histories(self):
        Xh, Yh = super()._compute_trace_histories()
        if self._3f:
            Yh[1:] = Yh[0]
        return Xh, Yh
