"""neurohebb.search: spec errors, compile-before-evaluate, a tiny search through a
local Dask cluster, resumption, and the objective hooks in neurohebb.sims."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import neurohebb as nh
from neurohebb.errors import NeurohebbError
from neurohebb.search import SearchSpecError, build_rule, evaluate_candidate, load_spec, run_search, score
from neurohebb.search.space import coefficient_grid
from neurohebb.sims import SimError, run_sim, sims_root

pytest.importorskip("optuna")
pytest.importorskip("dask.distributed")

HERE = Path(__file__).resolve()
DOC = sims_root() / "oja_pca" / "network_spiking.yaml"
STEPS = 60_000
OJA = "0.004*y0*x1 - 0.0048*y0 - 0.001*y0*y1*w"
LOG = "NH_TEST_SEARCH_LOG"


def spiking_objective(net, backend, precision, seed):
    """Objective used by the tiny searches below (a user's function, run on Dask workers):
    |cos(w, PC1 of the input rates)| after STEPS steps.  Logs every call to $NH_TEST_SEARCH_LOG."""
    from neurohebb import backends
    from neurohebb.metrics import abs_cosine

    rates = np.load(DOC.with_suffix(".npz"))["rates"]
    pc1 = np.linalg.eigh(np.cov(rates.T, bias=True))[1][:, -1]
    res = backends.get(backend).run(net, precision=precision, seed=seed, steps=STEPS, progress=None, threads=1)
    value = abs_cosine(res.weights["w"][0], pc1)
    if os.environ.get(LOG):
        with open(os.environ[LOG], "a") as fh:
            fh.write(json.dumps({"dw": net.projections["w"].rule.dw, "score": value}) + "\n")
    return value


def tiny_spec(**kw):
    """Oja's three products around the hand-written rule: the heterosynaptic coefficient (4, 5 or 6
    x 2^-10 against 4 x 2^-10 for the Hebbian one) and whether and how strong Oja's decay is are
    searched.  Only 5 x 2^-10 centres the inputs well enough (|cos| ~0.6-0.87 at 60k steps in
    fixed point, 4 or 6: ~0.55 and ~0.44)."""
    spec = {
        "name": "tiny",
        "objective": {"function": f"{HERE}:spiking_objective", "network": str(DOC), "direction": "maximize"},
        "projection": "w",
        "target": "loihi2",
        "space": {
            "timing": "inclusive",
            "exponent": [-10, -8],
            "traces": {"x1": {"tau": 20}, "y1": {"tau": 20}},
            "terms": [{"product": "y0*x1", "sign": "positive", "mantissa": [4, 4], "exponent": [-10, -10]},
                      {"product": "y0", "sign": "negative", "mantissa": [4, 6], "exponent": [-10, -10]},
                      {"product": "y0*y1*w", "sign": "negative", "optional": True, "mantissa": [1, 4]}],
        },
        "budget": {"trials": 4},
        "sampler": {"name": "tpe", "seed": 3},
        "workers": 2,
        "recheck": {"top": 0, "float": False, "lava": False},
    }
    spec.update(kw)
    return spec


def _calls(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()] if Path(path).exists() else []


# ------------------------------------------------------------------ spec errors
@pytest.mark.parametrize("patch, field, words", [
    ({"objective": {"experiment": "oja_pca"}}, "objective", "needs metric"),
    ({"space": {"terms": [{"product": "y0*x1", "sign": "up"}]}}, "space.terms.0.sign", "'up' is not allowed"),
    ({"space": {"traces": {"x1": {"tau": [50, 5]}}, "terms": [{"product": "y0*x1"}]}}, "space.traces.x1.tau",
     "lower end 50 is above upper end 5"),
    ({"space": {"terms": [{"product": "0.5*y0*x1"}], "traces": {"x1": {}}}}, "space.terms.0.product",
     "coefficient is searched"),
    ({"space": {"terms": [{"product": "y0*x2"}]}}, "space", "uses trace 'x2' but traces does not declare it"),
    ({"space": {"terms": [{"product": "y0*q9"}]}}, "space.terms.0.product", "y0*q9"),
    ({"budget": {"trials": 0}}, "budget.trials", "greater than or equal to 1"),
    ({"scheduler_address": "localhost:8786"}, "scheduler_address", "tcp://host:port"),
    ({"bogus": 1}, "bogus", "unknown field"),
    ({"space": {"template": "alignment", "terms": [{"param": "decy"}]}}, "space",
     "terms[0].param: 'decy' is not a field of template 'alignment'; known: amp, decay,"),
    ({"space": {"template": "alignment", "terms": [{"param": "decay", "product": "y0"}]}}, "space.terms.0",
     "either product"),
])
def test_bad_spec_names_the_field(patch, field, words):
    spec = tiny_spec()
    spec.update(patch)
    with pytest.raises(SearchSpecError) as exc:
        load_spec(spec)
    msg = str(exc.value)
    assert f"{field}:" in msg and words in msg, msg


def test_bad_spec_file_names_the_file(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("objective: {experiment: oja_pca, metric: m}\nprojection: w\nspace: {terms: []}\n")
    with pytest.raises(SearchSpecError, match=r"s\.yaml: space\.terms: .*at least 1"):
        load_spec(p)


def test_spec_problems_found_before_any_candidate(tmp_path):
    with pytest.raises(SearchSpecError, match="objective.experiment: unknown experiment 'nope'"):
        run_search(tiny_spec(objective={"experiment": "nope", "metric": "m"}), out=tmp_path, progress=False)
    with pytest.raises(SearchSpecError, match="projection: .* has no projection 'v'; it has w"):
        run_search(tiny_spec(projection="v"), out=tmp_path, progress=False)
    with pytest.raises(SearchSpecError, match="target: .*nochip"):
        run_search(tiny_spec(target="nochip"), out=tmp_path, progress=False)
    assert not list(tmp_path.iterdir())   # nothing started, nothing written


def test_cli_bad_spec_exits_2(tmp_path, capsys):
    from neurohebb.cli import main

    assert main(["search", str(tmp_path / "missing.yaml"), "--out", str(tmp_path)]) == 2
    assert "search spec not found" in capsys.readouterr().err


# ------------------------------------------------------------------ candidates
def test_build_rule_is_the_searched_sum():
    space = {"exponent": [-9, -8], "traces": {"x1": {"tau": [5, 50]}, "y1": {"tau": 20}},
             "terms": [{"product": "y0*x1", "sign": "positive"}, {"product": "y0", "sign": "both", "optional": True},
                       {"product": "y0*y1*w", "sign": "negative", "optional": True}]}
    spec = load_spec(tiny_spec(space=space))
    grid = coefficient_grid(spec, 0)
    # 1..7 x 2^-9 and 1..7 x 2^-8, each value once (2, 4, 6 x 2^-9 = 1, 2, 3 x 2^-8): 11 values
    assert [(m, e) for _, m, e in grid] == [(m, -9) for m in range(1, 8)] + [(m, -8) for m in (4, 5, 6, 7)]
    assert all(v == m * 2.0**e for v, m, e in grid) and [v for v, *_ in grid] == sorted(v for v, *_ in grid)
    params = {"x1.tau": 12, "t0.k": 4, "t1.on": True, "t1.sign": -1, "t1.k": 8, "t2.on": False}
    rule = build_rule(spec, params)
    assert rule["dw"] == "5*2**-9*y0*x1 - 5*2**-8*y0"
    assert rule["traces"] == {"x1": {"impulse": 1.0, "tau": 12.0}}       # y1 unused: not declared
    net = nh.load(DOC)
    r = net.projections["w"].rule.model_validate(rule).expand()
    assert [p.coeff for p in r.dw] == [5 * 2.0**-9, -5 * 2.0**-8]


def test_template_space_and_unused_fixed_fields():
    """The credit-assignment search: alignment-template fields from the grid; Decay alone reads no
    partner, so the candidate drops the spec's fixed partner (drop_unused) instead of failing."""
    from neurohebb.search import candidate_network

    spec = load_spec(HERE.parent.parent / "searches" / "credit_assignment.yaml")
    grid = coefficient_grid(spec, 0)
    k = [v for v, *_ in grid].index(1.0)
    params = {"t0.on": True, "t0.k": k, "t1.on": False, "t2.on": False, "t3.on": False, "t4.on": True, "t4.k": k}
    assert build_rule(spec, params) == {"template": "alignment", "partner": "w_out", "modulator": "gate_b",
                                        "eta": 1.0, "decay": 1.0, "self": 1.0}
    params["t4.on"] = False
    rule = build_rule(spec, params)
    assert rule["partner"] == "w_out"
    r = candidate_network(spec, rule).projections["b_out"].rule
    assert r.partner is None and r.decay == 1.0 and r.modulator == "gate_b"


def test_inexpressible_candidate_is_never_evaluated(tmp_path, monkeypatch):
    """1*2^-20 * y0*y1*w is below Loihi 2's coefficient grid for that product (smallest 2^-12 per
    hardware unit, and y1's scale is >= 4): the compiler refuses it and the objective never runs."""
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(LOG, str(log))
    space = {"traces": {"x1": {"tau": 20}, "y1": {"tau": 20}},
             "terms": [{"product": "y0*x1", "sign": "positive", "exponent": [-10, -10]},
                       {"product": "y0*y1*w", "sign": "negative", "optional": True, "exponent": [-20, -20]}]}
    spec = load_spec(tiny_spec(space=space))
    params = {"t0.k": 3, "t1.on": True, "t1.k": 0}
    res = evaluate_candidate(spec, params)
    assert res["status"] == "not_expressible"
    assert "too small" in res["reason"] and "loihi2" in res["reason"]
    assert res["score"] is None and not log.exists()
    ok = evaluate_candidate(spec, {"t0.k": 3, "t1.on": False})
    assert ok["status"] == "ok" and len(_calls(log)) == 1
    assert len(ok["compiled"]["engine"]) == 1 and ok["compiled"]["engine"][0].endswith("*y0*x1")


@pytest.mark.slow
def test_tiny_search_on_local_dask_cluster_resumes_and_beats_baseline(tmp_path, monkeypatch):
    """A 4-candidate search through a LocalCluster of 2 worker processes, then the same search with
    budget 7: exactly 3 new candidates, the first 4 kept as they were.  Then a candidate left
    running by a killed run is re-queued, not lost.  The best rule must beat the initial weights
    (no plasticity) clearly."""
    import optuna

    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(LOG, str(log))
    out = tmp_path / "out"
    r1 = run_search(tiny_spec(), out=out, progress=False)
    assert len(r1.rows) == 4
    n_eval1 = sum(r["status"] in ("ok", "failed") and r["duplicate_of"] is None for r in r1.rows)
    assert len(_calls(log)) == n_eval1
    for f in r1.files:
        assert Path(f).exists()
    csv = (out / "tiny_results.csv").read_text().splitlines()
    assert len(csv) == 1 + 4

    r2 = run_search(tiny_spec(), out=out, trials=7, progress=False)
    assert len(r2.rows) == 7
    assert [(r["number"], r["score"], r["rule"]) for r in r2.rows[:4]] == \
           [(r["number"], r["score"], r["rule"]) for r in r1.rows]
    n_eval2 = sum(r["status"] in ("ok", "failed") and r["duplicate_of"] is None for r in r2.rows)
    assert len(_calls(log)) == n_eval2                   # only the new ones ran
    # every objective call was for an expressible candidate that is stored with its score
    stored = {r["rule"]["dw"]: r["score"] for r in r2.rows if r["status"] == "ok"}
    assert all(c["dw"] in stored and c["score"] == pytest.approx(stored[c["dw"]]) for c in _calls(log))

    # a run killed mid-candidate leaves a RUNNING trial: it is re-queued and not counted
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    st = optuna.load_study(study_name="tiny", storage=JournalStorage(JournalFileBackend(str(out / "tiny.journal"))))
    st.ask()                                          # asked, never told: what a killed run leaves
    r3 = run_search(tiny_spec(), out=out, trials=8, progress=False)
    assert r3.requeued == 1
    assert sum(r["status"] != "interrupted" for r in r3.rows) == 8
    assert [r["status"] for r in r3.rows].count("interrupted") == 1

    net0 = nh.load(DOC)
    spec = load_spec(tiny_spec())
    from neurohebb.search import candidate_network

    no_learning = spiking_objective(candidate_network(spec, {"template": "custom", "dw": "0*u"}),
                                    "reference", "fixed", 1)
    best = r3.best
    assert best is not None and best["score"] > 0.6 and best["score"] > no_learning + 0.3, (best, no_learning)
    assert best["compiled"]["engine"]               # the deployable form is stored with it
    assert net0.projections["w"].rule.dw == OJA      # the document itself is untouched


# ------------------------------------------------------------------ objective hooks
@pytest.mark.slow
def test_experiment_objective_is_run_sim_with_the_rule_overridden():
    spec = load_spec({**tiny_spec(), "objective": {"experiment": "oja_pca", "part": "spiking",
                                                  "document": "network_spiking.yaml",
                                                  "metric": "spiking_cos_pc1_mean", "short": True}})
    rule = nh.load(DOC).projections["w"].rule.model_dump()
    s, metrics = score(spec, rule)
    direct = run_sim("oja_pca", precision="fixed", short=True, part="spiking")["metrics"]
    assert s == direct["spiking_cos_pc1_mean"] and metrics["spiking_rate_hz"] == direct["spiking_rate_hz"]
    plain = dict(rule, dw="0.004*y0*x1", traces={"x1": {"impulse": 1, "tau": 20}})
    s_plain, _ = score(spec, plain)
    assert s_plain < s - 0.3                         # the override took effect: plain Hebb does not find PC1


def test_sims_overrides_and_parts_errors():
    with pytest.raises(SimError, match="no document .* has a projection named 'nope'"):
        run_sim("oja_pca", short=True, part="spiking", overrides={"nope": {"template": "custom", "dw": "0*u"}})
    with pytest.raises(SimError, match="has no part 'bogus'; known: spiking"):
        run_sim("oja_pca", part="bogus")
    with pytest.raises(NeurohebbError, match="dw"):
        run_sim("oja_pca", short=True, part="spiking", overrides={"w": {"template": "custom", "dw": "1*y0*q"}})


lava_ok = nh.backends.available("lava")


@pytest.mark.skipif(not lava_ok, reason="lava is not installed")
def test_lava_recheck_is_bit_identical_in_fixed_point():
    from neurohebb.search.report import lava_equivalence

    spec = load_spec(tiny_spec())
    rule = nh.load(DOC).projections["w"].rule.model_dump()
    eq = lava_equivalence(spec, rule, 300)
    assert eq["fixed"]["identical"], eq
    assert eq["float"]["max_abs_dw"] < 1e-9, eq


@pytest.mark.slow
def test_search_through_an_existing_cluster_address(tmp_path, monkeypatch):
    """--cluster / scheduler_address: the search uses a running Dask scheduler (here a LocalCluster
    started by the test, as a user's cluster would be) and leaves it running."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        res = run_search(tiny_spec(), out=tmp_path, trials=2, scheduler_address=cluster.scheduler_address,
                         progress=False)
        assert len(res.rows) == 2 and all(r["status"] == "ok" for r in res.rows)
        with Client(cluster.scheduler_address) as c:           # still up: run_search closed only its client
            assert len(c.nthreads()) == 1
    import neurohebb.search.runner as runner

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT", 2)
    with pytest.raises(SearchSpecError, match="scheduler_address: cannot reach the Dask scheduler"):
        run_search(tiny_spec(budget={"trials": 1}), out=tmp_path / "x", scheduler_address="tcp://127.0.0.1:9",
                   progress=False)
