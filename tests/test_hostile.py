"""Hostile input: every malformed document in tests/hostile/ gets exit 2 and a
message naming the file and the field (or line and column), never a traceback;
a run whose state becomes NaN or infinite stops and says where; a document
gets no code or file access it was not given (external functions, output
names, NIR files with external storage, overwriting)."""
import ast
import os
from pathlib import Path

import numpy as np
import pytest

import neurohebb as nh
from neurohebb.cli import inside, main, safe_stem
from neurohebb.errors import NetworkError, NeurohebbError, NonFiniteState
from neurohebb.ir import from_dict, load

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile"


def cli(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- no assert on user input
def test_no_assert_statement_in_the_package():
    found = []
    for path in (ROOT / "neurohebb").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assert):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"assert statements (use a clear error instead): {found}"


# ----------------------------------------------------------------------------- the regression folder
VALIDATE_CASES = {
    "nan_weight": "projections.syn.weights.value: Input should be a finite number",
    "inf_bounds": "projections.syn.bounds[1]: Input should be a finite number",
    "nan_impulse": "projections.syn.rule.traces.x1.impulse: Input should be a finite number",
    "inf_bias": "populations.out.bias: -inf is not a finite number",
    "nan_rates": "populations.inputs.rates: contains NaN or infinity",
    "nan_modulator": "modulators.m.value: Input should be a finite number",
    "nan_dt": "run.dt: Input should be a finite number",
    "huge_n": "populations.out.n: Input should be less than or equal to 2147483647",
    "huge_steps": "run.steps: Input should be less than or equal to 2147483647",
    "huge_delay": "projections.syn.delay: Input should be less than or equal to 2147483647",
    "huge_seed": "run.seed: Input should be less than or equal to 4294967295",
    "memory_steps": "run.steps: a run of 2000000000 steps would allocate about",
    "memory_probe": "probes.w.every: a run of 20000 steps would allocate about",
    "duplicate_key": "line 18, column 1: duplicate key 'run' (first at line 15)",
    "complex_coefficient": "projections.syn.rule: dw: (-1) ** 0.5 is (6.1",
    "inf_coefficient": "projections.syn.rule: dw: 1e309 is inf; a coefficient must be a real, finite number",
    "pow_coefficient": "projections.syn.rule: dw: 10 ** 400 is inf",
    "many_factors": "projections.syn.rule: dw: the expression is nested too deeply (or has too many factors)",
    "many_products": "projections.syn.rule: dw: 80 products; a rule may have at most 64",
    "empty_populations": "populations: a network needs at least one population",
    "newline_name": "populations: name 'out\\n' is not an identifier",
    "name_absolute": "name: name '/tmp/neurohebb_escape/x': allowed are ASCII letters",
    "name_parent": "name: name '../..': allowed are ASCII letters",
    "non_utf8": "not UTF-8 text: byte 0xe9 at line 2, column 10",
    "alias_bomb": "the document expands (through aliases) to more than 2000000 nodes",
    "deep_nesting": "nesting deeper than 64 levels",
    "recursive_alias": "a recursive alias (a node that contains itself)",
    "python_tag": "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    "npz_pickled": "populations.inputs.rates: 'npz:rates': npz_pickled.npz['rates'] has dtype object",
    "npz_corrupt": "populations.inputs.rates: 'npz:rates': npz_corrupt.npz is not a readable .npz",
    "npz_truncated": "populations.inputs.rates: 'npz:rates': npz_truncated.npz is not a readable .npz",
    "npz_huge_header": "npz_huge_header.npz['rates'] has shape (1000000, 1000000) (1000000000000 elements)",
    "npz_nan": "npz_nan.npz['rates'] contains NaN or infinity (first at index [1])",
    "npz_complex": "npz_complex.npz['rates'] has dtype complex128",
    "os_system": "populations.evil.function: module 'os' is not allowed",
    "imported_factory": "populations.evil.function: 'np' is not defined in module 'neurohebb.environments.reversal'",
}
RUN_CASES = {
    "overflow_weights": "projections.syn: weights became infinite by step 99",
    "overflow_rate": "populations.r: v became infinite by step 99",
}
COMPILE_CASES = {
    "negative_impulse": "projections.syn.rule.traces.x1: impulse -1.0 < 0: traces are unsigned on loihi2",
    "u_times_e": "projections.syn.rule: product 0.001*u*e: reads e but the rule has no de",
    "tiny_threshold": "a parameter lies outside the range loihi2's fixed-point arithmetic can represent",
}


def test_every_regression_document_has_a_case():
    docs = {p.stem for p in HOSTILE.glob("*.yaml")}
    cases = set(VALIDATE_CASES) | set(RUN_CASES) | set(COMPILE_CASES) | {"npz_unreferenced_corrupt", "saturating_fixed",
                                                                         "environment_bad_params"}
    assert docs == cases


@pytest.mark.parametrize("name", sorted(VALIDATE_CASES))
def test_validate_refuses(name, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = HOSTILE / f"{name}.yaml"
    code, out, err = cli(["validate", doc], capsys)
    assert code == 2, (out, err)
    assert err.startswith(f"error: {doc}: ") and VALIDATE_CASES[name] in err, err
    assert "Traceback" not in err
    code, out, err = cli(["run", doc, "--out", tmp_path / "out", "--quiet", "--no-plots"], capsys)
    assert code == 2 and VALIDATE_CASES[name] in err, err
    assert not (tmp_path / "HOSTILE_PWNED").exists()


def test_positions_in_messages(capsys):
    code, _, err = cli(["validate", HOSTILE / "nan_weight.yaml"], capsys)
    assert code == 2 and err.rstrip().endswith("(line 11, column 31)"), err


@pytest.mark.parametrize("name", sorted(RUN_CASES))
def test_run_stops_on_nonfinite_state(name, capsys, tmp_path):
    doc = HOSTILE / f"{name}.yaml"
    assert cli(["validate", doc], capsys)[0] == 0
    code, out, err = cli(["run", doc, "--out", tmp_path, "--quiet"], capsys)
    assert code == 2 and RUN_CASES[name] in err and "--allow-nonfinite" in err, err
    assert not list(tmp_path.glob("*.npz"))  # nothing that looks like a result
    with pytest.raises(NonFiniteState) as ei:
        nh.run(load(doc), progress=False)
    assert ei.value.step == 99 and ei.value.where == RUN_CASES[name].split(":")[0]


def test_continue_on_nonfinite_is_explicit_and_reported(capsys, tmp_path):
    doc = HOSTILE / "overflow_weights.yaml"
    res = nh.run(load(doc), progress=False, on_nonfinite="continue")
    assert res.report["nonfinite"]["projections.syn.weights"] == 99
    assert not np.all(np.isfinite(res.weights["syn"]))
    code, out, err = cli(["run", doc, "--out", tmp_path, "--quiet", "--allow-nonfinite"], capsys)
    assert code == 0 and "WARNING: non-finite" in out and "projections.syn.weights: step 99" in out


def test_the_check_names_the_step_it_found():
    """The state is checked every 100 steps and on the last one: a run that
    overflows between two checks is stopped at the next."""
    net = load(HOSTILE / "overflow_weights.yaml")
    for steps, step in ((50, 49), (150, 99), (30, 29)):
        with pytest.raises(NonFiniteState) as ei:
            nh.run(net, steps=steps, progress=False)
        assert ei.value.step == step


def test_a_document_bound_step_function_that_fails_names_the_params(capsys, tmp_path):
    doc = HOSTILE / "environment_bad_params.yaml"
    assert cli(["validate", doc], capsys)[0] == 0
    code, out, err = cli(["run", doc, "--out", tmp_path, "--quiet", "--no-plots"], capsys)
    assert code == 2 and "Traceback" not in err, err
    assert "populations.image.params: the step function of neurohebb.environments.reversal:channel failed at step 0: " \
           "ValueError: scale < 0" in err or "populations.noise.params: the step function" in err, err
    with pytest.raises(NetworkError) as ei:
        nh.run(load(doc), progress=False)
    assert isinstance(ei.value.__cause__, ValueError)  # the environment's own error stays chained


@pytest.mark.parametrize("name", sorted(COMPILE_CASES))
def test_compile_refuses(name, capsys):
    code, out, err = cli(["compile", HOSTILE / f"{name}.yaml"], capsys)
    assert code == 2 and COMPILE_CASES[name] in err and "Traceback" not in err, err


def test_unreferenced_corrupt_npz_is_not_read(capsys, tmp_path):
    doc = HOSTILE / "npz_unreferenced_corrupt.yaml"
    assert (HOSTILE / "npz_unreferenced_corrupt.npz").read_bytes().startswith(b"this is not a zip")
    code, out, err = cli(["run", doc, "--out", tmp_path, "--quiet", "--no-plots", "--steps", "20"], capsys)
    assert code == 0, err


# ----------------------------------------------------------------------------- fixed-point health
def test_fixed_run_prints_the_health_section(capsys, tmp_path):
    code, out, err = cli(["run", HOSTILE / "saturating_fixed.yaml", "--precision", "fixed", "--out", tmp_path,
                          "--quiet", "--no-plots"], capsys)
    assert code == 0, err
    assert "fixed-point health (loihi2)" in out
    res = nh.run(load(HOSTILE / "saturating_fixed.yaml"), precision="fixed", progress=False)
    sat = res.report["saturation"]["syn"]
    assert sat["accumulator_saturations"] > 0 and sat["trace_saturations"]["x1"] > 0
    health = out[out.index("fixed-point health"):]
    row = next(line for line in health.splitlines() if line.startswith("syn "))
    assert f"x1 {sat['trace_saturations']['x1']}" in row and str(sat["accumulator_saturations"]) in row
    assert "the fixed-point run may differ from float" in out
    # a float run has no such section
    code, out, _ = cli(["run", HOSTILE / "saturating_fixed.yaml", "--out", tmp_path, "--quiet", "--no-plots"], capsys)
    assert code == 0 and "fixed-point health" not in out


def test_compare_shows_every_saturation_counter():
    from neurohebb.compare import SATURATION_COUNTERS, compare

    res = compare(HOSTILE / "saturating_fixed.yaml", seeds=1, steps=200)
    got = {(r["target"], r["metric"]) for r in res.summary() if r["run"] == "reference:fixed"}
    for counter in SATURATION_COUNTERS + ("trace_saturations",):
        if counter != "tag_clips":  # the rule has no eligibility (de)
            assert ("syn", counter) in got
    assert ("out", "u_wraps") in got and ("out", "v_saturations") in got
    fixed = nh.run(load(HOSTILE / "saturating_fixed.yaml"), precision="fixed", steps=200, progress=False)
    assert res.get("syn", "accumulator_saturations", "reference:fixed")["mean"] == \
        fixed.report["saturation"]["syn"]["accumulator_saturations"]
    assert "accumulator_saturations" in res.table()


# ----------------------------------------------------------------------------- security
def test_external_function_from_a_module_not_allowed(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = HOSTILE / "os_system.yaml"
    for argv in (["run", doc, "--out", tmp_path, "--quiet"], ["compare", doc, "--seeds", "1", "--out", tmp_path],
                 ["validate", doc]):
        code, out, err = cli(argv, capsys)
        assert code == 2 and "module 'os' is not allowed" in err and "--allow-local-functions" in err, err
    with pytest.raises(NetworkError, match="module 'os' is not allowed"):
        nh.run(load(doc), progress=False)
    assert not (tmp_path / "HOSTILE_PWNED").exists()
    # the flag allows files next to the document, not the standard library
    code, out, err = cli(["run", doc, "--out", tmp_path, "--quiet", "--allow-local-functions"], capsys)
    assert code == 2 and "module 'os' is not allowed" in err
    assert not (tmp_path / "HOSTILE_PWNED").exists()


LOCAL_DOC = """format_version: "1.0"
name: local
populations:
  env: {type: external, n: 2, function: "mystep:make", params: {level: 0.25}}
  y: {type: rate, n: 1}
projections:
  p: {pre: env, post: y, weights: {init: constant, value: 1.0}}
probes:
  yo: {target: y, var: output}
run: {steps: 5}
"""


def test_local_function_needs_the_flag(capsys, tmp_path):
    d = tmp_path / "doc"
    d.mkdir()
    (d / "net.yaml").write_text(LOCAL_DOC)
    (d / "mystep.py").write_text("def make(level):\n    return lambda t, inputs: [level, float(t)]\n")
    code, out, err = cli(["run", d / "net.yaml", "--out", tmp_path / "o", "--quiet", "--no-plots"], capsys)
    assert code == 2 and "module 'mystep' is not allowed" in err and "--allow-local-functions" in err
    code, out, err = cli(["run", d / "net.yaml", "--out", tmp_path / "o", "--quiet", "--no-plots",
                          "--allow-local-functions"], capsys)
    assert code == 0, err
    assert cli(["validate", d / "net.yaml", "--allow-local-functions"], capsys)[0] == 0
    res = nh.run(load(d / "net.yaml"), progress=False, allow_dirs=[d])
    # y[t] = sum of env[t-1] = level + (t - 1)
    np.testing.assert_allclose(res.probes["yo"].data.ravel(), [0, 0.25, 1.25, 2.25, 3.25], atol=1e-12)


def test_output_names_stay_inside_out(tmp_path, capsys):
    out = tmp_path / "out"
    for name in ("../../x", "/abs/path/x", "..", "a/../../b", "x\ny", "..\\..\\z", ""):
        p = inside(out, safe_stem(name) + "_reference_float.npz")
        assert p.resolve().parent == out.resolve()
    with pytest.raises(NeurohebbError, match="outside --out"):
        inside(out, "../x.npz")
    # a document without a name is named after its file, sanitized
    d = tmp_path / "d"
    d.mkdir()
    text = (HOSTILE / "saturating_fixed.yaml").read_text().replace("name: hostile\n", "")
    (d / "..weird name.yaml").write_text(text)
    code, o, err = cli(["run", d / "..weird name.yaml", "--out", out, "--quiet", "--steps", "10"], capsys)
    assert code == 0, err
    written = {p.name for p in out.iterdir()}
    assert "weird_name_reference_float.npz" in written
    assert all(p.resolve().parent == out.resolve() for p in out.iterdir())
    assert {p.name for p in tmp_path.iterdir()} == {"out", "d"}


def _nir_file(tmp_path):
    pytest.importorskip("nir")
    from neurohebb.nir import export_file

    doc = tmp_path / "net.yaml"
    doc.write_text("""format_version: "1.0"
name: net
populations:
  inp: {type: poisson, n: 3, rates: 10.0}
  out: {type: lif, n: 2, du: 0.2, dv: 0.1, vth: 1.0}
projections:
  p: {pre: inp, post: out, weights: {init: constant, value: 0.5}}
run: {steps: 10}
""")
    export_file(doc, tmp_path / "net.nir")
    return tmp_path / "net.nir"


def _weight_dataset(f):
    import h5py

    found = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) and name.endswith("weight") else None)
    return found[0]


def test_nir_external_storage_is_refused(tmp_path, capsys):
    h5py = pytest.importorskip("h5py")
    from neurohebb.nir import NIRConversionError, import_file

    nir_path = _nir_file(tmp_path)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(6, dtype="<f8").tobytes())
    with h5py.File(nir_path, "r+") as f:
        name = _weight_dataset(f)
        shape, dtype = f[name].shape, f[name].dtype
        del f[name]
        f.create_dataset(name, shape=shape, dtype=dtype, external=[(str(secret), 0, 48)])
    with pytest.raises(NIRConversionError, match="external storage"):
        import_file(nir_path, tmp_path / "imported.yaml")
    code, out, err = cli(["import-nir", nir_path, "-o", tmp_path / "imported.yaml"], capsys)
    assert code == 2 and "external storage" in err and str(secret) in err
    assert not (tmp_path / "imported.yaml").exists()


def test_nir_external_link_and_virtual_dataset_are_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    from neurohebb.nir import NIRConversionError, import_nir

    nir_path = _nir_file(tmp_path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["data"] = np.ones((2, 3))
    linked = tmp_path / "linked.nir"
    linked.write_bytes(nir_path.read_bytes())
    with h5py.File(linked, "r+") as f:
        name = _weight_dataset(f)
        del f[name]
        f[name] = h5py.ExternalLink(str(other), "/data")
    with pytest.raises(NIRConversionError, match="external link"):
        import_nir(linked)
    virtual = tmp_path / "virtual.nir"
    virtual.write_bytes(nir_path.read_bytes())
    with h5py.File(virtual, "r+") as f:
        name = _weight_dataset(f)
        del f[name]
        layout = h5py.VirtualLayout(shape=(2, 3), dtype="f8")
        layout[:] = h5py.VirtualSource(str(other), "data", shape=(2, 3))
        f.create_virtual_dataset(name, layout)
    with pytest.raises(NIRConversionError, match="virtual dataset"):
        import_nir(virtual)


def test_import_nir_never_overwrites_without_force(tmp_path, capsys):
    nir_path = _nir_file(tmp_path)
    target = tmp_path / "net.yaml"  # the document it came from sits there
    before = target.read_text()
    code, out, err = cli(["import-nir", nir_path], capsys)
    assert code == 2 and "refusing to overwrite" in err and "--force" in err
    assert target.read_text() == before
    (tmp_path / "x.npz").write_bytes(b"keep")
    code, out, err = cli(["import-nir", nir_path, "-o", tmp_path / "x.yaml"], capsys)
    assert code == 2 and "x.npz exists" in err and (tmp_path / "x.npz").read_bytes() == b"keep"
    code, out, err = cli(["import-nir", nir_path, "--force"], capsys)
    assert code == 0, err
    assert load(target).populations["out"].n == 2


# ----------------------------------------------------------------------------- limits
def test_memory_is_estimated_before_allocating():
    net = load(ROOT / "neurohebb" / "examples" / "stdp_song.yaml")
    with pytest.raises(NetworkError, match=r"run.steps: a run of 2000000000 steps would allocate about .* GB .*"
                                           r"this machine has .* GB available"):
        nh.run(net, steps=2_000_000_000, progress=False)
    from neurohebb.ir import limits

    items = limits.estimate(net)
    # the spike record of the inputs (steps x n booleans) and the weight probe are the largest items
    assert ("run.steps", 100000 * 1000, "inputs: spike record (100000 steps x 1000)") in items
    assert ("probes.w_hist.every", 101 * 10 * 1000 * 8, "probe w_hist: 101 records x 10000 values") in items
    with pytest.raises(NetworkError, match="run.steps: a run of 100000 steps would allocate about 0.117 GB"):
        limits.check(net, available=10**6)


def test_lazy_npz_reads_only_what_is_referenced(tmp_path):
    doc = {"format_version": "1.0", "populations": {"a": {"type": "poisson", "n": 2, "rates": "npz:good"}}}
    import yaml

    (tmp_path / "d.yaml").write_text(yaml.safe_dump(doc))
    arr = np.empty(1, object)
    arr[0] = {"x": 1}
    np.savez(tmp_path / "d.npz", good=np.array([1.0, 2.0]), bad=arr)  # a pickled member nobody refers to
    net = load(tmp_path / "d.yaml")
    np.testing.assert_array_equal(net.populations["a"].rates, [1.0, 2.0])


def test_function_names_and_names_are_strict():
    base = {"populations": {"a": {"type": "external", "n": 1, "function": "x:y"}}}
    for bad in ("x:y\n", "x:y.z", "x/y:z", "x:__init__ "):
        with pytest.raises(NetworkError, match="populations.a.function"):
            from_dict({"populations": {"a": {**base["populations"]["a"], "function": bad}}})
    with pytest.raises(NetworkError, match="not an identifier"):
        from_dict({"populations": {"a\n": {"type": "poisson", "n": 1, "rates": 1.0}}})
    assert os.sep not in safe_stem("../../etc/passwd")
