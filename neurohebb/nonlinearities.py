"""Declared elementwise nonlinearities, shared by rate neurons and rule factors.

Each is ``f(x; gain, theta, power, slope)``:

=============  =====================================================
name           f(x)
=============  =====================================================
linear         gain * (x - theta)
relu           gain * max(x - theta, 0)
rect_power     gain * max(x - theta, 0) ** power   (quadratic rectifier: power 2)
power          gain * sign(x - theta) * |x - theta| ** power  (cube: power 3)
tanh           gain * tanh(slope * (x - theta))
sigmoid        gain / (1 + exp(-slope * (x - theta)))
exp            gain * exp(slope * (x - theta))
=============  =====================================================
"""
from __future__ import annotations

import numpy as np


def _linear(x, gain, theta, power, slope):
    return gain * (x - theta)


def _relu(x, gain, theta, power, slope):
    return gain * np.maximum(x - theta, 0.0)


def _rect_power(x, gain, theta, power, slope):
    return gain * np.maximum(x - theta, 0.0) ** power


def _power(x, gain, theta, power, slope):
    d = x - theta
    return gain * np.sign(d) * np.abs(d) ** power


def _tanh(x, gain, theta, power, slope):
    return gain * np.tanh(slope * (x - theta))


def _sigmoid(x, gain, theta, power, slope):
    return gain / (1.0 + np.exp(-slope * (x - theta)))


def _exp(x, gain, theta, power, slope):
    return gain * np.exp(slope * (x - theta))


FUNCTIONS = {
    "linear": _linear,
    "relu": _relu,
    "rect_power": _rect_power,
    "power": _power,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "exp": _exp,
}


def evaluate(spec, x):
    """Apply a :class:`neurohebb.ir.Nonlinearity` to the array ``x``."""
    f = FUNCTIONS[spec.name]
    return f(x, spec.gain, spec.theta, spec.power, spec.slope).astype(x.dtype, copy=False)
