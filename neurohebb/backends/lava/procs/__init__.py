"""neurohebb's own Lava Processes and ProcessModels.

Lava's compiler imports every ``.py`` file in the directory of a custom
Process when it searches ProcessModels (github.com/lava-nc/lava, issue 284), so this
directory holds nothing else: ``neuron.py`` (:class:`NHNeuron`, the IR's LIF
with bAP, post traces and the third factor) and ``dense.py``
(:class:`NHDense`, :class:`NHLearningDense`).  Each file imports only numpy and
Lava (absolute imports), so it also works when the compiler loads it as a
top-level module.
"""
