"""Nengo backend: the IR as a ``nengo.Network``.

>>> from neurohebb.backends import nengo as nb
>>> net, handles = nb.build(network)           # embed in a larger Nengo model
>>> res = nb.run(network)                      # nengo.Simulator, same Result as the reference
>>> res = nb.run(network, simulator="nengo_loihi")   # nengo_loihi emulator (Loihi 1)

See docs/backends/nengo.md for the lowering and what runs where.
"""
from __future__ import annotations

from .learning import IRRule, SimIRRule, build_ir_rule
from .lowering import Handles, build, nengo_precision
from .neurons import IRLIF, IRRate, Prescribed, Relay
from .processes import Delay, ModulatorProcess, SourceProcess
from .loihi import effective_weights, loihi_available, plan_placement, run_loihi
from .simulator import NAME, PRECISIONS, SIMULATORS, collect, run

__all__ = ["build", "run", "collect", "Handles", "IRRule", "SimIRRule", "build_ir_rule", "IRLIF", "IRRate",
           "Prescribed", "Relay", "Delay", "SourceProcess", "ModulatorProcess", "nengo_precision", "NAME",
           "PRECISIONS", "SIMULATORS", "plan_placement", "run_loihi", "effective_weights", "loihi_available"]
