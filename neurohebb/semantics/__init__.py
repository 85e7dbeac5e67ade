"""What every backend needs to instantiate a document, computed once.

Backends never import each other; they all build their objects from here:

* :mod:`.seeds`: the random streams of a run (``rng_for``, ``derived_seeds``);
* :mod:`.instantiate`: connectivity masks and initial weights;
* :mod:`.sources`: source and prescribed trains (``SourceTrain``);
* :mod:`.modulators`: third-factor signals (``Modulator``: per step, as a
  series, and their largest magnitude).

Derived facts about single IR nodes live on the nodes themselves
(``ArraySource.graded``, ``is_source``, a modulator's ``decay``).
"""
from .instantiate import arbor_distance2, connectivity_mask, initial_synapses, initial_weights, synapse_indices
from .modulators import Modulator, modulator_max_abs
from .seeds import derived_seeds, rng_for
from .sources import SourceTrain

__all__ = ["arbor_distance2", "connectivity_mask", "initial_synapses", "initial_weights", "synapse_indices", "Modulator", "modulator_max_abs",
           "derived_seeds", "rng_for", "SourceTrain"]
