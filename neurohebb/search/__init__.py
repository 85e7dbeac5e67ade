"""Rule search: chip-expressible local learning rules that serve an objective.

>>> from neurohebb.search import run_search
>>> result = run_search("searches/oja_spiking.yaml", out="out/search/oja_spiking")
>>> result.best["rule"], result.best["score"], result.best["compiled"]["engine"]

A spec (:mod:`.spec`) names the space (which products of the rule algebra,
their coefficients as ``sign * mantissa * 2**exponent``, trace time
constants), the objective (a metric of a ``sims/`` experiment, or a user's
function), the budget and the hardware target.  Every candidate is compiled
for the target first; what the target cannot express is recorded with the
compiler's reason and never run.  The others are scored on the reference
backend (fixed point by default) by Dask workers (a local cluster, or an
existing one at ``scheduler_address``), proposed by Optuna (TPE) and stored
in an Optuna journal so an interrupted search resumes where it stopped.  The
best candidates are re-checked in float and on Lava.  See docs/search.md.
"""
from .evaluate import candidate_network, evaluate_candidate, score
from .report import SearchResult
from .runner import run_search
from .space import build_rule, describe
from .spec import SearchSpec, SearchSpecError, load_spec

__all__ = ["run_search", "load_spec", "SearchSpec", "SearchSpecError", "SearchResult", "evaluate_candidate",
           "build_rule", "describe", "candidate_network", "score"]
