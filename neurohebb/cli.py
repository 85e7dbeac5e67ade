"""Command line: ``neurohebb validate | run | rules | schema | demo``.

Invalid input exits with code 2 and a message naming the file, the field,
what was found and what is allowed; never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import NeurohebbError
from .text import table as _table


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def cmd_validate(args):
    from .ir import load

    for f in args.files:
        net = load(f)
        print(f"{f}: valid ({len(net.populations)} populations, {len(net.projections)} projections, "
              f"{sum(p.rule is not None for p in net.projections.values())} plastic)")
    return 0


def cmd_run(args):
    from . import plotting
    from .api import run
    from .ir import load

    net = load(args.file)
    extra = {"board": True} if args.board else {}
    if args.board and args.backend != "lava":
        raise NeurohebbError(f"--board runs on a Loihi 2 board through the lava backend; got --backend {args.backend}")
    res = run(net, backend=args.backend, precision=args.precision, seed=args.seed, steps=args.steps,
              progress=None if not args.quiet else False, **extra)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = net.name or Path(args.file).stem
    res.save(out / f"{stem}_{args.backend}_{args.precision}.npz")
    files = plotting.all_plots(res, net, out, stem)
    rows = []
    for pop, s in res.spikes.items():
        rows.append([pop, "spikes", f"{res.rates(pop).mean():.3g} Hz mean rate"])
    for proj, w in res.weights.items():
        rows.append([proj, "weights", f"mean {w.mean():.4g} (initial {res.initial_weights[proj].mean():.4g}), "
                                      f"range [{w.min():.4g}, {w.max():.4g}]"])
    print(_table(rows, ["name", "what", "value"]))
    print(f"\n{res.steps} steps in {res.wall_time:.2f} s on {res.backend}:{res.precision}; wrote {out}/ "
          f"({len(files)} plots and {stem}_{args.backend}_{args.precision}.npz)")
    return 0


def cmd_rules(args):
    from .rules import TEMPLATES

    for name, cls in TEMPLATES.items():
        doc = (cls.__module__ and sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
        print(f"{name}: {doc[0] if doc else ''}")
        for fname, f in cls.model_fields.items():
            if fname == "template":
                continue
            default = "required" if f.is_required() else f"default {f.default!r}"
            ann = getattr(f.annotation, "__name__", None) or str(f.annotation).replace("typing.", "")
            print(f"    {fname:18s} {ann:28s} {default}")
        print()
    return 0


def cmd_schema(args):
    from .ir import write_json_schema

    path = write_json_schema(args.output)
    print(f"wrote {path}")
    return 0


def cmd_docs(args):
    from .docgen import write

    for p in write(args.dir):
        print(f"wrote {p}")
    return 0


def cmd_compile(args):
    import json

    from .compiler import compile_file

    program, report = compile_file(args.file, hardware=args.hardware)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1, default=str))
    else:
        print(report.format())
    return 0


def cmd_compare(args):
    from .compare import compare

    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    res = compare(args.file, runs=runs, seeds=args.seeds, steps=args.steps, hardware=args.hardware,
                  progress=None if not args.quiet else False)
    print(res.table())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(args.file).stem
    path = res.plot(out / f"{stem}_compare.png")
    print(f"\nweights over time per run: {path}")
    return 0


def cmd_sims(args):
    from . import sims

    if args.sims_cmd == "list":
        rows = [[name, desc] for name, desc in sims.list_sims()]
        print(_table(rows, ["experiment", "what it shows"]))
        return 0
    res = sims.run_sim(args.name, backend=args.backend, precision=args.precision, out=args.out,
                       short=args.short, seed=args.seed, part=args.part)
    print(sims.format_result(res))
    return 0


def cmd_search(args):
    from .search import run_search
    from .search.space import describe

    res = run_search(args.spec, out=args.out, trials=args.trials, scheduler_address=args.cluster,
                     workers=args.workers, progress=not args.quiet, recheck=not args.no_recheck)
    c = res.counts()
    print(f"{len(res.rows)} candidates: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items()))
          + (f"; {res.requeued} interrupted candidate(s) re-queued" if res.requeued else ""))
    rows = [[r["number"], f"{r['score']:.4g}", describe(r["rule"])] for r in res.top(5)]
    if rows:
        print(_table(rows, ["trial", "score", "rule"]))
    for ref in res.references:
        s = ref.get("score")
        print(f"reference {ref['label']}: {'not expressible' if s is None else f'{s:.4g}'}")
    print("wrote " + ", ".join(res.files) + f"; study in {res.storage}")
    return 0


def cmd_export_nir(args):
    from .nir import export_file

    out = args.output or str(Path(args.file).with_suffix(".nir"))
    print(export_file(args.file, out, method=args.method, time_unit=args.time_unit))
    return 0


def cmd_import_nir(args):
    from .nir import import_file

    out = args.output or str(Path(args.file).with_suffix(".yaml"))
    print(import_file(args.file, out, dt=args.dt, method=args.method, time_unit=args.time_unit))
    return 0


def cmd_demo(args):
    from . import plotting
    from .api import run
    from .examples import EXAMPLES
    from .ir import load

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, ex in EXAMPLES.items():
        net = load(ex["path"])
        res = run(net, progress=None)
        metrics = ex["metrics"](res, net)
        proj = ex["projection"]
        plotting.weights_over_time(res, proj, out / f"{name}_weights_over_time.png")
        ref = None
        if name == "oja_pca":
            import numpy as np

            C = np.load(ex["path"].with_suffix(".npz"))["covariance"]
            ref = np.linalg.eigh(C)[1][:, -1]
        plotting.final_weights(res, proj, out / f"{name}_final_weights.png", reference=ref)
        res.save(out / f"{name}_reference_float.npz")
        for k, v in metrics.items():
            rows.append([name, k, _fmt(v)])
        rows.append([name, "wall time (s)", f"{res.wall_time:.2f}"])
    print("\nneurohebb demo: shipped examples on the reference backend (float)\n")
    print(_table(rows, ["example", "metric", "value"]))

    from .compare import compare

    print(f"\nfloat vs Loihi-2 fixed point (reference:float vs reference:fixed, {args.seeds} seeds)\n")
    for name, ex in EXAMPLES.items():
        net = load(ex["path"])
        try:
            keys = ex.get("compare_metrics", [])
            metric = {k: (lambda r, _k=k, _net=net, _f=ex["metrics"]: _f(r, _net)[_k]) for k in keys}
            cmp = compare(net, runs=["reference:float", "reference:fixed"], seeds=args.seeds, metric=metric or None)
        except NeurohebbError as exc:
            print(f"{name}: not run in fixed point: {exc}\n")
            continue
        print(cmp.table())
        cmp.plot(out / f"{name}_compare.png")
        print()
    if args.sims != "none":
        short = args.sims == "short"
        print(f"\nseed experiments (sims/, reference:float, {'short variants' if short else 'full protocols'}; "
              "docs/sims.md has every backend and precision)\n")
        print(sims_table(short, out / "sims"))
    print(f"plots and results in {out}/")
    return 0


def sims_table(short: bool, out) -> str:
    """The demo's table of the seed experiments: per judged row the value (mean ±
    sd over seeds), its control, the target, its source and whether it is met."""
    from .sims import format_control, format_value, list_sims, met_text, run_sim

    srows = []
    for name, _ in list_sims():
        try:
            res = run_sim(name, short=short, out=out)
        except NeurohebbError as exc:
            srows.append([name, "error", str(exc).splitlines()[0][:80], "", "", "", ""])
            continue
        for r in res["rows"]:
            if r["ok"] is not None:
                srows.append([name, r["label"][:60], format_value(r["value"], r["spread"], r["n"]),
                              format_control(r), r["target"], r["source"], met_text(r)])
        srows.append([name, "wall time (s)", f"{res['wall_time']:.1f}", "", "", "", ""])
    return _table(srows, ["experiment", "metric", "value (mean ± sd (seeds))", "control", "target", "source", "met"])


def build_parser():
    p = argparse.ArgumentParser(prog="neurohebb", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="check network documents")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=cmd_validate)
    r = sub.add_parser("run", help="run a network document; write results (.npz) and plots")
    r.add_argument("file")
    r.add_argument("--backend", default="reference")
    r.add_argument("--precision", default="float")
    r.add_argument("--steps", type=int)
    r.add_argument("--seed", type=int)
    r.add_argument("--out", default="out")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--board", action="store_true", help="lava backend: run on a Loihi 2 board (needs lava-loihi)")
    r.set_defaults(func=cmd_run)
    ru = sub.add_parser("rules", help="list rule templates and their parameters")
    ru.set_defaults(func=cmd_rules)
    s = sub.add_parser("schema", help="write the IR's JSON Schema")
    s.add_argument("-o", "--output", default="docs/network.schema.json")
    s.set_defaults(func=cmd_schema)
    dc = sub.add_parser("docs", help="regenerate docs/ir.md, docs/rules.md and the JSON Schema from the code")
    dc.add_argument("--dir", default="docs")
    dc.set_defaults(func=cmd_docs)
    c = sub.add_parser("compile", help="compile for a hardware target and print the quantization/capacity report")
    c.add_argument("file")
    c.add_argument("--hardware", default="loihi2", help="a name in hardware_configs/ (loihi2, loihi1, cpu) or a YAML path")
    c.add_argument("--json", action="store_true", help="the report as JSON")
    c.set_defaults(func=cmd_compile)
    cm = sub.add_parser("compare", help="run on several backend:precision pairs and seeds; print agreement metrics")
    cm.add_argument("file")
    cm.add_argument("--runs", default="reference:float,reference:fixed",
                    help="comma-separated backend:precision, the first is the baseline")
    cm.add_argument("--seeds", type=int, default=5)
    cm.add_argument("--steps", type=int)
    cm.add_argument("--hardware", default="loihi2")
    cm.add_argument("--out", default="out")
    cm.add_argument("--quiet", action="store_true")
    cm.set_defaults(func=cmd_compare)
    sm = sub.add_parser("sims", help="the seed experiments in sims/: list, run")
    smsub = sm.add_subparsers(dest="sims_cmd", required=True)
    sl = smsub.add_parser("list", help="list the experiments")
    sl.set_defaults(func=cmd_sims)
    sr = smsub.add_parser("run", help="run one experiment and print its metrics next to the published values")
    sr.add_argument("name")
    sr.add_argument("--backend", default="reference")
    sr.add_argument("--precision", default="float")
    sr.add_argument("--out", default="out/sims")
    sr.add_argument("--short", action="store_true", help="the short variant the tests use")
    sr.add_argument("--seed", type=int)
    sr.add_argument("--part", help="run only this part of the experiment (e.g. oja_pca --part spiking)")
    sr.set_defaults(func=cmd_sims)
    se = sub.add_parser("search", help="search chip-expressible learning rules for an objective (Optuna + Dask)")
    se.add_argument("spec", help="a search spec (YAML), e.g. searches/oja_spiking.yaml; see docs/search.md")
    se.add_argument("--out", default="out/search", help="results, plot and the resumable study (journal)")
    se.add_argument("--trials", type=int, help="budget: candidates in the study (overrides the spec; more resumes)")
    se.add_argument("--cluster", help="Dask scheduler address (tcp://host:port) instead of a local cluster")
    se.add_argument("--workers", type=int, help="local Dask workers (default: the spec's)")
    se.add_argument("--no-recheck", action="store_true", help="skip the float / Lava re-check of the best")
    se.add_argument("--quiet", action="store_true", help="no progress bar")
    se.set_defaults(func=cmd_search)
    en = sub.add_parser("export-nir", help="write a network document as a NIR graph (plasticity in metadata)")
    en.add_argument("file")
    en.add_argument("-o", "--output", help="the .nir file (default: FILE with .nir)")
    en.add_argument("--method", choices=["exact", "euler"], default="exact",
                    help="how decays map to time constants (default exact: du = 1 - exp(-dt/tau))")
    en.add_argument("--time-unit", choices=["s", "ms"], default="s")
    en.set_defaults(func=cmd_export_nir)
    im = sub.add_parser("import-nir", help="read a NIR graph into a network document")
    im.add_argument("file")
    im.add_argument("-o", "--output", help="the .yaml file (default: FILE with .yaml)")
    im.add_argument("--dt", type=float, help="step in ms (default: from neurohebb metadata, else 1.0)")
    im.add_argument("--method", choices=["exact", "euler"])
    im.add_argument("--time-unit", choices=["s", "ms"])
    im.set_defaults(func=cmd_import_nir)
    d = sub.add_parser("demo", help="the main job: run the shipped examples, print metrics, write plots")
    d.add_argument("--out", default="out")
    d.add_argument("--seeds", type=int, default=3, help="seeds for the float vs fixed comparison")
    d.add_argument("--sims", choices=("short", "full", "none"), default="short",
                   help="also run the seed experiments of sims/ (default: their short variants)")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NeurohebbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
