"""``compare``: run one document on several (backend, precision) pairs and
over several seeds, and measure how far the runs are from the first one.

>>> res = neurohebb.compare("song.yaml", runs=["reference:float", "reference:fixed"], seeds=20)
>>> print(res.table())
>>> res.plot("weights_over_time.png")

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
  shifts dropped, in LSB: a systematic, negative drift), ``weight_clips``
  and ``trace_saturations`` (counts).

Runs of one seed share the seed, so sources (Poisson trains, initial weights
before quantization) are identical; differences come from arithmetic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import NeurohebbError, UnsupportedFeature
from .text import table

RUN_SPECS = ("reference:float", "reference:fixed")


def _parse(spec: str) -> tuple[str, str]:
    if ":" not in spec:
        return spec, "float"
    b, p = spec.split(":", 1)
    return b, p


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
            sd = "" if not math.isfinite(s["sd"]) else f"{s['sd']:.4g}"
            mean = "nan" if not math.isfinite(s["mean"]) else f"{s['mean']:.4g}"
            rows.append([s["target"], s["metric"], s["run"], mean, sd])
        foot = "wall time per run (mean over seeds): " + ", ".join(
            f"{k} {np.mean(v):.3g} s" for k, v in self.wall_times.items())
        return "\n".join([head, "", table(rows, ["target", "metric", "run", "mean", "sd"]), "", foot])

    def plot(self, path) -> Path:
        """PNG: mean weight over time per projection, one line per run (mean
        over seeds, shaded +- sd)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        projs = sorted({p for h in self.histories.values() for p in h})
        if not projs:
            raise NeurohebbError("nothing to plot: no projection has weights over time")
        fig, axes = plt.subplots(len(projs), 1, figsize=(7, 3 * len(projs)), squeeze=False)
        for ax, proj in zip(axes[:, 0], projs):
            for k, run in enumerate(self.runs):
                if proj not in self.histories.get(run, {}):
                    continue
                t, m = self.histories[run][proj]
                mu, sd = m.mean(0), m.std(0)
                ax.plot(t, mu, color=f"C{k}", label=run)
                if m.shape[0] > 1:
                    ax.fill_between(t, mu - sd, mu + sd, color=f"C{k}", alpha=0.2)
            ax.set_xlabel("step")
            ax.set_ylabel(f"mean weight of {proj}")
            ax.legend(fontsize=8)
            ax.set_title(f"{self.network}: {proj} ({len(self.seeds)} seeds, mean +- sd)")
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    def to_dict(self) -> dict:
        return {"network": self.network, "runs": self.runs, "seeds": self.seeds, "steps": self.steps,
                "lsb": self.lsb, "hardware": self.hardware, "summary": self.summary(), "rows": self.rows}


def compare(network, runs=RUN_SPECS, seeds=5, steps=None, hardware="loihi2", metric=None, progress=False,
            history_every=None, compile_options=None) -> ComparisonResult:
    """Run ``network`` (a Network or a path) for every ``backend:precision`` in
    ``runs`` and every seed (``seeds``: a count, starting at the document's
    seed, or a list) and compare each run with the first.  Fixed-point runs
    use ``hardware`` (and ``compile_options``); ``metric``: a function of a
    Result (or a dict name -> function) evaluated on every run.  Adds a
    weights probe (every ``history_every`` steps, default steps/50) to every
    plastic projection that has none, for the plot."""
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
        if not any(pb.target == k and pb.var == "weights" for pb in probes.values()):
            probes[f"_compare_w_{k}"] = Probe(target=k, var="weights", every=every)
    net.probes = probes
    metrics = {} if metric is None else (metric if isinstance(metric, dict) else {"metric": metric})

    # every run through the backend contract; fixed-point runs compile for ``hardware``
    fixed_opts = {"hardware": hardware, **(compile_options or {})}
    any_fixed = False
    for spec in runs:
        b, p = _parse(spec)
        be = backends.get(b)  # fail early when unavailable
        bad = be.unsupported(net, p, **(fixed_opts if p == "fixed" else {}))
        if bad:
            raise UnsupportedFeature(f"compare: {spec} cannot run {network.name or 'this network'}:\n  " +
                                     "\n  ".join(f"{q}: {m}" if q else m for q, m in bad))
        any_fixed = any_fixed or p == "fixed"
    try:  # weight LSBs of the fixed-point target, the unit of the weight metrics
        from .compiler import compile_network

        prog, _ = compile_network(net, steps=steps, **fixed_opts)
        lsb = {k: pp.weights.scale for k, pp in prog.projections.items()}
    except NeurohebbError:
        lsb = {}
    res = ComparisonResult(network.name, runs, seed_list, steps, lsb, hardware=hardware if any_fixed else "")
    hist: dict = {r: {} for r in runs}
    for si, seed in enumerate(seed_list):
        results = {}
        for spec in runs:
            b, p = _parse(spec)
            r = backends.get(b).run(net, precision=p, seed=seed, steps=steps, progress=progress,
                                    **(fixed_opts if p == "fixed" else {}))
            results[spec] = r
            res.wall_times.setdefault(spec, []).append(r.wall_time)
            for k in plastic:
                try:
                    t, H = r.weight_history(k)
                except KeyError:
                    continue
                hist[spec].setdefault(k, [t, []])[1].append(H.reshape(H.shape[0], -1).mean(1))
            for name, fn in metrics.items():
                res.add("metric", name, "value", spec, si, fn(r))
            for k, sat in (r.report.get("saturation") or {}).items():
                res.add("projection", k, "truncation_lsb", spec, si, sat.get("truncation_lsb_per_synapse", 0.0))
                res.add("projection", k, "weight_clips", spec, si, sat.get("weight_clips", 0))
                ts = sat.get("trace_saturations", {})
                res.add("projection", k, "trace_saturations", spec, si, sum(ts.values()))
        ref = results[runs[0]]
        for spec in runs:
            r = results[spec]
            for pop, s in r.spikes.items():
                pt = network.populations[pop]
                if pt.type not in ("lif",) or getattr(pt, "prescribed", None) is not None:
                    continue
                res.add("population", pop, "rate_hz", spec, si, r.rates(pop).mean())
                if spec != runs[0]:
                    res.add("population", pop, "spike_count_corr", spec, si,
                            _corr(ref.spikes[pop].sum(0), s.sum(0)))
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
    for spec, d in hist.items():
        res.histories[spec] = {k: (np.asarray(t), np.asarray(v)) for k, (t, v) in d.items()}
    return res
