"""The compiler: a network and a hardware config -> a program and a report.

>>> program, report = neurohebb.compile(net, backend="reference", hardware="loihi2")
>>> print(report.format())
"""
from .compiler import DEFAULTS, compile_file, compile_network, effective_network, effective_rule, modulator_max
from .program import FixedProgram, FloatProgram, HwProduct, TraceMap, WeightMap, mantissa_exponent
from .report import CompileReport

__all__ = ["compile_network", "compile_file", "effective_network", "effective_rule", "DEFAULTS", "modulator_max", "FixedProgram", "FloatProgram",
           "HwProduct", "TraceMap", "WeightMap", "mantissa_exponent", "CompileReport"]
