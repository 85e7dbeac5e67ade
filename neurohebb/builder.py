"""A Python builder for network documents, equivalent to writing the YAML.

>>> b = Builder("song", steps=10_000, seed=1)
>>> b.population("inp", type="poisson", n=1000, rates=15.0)
>>> b.population("out", type="lif", n=100, du=0.2, dv=0.05, vth=1.0)
>>> b.projection("p", "inp", "out", weights={"init": "uniform", "low": 0, "high": 0.01},
...              sign="excitatory", bounds=(0, 0.01),
...              rule={"template": "stdp_pair", "a_plus": 1e-4, "a_minus": 1.05e-4})
>>> b.probe("w", "p", "weights", every=100)
>>> net = b.build()            # validated neurohebb.Network; neurohebb.save(net, "song.yaml")

Every argument may be a plain dict or the IR model itself; ``build`` validates
exactly as loading a YAML file does (same messages).
"""
from __future__ import annotations

from pydantic import BaseModel

from .ir.io import from_dict


def _plain(v):
    if isinstance(v, BaseModel):
        return v.model_dump(exclude_defaults=False)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


class Builder:
    def __init__(self, name: str = "", description: str = "", **run):
        self.doc = {"format_version": "1.0", "name": name, "description": description,
                    "populations": {}, "projections": {}, "modulators": {}, "probes": {}, "run": dict(run)}

    def population(self, name, **params):
        self.doc["populations"][name] = _plain(params)
        return name

    def projection(self, name, pre, post, **params):
        self.doc["projections"][name] = {"pre": pre, "post": post, **_plain(params)}
        return name

    def modulator(self, name, **params):
        self.doc["modulators"][name] = _plain(params)
        return name

    def probe(self, name, target, var, every: int = 1):
        self.doc["probes"][name] = {"target": target, "var": var, "every": every}
        return name

    def build(self):
        return from_dict(self.doc, source=f"builder({self.doc['name'] or 'network'})")
