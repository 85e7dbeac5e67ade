"""Nengo neuron types that execute the IR's discrete-time neuron equations.

All of them work in IR units: a spike is ``1`` (not Nengo's ``1/dt``), one
Nengo step is one IR step (``dt`` is ignored), and the input ``J`` is the
IR's synaptic input ``I[t]`` (the ensembles are built with ``gain = 1`` and
``bias = 0``, so Nengo adds nothing to it).  Each ``step`` follows
:mod:`neurohebb.backends.reference.simulator` operation by operation, so the
float results are the reference's.
"""
from __future__ import annotations

import numpy as np
from nengo.dists import Choice
from nengo.neurons import NeuronType
from nengo.params import IntParam, NdarrayParam, NumberParam, Parameter, StringParam

from ... import nonlinearities


def _vec(values, n=None):
    """A float64 vector: length 1 when every value is the same, else (n,)."""
    a = np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
    if a.size > 1 and np.all(a == a[0]):
        a = a[:1].copy()
    return a if (n is None or a.size == 1) else np.broadcast_to(a, (n,)).copy()


def _fit(a, n, dtype):
    """Per-neuron parameter ``a`` for ``n`` neurons.  Nengo's optimizer merges
    the operators of equal neuron types (same parameters, so same ``a``) into
    one over the concatenated populations: tile ``a`` over them."""
    a = a.astype(dtype, copy=False)
    if a.shape[0] == n or a.shape[0] == 1:
        return a
    return np.tile(a, (n // a.shape[0],) + (1,) * (a.ndim - 1))


class _IRNeuronType(NeuronType):
    """Every IR neuron type here takes its input in IR units: the lowering gives
    the ensembles gain 1 and bias 0 (``_ensemble``), so Nengo's gain/bias
    solving is never used; these give that identity mapping."""

    def gain_bias(self, max_rates, intercepts):
        n = np.size(max_rates)
        return np.ones(n), np.zeros(n)

    def max_rates_intercepts(self, gain, bias):
        n = np.size(gain)
        return np.zeros(n), np.zeros(n)


class IRLIF(_IRNeuronType):
    """The IR's current-based LIF (:class:`neurohebb.ir.schema.LIF`), step for step::

        u[t] = u[t-1] * (1 - du) + J[t]
        v[t] = v[t-1] * (1 - dv) + u[t] + bias      (held while refractory)
        spike if v[t] > vth; then v = v_reset, refractory for ``refractory`` steps.

    State (probeable): ``current`` (u), ``voltage`` (v), ``refractory_time``
    (steps left).  Output: 1 on a spike step, else 0.
    """

    state = {"current": Choice([0.0]), "voltage": Choice([0.0]), "refractory_time": Choice([0.0])}
    spiking = True

    du = NumberParam("du", low=0, high=1, readonly=True)
    dv = NumberParam("dv", low=0, high=1, readonly=True)
    vth = NumberParam("vth", readonly=True)
    bias = NdarrayParam("bias", shape=("*",), readonly=True)
    refractory = IntParam("refractory", low=0, readonly=True)
    v_reset = NumberParam("v_reset", readonly=True)

    def __init__(self, du, dv, vth, bias=0.0, refractory=0, v_reset=0.0, v_init=0.0, n=None):
        v0 = None if n is None else np.broadcast_to(np.asarray(v_init, dtype=np.float64), (n,)).copy()
        super().__init__(initial_state={"voltage": v0} if n is not None else None)
        self.du = float(du)
        self.dv = float(dv)
        self.vth = float(vth)
        self.bias = _vec(bias, n)
        self.refractory = int(refractory)
        self.v_reset = float(v_reset)

    @classmethod
    def from_ir(cls, spec, n):
        return cls(spec.du, spec.dv, spec.vth, spec.bias, spec.refractory, spec.v_reset, spec.v_init, n=n)

    def step(self, dt, J, output, current, voltage, refractory_time):
        dtype = voltage.dtype.type
        du, dv = dtype(self.du), dtype(self.dv)
        bias = np.broadcast_to(_fit(self.bias, voltage.shape[0], voltage.dtype), voltage.shape)
        current *= (1 - du)
        current += J
        if self.refractory:
            active = refractory_time == 0
            refractory_time[~active] -= 1
            voltage[active] = voltage[active] * (1 - dv) + current[active] + bias[active]
        else:
            voltage *= (1 - dv)
            voltage += current
            voltage += bias
        spk = voltage > self.vth
        voltage[spk] = self.v_reset
        if self.refractory:
            refractory_time[spk] = self.refractory
        output[...] = spk


class _Nonlin:
    """The attributes :func:`neurohebb.nonlinearities.evaluate` reads."""

    def __init__(self, name, gain, theta, power, slope):
        self.name, self.gain, self.theta, self.power, self.slope = name, gain, theta, power, slope


class IRRate(_IRNeuronType):
    """The IR's rate neuron (:class:`neurohebb.ir.schema.Rate`)::

        v[t] = J[t] + bias,   a[t] = f(v[t])

    with the declared nonlinearity ``f``.  State (probeable): ``voltage`` (v).
    """

    state = {"voltage": Choice([0.0])}
    spiking = False

    bias = NdarrayParam("bias", shape=("*",), readonly=True)
    fname = StringParam("fname", readonly=True)
    fgain = NumberParam("fgain", readonly=True)
    ftheta = NumberParam("ftheta", readonly=True)
    fpower = NumberParam("fpower", readonly=True)
    fslope = NumberParam("fslope", readonly=True)

    def __init__(self, bias=0.0, name="linear", gain=1.0, theta=0.0, power=2.0, slope=1.0, n=None):
        super().__init__()
        self.bias = _vec(bias, n)
        self.fname, self.fgain, self.ftheta, self.fpower, self.fslope = str(name), gain, theta, power, slope

    @classmethod
    def from_ir(cls, spec, n):
        f = spec.nonlinearity
        return cls(spec.bias, f.name, f.gain, f.theta, f.power, f.slope, n=n)

    @property
    def nonlinearity(self):
        return _Nonlin(self.fname, self.fgain, self.ftheta, self.fpower, self.fslope)

    def step(self, dt, J, output, voltage):
        np.add(J, _fit(self.bias, voltage.shape[0], voltage.dtype), out=voltage)
        output[...] = nonlinearities.evaluate(self.nonlinearity, voltage)


class Prescribed(_IRNeuronType):
    """A population whose output is prescribed (teacher forcing): output[t] =
    ``train[t]`` (rows repeat when ``repeat``; zero past the end otherwise);
    the input is ignored, as in the reference.  ``step`` (probeable) counts the
    steps taken."""

    state = {"step": Choice([0.0])}

    train = NdarrayParam("train", shape=("*", "*"), readonly=True)
    repeat = Parameter("repeat", readonly=True)
    spiking_train = Parameter("spiking_train", readonly=True)

    def __init__(self, train, repeat=False, spiking=True):
        super().__init__()
        self.train = np.asarray(train)
        self.repeat = bool(repeat)
        self.spiking_train = bool(spiking)

    @property
    def spiking(self):
        return self.spiking_train

    def step(self, dt, J, output, step):
        k = int(step[0])
        rows = self.train.shape[0]
        if k < rows or self.repeat:
            row = self.train[k % rows]
            output[...] = row if row.shape == output.shape else np.tile(row, output.shape[0] // row.shape[0])
        else:
            output[...] = 0
        step += 1


class Relay(_IRNeuronType):
    """Identity "axon" neurons: ``output[t] = J[t]`` (``spiking``: ``J[t] != 0``,
    i.e. 1 per spike whatever the amplitude the input carries, e.g. Nengo's
    ``1/dt`` from a nengo_loihi chip probe).  The lowering feeds them through a
    :class:`~.processes.Delay` synapse, so a relay's output is its
    population's activity ``1 + delay`` steps ago: the activity arriving at the
    synapses of a projection (the learned connection's ``pre``)."""

    state = {}
    relay_spikes = Parameter("relay_spikes", readonly=True)

    def __init__(self, spiking=False):
        super().__init__()
        self.relay_spikes = bool(spiking)

    @property
    def spiking(self):
        return self.relay_spikes

    def step(self, dt, J, output):
        if self.relay_spikes:
            output[...] = J != 0
        else:
            output[...] = J
