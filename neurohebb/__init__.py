"""neurohebb: declare a network and its local plasticity once; run it on a
reference simulator, Nengo and Lava/Loihi; compare the results."""
from . import backends, ir, rules
from .api import load, run
from .compare import ComparisonResult, compare
from .compiler import compile_network as compile  # noqa: A001 (the public name is neurohebb.compile)
from .builder import Builder
from .errors import (BackendUnavailable, CapacityExceeded, CompileError, HardwareConfigError, NetworkError,
                     NeurohebbError, NotExpressible, UnitsWarning, UnsupportedFeature)
from .ir import Network, save
from .result import Result, load_result
from .simulator import Simulator
from . import plot  # noqa: E402  (neurohebb.plot: figures of results and comparisons)

__version__ = "0.1.0"
__all__ = ["load", "save", "run", "Simulator", "load_result", "plot", "UnitsWarning", "compile", "compare", "ComparisonResult", "Builder", "Network", "Result", "ir",
           "rules", "backends", "NeurohebbError", "NetworkError", "BackendUnavailable", "UnsupportedFeature",
           "CompileError", "NotExpressible", "CapacityExceeded", "HardwareConfigError"]


def __getattr__(name):
    # ``neurohebb.nir`` is imported on first use (it loads the nir package and h5py).
    if name == "nir":
        import importlib

        return importlib.import_module(".nir", __name__)
    raise AttributeError(f"module 'neurohebb' has no attribute {name!r}")
