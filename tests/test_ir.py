"""The IR: YAML round trip over every node and template type, invalid
documents for each kind of field, determinism, JSON Schema and docs."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import neurohebb as nh
from neurohebb.ir import from_dict, load, save, to_dict
from neurohebb.rules import TEMPLATES

from conftest import assert_same_results, every_node_doc

ROOT = Path(__file__).resolve().parent.parent


def test_fixture_covers_every_type():
    doc = every_node_doc()
    pops = {p["type"] for p in doc["populations"].values()}
    assert pops == {"spike_times", "poisson", "array", "lif", "rate"}
    inits = {p["weights"]["init"] for p in doc["projections"].values()}
    assert inits == {"constant", "uniform", "normal", "gaussian_arbor", "array"}
    conns = {p.get("connectivity", {"type": "all_to_all"})["type"] for p in doc["projections"].values()}
    assert conns == {"all_to_all", "one_to_one", "fixed_probability", "gaussian_arbor", "mask"}
    templates = {p["rule"]["template"] for p in doc["projections"].values() if "rule" in p}
    # alignment (non-local partner variables, reference float only): tests/test_sim_credit_assignment.py
    assert templates == set(TEMPLATES) - {"alignment"}
    mods = {m["type"] for m in doc["modulators"].values()}
    assert mods == {"array", "constant", "pulses", "sine", "step", "population"}


def test_yaml_round_trip_is_lossless(tmp_path):
    net = from_dict(every_node_doc())
    path = save(net, tmp_path / "net.yaml")
    assert path.with_suffix(".npz").exists()  # the 50x16 input array went to the .npz
    back = load(path)
    assert json.dumps(to_dict(back), sort_keys=True) == json.dumps(to_dict(net), sort_keys=True)
    # and a second trip gives the identical file
    save(back, tmp_path / "net2.yaml")
    assert (tmp_path / "net2.yaml").read_text() == path.read_text()
    # the loaded network runs bit-identically to the original
    assert_same_results(nh.run(net), nh.run(back))


def test_yaml_round_trip_lif_dendritic(tmp_path):
    """every_node plus the multi-compartment neuron (lif_dendritic), a projection on a
    branch with a rule reading d, and its branch probes (kept out of every_node_doc
    because only the reference float backend runs it)."""
    doc = every_node_doc()
    doc["populations"]["dend"] = {"type": "lif_dendritic", "n": 2, "du": 0.5, "dv": 0.05, "vth": 20.0, "branches": 3,
                                  "dd": 0.1, "plateau_threshold": 1.5, "plateau_amplitude": 40.0,
                                  "plateau_steps": 20, "coupling": [0.01, 0.005, 0.002], "refractory": 1}
    doc["projections"]["p_dend"] = {"pre": "po", "post": "dend", "branch": 2, "sign": "excitatory",
                                    "weights": {"init": "uniform", "low": 0.0, "high": 0.5}, "bounds": [0, 1],
                                    "rule": {"template": "custom", "dw": "0.01*u*x1*g(d) - 0.001*x0*w",
                                             "traces": {"x1": {"tau": 20}},
                                             "functions": {"g": {"name": "relu", "theta": 30}}}}
    doc["projections"]["p_soma"] = {"pre": "po2", "post": "dend", "weights": {"init": "constant", "value": 0.3}}
    doc["probes"]["bv"] = {"target": "dend", "var": "branch_v"}
    doc["probes"]["pl"] = {"target": "dend", "var": "plateau", "every": 3}
    net = from_dict(doc)
    back = load(save(net, tmp_path / "net.yaml"))
    assert json.dumps(to_dict(back), sort_keys=True) == json.dumps(to_dict(net), sort_keys=True)
    assert back.populations["dend"].type == "lif_dendritic" and back.projections["p_dend"].branch == 2
    assert back.projections["p_soma"].branch is None
    a, b = nh.run(net), nh.run(back)
    assert_same_results(a, b)
    assert a.probes["bv"].data.shape == (120, 2, 3)


def test_round_trip_keeps_every_rule_equation(tmp_path):
    net = from_dict(every_node_doc())
    back = load(save(net, tmp_path / "n.yaml"))
    for name, pr in net.projections.items():
        if pr.rule is not None:
            assert str(back.projections[name].rule.expand()) == str(pr.rule.expand())


def test_same_seed_bit_identical_and_seed_matters():
    net = from_dict(every_node_doc())
    a, b = nh.run(net), nh.run(net)
    assert_same_results(a, b)
    c = nh.run(net, seed=8)
    assert not np.array_equal(a.spikes["po"], c.spikes["po"])


def test_builder_equals_yaml(tmp_path):
    doc = every_node_doc()
    b = nh.Builder(doc["name"], doc["description"], **doc["run"])
    for k, v in doc["populations"].items():
        b.population(k, **v)
    for k, v in doc["projections"].items():
        v = dict(v)
        b.projection(k, v.pop("pre"), v.pop("post"), **v)
    for k, v in doc["modulators"].items():
        b.modulator(k, **v)
    for k, v in doc["probes"].items():
        b.probe(k, v["target"], v["var"], v.get("every", 1))
    assert_same_results(nh.run(b.build()), nh.run(from_dict(doc)))


# --------------------------------------------------------------- invalid documents
def _err(doc):
    with pytest.raises(nh.NetworkError) as exc:
        from_dict(doc, "net.yaml")
    return str(exc.value)


def _with(doc, path, value):
    cur = doc
    keys = path.split(".")
    for k in keys[:-1]:
        cur = cur[k]
    if value is KeyError:
        del cur[keys[-1]]
    else:
        cur[keys[-1]] = value
    return doc


@pytest.mark.parametrize("path,value,expected", [
    ("projections.p.rule.template", "stdpp", "net.yaml: projections.p.rule.template: unknown template 'stdpp'; known: hebbian, oja, bcm, stdp_pair"),
    ("populations.a.type", "poison", "populations.a.type: unknown type 'poison'; known: spike_times, poisson"),
    ("projections.p.weights.init", "gauss", "projections.p.weights.init: unknown init 'gauss'"),
    ("projections.p.sign", "positive", "projections.p.sign: Input should be 'excitatory', 'inhibitory' or 'mixed' (found 'positive')"),
    ("projections.p.rule.tau_plsu", 3, "projections.p.rule.tau_plsu: unknown field 'tau_plsu'; allowed: template, timing, modulator, a_plus"),
    ("projections.p.rule.a_plus", -1, "projections.p.rule.a_plus: Input should be greater than or equal to 0 (found -1)"),
    ("projections.p.rule.a_plus", KeyError, "projections.p.rule.a_plus: required field is missing"),
    ("projections.p.rule.timing", "both", "projections.p.rule.timing: Input should be 'exclusive' or 'inclusive'"),
    ("projections.p.pre", "x", "projections.p.pre: unknown population 'x'; known: a, b"),
    ("projections.p.post", "a", "projections.p.post: 'a' is a poisson source and takes no input"),
    ("projections.p.delay", -1, "projections.p.delay: Input should be greater than or equal to 0 (found -1)"),
    ("projections.p.bounds", [1, 0], "projections.p.bounds: lower bound 1.0 is above upper bound 0.0"),
    ("projections.p.connectivity", {"type": "fixed_probability", "p": 1.5}, "projections.p.connectivity.p: Input should be less than or equal to 1"),
    ("projections.p.connectivity", {"type": "one_to_one"}, "projections.p.connectivity: one_to_one needs equal sizes; pre has 3, post 2"),
    ("projections.p.weights", {"init": "array", "values": [[1, 2]]}, "projections.p.weights.values: shape (1, 2); expected (post, pre) = (2, 3)"),
    ("populations.b.du", 1.5, "populations.b.du: Input should be less than or equal to 1 (found 1.5)"),
    ("populations.b.n", "ten", "populations.b.n: Input should be a valid integer"),
    ("populations.b.bias", [1, 2, 3], "populations.b.bias: shape (3,); allowed: a number or (2,)"),
    ("populations.a.rates", -5, "populations.a.rates: rates must be finite and >= 0 Hz"),
    ("populations.a.rates", 5000, "populations.a.rates: max rate 5000.0 Hz gives a spike probability above 1 per step"),
    ("populations.a.rates", "fast", "populations.a.rates: found the string 'fast'; an array is a number, a list, or 'npz:KEY'"),
    ("run.dt", 0, "run.dt: Input should be greater than 0 (found 0)"),
    ("run.steps", 0, "run.steps: Input should be greater than 0"),
    ("run.dtype", "float16", "run.dtype: Input should be 'float64' or 'float32'"),
    ("format_version", "2.0", "format_version: found '2.0'; this neurohebb reads format_version '1.0'"),
    ("probes", {"w": {"target": "q", "var": "weights"}}, "probes.w.target: unknown target 'q'; known: a, b, p"),
    ("probes", {"w": {"target": "p", "var": "v"}}, "probes.w.var: 'v' is not recorded for 'p'; allowed: weights, x1, y1"),
    ("probes", {"w": {"target": "b", "var": "weights"}}, "probes.w.var: 'weights' is not recorded for 'b'; allowed: spikes, v, u, input"),
    ("modulators", {"m": {"type": "sine"}}, "modulators.m.period: required field is missing"),
    ("projections.p.rule.modulator", "m", "projections.p.rule.modulator: the rule (stdp_pair) does not read r"),
    ("populations.b.name", "x", "populations.b.name: unknown field 'name'; allowed: type, n, du, dv, vth, bias, refractory"),
])
def test_invalid_field_messages(tiny_doc, path, value, expected):
    msg = _err(_with(tiny_doc, path, value))
    assert expected in msg, msg


def test_rule_errors(tiny_doc):
    tiny_doc["projections"]["p"]["rule"] = {"template": "custom", "dw": "0.1*x0*y7", "traces": {}}
    assert "projections.p.rule: dw: unknown variable 'y7' in '0.1*x0*y7'; known: x0, y0, u, x1" in _err(tiny_doc)
    tiny_doc["projections"]["p"]["rule"] = {"template": "custom", "dw": "0.1*x1*y1", "traces": {"x1": {}, "y1": {}}}
    assert "has 0 dependencies (none); each product needs exactly one of x0, y0, u" in _err(tiny_doc)
    tiny_doc["projections"]["p"]["rule"] = {"template": "custom", "dw": "0.1*u*x0", "traces": {}}
    assert "has 2 dependencies (u, x0)" in _err(tiny_doc)
    tiny_doc["projections"]["p"]["rule"] = {"template": "custom", "dw": "0.1*u*x1"}
    assert "uses trace 'x1' but 'traces' does not declare it" in _err(tiny_doc)
    tiny_doc["projections"]["p"]["rule"] = {"template": "custom", "dw": "0.1*u*g(v)"}
    assert "function 'g' in '0.1*u*g(v)' is not declared" in _err(tiny_doc)
    tiny_doc["projections"]["p"]["rule"] = {"template": "custom", "dw": "0.1*u*x1**2", "traces": {"x1": {}}}
    assert "is not a factor" in _err(tiny_doc)
    tiny_doc["projections"]["p"]["rule"] = {"template": "reward_stdp", "a_plus": 0.1, "a_minus": 0.1}
    assert "projections.p.rule.modulator: the rule reads the third factor r; name a modulator" in _err(tiny_doc)
    tiny_doc["projections"]["p"]["rule"] = {"template": "stdp_pair", "a_plus": 0.1, "a_minus": 0.1,
                                            "weight_dependence": "multiplicative"}
    assert "weight_dependence 'multiplicative' needs w_max" in _err(tiny_doc)


def test_initial_weights_outside_bounds_are_an_error_not_a_clip(tiny_doc):
    tiny_doc["projections"]["p"]["weights"] = {"init": "normal", "mean": 0, "std": 1}
    net = from_dict(tiny_doc)
    with pytest.raises(nh.NetworkError, match=r"projections.p.weights: \d+ of 6 initial weights lie outside \[0.0, inf\].*clip_to_bounds"):
        nh.run(net)
    tiny_doc["projections"]["p"]["weights"]["clip_to_bounds"] = True
    res = nh.run(from_dict(tiny_doc))
    assert res.initial_weights["p"].min() == 0.0


def test_npz_reference_errors(tmp_path):
    p = tmp_path / "n.yaml"
    p.write_text("populations:\n  a: {type: array, values: 'npz:x'}\n")
    with pytest.raises(nh.NetworkError, match="populations.a.values: refers to 'npz:x' but there is no n.npz beside"):
        load(p)
    np.savez(tmp_path / "n.npz", y=np.zeros((3, 2)))
    with pytest.raises(nh.NetworkError, match="no array 'x' in n.npz; it holds: y"):
        load(p)


def test_yaml_syntax_and_missing_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("populations: {a: [1, 2}\n")
    with pytest.raises(nh.NetworkError, match=r"bad.yaml: not valid YAML: line 1, column \d+"):
        load(p)
    with pytest.raises(nh.NetworkError, match="nope.yaml: file not found"):
        load(tmp_path / "nope.yaml")


# --------------------------------------------------------------- CLI
def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "neurohebb", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_invalid_exit_2_no_traceback(tmp_path, tiny_doc):
    tiny_doc["projections"]["p"]["rule"]["template"] = "stdpp"
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(tiny_doc))
    for cmd in (["validate", str(f)], ["run", str(f), "--out", str(tmp_path)]):
        r = _cli(*cmd)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr
        assert f"{f}: projections.p.rule.template: unknown template 'stdpp'; known: hebbian" in r.stderr
    r = _cli("run", str(f.with_name("missing.yaml")))
    assert r.returncode == 2 and "file not found" in r.stderr


def test_cli_run_writes_results_and_plots(tmp_path, tiny_doc):
    tiny_doc["probes"] = {"w": {"target": "p", "var": "weights", "every": 10}}
    f = tmp_path / "ok.yaml"
    f.write_text(yaml.safe_dump(tiny_doc))
    r = _cli("run", str(f), "--out", str(tmp_path / "out"), "--steps", "30", "--seed", "3")
    assert r.returncode == 0, r.stderr
    data = np.load(tmp_path / "out" / "ok_reference_float.npz")
    assert data["spikes/a"].shape == (30, 3)
    assert data["weights/p"].shape == (2, 3)
    assert (tmp_path / "out" / "ok_p_weights_over_time.png").stat().st_size > 1000
    r = _cli("run", str(f), "--backend", "nosuch")
    assert r.returncode == 2 and "unknown backend 'nosuch'; known: " in r.stderr and "reference" in r.stderr
    r = _cli("run", str(f), "--precision", "half")
    assert r.returncode == 2 and "precision 'half' is not available" in r.stderr


def test_cli_rules_lists_every_template():
    r = _cli("rules")
    assert r.returncode == 0
    for name, cls in TEMPLATES.items():
        assert f"{name}:" in r.stdout
        for field in cls.model_fields:
            if field != "template":
                assert field in r.stdout


def test_exported_json_schema_is_current():
    on_disk = json.loads((ROOT / "docs" / "network.schema.json").read_text())
    assert on_disk == nh.ir.json_schema(), "regenerate with: neurohebb schema -o docs/network.schema.json"


def test_generated_docs_are_current():
    from neurohebb.docgen import ir_markdown, rules_markdown

    assert (ROOT / "docs" / "ir.md").read_text() == ir_markdown(), "regenerate with: neurohebb docs"
    assert (ROOT / "docs" / "rules.md").read_text() == rules_markdown(), "regenerate with: neurohebb docs"


def test_docs_ir_mentions_every_field():
    text = (ROOT / "docs" / "ir.md").read_text()
    from neurohebb.ir import schema as S
    from pydantic import BaseModel

    for obj in vars(S).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == S.__name__ and not obj.__name__.startswith("_"):
            for field in obj.model_fields:
                assert f"`{field}`" in text, f"docs/ir.md does not document {obj.__name__}.{field}"


def test_docs_rules_mentions_every_template_parameter():
    text = (ROOT / "docs" / "rules.md").read_text()
    for name, cls in TEMPLATES.items():
        assert f"`{name}`" in text
        for field in cls.model_fields:
            assert f"`{field}`" in text, f"docs/rules.md does not document {name}.{field}"
