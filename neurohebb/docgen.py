"""Generate docs/ir.md and docs/rules.md from the models, so the field
reference can never drift from the code (``neurohebb docs``; a test checks
the committed files are current)."""
from __future__ import annotations

import inspect
import sys
import typing
from pathlib import Path

from pydantic import BaseModel

IR_INTRO = """# The network IR (format_version 1.0)

A network is a YAML document (with an optional `.npz` beside it for large
arrays: write `npz:KEY` where an array goes) or, equally, the Python builder
`neurohebb.Builder`.  It is validated against a schema, exported as JSON Schema
in [network.schema.json](network.schema.json) (`neurohebb schema`).  This page
is generated from the code (`neurohebb docs`); each node's docstring gives its
discrete-time equations, which the reference backend executes.

```yaml
format_version: "1.0"
name: stdp_song
populations:
  inputs: {type: poisson, n: 1000, rates: 15.0}
  out:    {type: lif, n: 10, du: 0.1813, dv: 0.0952, vth: 1.0, refractory: 2}
projections:
  syn:
    pre: inputs
    post: out
    sign: excitatory
    weights: {init: uniform, low: 0.0, high: 0.004}
    bounds: [0.0, 0.004]
    rule: {template: stdp_pair, a_plus: 1.0e-4, a_minus: 1.05e-4, tau_plus: 20, tau_minus: 20}
probes:
  w_hist: {target: syn, var: weights, every: 1000}
run: {dt: 1.0, steps: 100000, seed: 1}
```

## Semantics of one step

"""

RULES_INTRO = """# The rule algebra and the rule templates

Every plasticity rule in neurohebb is one sum of products (the Loihi-2
learning engine's form, extended with `r`, `v` and declared functions).
Templates are one file each in `neurohebb/rules/` and expand into the algebra;
`neurohebb rules` lists them.  This page is generated from the code
(`neurohebb docs`).

"""


def type_name(ann) -> str:
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Annotated:
        meta = args[1:]
        if any(getattr(m, "json_schema", None) for m in meta):
            return "array"
        return type_name(args[0])
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        tags = []
        for a in inner:
            if isinstance(a, type) and issubclass(a, BaseModel):
                tags.append(a.__name__)
            else:
                tags.append(type_name(a))
        s = " | ".join(tags)
        return f"{s} (optional)" if len(inner) < len(args) else s
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin in (list, typing.List):
        return f"list of {type_name(args[0])}"
    if origin in (dict, typing.Dict):
        return f"map name → {type_name(args[1])}"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if ann is typing.Any:
        return "array (number, list or npz:KEY)"
    if isinstance(ann, type):
        return ann.__name__
    return str(ann).replace("typing.", "")


def _fields_table(cls) -> str:
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, f in cls.model_fields.items():
        default = "**required**" if f.is_required() else f"`{f.get_default(call_default_factory=True)!r}`"
        desc = (f.description or "").replace("|", "\\|")
        cons = []
        for m in f.metadata:
            for attr in ("gt", "ge", "lt", "le"):
                if getattr(m, attr, None) is not None:
                    cons.append(f"{attr} {getattr(m, attr)}")
        if cons:
            desc = (desc + " " if desc else "") + "(" + ", ".join(cons) + ")"
        rows.append(f"| `{name}` | {type_name(f.annotation).replace('|', chr(92) + '|')} | {default} | {desc} |")
    return "\n".join(rows)


def _section(cls, level="###") -> str:
    doc = inspect.cleandoc(cls.__doc__ or "")
    return f"{level} {cls.__name__}\n\n{doc}\n\n{_fields_table(cls)}\n"


def ir_markdown() -> str:
    from .ir import common, schema as S

    groups = [
        ("Network", [S.Network, S.Run]),
        ("Populations (`populations.NAME`, chosen by `type`)", [S.SpikeTimes, S.Poisson, S.ArraySource, S.LIF, S.Rate, S.LIFDendritic, S.External, common.Nonlinearity]),
        ("Weights (`projections.NAME.weights`, chosen by `init`)", [S.WConstant, S.WUniform, S.WNormal, S.WGaussianArbor, S.WArray, S.WList]),
        ("Connectivity (`projections.NAME.connectivity`, chosen by `type`)", [S.AllToAll, S.OneToOne, S.FixedProbability, S.GaussianConnectivity, S.Mask, S.FixedIndegree, S.FixedOutdegree, S.FromList, S.DistanceConnectivity]),
        ("Projections (`projections.NAME`)", [S.Projection]),
        ("Modulators: third factors (`modulators.NAME`, chosen by `type`)", [S.ModArray, S.ModConstant, S.ModPulses, S.ModSine, S.ModStep, S.ModPopulation]),
        ("Probes (`probes.NAME`)", [S.Probe]),
    ]
    out = [IR_INTRO, inspect.cleandoc(S.__doc__ or "").split("\n", 1)[1].strip(), ""]
    out.append("\nModulators share: " + inspect.cleandoc(S._ModBase.__doc__ or "") + "\n")
    out.append("Probe variables: populations " + "; ".join(f"{k}: {', '.join(v)}" for k, v in S.POP_VARS.items())
               + f"; projections: {', '.join(S.PROJ_VARS)} (traces and e only when the rule has them); modulators: r.\n")
    out.append("Rules (`projections.NAME.rule`, chosen by `template`): see [rules.md](rules.md).\n")
    from . import units

    out.append("## Units: durations are in steps\n")
    out.append(inspect.cleandoc(units.__doc__ or "") + "\n")
    for title, classes in groups:
        out.append(f"## {title}\n")
        for cls in classes:
            out.append(_section(cls))
    return "\n".join(out)


def rules_markdown() -> str:
    from .rules import TEMPLATES, algebra, base

    out = [RULES_INTRO, "## The algebra\n", inspect.cleandoc(algebra.__doc__ or ""), "",
           "## Fields every template has\n", _fields_table(base.RuleParams), "",
           inspect.cleandoc(base.RuleParams.__doc__ or ""), "", "## Templates\n"]
    for name, cls in TEMPLATES.items():
        mod = sys.modules[cls.__module__]
        out.append(f"### `{name}`\n")
        out.append(inspect.cleandoc(mod.__doc__ or ""))
        out.append("")
        out.append(_fields_table(cls))
        out.append("")
    return "\n".join(out)


def write(docs_dir) -> list[Path]:
    d = Path(docs_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / "ir.md").write_text(ir_markdown())
    (d / "rules.md").write_text(rules_markdown())
    from .ir import write_json_schema

    write_json_schema(d / "network.schema.json")
    return [d / "ir.md", d / "rules.md", d / "network.schema.json"]
