"""neurohebb: declare a network and its local plasticity once; run it on a
reference simulator, Nengo and Lava/Loihi; compare the results."""
from . import backends, ir, rules
from .api import load, run
from .builder import Builder
from .errors import BackendUnavailable, NetworkError, NeurohebbError, UnsupportedFeature
from .ir import Network, save
from .result import Result

__version__ = "0.1.0"
__all__ = ["load", "save", "run", "Builder", "Network", "Result", "ir", "rules", "backends",
           "NeurohebbError", "NetworkError", "BackendUnavailable", "UnsupportedFeature"]
