"""``NHNeuron``: the IR's LIF population as a Lava Process, with the learning
ports Lava's ``LearningLIF`` declares but never drives.

One IR step is one Lava time step (``time_step = t + 1``).  ``run_spk``:

1. ``a_in``: the synaptic input ``I[t]`` (float; fixed: integer units of the
   compiled program); ``p_in``: prescribed spikes (teacher forcing, the IR's
   ``prescribed``) when the population is prescribed; ``r_in``: the third
   factor of step ``t`` when a three-factor projection reads ``r``;
2. the IR's current-based LIF with refractory period and ``v_reset``
   (float: the reference's operations in the same order; fixed: the
   reference's fixed mode = Lava's ``PyLifModelBitAcc`` plus refractory/reset);
3. when a three-factor (``Loihi3FLearningRule``) projection ends here: the
   post traces that projection's rule uses, computed as Lava's learning engine
   computes them (float: ``y = exp(-1/tau) y + impulse s``; fixed: stochastic
   decay and impulse rounding with a ``TraceRandom`` seeded like the
   engine's post-trace stream), and ``r`` in its slot;
4. sends ``s_out`` (spikes), ``s_out_bap`` (the same spikes, for the
   learning engine: Lava's ``LearningLIF`` never sends it, so a connected
   ``s_in_bap`` hangs) and ``s_out_y1..3``.

Recording (probes) happens inside the model: ``spikes_rec`` (steps, n) and
``rec_v``/``rec_u``/``rec_input`` rows at the steps in ``rec``.  With a
``dump`` path the model also writes them (``.npz``) after its last step
(``steps``): Lava's ``Var.get()`` sends an array one element per message, which
takes seconds for large arrays.
"""
import math

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.learning.random import TraceRandom
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

REC_VARS = ("v", "u", "input")


class NHNeuron(AbstractProcess):
    """IR LIF population (or a prescribed one) with bAP and post-trace outputs.

    Parameters (all go to ``proc_params``): ``n``, ``steps``, ``lif`` (dict of
    the model's parameters, see the models), ``prescribed`` (bool: spikes come
    from ``p_in``), ``three_factor`` (None or dict, see the models),
    ``has_r`` (``r_in`` is connected), ``rec`` ({var: sorted list of steps}).
    """

    def __init__(self, *, n, steps, lif=None, prescribed=False, three_factor=None, has_r=False, rec=None,
                 v_init=None, dump=None, name=None, **kwargs):
        rec = rec or {}
        super().__init__(n=n, steps=steps, lif=lif, prescribed=prescribed, three_factor=three_factor, has_r=has_r,
                         rec=rec, dump=dump, name=name, **kwargs)
        shape = (n,)
        self.a_in = InPort(shape=shape)
        self.p_in = InPort(shape=shape)
        self.r_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.s_out_bap = OutPort(shape=shape)
        self.s_out_y1 = OutPort(shape=shape)
        self.s_out_y2 = OutPort(shape=shape)
        self.s_out_y3 = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=np.zeros(n) if v_init is None else np.asarray(v_init))
        self.refrac_left = Var(shape=shape, init=0)
        self.y = Var(shape=(3, n), init=0)
        self.counts = Var(shape=(2,), init=0)  # fixed: u wraps, v saturations
        self.spikes_rec = Var(shape=(steps, n), init=0)
        for var in REC_VARS:
            k = len(rec.get(var, ()))
            setattr(self, f"rec_{var}", Var(shape=(max(k, 1), n), init=0))


class _Base(PyLoihiProcessModel):
    """What both precisions share: port order, recording, sends."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        pp = proc_params
        self.n = pp["n"]
        self.lifp = pp["lif"] or {}
        self.prescribed = pp["prescribed"]
        self.tf = pp["three_factor"]
        self.has_r = pp["has_r"]
        self.rec = {k: {t: i for i, t in enumerate(v)} for k, v in pp["rec"].items()}
        self.steps = pp["steps"]
        self.dump = pp.get("dump")

    # subclasses: _lif_step(I) -> spikes (bool array); _traces(s, r) -> (3, n) values to send
    def run_spk(self):
        t = self.time_step - 1
        I = self.a_in.recv()
        if self.prescribed:
            s = self.p_in.recv() != 0
        else:
            s = self._lif_step(I)
        r = self.r_in.recv() if self.has_r else None
        self.spikes_rec[t] = s
        for var, rows in self.rec.items():
            row = rows.get(t)
            if row is not None:
                getattr(self, f"rec_{var}")[row] = I if var == "input" else getattr(self, var)
        out = self._spike_out(s)
        self.s_out.send(out)
        self.s_out_bap.send(out)
        if self.tf is not None:
            Y = self._traces(s, r)
            self.y[:] = Y
            self.s_out_y1.send(Y[0])
            self.s_out_y2.send(Y[1])
            self.s_out_y3.send(Y[2])
        if self.dump and self.time_step == self.steps:
            arrays = {"spikes_rec": self.spikes_rec, "counts": self.counts}
            for var in self.rec:
                arrays[f"rec_{var}"] = getattr(self, f"rec_{var}")
            np.savez(self.dump, **arrays)


@implements(proc=NHNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyNHNeuronFloat(_Base):
    """Float: the reference simulator's LIF (``kernels.lif_step``) operation for
    operation, vectorized: ``u = u*(1-du) + I``; unless refractory
    ``v = v*(1-dv) + u + bias``; spike if ``v > vth``, then ``v = v_reset``
    and ``refractory`` steps of refractoriness.

    ``three_factor`` (float): ``{"rows": [spec, spec, spec]}`` for y1, y2, y3,
    each None, ``{"kind": "trace", "tau": .., "impulse": ..}`` or
    ``{"kind": "r"}``."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    p_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    r_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_bap: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    refrac_left: np.ndarray = LavaPyType(np.ndarray, int)
    y: np.ndarray = LavaPyType(np.ndarray, float)
    counts: np.ndarray = LavaPyType(np.ndarray, int)
    spikes_rec: np.ndarray = LavaPyType(np.ndarray, bool)
    rec_v: np.ndarray = LavaPyType(np.ndarray, float)
    rec_u: np.ndarray = LavaPyType(np.ndarray, float)
    rec_input: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = self.lifp
        if not self.prescribed:
            self.kdu = 1.0 - float(p["du"])
            self.kdv = 1.0 - float(p["dv"])
            self.vth = float(p["vth"])
            self.bias = np.broadcast_to(np.asarray(p["bias"], float), (self.n,)).copy()
            self.v_reset = float(p["v_reset"])
            self.R = int(p["refractory"])
        if self.tf is not None:
            rows = self.tf["rows"]
            self.ydec = np.array([0.0 if not r or r["kind"] != "trace" or r["tau"] == 0
                                  else math.exp(-1.0 / r["tau"]) for r in rows])
            self.yimp = np.array([r["impulse"] if r and r["kind"] == "trace" else 0.0 for r in rows])
            self.is_trace = [bool(r) and r["kind"] == "trace" for r in rows]
            self.is_r = [bool(r) and r["kind"] == "r" for r in rows]
            self.Ytr = np.zeros((3, self.n))

    def _lif_step(self, I):
        u, v = self.u, self.v
        u[:] = u * self.kdu + I
        refr = self.refrac_left > 0
        self.refrac_left[refr] -= 1
        act = ~refr
        v[act] = v[act] * self.kdv + u[act] + self.bias[act]
        s = v > self.vth
        v[s] = self.v_reset
        self.refrac_left[s] = self.R
        return s

    def _spike_out(self, s):
        return s.astype(float)

    def _traces(self, s, r):
        a = s.astype(float)
        Y = np.zeros((3, self.n))
        for k in range(3):
            if self.is_trace[k]:
                # the reference's kernels.update_traces: after = a * impulse + after_prev * decay
                self.Ytr[k] = a * self.yimp[k] + self.Ytr[k] * self.ydec[k]
                Y[k] = self.Ytr[k]
            elif self.is_r[k]:
                Y[k] = r
        return Y


@implements(proc=NHNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyNHNeuronFixed(_Base):
    """Fixed point: the reference fixed mode's LIF (``fixed_kernels.lif_step``),
    i.e. Lava's ``PyLifModelBitAcc`` with the IR's refractory period and reset:
    ``u = sgn(u (D - du)) (|.| >> bits) + (I << 6)`` (wrapping at 24 bits),
    ``v`` likewise (saturating) plus ``bias_mant << bias_exp``, spike if
    ``v > vth << 6``.

    ``three_factor`` (fixed): ``{"rows": [...], "seed": s, "max": 127,
    "random_bits": 7}``, a trace row ``{"kind": "trace", "tau", "imp_int",
    "imp_frac"}``; the trace randoms are a ``TraceRandom(s, s + 1)`` advanced
    twice per step, as ``LearningConnectionModelBitApproximate`` advances its
    post-trace stream (seed = the projection's trace seed + 2)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    p_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    r_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_bap: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    u: np.ndarray = LavaPyType(np.ndarray, np.int64)
    v: np.ndarray = LavaPyType(np.ndarray, np.int64)
    refrac_left: np.ndarray = LavaPyType(np.ndarray, np.int64)
    y: np.ndarray = LavaPyType(np.ndarray, np.int64)
    counts: np.ndarray = LavaPyType(np.ndarray, np.int64)
    spikes_rec: np.ndarray = LavaPyType(np.ndarray, bool)
    rec_v: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_u: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_input: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = self.lifp
        if not self.prescribed:
            self.D = np.int64(1) << int(p["decay_bits"])
            self.db = int(p["decay_bits"])
            self.du = int(p["du_eff"])
            self.dv = int(p["dv_eff"])
            self.sh = int(p["activation_shift"])
            self.bias = np.broadcast_to(np.asarray(p["bias_eff"], np.int64), (self.n,)).copy()
            self.vth_eff = int(p["vth_eff"])
            self.v_reset = int(p["v_reset"])
            self.R = int(p["refractory"])
            self.smax = int(p["smax"])
            self.wrap = bool(p["u_wrap"])
        if self.tf is not None:
            rows = self.tf["rows"]
            self.is_trace = [bool(r) and r["kind"] == "trace" for r in rows]
            self.is_r = [bool(r) and r["kind"] == "r" for r in rows]
            self.taus = [r["tau"] if self.is_trace[k] else 0 for k, r in enumerate(rows)]
            self.ii = [int(r["imp_int"]) if self.is_trace[k] else 0 for k, r in enumerate(rows)]
            self.fr = [int(r["imp_frac"]) if self.is_trace[k] else 0 for k, r in enumerate(rows)]
            self.zmax = int(self.tf["max"])
            s0 = int(self.tf["seed"])
            self.rand = TraceRandom(seed_trace_decay=s0, seed_impulse_addition=s0 + 1)
            self.Ytr = np.zeros((3, self.n), np.int64)

    @staticmethod
    def _decay(x, D, db, d):
        y = x * (D - d)
        return np.where(y >= 0, y >> db, -((-y) >> db))

    def _lif_step(self, I):
        I = np.asarray(I, np.int64)
        smax = self.smax
        nu = self._decay(self.u, self.D, self.db, self.du) + (I << self.sh)
        if self.wrap:
            hi, lo = nu > smax, nu <= -smax
            self.counts[0] += int(hi.sum() + lo.sum())
            nu = np.where(hi, nu - 2 * smax, np.where(lo, nu + 2 * smax, nu))
        else:
            c = np.clip(nu, -(smax - 1), smax - 1)
            self.counts[0] += int((c != nu).sum())
            nu = c
        self.u[:] = nu
        act = (self.refrac_left == 0) if self.R else np.ones(self.n, bool)
        self.refrac_left[~act] -= 1
        nv = self._decay(self.v, self.D, self.db, self.dv) + nu + self.bias
        c = np.clip(nv, -(smax - 1), smax - 1)
        self.counts[1] += int((c != nv)[act].sum())
        self.v[act] = c[act]
        s = self.v > self.vth_eff
        self.v[s] = self.v_reset
        if self.R:
            self.refrac_left[s] = self.R
        return s

    def _spike_out(self, s):
        return s.astype(np.int32)

    def _traces(self, s, r):
        # Lava's post-trace stream advances twice per step (before and after the bAP)
        self.rand.advance()
        self.rand.advance()
        rd, ri = self.rand.random_trace_decay, self.rand.random_impulse_addition
        Y = np.zeros((3, self.n), np.int64)
        for k in range(3):
            if self.is_trace[k]:
                z = self.Ytr[k]
                if self.taus[k] != 0:
                    # LearningConnectionModelBitApproximate._decay_trace
                    x = np.exp(-1 / np.float64(self.taus[k])) * z
                    frac = x % 1
                    z = (np.floor(x) + (rd < frac)).astype(np.int64)
                else:
                    z = np.zeros(self.n, np.int64)
                # _add_impulse on the spiking neurons
                zi = z[s] + self.ii[k] + int(ri < self.fr[k])
                z[s] = np.clip(zi, 0, self.zmax)
                self.Ytr[k] = z
                Y[k] = z
            elif self.is_r[k]:
                Y[k] = r
        return Y
