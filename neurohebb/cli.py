"""Command line of neurohebb: declare a network and its plasticity once, run and compare it.

Commands (``neurohebb COMMAND --help`` for each one's options):
  validate    check network documents
  run         run a network document; write results (.npz) and plots
  rules       list rule templates and their parameters
  schema      write the IR's JSON Schema
  docs        regenerate docs/ir.md, docs/rules.md and the JSON Schema from the code
  compile     compile for a hardware target; print the quantization/capacity report
  compare     run on several backend:precision pairs and seeds; print agreement metrics
  sims        the experiments in sims/: ``sims list``, ``sims run NAME``
  search      search chip-expressible learning rules for an objective (Optuna + Dask)
  export-nir  write a network document as a NIR graph (plasticity in metadata)
  import-nir  read a NIR graph into a network document
  demo        the main job: run the shipped examples, print metrics, write plots

``neurohebb --version`` prints the version.  Invalid input exits with code 2 and
a message naming the file, the field, what was found and what is allowed; never
a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import sys
from pathlib import Path

from .errors import NetworkError, NeurohebbError
from .text import table as _table


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def safe_stem(name: str, fallback: str = "network") -> str:
    """A file-name stem from a document name: letters, digits, ``_``, ``-`` and
    ``.`` (others become ``_``), not starting with ``.`` or ``-``, at most 100
    characters; ``fallback`` when nothing is left."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))[:100].lstrip(".-")
    return stem or fallback


def inside(out: Path, filename: str) -> Path:
    """``out / filename``, refused unless it lies directly in ``out``."""
    path = out / filename
    if path.resolve().parent != out.resolve():
        raise NeurohebbError(f"output file {filename!r} would land outside --out {out}; refused")
    return path


def _permission(args, file):
    """The externals' permission of a command (``--allow-local-functions``)."""
    from .externals import permit

    if getattr(args, "allow_local_functions", False):
        return permit(directories=[Path(file).resolve().parent])
    return contextlib.nullcontext()


def _check_functions(args, file, net):
    from .externals import check_functions

    with _permission(args, file):
        problems = check_functions(net)
    if problems:
        raise NetworkError(problems, str(file))


def _int_arg(value, flag, lo, hi):
    if value is not None and not lo <= value <= hi:
        raise NeurohebbError(f"{flag} {value}: allowed {lo} .. {hi}")
    return value


def _agg():
    """The CLI only writes files: it selects Agg for its own process, before
    pyplot is imported (the library never selects a backend)."""
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def cmd_validate(args):
    from .ir import load

    for f in args.files:
        net = load(f)
        _check_functions(args, f, net)
        print(f"{f}: valid ({len(net.populations)} populations, {len(net.projections)} projections, "
              f"{sum(p.rule is not None for p in net.projections.values())} plastic)")
    return 0


def cmd_run(args):
    _agg()
    from . import plotting
    from .api import run
    from .ir import load
    from .ir.common import MAX_INT

    _int_arg(args.steps, "--steps", 1, MAX_INT)
    _int_arg(args.seed, "--seed", 0, 2**32 - 1)
    net = load(args.file)
    _check_functions(args, args.file, net)
    extra = {"board": True} if args.board else {}
    if args.threads is not None:
        extra["threads"] = args.threads
    if args.board and args.backend != "lava":
        raise NeurohebbError(f"--board runs on a Loihi 2 board through the lava backend; got --backend {args.backend}")
    if (args.lowering or args.drop_refractory) and args.backend != "lava":
        raise NeurohebbError(f"--lowering and --drop-refractory apply to the lava backend; got --backend {args.backend}"
                             " (the reference has the stock semantics as run(..., semantics='stock'))")
    if args.lowering:
        extra["lowering"] = args.lowering
    if args.drop_refractory:
        extra["drop_refractory"] = True
    out = Path(args.out)
    stem = safe_stem(net.name or Path(args.file).stem)
    result_file = inside(out, f"{stem}_{safe_stem(args.backend)}_{safe_stem(args.precision)}.npz")
    allow = [Path(args.file).resolve().parent] if args.allow_local_functions else []
    progress = None if not args.quiet else False
    on_nonfinite = "continue" if args.allow_nonfinite else "error"
    if args.checkpoint_every:
        from . import health as _health
        from .externals import permit

        from .ir.validate import check_resources

        check_resources(net, args.steps, args.file)  # refused before allocating, as run() does
        ckpt = inside(out, f"{stem}_{safe_stem(args.backend)}_{safe_stem(args.precision)}.ckpt.npz")
        with permit((), allow), _health.policy(on_nonfinite):
            res = _health.check_result(_run_with_checkpoints(net, args, ckpt, progress))
    else:
        res = run(net, backend=args.backend, precision=args.precision, seed=args.seed, steps=args.steps,
                  progress=progress, allow_dirs=allow, on_nonfinite=on_nonfinite, **extra)
    if res.report.get("mpi_rank", 0) != 0:  # under mpirun every rank holds the gathered result; rank 0 writes
        return 0
    out.mkdir(parents=True, exist_ok=True)
    res.network = net
    res.save(result_file)
    files = [] if args.no_plots or res.report.get("nonfinite") else plotting.all_plots(res, net, out, stem)
    rows = []
    for pop, s in res.spikes.items():
        rows.append([pop, "spikes", f"{res.rates(pop).mean():.3g} Hz mean rate"])
    for proj, w in res.weights.items():
        rows.append([proj, "weights", f"mean {w.mean():.4g} (initial {res.initial_weights[proj].mean():.4g}), "
                                      f"range [{w.min():.4g}, {w.max():.4g}]"])
    print(_table(rows, ["name", "what", "value"]))
    health = format_health(res.report)
    if health:
        print("\n" + health)
    bad = res.report.get("nonfinite")
    if bad:
        print("\nWARNING: non-finite (NaN or infinite) values, kept because of --allow-nonfinite (first detected at step):")
        for k, t in bad.items():
            print(f"  {k}: step {t}")
    print(f"\n{res.steps} steps in {res.wall_time:.2f} s on {res.backend}:{res.precision}; wrote {out}/ "
          f"({len(files)} plots and {result_file.name})")
    return 0


def _allowed(ann) -> str:
    """A field's type as a user reads it: allowed values of a Literal, "or
    null" for an Optional."""
    from .docgen import type_name

    return type_name(ann).replace("\\|", "|").replace(" | ", " or ").replace(" (optional)", " or null")


def _run_with_checkpoints(net, args, ckpt, progress):
    """Run in chunks of ``--checkpoint-every`` steps, writing a checkpoint after
    each; when ``ckpt`` exists (an interrupted run of the same command), resume
    from it.  The result equals an uninterrupted run bit for bit."""
    from .simulator import Simulator

    if args.checkpoint_every < 1:
        raise NeurohebbError(f"--checkpoint-every: expected a positive number of steps, got {args.checkpoint_every}")
    total = net.run.steps if args.steps is None else int(args.steps)
    if ckpt.exists() and not args.restart:
        sim = Simulator.load(ckpt, network=net, **({"parallel": args.threads > 1} if args.threads else {}))
        if (sim.precision, sim.seed) != (args.precision, net.run.seed if args.seed is None else args.seed):
            raise NeurohebbError(f"{ckpt}: the checkpoint is of precision {sim.precision!r}, seed {sim.seed}; this "
                                 "command asks for another run. Use --restart to start over")
        print(f"resuming from {ckpt} at step {sim.t} of {total}", file=sys.stderr)
    else:
        opts = {"threads": args.threads} if args.threads is not None else {}
        sim = Simulator(net, backend=args.backend, precision=args.precision, seed=args.seed, steps=total, **opts)
    while sim.t < total:
        sim.run(min(args.checkpoint_every, total - sim.t), progress=progress)
        sim.save(ckpt)
    return sim.result()


def format_health(report: dict) -> str:
    """The fixed-point health section of a run's report: per projection the
    trace saturations, accumulator saturations, weight (and tag) clips and
    initial weights clipped by quantization; per population the ``u`` wraps and
    ``v`` saturations.  Empty for a run without these counters (float)."""
    sat = report.get("saturation") or {}
    neurons = report.get("neurons") or {}
    if not sat and not neurons:
        return ""
    lines = [f"fixed-point health ({report.get('hardware', 'fixed point')}): counts over the run"]
    total = 0
    if sat:
        rows = []
        for name, d in sat.items():
            ts = d.get("trace_saturations", {})
            counts = [sum(ts.values()), d.get("accumulator_saturations", 0), d.get("weight_clips", 0),
                      d.get("tag_clips", 0), d.get("initial_weights_clipped", 0)]
            total += counts[0] + counts[1] + counts[4]  # clips to the bounds happen in float too
            rows.append([name, ", ".join(f"{k} {v}" for k, v in ts.items()) or "-", *counts[1:],
                         f"{d.get('weights_at_min', 0)} / {d.get('weights_at_max', 0)}"])
        lines.append(_table(rows, ["projection", "trace saturations", "accumulator saturations", "weight clips",
                                   "tag clips", "initial weights clipped", "weights at min / max"]))
    if neurons:
        rows = []
        for name, d in neurons.items():
            total += d.get("u_wraps", 0) + d.get("v_saturations", 0)
            rows.append([name, d.get("u_wraps", 0), d.get("v_saturations", 0)])
        lines.append(_table(rows, ["population", "u wraps", "v saturations"]))
    lines.append("no trace or accumulator saturation, no u wrap or v saturation (weight and tag clips are clips "
                 "to the weight range, as in float)" if total == 0 else
                 f"{total} trace/accumulator saturations, clipped initial weights, u wraps or v saturations: the "
                 "fixed-point run may differ from float beyond rounding (neurohebb compare shows by how much)")
    return "\n".join(lines)


def cmd_rules(args):
    from .rules import TEMPLATES

    for name, cls in TEMPLATES.items():
        doc = (cls.__module__ and sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
        head = doc[0] if doc else ""
        if head.startswith(f"``{name}``:"):
            head = head[len(name) + 5:].strip()
        print(f"{name}: {head}")
        rows = []
        for fname, f in cls.model_fields.items():
            if fname == "template":
                continue
            default = "required" if f.is_required() else repr(f.get_default(call_default_factory=True))
            cons = [f"{a} {getattr(m, a)}" for m in f.metadata for a in ("gt", "ge", "lt", "le")
                    if getattr(m, a, None) is not None]
            what = _allowed(f.annotation) + (f" ({', '.join(cons)})" if cons else "")
            rows.append([fname, what, default, f.description or ""])
        print("\n".join("    " + line for line in _table(rows, ["parameter", "allowed values", "default", "meaning"]).splitlines()))
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


def _trace_impulses(items) -> dict | None:
    """``--trace-impulses PROJ.TRACE=N`` (repeatable) -> {proj: {trace: N}}."""
    if not items:
        return None
    out: dict = {}
    for it in items:
        key, eq, val = it.partition("=")
        proj, dot, trace = key.partition(".")
        try:
            v = float(val)
        except ValueError:
            v = None
        if not eq or not dot or not proj or not trace or v is None:
            raise NeurohebbError(f"--trace-impulses {it!r}: expected PROJECTION.TRACE=IMPULSE, e.g. syn.x1=32")
        out.setdefault(proj, {})[trace] = int(v) if v == int(v) else v
    return out


def cmd_compile(args):
    import json

    from .compiler import compile_network
    from .ir import load

    net = load(args.file)
    if args.trace_impulses:
        ti = _trace_impulses(args.trace_impulses)
        for proj, traces in ti.items():
            pr = net.projections.get(proj)
            if pr is None or pr.rule is None:
                known = ", ".join(k for k, p in net.projections.items() if p.rule is not None) or "none"
                raise NeurohebbError(f"--trace-impulses: {proj!r} is not a plastic projection of {args.file}; "
                                     f"plastic projections: {known}")
            names = set(pr.rule.expand().traces)
            bad = sorted(set(traces) - names)
            if bad:
                raise NeurohebbError(f"--trace-impulses: projection {proj} has no trace {', '.join(bad)}; its rule's "
                                     f"traces: {', '.join(sorted(names)) or 'none'}")
    if args.timing:
        doc_timing = {k: pr.rule.timing for k, pr in net.projections.items() if pr.rule is not None}
        net = net.model_copy(deep=True)
        for k, pr in net.projections.items():
            if pr.rule is not None:
                pr.rule = pr.rule.model_copy(update={"timing": args.timing})
        changed = [k for k, t in doc_timing.items() if t != args.timing]
        if changed:
            print(f"--timing {args.timing}: rule timing of {', '.join(changed)} changed from the document's")
    opts = {}
    if args.trace_impulses:
        opts["trace_impulses"] = _trace_impulses(args.trace_impulses)
    if args.approximate:
        opts["approximate"] = True
        opts["approximation_degree"] = args.approximation_degree
    program, report = compile_network(net, hardware=args.hardware, **opts)
    if args.forecast_steps and program.kind == "fixed":
        from .forecast import forecast_trace_saturation

        forecast_trace_saturation(program, steps=min(args.forecast_steps, net.run.steps))
    if args.lowering == "stock":
        from . import backends

        if getattr(program, "kind", None) != "fixed":
            raise NeurohebbError("--lowering stock: compile for a fixed-point target (--hardware loihi2)")
        backends.get("lava")  # a clear message when lava-nc is missing
        from .backends.lava.stock import annotate_report

        annotate_report(program.network, program, report, drop_refractory=args.drop_refractory,
                        measure=not args.no_measure, steps=args.steps)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1, default=str))
    else:
        print(report.format())
    return 0


def cmd_compare(args):
    _agg()
    from .compare import compare

    from .ir import limits, load
    from .ir.common import MAX_INT

    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    _int_arg(args.steps, "--steps", 1, MAX_INT)
    _int_arg(args.seeds, "--seeds", 1, 10_000)
    net = load(args.file)
    _check_functions(args, args.file, net)
    if args.steps is not None:
        limits.check(net, args.steps, args.file)
    out = Path(args.out)
    target = inside(out, f"{safe_stem(Path(args.file).stem)}_compare.png")
    with _permission(args, args.file):
        res = compare(net, runs=runs, seeds=args.seeds, steps=args.steps, hardware=args.hardware,
                      progress=None if not args.quiet else False, lowering=args.lowering,
                      drop_refractory=args.drop_refractory, cluster=args.cluster, workers=args.workers,
                      drift=None if not args.no_drift else False)
    print(res.table())
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(Path(args.file).stem)
    path = target
    res.plot(path)
    print(f"\nweights over time per run: {path}")
    if res.drift():
        dpath = inside(out, f"{stem}_drift.png")
        res.plot_drift(dpath)
        print(f"drift by cause: {dpath}")
    return 0


def cmd_sims(args):
    _agg()
    from . import sims

    if args.sims_cmd == "list":
        rows = [[name, desc] for name, desc in sims.list_sims()]
        print(_table(rows, ["experiment", "what it shows"]))
        return 0
    if args.seeds is not None:
        res = sims.run_sim_seeds(args.name, _seed_list(args.seeds, args.seed), cluster=args.cluster,
                                 workers=args.workers, progress=not args.quiet, backend=args.backend,
                                 precision=args.precision, out=args.out, short=args.short, part=args.part)
        print(sims.format_seeds(res))
        return 0
    if args.cluster or args.workers is not None:
        raise NeurohebbError("--cluster/--workers spread the runs of --seeds over Dask workers; give --seeds too")
    res = sims.run_sim(args.name, backend=args.backend, precision=args.precision, out=args.out,
                       short=args.short, seed=args.seed, part=args.part)
    print(sims.format_result(res))
    return 0


def _seed_list(text, start=None):
    """``--seeds``: ``N`` (N seeds from ``--seed``, default 0) or a comma-separated list."""
    try:
        vals = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise NeurohebbError(f"--seeds {text!r}: expected a count (5) or a comma-separated list (1,2,3)") from None
    if len(vals) == 1 and "," not in str(text):
        if vals[0] < 1:
            raise NeurohebbError(f"--seeds {text!r}: a count must be at least 1")
        first = start or 0
        return list(range(first, first + vals[0]))
    return vals


def cmd_search(args):
    _agg()
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
    print(import_file(args.file, out, dt=args.dt, method=args.method, time_unit=args.time_unit, force=args.force))
    return 0


def cmd_demo(args):
    _agg()
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
        refs = None
        if name == "oja_pca":
            import numpy as np

            C = np.load(ex["path"].with_suffix(".npz"))["covariance"]
            refs = {proj: np.linalg.eigh(C)[1][:, -1]}
        # the same files, named the same way, as `neurohebb run FILE --out DIR`
        plotting.all_plots(res, net, out, name, references=refs)
        res.network = net
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
            cmp = compare(net, runs=["reference:float", "reference:fixed"], seeds=args.seeds, metric=metric or None,
                          drift=True)
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


LOCAL_HELP = ("let the document's external populations name factories (function: 'mod:make') in Python "
              "files next to the document (mod.py); without it only neurohebb.environments is allowed")


def _stock_args(p):
    p.add_argument("--lowering", choices=("emulate", "stock"),
                   help="lava backend: 'emulate' (default; the document's semantics with neurohebb's processes, CPU "
                        "only) or 'stock' (Lava's own process classes, what a Loihi 2 board runs; compare: reference "
                        "fixed runs then use the stock semantics)")
    p.add_argument("--drop-refractory", action="store_true",
                   help="--lowering stock: run LIF populations without their refractory period instead of refusing")


def build_parser():
    from . import __version__

    p = argparse.ArgumentParser(prog="neurohebb", description=__doc__.split("\n\n")[0],
                                epilog="Run 'neurohebb COMMAND --help' for a command's options.")
    p.add_argument("--version", action="version", version=f"neurohebb {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    v = sub.add_parser("validate", help="check network documents")
    v.add_argument("files", nargs="+")
    v.add_argument("--allow-local-functions", action="store_true", help=LOCAL_HELP)
    v.set_defaults(func=cmd_validate)
    r = sub.add_parser("run", help="run a network document; write results (.npz) and plots")
    r.add_argument("file")
    r.add_argument("--backend", default="reference")
    r.add_argument("--precision", default="float")
    r.add_argument("--steps", type=int)
    r.add_argument("--seed", type=int)
    r.add_argument("--out", default="out")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--threads", type=int, help="threads the backend may use (default: its own choice; nest: NEST threads per process)")
    r.add_argument("--board", action="store_true", help="lava backend: run on a Loihi 2 board (needs lava-loihi; "
                                                        "implies --lowering stock)")
    _stock_args(r)
    r.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="write a checkpoint to --out every N steps; running the same command again resumes from it")
    r.add_argument("--restart", action="store_true", help="with --checkpoint-every: ignore an existing checkpoint")
    r.add_argument("--allow-local-functions", action="store_true", help=LOCAL_HELP)
    r.add_argument("--allow-nonfinite", action="store_true",
                   help="keep running when the state becomes NaN or infinite (reported, not an error)")
    r.add_argument("--no-plots", action="store_true", help="write the results only")
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
    c.add_argument("--trace-impulses", action="append", metavar="PROJ.TRACE=N",
                   help="hardware impulse of one trace (repeatable), e.g. syn.x1=32; default: chosen by the compiler")
    c.add_argument("--approximate", action="store_true",
                   help="replace functions of traces by least-squares polynomials (error reported)")
    c.add_argument("--approximation-degree", type=int, default=2, help="degree of those polynomials (default 2)")
    c.add_argument("--timing", choices=("inclusive", "exclusive"),
                   help="compile every rule with this timing instead of the document's")
    c.add_argument("--forecast-steps", type=int, default=2000,
                   help="forecast trace saturation from a float run of this many steps (0: no forecast; default 2000)")
    _stock_args(c)
    c.add_argument("--steps", type=int, help="--lowering stock: steps of the runs that measure each departure")
    c.add_argument("--no-measure", action="store_true", help="--lowering stock: list the departures without measuring")
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
    cm.add_argument("--no-drift", action="store_true",
                    help="skip the drift split by cause (one more float run per seed when the runs are "
                         "reference:float and reference:fixed)")
    cm.add_argument("--allow-local-functions", action="store_true", help=LOCAL_HELP)


    _stock_args(cm)
    cm.add_argument("--cluster", help="Dask scheduler address (tcp://host:port): run the seeds on its workers")
    cm.add_argument("--workers", type=int, help="run the seeds on a local Dask cluster of this many processes")
    cm.set_defaults(func=cmd_compare)
    sm = sub.add_parser("sims", help="the experiments in sims/: list, run NAME")
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
    sr.add_argument("--seeds", help="run once per seed: a count (from --seed, default 0) or a list 1,2,3; "
                                    "prints mean and sd over seeds")
    sr.add_argument("--cluster", help="with --seeds: Dask scheduler address (tcp://host:port)")
    sr.add_argument("--workers", type=int, help="with --seeds: a local Dask cluster of this many processes")
    sr.add_argument("--quiet", action="store_true", help="with --seeds: no progress bar")
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
    im.add_argument("--force", action="store_true", help="overwrite an existing .yaml/.npz")
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
    except MemoryError:
        print("error: out of memory: the run needs more memory than this machine could give it (the estimate "
              "before the run did not foresee it); reduce the sizes, the steps or the probes", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
