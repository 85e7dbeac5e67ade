"""After a search: the table of every candidate, the re-checks of the best,
the hand-written references, a plot of the score over the search."""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import NeurohebbError
from .space import describe


@dataclass
class SearchResult:
    """What :func:`~neurohebb.search.run_search` returns.

    ``rows``: one dict per candidate (``number``, ``status`` ok /
    not_expressible / failed / interrupted, ``score``, ``rule``, ``compiled``,
    ``reason``, ``duplicate_of``, ``metrics``, ``wall``); ``best``: the best
    scored row; ``recheck``: the best ``top`` re-run in float and on Lava;
    ``references``: the spec's hand-written rules scored the same way."""

    name: str
    direction: str
    storage: str
    rows: list = field(default_factory=list)
    recheck: list = field(default_factory=list)
    references: list = field(default_factory=list)
    requeued: int = 0
    files: list = field(default_factory=list)

    @property
    def scored(self):
        return [r for r in self.rows if r["status"] == "ok"]

    @property
    def best(self):
        ok = self.scored
        if not ok:
            return None
        return (max if self.direction == "maximize" else min)(ok, key=lambda r: r["score"])

    def top(self, k):
        ok = sorted(self.scored, key=lambda r: r["score"], reverse=self.direction == "maximize")
        seen, out = set(), []
        for r in ok:
            key = json.dumps(r["rule"], sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            out.append(r)
            if len(out) == k:
                break
        return out

    def counts(self) -> dict:
        c = {}
        for r in self.rows:
            c[r["status"]] = c.get(r["status"], 0) + 1
        return c


def collect(spec, study, out, storage, requeued=0) -> SearchResult:
    from optuna.trial import TrialState

    res = SearchResult(spec.name, spec.objective.direction, str(storage), requeued=requeued)
    for t in study.get_trials(deepcopy=False):
        if t.state in (TrialState.RUNNING, TrialState.WAITING):
            continue
        ua = t.user_attrs
        res.rows.append({"number": t.number, "status": ua.get("status", t.state.name.lower()),
                         "score": t.value if t.state == TrialState.COMPLETE else None,
                         "params": dict(t.params), "rule": ua.get("rule"), "compiled": ua.get("compiled"),
                         "reason": ua.get("reason", ""), "duplicate_of": ua.get("duplicate_of"),
                         "metrics": ua.get("metrics") or {}, "wall": ua.get("wall", 0.0)})
    return res


# ------------------------------------------------------------------ re-checks
def lava_equivalence(spec, rule, steps) -> dict:
    """Run the candidate's network for ``steps`` on the reference backend and on
    Lava, fixed and float: are the fixed runs bit-identical (weights and
    spikes), how far apart are the float ones."""
    from .. import backends
    from .evaluate import candidate_network

    net = candidate_network(spec, rule)
    out = {"steps": int(steps)}
    ref = backends.get("reference")
    lava = backends.get("lava")
    for prec in ("fixed", "float"):
        a = ref.run(net, precision=prec, steps=steps, progress=None, threads=1)
        b = lava.run(net, precision=prec, steps=steps, progress=None)
        same_w = all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
        same_s = all(np.array_equal(np.asarray(a.spikes[k]), np.asarray(b.spikes[k])) for k in a.spikes if k in b.spikes)
        dw = max(float(np.max(np.abs(a.weights[k] - b.weights[k]))) for k in a.weights)
        out[prec] = {"identical": bool(same_w and same_s), "max_abs_dw": dw, "lava_wall": b.wall_time}
    return out


def _recheck_one(spec, rule, lava_ok):
    from .evaluate import score

    item = {}
    if spec.recheck.seeds:
        other = spec.model_copy(update={"objective": spec.objective.model_copy(update={"seeds": list(spec.recheck.seeds)})})
        try:
            item["score_other_seeds"], m = score(other, rule)
            item["score_per_other_seed"] = m["score_per_seed"]
        except NeurohebbError as exc:
            item["score_other_seeds_error"] = str(exc)
    if spec.recheck.float:
        try:
            item["score_float"], _ = score(spec, rule, precision="float")
        except NeurohebbError as exc:
            item["score_float_error"] = str(exc)
    if spec.recheck.lava:
        if lava_ok is not None:
            item["lava"] = {"skipped": lava_ok}
        else:
            try:
                item["lava"] = lava_equivalence(spec, rule, spec.recheck.lava_steps)
            except NeurohebbError as exc:
                item["lava"] = {"error": str(exc)}
    return item


def recheck_top(spec, result: SearchResult, out):
    """Re-run the best ``spec.recheck.top`` candidates in float (the
    objective, reference backend) and on Lava (short equivalence run), and
    score the spec's reference rules; results are cached in
    ``<out>/<name>_recheck.json`` so a resumed search re-checks only new ones."""
    from .. import backends
    from ..compiler import compile_network
    from .evaluate import candidate_network, compiled_rule, score

    cache_path = Path(out) / f"{spec.name}_recheck.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    settings = json.dumps(spec.recheck.model_dump(), sort_keys=True)
    if cache.get("settings") != settings:
        cache = {"settings": settings, "items": {}}
    lava_ok = None if backends.available("lava") else backends.unavailable_reason("lava")
    result.recheck = []
    for r in result.top(spec.recheck.top):
        key = json.dumps(r["rule"], sort_keys=True)
        item = cache["items"].get(key)
        if item is None:
            item = _recheck_one(spec, r["rule"], lava_ok)
            cache["items"][key] = item
        result.recheck.append({"number": r["number"], "score": r["score"], **item})
    result.references = []
    for ref in spec.references:
        key = "ref:" + json.dumps(ref.rule, sort_keys=True)
        item = cache["items"].get(key)
        if item is None:
            item = {"label": ref.label, "rule": ref.rule}
            try:
                net = candidate_network(spec, ref.rule)
                program, report = compile_network(net, hardware=spec.target)
                item["compiled"] = compiled_rule(program, report, spec.projection)
                item["score"], _ = score(spec, ref.rule, net)
            except NeurohebbError as exc:
                item["not_expressible"] = str(exc)
            item.update(_recheck_one(spec, ref.rule, lava_ok) if "score" in item else {})
            cache["items"][key] = item
        result.references.append(item)
    Path(out).mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(cache, indent=1, default=str))
    return result


# ------------------------------------------------------------------ outputs
def _fmt(v, nd=4):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def _lava_txt(item):
    lv = item.get("lava")
    if lv is None:
        return "-"
    if "skipped" in lv:
        return f"not run ({lv['skipped']})"
    if "error" in lv:
        return "not run: " + " ".join(x.strip() for x in lv["error"].splitlines())
    fx, fl = lv["fixed"], lv["float"]
    return (f"fixed {'bit-identical' if fx['identical'] else 'DIFFERS (largest weight difference %.3g)' % fx['max_abs_dw']}, "
            f"float largest weight difference {fl['max_abs_dw']:.2g} ({lv['steps']} steps)")


def _no_engine(spec) -> str:
    from ..hardware import load_hardware

    return "(float target)" if load_hardware(spec.target).kind == "float" else "(no products)"


def summary_markdown(spec, result: SearchResult) -> str:
    ob = spec.objective
    what = (f"{ob.experiment}{'/' + ob.part if ob.part else ''}: {ob.metric}" if ob.function is None
            else f"{ob.function}")
    c = result.counts()
    lines = [f"# Search `{spec.name}`", ""]
    if spec.description:
        lines += [spec.description.strip(), ""]
    lines += [f"Objective: {what} ({ob.direction}; {spec.evaluate.backend}:{spec.evaluate.precision}"
              f"{', short protocol' if ob.short and ob.function is None else ''}; seeds {ob.seeds}). "
              f"Target: {spec.target}. Candidates: {len(result.rows)} "
              f"({', '.join(f'{v} {k}' for k, v in sorted(c.items()))}).", ""]
    oth = f"score, seeds {spec.recheck.seeds}" if spec.recheck.seeds else "other seeds"
    lines += [f"| rank | trial | score ({spec.evaluate.precision}) | {oth} | float re-check | rule | engine products | Lava re-check |",
              "|---|---|---|---|---|---|---|---|"]
    rc = {x["number"]: x for x in result.recheck}
    for i, r in enumerate(result.top(max(spec.recheck.top, 5)), 1):
        x = rc.get(r["number"], {})
        eng = ", ".join((r.get("compiled") or {}).get("engine", [])) or _no_engine(spec)
        lines.append(f"| {i} | {r['number']} | {_fmt(r['score'])} | {_fmt(x.get('score_other_seeds'))} | "
                     f"{_fmt(x.get('score_float'))} | "
                     f"`{describe(r['rule'])}` | `{eng}` | {_lava_txt(x) if x else '-'} |")
    if result.references:
        lines += ["", "Hand-written rules, scored the same way:", "",
                  f"| rule | score ({spec.evaluate.precision}) | {oth} | float re-check | definition | engine products | Lava re-check |",
                  "|---|---|---|---|---|---|---|"]
        for ref in result.references:
            if "not_expressible" in ref:
                lines.append(f"| {ref['label']} | not expressible | - | - | `{describe(ref['rule'])}` | "
                             f"{ref['not_expressible'].splitlines()[0]} | - |")
                continue
            eng = ", ".join((ref.get("compiled") or {}).get("engine", [])) or _no_engine(spec)
            lines.append(f"| {ref['label']} | {_fmt(ref.get('score'))} | {_fmt(ref.get('score_other_seeds'))} | "
                         f"{_fmt(ref.get('score_float'))} | "
                         f"`{describe(ref['rule'])}` | `{eng}` | {_lava_txt(ref)} |")
    combos = combinations(spec, result)
    if len(combos) > 1:
        lines += ["", "Best candidate per combination of optional terms present (how many of the study's "
                  "candidates had it; '-': none of them was scored):", "",
                  "| terms present | candidates | best score | trial |", "|---|---|---|---|"]
        for names, (n, best) in sorted(combos.items(), key=lambda kv: _order(kv[1][1], result.direction)):
            lines.append(f"| {' + '.join(names) or '(none)'} | {n} | "
                         f"{_fmt(best['score']) if best else '-'} | {best['number'] if best else '-'} |")
    reasons = {}
    for r in result.rows:
        if r["status"] == "not_expressible" and r.get("duplicate_of") is None:
            for msg in _problems(r["reason"]):
                reasons[msg] = reasons.get(msg, 0) + 1
    if reasons:
        lines += ["", "Not expressible on the target (never run), most frequent reasons:", ""]
        for m, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
            lines.append(f"* {n} x `{m}`")
    return "\n".join(lines) + "\n"


def _problems(reason: str) -> list[str]:
    """The compiler's problems in a NotExpressible message, one short line each
    (``product P: too small`` / ``too large`` / ``off the grid`` / the message)."""
    import re

    lines = [x.strip() for x in reason.splitlines() if x.strip()]
    if lines and re.match(r"^not expressible for [^:]+:$", lines[0]):
        lines = lines[1:]
    elif lines:
        lines[0] = re.sub(r"^not expressible for [^:]+: ", "", lines[0])
    out = []
    for x in lines:
        m = re.match(r"^(\S+): product (.+?): coefficient .*?(too small|too large|% off)", x)
        if m:
            kind = {"% off": "more than max_coefficient_error from the grid"}.get(m.group(3), m.group(3))
            out.append(f"{m.group(2)}: {kind}")
        else:
            out.append(x[:160])
    return out


def _order(best, direction):
    if best is None:
        return (1, 0.0)
    return (0, -best["score"] if direction == "maximize" else best["score"])


def combinations(spec, result: SearchResult) -> dict:
    """``{names of the optional terms present: (candidates, best scored row or None)}``."""
    opt = [(i, t.param or t.product) for i, t in enumerate(spec.space.terms) if t.optional]
    out: dict = {}
    better = (lambda a, b: a > b) if result.direction == "maximize" else (lambda a, b: a < b)
    for r in result.rows:
        if r["status"] == "interrupted":
            continue
        key = tuple(name for i, name in opt if r["params"].get(f"t{i}.on"))
        n, best = out.get(key, (0, None))
        if r["status"] == "ok" and (best is None or better(r["score"], best["score"])):
            best = r
        out[key] = (n + 1, best)
    return out


def plot_scores(spec, result: SearchResult, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    ok = [r for r in result.rows if r["status"] == "ok"]
    if ok:
        ax.plot([r["number"] for r in ok], [r["score"] for r in ok], "o", ms=3.5, alpha=0.6, label="scored candidate")
        best, xs, ys = None, [], []
        better = (lambda a, b: a > b) if result.direction == "maximize" else (lambda a, b: a < b)
        for r in sorted(ok, key=lambda r: r["number"]):
            if best is None or better(r["score"], best):
                best = r["score"]
            xs.append(r["number"])
            ys.append(best)
        ax.step(xs, ys, where="post", color="C3", label="best so far")
    bad = [r["number"] for r in result.rows if r["status"] == "not_expressible"]
    if bad:
        lo = min([r["score"] for r in ok], default=0.0)
        ax.plot(bad, [lo] * len(bad), "x", color="0.5", ms=4, label=f"not expressible on {spec.target} ({len(bad)})")
    for i, ref in enumerate(result.references):
        if ref.get("score") is not None:
            ax.axhline(ref["score"], ls="--", lw=1, color=f"C{i + 4}", label=f"{ref['label']}: {ref['score']:.3f}")
    ax.set_xlabel("candidate (trial number)")
    ax.set_ylabel(spec.objective.metric or "score")
    ax.set_title(f"search {spec.name} ({spec.evaluate.backend}:{spec.evaluate.precision}, target {spec.target})")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(spec, result: SearchResult, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{spec.name}_results.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["trial", "status", "score", "dw", "traces", "engine_products", "max_coeff_error",
                    "duplicate_of", "wall_s", "reason"])
        for r in result.rows:
            rule = r["rule"] or {}
            comp = r.get("compiled") or {}
            w.writerow([r["number"], r["status"], "" if r["score"] is None else repr(r["score"]), rule.get("dw", ""),
                        json.dumps(rule.get("traces", {})), "; ".join(comp.get("engine", [])),
                        "" if not comp else f"{comp.get('max_rel_error', 0):.4g}",
                        "" if r.get("duplicate_of") is None else r["duplicate_of"], f"{r.get('wall', 0):.2f}",
                        (r.get("reason") or "").replace("\n", " | ")[:500]])
    md = out / f"{spec.name}_summary.md"
    md.write_text(summary_markdown(spec, result))
    png = plot_scores(spec, result, out / f"{spec.name}_scores.png")
    best = result.best
    bj = out / f"{spec.name}_best.json"
    bj.write_text(json.dumps({"name": spec.name, "best": best, "recheck": result.recheck,
                              "references": result.references, "counts": result.counts()}, indent=1, default=str))
    result.files = [str(csv_path), str(md), str(png), str(bj)]
    return result.files
