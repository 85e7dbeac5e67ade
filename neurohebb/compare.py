"""``compare``: run one document on several (backend, precision) pairs and
over several seeds, and measure how far the runs are from the first one.

>>> res = neurohebb.compare("song.yaml", runs=["reference:float", "reference:fixed"], seeds=20, drift=True)
>>> print(res.table())
>>> fig = res.plot()                 # a matplotlib Figure; res.plot("compare.png") also writes it
>>> res.drift()                      # the float-vs-fixed drift split by cause

Metrics of each run against the first (the reference run), per seed, then
mean and sd over seeds:

* per spiking population that is simulated (not a source): ``spike_count_corr``
  (Pearson correlation of the per-neuron spike counts) and the mean rate of
  each run;
* per projection: ``weight_rmse_lsb`` (RMSE of the final weights in units of
  the fixed-point target's weight LSB), ``weight_corr`` (Pearson correlation
  over synapses), ``weight_w1_lsb`` (Wasserstein-1 distance between the two
  final weight distributions, in LSB) and the mean final weight of each run;
* the experiment's own metric, when ``metric`` is given (a function of a
  :class:`~neurohebb.result.Result`, or a dict of them), per run;
* for fixed-point runs, what the engine reports per projection:
  ``truncation_lsb`` (mean per synapse of what the engine's product right
  shifts dropped, in LSB: a systematic, negative drift), ``weight_clips``,
  ``accumulator_saturations``, ``tag_clips``, ``initial_weights_clipped``
  and ``trace_saturations`` (counts), and per population ``u_wraps`` and
  ``v_saturations``.

* with ``drift=True`` (the CLI's default), the drift of ``reference:fixed``
  from ``reference:float`` split by cause (:meth:`ComparisonResult.drift`,
  printed by :meth:`ComparisonResult.table`):
  coefficient rounding (a float run of the compiler's effective network, whose
  rules carry the hardware's rounded coefficients) and the rest of the
  fixed-point arithmetic, with the engine's truncation and the saturation
  count of every trace, by name.

Runs of one seed share the seed, so sources (Poisson trains, initial weights
before quantization) are identical; differences come from arithmetic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import NeurohebbError, UnsupportedFeature
from .parallel import map_tasks
from .text import table

RUN_SPECS = ("reference:float", "reference:fixed")
#: the fixed-point model's per-projection counters (``report["saturation"]``) compare shows
SATURATION_COUNTERS = ("weight_clips", "accumulator_saturations", "tag_clips", "initial_weights_clipped")


def _parse(spec: str) -> tuple[str, str]:
    if ":" not in spec:
        return spec, "float"
    b, p = spec.split(":", 1)
    return b, p.split(":", 1)[0]


SEMANTICS = ("document", "stock")


def _semantics(spec: str, lowering) -> str | None:
    """The third field of ``backend:precision:semantics`` (``document`` or
    ``stock``), else ``stock`` for lava runs and reference fixed runs when
    ``lowering="stock"`` (the chip and its prediction), else None."""
    parts = spec.split(":")
    if len(parts) > 2:
        if parts[2] not in SEMANTICS:
            raise NeurohebbError(f"compare: run {spec!r}: semantics {parts[2]!r} unknown; known: {', '.join(SEMANTICS)}")
        return parts[2]
    if lowering == "stock" and (parts[0] == "lava" or (parts[0] == "reference" and len(parts) > 1 and
                                                       parts[1] == "fixed")):
        return "stock"
    return None


def _run_options(spec: str, lowering, drop_refractory) -> dict:
    """Backend options of one run: ``semantics`` (a contract option: the
    reference computes the stock semantics, lava lowers to stock processes)."""
    sem = _semantics(spec, lowering)
    if sem is None:
        return {}
    opts = {"semantics": sem}
    if sem == "stock" and drop_refractory:
        opts["drop_refractory"] = True
    return opts


def _corr(a, b) -> float:
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).ravel()
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def wasserstein1(a, b) -> float:
    """Wasserstein-1 (earth mover's) distance between two 1-D samples."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(np.ravel(a), np.ravel(b)))


@dataclass
class ComparisonResult:
    """``rows``: dicts with keys kind (population | projection | metric),
    target, metric, run, and ``values`` (one per seed); ``mean``/``sd`` via
    :meth:`summary`.  ``histories[run][proj]`` = (times, mean weight per seed
    (seeds, k)) for the plot."""

    network: str
    runs: list
    seeds: list
    steps: int
    lsb: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    histories: dict = field(default_factory=dict)
    hardware: str = ""
    wall_times: dict = field(default_factory=dict)
    drift_notes: dict = field(default_factory=dict)

    def add(self, kind, target, metric, run, seed_index, value):
        for r in self.rows:
            if (r["kind"], r["target"], r["metric"], r["run"]) == (kind, target, metric, run):
                break
        else:
            r = {"kind": kind, "target": target, "metric": metric, "run": run, "values": [math.nan] * len(self.seeds)}
            self.rows.append(r)
        r["values"][seed_index] = float(value)

    def summary(self) -> list[dict]:
        out = []
        for r in self.rows:
            v = np.asarray(r["values"], float)
            ok = v[np.isfinite(v)]
            out.append({**{k: r[k] for k in ("kind", "target", "metric", "run")},
                        "mean": float(ok.mean()) if ok.size else math.nan,
                        "sd": float(ok.std(ddof=1)) if ok.size > 1 else math.nan, "n": int(ok.size)})
        return out

    def get(self, target, metric, run=None) -> dict:
        for s in self.summary():
            if s["target"] == target and s["metric"] == metric and (run is None or s["run"] == run):
                return s
        raise KeyError(f"no metric {metric!r} for {target!r} (run {run})")

    def values(self, target, metric, run=None) -> np.ndarray:
        for r in self.rows:
            if r["target"] == target and r["metric"] == metric and (run is None or r["run"] == run):
                return np.asarray(r["values"], float)
        raise KeyError(f"no metric {metric!r} for {target!r} (run {run})")

    def table(self) -> str:
        ref = self.runs[0]
        head = (f"compare {self.network or 'network'}: {', '.join(self.runs)} over {len(self.seeds)} seed(s) "
                f"({self.seeds[0]}..{self.seeds[-1]}), {self.steps} steps; metrics against {ref}")
        if self.lsb:
            head += "\nweight LSB (" + (self.hardware or "fixed target") + "): " + \
                ", ".join(f"{k} {v:.4g}" for k, v in self.lsb.items())
        rows = []
        for s in self.summary():
            if s["kind"] == "drift":
                continue
            sd = "" if not math.isfinite(s["sd"]) else f"{s['sd']:.4g}"
            mean = "nan" if not math.isfinite(s["mean"]) else f"{s['mean']:.4g}"
            rows.append([s["target"], s["metric"], s["run"], mean, sd])
        foot = "wall time per run (mean over seeds): " + ", ".join(
            f"{k} {np.mean(v):.3g} s" for k, v in self.wall_times.items())
        parts = [head, "", table(rows, ["target", "metric", "run", "mean", "sd"])]
        dt = self.drift_table()
        if dt:
            parts += ["", dt]
        return "\n".join(parts + ["", foot])

    def plot(self, path=None, projections=None):
        """Mean weight over time per projection, one line per run (mean over
        seeds, shaded +- sd): a matplotlib Figure (:func:`neurohebb.plot.comparison`),
        also written to ``path`` (PNG) when it is given."""
        from . import plot

        fig = plot.comparison(self, projections)
        if path is not None:
            plot.save(fig, path)
        return fig

    def plot_drift(self, path=None, projection=None):
        """The float-vs-fixed drift by cause (:meth:`drift`) as a bar chart
        (:func:`neurohebb.plot.drift`), also written to ``path`` when given."""
        from . import plot

        fig = plot.drift(self, projection)
        if path is not None:
            plot.save(fig, path)
        return fig

    def drift(self) -> dict:
        """The drift of the fixed-point run from the float run, split by cause,
        per projection (empty unless the runs include ``reference:float`` and
        ``reference:fixed``)::

            {proj: {"total": {"rmse_lsb", "mean_lsb"},
                    "causes": {"coefficient rounding": {"rmse_lsb", "mean_lsb"},
                               "fixed-point arithmetic": {"rmse_lsb", "mean_lsb"}},
                    "truncation_lsb": mean per synapse dropped by the product shifts,
                    "saturated_traces": {trace: saturation count (mean over seeds)},
                    "weight_clips": mean count, "note": text},
             pop: {"rate_hz:float", "rate_hz:coefficients rounded", "rate_hz:fixed"}}

        ``coefficient rounding`` is a float run of the compiler's effective
        network (every rule coefficient as the hardware rounds it, all else
        float) against the float run; ``fixed-point arithmetic`` is the fixed
        run against that effective float run (weight, neuron and trace
        quantization, stochastic decay rounding, truncation, saturation).
        RMSEs of one seed do not add: plasticity amplifies each difference."""
        out = {}
        for r in self.rows:
            if r["kind"] != "drift":
                continue
            v = np.asarray(r["values"], float)
            v = v[np.isfinite(v)]
            mean = float(v.mean()) if v.size else math.nan
            m = r["metric"]
            if m.startswith("rate_hz:"):
                out.setdefault(r["target"], {})[m] = mean
                continue
            d = out.setdefault(r["target"], {"total": {}, "causes": {}, "saturated_traces": {}})
            if m.startswith("saturation:"):
                d["saturated_traces"][m.split(":", 1)[1]] = mean
            elif m in ("truncation_lsb", "weight_clips"):
                d[m] = mean
            else:
                cause, _, stat = m.rpartition(":")
                (d["total"] if cause == "total" else d["causes"].setdefault(cause, {}))[stat] = mean
        for k, n in self.drift_notes.items():
            if k in out:
                out[k]["note"] = n
        return out

    def drift_table(self) -> str:
        d = self.drift()
        if not d:
            return ""
        rows = []
        for proj, x in d.items():
            if "causes" not in x:  # a population: its mean rate in the three runs
                rows.append([proj, "mean rate (Hz): " + ", ".join(
                    f"{k.split(':', 1)[1]} {v:.4g}" for k, v in x.items()), "", ""])
                continue
            rows.append([proj, "total (fixed vs float)", _f(x["total"].get("rmse_lsb")), _f(x["total"].get("mean_lsb"))])
            for cause, v in x["causes"].items():
                rows.append([proj, cause, _f(v.get("rmse_lsb")), _f(v.get("mean_lsb"))])
            if "truncation_lsb" in x:
                rows.append([proj, "  of which product truncation (engine count)", "", _f(-x["truncation_lsb"])])
            sat = {t: n for t, n in x["saturated_traces"].items() if n > 0}
            rows.append([proj, "saturated traces: " + (", ".join(f"{t} ({n:.3g} times)" for t, n in sat.items())
                                                       if sat else "none"), "", ""])
        fixed = next((r for r in self.runs if r.endswith(":fixed")), "fixed")
        head = (f"drift of {fixed} from {self.runs[0]} by cause (final weights, in weight LSB, mean over seeds; "
                "RMSEs do not add up: plasticity amplifies every difference)")
        notes = [f"  {k}: {n}" for k, n in self.drift_notes.items()]
        return "\n".join([head, table(rows, ["target", "cause", "rmse (LSB)", "mean shift (LSB)"])] + notes)

    def to_dict(self) -> dict:
        return {"network": self.network, "runs": self.runs, "seeds": self.seeds, "steps": self.steps,
                "lsb": self.lsb, "hardware": self.hardware, "summary": self.summary(), "rows": self.rows}


def _f(x) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.4g}"


def compare(network, runs=RUN_SPECS, seeds=5, steps=None, hardware="loihi2", metric=None, progress=False,
            history_every=None, compile_options=None, drift=False, lowering=None,
            drop_refractory=False, cluster=None, workers=None) -> ComparisonResult:
    """Run ``network`` (a Network or a path) for every ``backend:precision`` in
    ``runs`` and every seed (``seeds``: a count, starting at the document's
    seed, or a list) and compare each run with the first.  Fixed-point runs
    use ``hardware`` (and ``compile_options``); ``metric``: a function of a
    Result (or a dict name -> function) evaluated on every run.
    ``lowering="stock"``: lava runs use Lava's stock processes and reference
    fixed runs the stock semantics (what those compute); a run spec
    ``backend:precision:stock`` (or ``:document``) says so per run, and
    ``drop_refractory`` goes to the stock lava runs.  Adds a
    weights probe (every ``history_every`` steps, default steps/50) to every
    plastic projection (its own, so a document's coarser probe does not
    flatten the plot).  ``drift=True`` (the CLI's default; needs
    ``reference:float`` first and ``reference:fixed``): also run the
    compiler's effective float network per seed (one more float run each) and
    split the fixed run's drift by cause (:meth:`ComparisonResult.drift`);
    ``None``: whenever those two runs are there.  ``workers`` (a local Dask
    cluster of that many processes) or ``cluster`` (a Dask scheduler's
    address) run the seeds in parallel, one task per seed, with a progress
    bar; the result is the same as the serial run's."""
    from . import backends
    from .api import load
    from .ir import Network
    from .ir.schema import Probe

    if not isinstance(network, Network):
        network = load(network)
    runs = list(runs)
    if len(runs) < 2:
        raise NeurohebbError("compare needs at least two runs, e.g. reference:float,reference:fixed")
    seed_list = list(range(network.run.seed, network.run.seed + int(seeds))) if np.isscalar(seeds) else [int(s) for s in seeds]
    steps = network.run.steps if steps is None else int(steps)
    every = history_every or max(1, steps // 50)
    net = network.model_copy(deep=True)
    probes = dict(net.probes)
    plastic = [k for k, pr in net.projections.items() if pr.rule is not None]
    for k in plastic:
        probes[f"_compare_w_{k}"] = Probe(target=k, var="weights", every=every)
    net.probes = probes
    metrics = {} if metric is None else (metric if isinstance(metric, dict) else {"metric": metric})

    # every run through the backend contract; fixed-point runs compile for ``hardware``
    fixed_opts = {"hardware": hardware, **(compile_options or {})}
    any_fixed = False
    for spec in runs:
        b, p = _parse(spec)
        be = backends.get(b)  # fail early when unavailable
        bad = be.unsupported(net, p, **(fixed_opts if p == "fixed" else {}), **_run_options(spec, lowering,
                                                                                            drop_refractory))
        if bad:
            raise UnsupportedFeature(f"compare: {spec} cannot run {network.name or 'this network'}:\n  " +
                                     "\n  ".join(f"{q}: {m}" if q else m for q, m in bad))
        any_fixed = any_fixed or p == "fixed"
    try:  # weight LSBs of the fixed-point target, the unit of the weight metrics
        from .compiler import compile_network

        prog, _ = compile_network(net, steps=steps, **fixed_opts)
        lsb = {k: pp.weights.scale for k, pp in prog.projections.items()}
    except NeurohebbError:
        prog, lsb = None, {}
    res = ComparisonResult(network.name, runs, seed_list, steps, lsb, hardware=hardware if any_fixed else "")
    fixed_spec = next((r for r in runs if r == "reference:fixed"), None)
    if drift is None:
        drift = runs[0] == "reference:float" and fixed_spec is not None and prog is not None
    effective = None
    if drift:
        if runs[0] != "reference:float" or fixed_spec is None or prog is None:
            raise NeurohebbError("drift by cause needs reference:float as the first run and a reference:fixed run "
                                 "of a network the fixed-point target can express")
        try:
            effective = effective_float_network(prog)
        except NeurohebbError as exc:
            res.drift_notes["coefficient rounding"] = f"not separated: {exc}"
    hist: dict = {r: {} for r in runs}
    on_dask = bool(cluster) or workers is not None
    run_opts = {spec: {**(fixed_opts if _parse(spec)[1] == "fixed" else {}),
                       **_run_options(spec, lowering, drop_refractory)} for spec in runs}
    tasks = [(network, net, runs, seed, steps, False if on_dask else progress, run_opts, metrics, lsb, plastic,
              effective if drift else None, bool(drift), fixed_spec) for seed in seed_list]
    outs = map_tasks(_seed_runs, tasks, cluster=cluster, workers=workers, progress=on_dask and progress is not False,
                     desc=f"compare {network.name or ''}".strip())
    for si, out in enumerate(outs):  # in seed order, as a serial run adds them
        for spec, wall in out["wall"].items():
            res.wall_times.setdefault(spec, []).append(wall)
        for spec, d in out["hist"].items():
            for k, (t, m) in d.items():
                hist[spec].setdefault(k, [t, []])[1].append(m)
        for kind, target, metric_name, spec, value in out["rows"]:
            res.add(kind, target, metric_name, spec, si, value)
    for spec, d in hist.items():
        res.histories[spec] = {k: (np.asarray(t), np.asarray(v)) for k, (t, v) in d.items()}
    return res


class _Rows:
    """Collects ``add(kind, target, metric, run, seed index, value)`` rows of one seed (a Dask task)."""

    def __init__(self):
        self.rows = []

    def add(self, kind, target, metric, spec, si, value):
        self.rows.append((kind, target, metric, spec, float(value)))


def _seed_runs(network, net, runs, seed, steps, progress, run_opts, metrics, lsb, plastic, effective, drift,
               fixed_spec) -> dict:
    """Every run of one seed and its metrics: ``rows`` (kind, target, metric,
    run, value), weight histories and wall times (one Dask task)."""
    from . import backends

    res = _Rows()
    out = {"hist": {}, "wall": {}}
    si = 0
    results = {}
    for spec in runs:
        b, p = _parse(spec)
        r = backends.get(b).run(net, precision=p, seed=seed, steps=steps, progress=progress, **run_opts[spec])
        results[spec] = r
        out["wall"][spec] = r.wall_time
        for k in plastic:
            t, H = r.weight_history(k, probe=f"_compare_w_{k}")
            out["hist"].setdefault(spec, {})[k] = (t, H.reshape(H.shape[0], -1).mean(1))
        for name, fn in metrics.items():
            res.add("metric", name, "value", spec, si, fn(r))
        for k, sat in (r.report.get("saturation") or {}).items():
            res.add("projection", k, "truncation_lsb", spec, si, sat.get("truncation_lsb_per_synapse", 0.0))
            for counter in SATURATION_COUNTERS:
                if counter in sat:
                    res.add("projection", k, counter, spec, si, sat[counter])
            ts = sat.get("trace_saturations", {})
            res.add("projection", k, "trace_saturations", spec, si, sum(ts.values()))
            for tname, n in ts.items():
                if n:
                    res.add("projection", k, f"trace_saturations:{tname}", spec, si, n)
        for pop, cnt in (r.report.get("neurons") or {}).items():
            for counter, value in cnt.items():
                res.add("population", pop, counter, spec, si, value)
    ref = results[runs[0]]
    for spec in runs:
        r = results[spec]
        for pop, s in r.spikes.items():
            pt = network.populations[pop]
            if pt.type not in ("lif",) or getattr(pt, "prescribed", None) is not None:
                continue
            res.add("population", pop, "rate_hz", spec, si, r.rates(pop).mean())
            if spec != runs[0]:
                res.add("population", pop, "spike_count_corr", spec, si, _corr(ref.spikes[pop].sum(0), s.sum(0)))
        for k, W in r.weights.items():
            Wr = ref.weights[k]
            sel = np.ones(W.shape, bool)
            if network.projections[k].connectivity.type != "all_to_all":
                sel = (ref.initial_weights[k] != 0) | (r.initial_weights[k] != 0) | (Wr != 0) | (W != 0)
            a, bb = Wr[sel], W[sel]
            res.add("projection", k, "w_mean", spec, si, bb.mean() if bb.size else math.nan)
            if spec == runs[0]:
                continue
            unit = lsb.get(k, 1.0)
            res.add("projection", k, "weight_rmse_lsb" if k in lsb else "weight_rmse", spec, si,
                    float(np.sqrt(np.mean((a - bb) ** 2))) / unit if a.size else math.nan)
            res.add("projection", k, "weight_corr", spec, si, _corr(a, bb))
            res.add("projection", k, "weight_w1_lsb" if k in lsb else "weight_w1", spec, si,
                    wasserstein1(a, bb) / unit if a.size else math.nan)
    if drift:
        _drift(res, si, seed, steps, network, net, effective, results["reference:float"], results[fixed_spec],
               lsb, progress)
    out["rows"] = res.rows
    return out


def _drift(res, si, seed, steps, network, net, effective, fl, fx, lsb, progress):
    """One seed of :meth:`ComparisonResult.drift`."""
    from . import backends

    eff = None
    if effective is not None:
        eff = backends.get("reference").run(effective, precision="float", seed=seed, steps=steps, progress=progress)
    for pop, s in fx.spikes.items():
        spec = network.populations[pop]
        if spec.type != "lif" or getattr(spec, "prescribed", None) is not None:
            continue
        res.add("drift", pop, "rate_hz:float", "reference:fixed", si, fl.rates(pop).mean())
        if eff is not None:
            res.add("drift", pop, "rate_hz:coefficients rounded", "reference:fixed", si, eff.rates(pop).mean())
        res.add("drift", pop, "rate_hz:fixed", "reference:fixed", si, fx.rates(pop).mean())
    for k in fx.weights:
        if network.projections[k].rule is None:
            continue
        unit = lsb.get(k, 1.0)
        sel = np.ones(fx.weights[k].shape, bool)
        if network.projections[k].connectivity.type != "all_to_all":
            sel = (fl.initial_weights[k] != 0) | (fl.weights[k] != 0) | (fx.weights[k] != 0)

        def rmse_mean(a, b):
            d = (b[sel] - a[sel]) / unit
            return (float(np.sqrt(np.mean(d**2))), float(d.mean())) if d.size else (math.nan, math.nan)

        pairs = [("total", fl, fx)]
        if eff is not None:
            pairs += [("coefficient rounding", fl, eff), ("fixed-point arithmetic", eff, fx)]
        for cause, a, b in pairs:
            rm, mn = rmse_mean(a.weights[k], b.weights[k])
            res.add("drift", k, f"{cause}:rmse_lsb", "reference:fixed", si, rm)
            res.add("drift", k, f"{cause}:mean_lsb", "reference:fixed", si, mn)
        sat = (fx.report.get("saturation") or {}).get(k, {})
        res.add("drift", k, "truncation_lsb", "reference:fixed", si, sat.get("truncation_lsb_per_synapse", 0.0))
        res.add("drift", k, "weight_clips", "reference:fixed", si, sat.get("weight_clips", 0))
        for t, n in sat.get("trace_saturations", {}).items():
            res.add("drift", k, f"saturation:{t}", "reference:fixed", si, n)


def effective_float_network(program):
    """A float document whose rules have the hardware's rounded coefficients
    and nothing else quantized: the compiler's
    :func:`~neurohebb.compiler.effective_network`; for a rule with exclusive
    timing (whose emulation on the inclusive engine has no float form) each
    document product's coefficient times the rounding of the hardware product
    that carries it (``m * 2**E / C``), timing kept."""
    from .compiler import effective_network
    from .errors import UnsupportedFeature
    from .ir.io import from_dict, to_dict

    try:
        return effective_network(program)
    except UnsupportedFeature:
        pass
    net = program.network
    doc = to_dict(net)
    for k, pp in program.projections.items():
        if not pp.plastic:
            continue
        rule = net.projections[k].rule.expand()
        if rule.functions:
            raise UnsupportedFeature(f"projections.{k}: a rule with functions has no effective float form")
        by_source = {}
        for hp in pp.products:
            src = hp.origin[len("exclusive timing of "):] if hp.origin.startswith("exclusive timing of ") else (
                hp.source if not hp.origin else None)
            if src is not None:
                by_source[(hp.target, src)] = hp.coefficient / hp.ideal if hp.ideal else 1.0
        sums = {}
        for target, prods in (("w", rule.dw), ("e", rule.de)):
            terms = []
            for p in prods:
                ratio = by_source.get((target, str(p)))
                if ratio is None:
                    raise UnsupportedFeature(f"projections.{k}: product {p} has no hardware product to read its "
                                             "rounding from")
                terms.append("*".join([repr(p.coeff * ratio), p.dep] + [str(f) for f in p.factors]))
            if terms:
                sums[target] = " + ".join(terms)
        spec = {"template": "custom", "dw": sums.get("w", "0*u"), "timing": rule.timing,
                "traces": {t: {"impulse": ts.impulse, "tau": ts.tau} for t, ts in rule.traces.items()}}
        if "e" in sums:
            spec["de"] = sums["e"]
        if rule.modulator:
            spec["modulator"] = rule.modulator
        doc["projections"][k]["rule"] = spec
    return from_dict(doc, source="effective float network")
