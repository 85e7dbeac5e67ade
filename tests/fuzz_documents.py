"""A mutation fuzzer over the shipped network documents.

Each variant is a shipped document (``neurohebb/examples/*.yaml``,
``sims/*/*.yaml``, with its ``.npz``) changed by one to three mutations: a
hostile value at a random place (NaN, infinity, 10**100, wrong types, path-like
or newline-ended names), a deleted, renamed, duplicated or unknown field, a
hostile rule expression, a code-running ``function:``, a text-level change
(truncation, a non-UTF-8 byte, an alias bomb, deep nesting, a recursive alias,
a duplicated key) or a hostile ``.npz`` (corrupt, pickled, NaN, a huge header,
a wrong dtype, an unreferenced corrupt file).

The invariant every variant must satisfy (the test in
``tests/test_hostile_fuzz.py`` checks it on a sample; ``python
tests/fuzz_documents.py --variants 2000`` runs the full table of
docs/validation.md):

* ``neurohebb validate`` exits 2 with a message naming the file and a field
  path (or a line and column), or exits 0; never a traceback or a hang;
* a document that validates runs ``--steps N`` and compiles for ``loihi2``
  with exit 0 or 2 and never a traceback or a hang; a run that exits 0 leaves
  no NaN or infinity in its saved results unless it said so;
* nothing is written outside the output folder and no command of the
  document's choosing runs.

Every command runs in a forked child (so a hang can be timed out and a memory
bomb cannot take the parent down).
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import os
import random
import re
import signal
import sys
import time
import traceback
import zipfile
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent

NAN, INF = float("nan"), float("inf")
HOSTILE_VALUES = [NAN, INF, -INF, 1e308, -1e308, 10**100, -(10**100), 2**63, 2**31, 10**9, 0, -1, -0.5, 0.5, 1e-320,
                  True, False, None, "", "abc", "npz:missing", [], {}, [NAN], [1, [2]], "1j", [INF, 1.0], 3.5, 7]
HOSTILE_NAMES = ["a\n", "1x", "os:system", "x y", "", "p" * 300, "é", "../x", "a.b", "__class__"]
HOSTILE_RULES = ["10**400*u", "1e400*x0", "(-1)**0.5*u", "u*e", "0*u", "1e308*u*w*w", "u*w**2", "x0*y0",
                 "0.01*u*" + "*".join(["x1"] * 1200), " + ".join(["0.001*u*w"] * 500), "u", "-u*(w+1e308)",
                 "__import__('os').system('true')*u", "1/0*u", "nan*u", "inf*u", "2**-2000*u", "u*" + "(" * 200 + "w" + ")" * 200]
ESCAPE_NAMES = ["../../ESCAPED", "/ESCAPED_ABS_{token}", "..", "a/../../ESCAPED2", "x\ny", "..\\..\\ESCAPED3"]
MARKER = "PWNED_MARKER"


# ---------------------------------------------------------------------------- seeds
def seed_documents(root: Path = ROOT) -> list[Path]:
    docs = sorted((root / "neurohebb" / "examples").glob("*.yaml")) + sorted((root / "sims").glob("*/*.yaml"))
    return [d for d in docs if d.read_text().lstrip().startswith(("#", "format_version", "name"))]


def _walk(obj, path=()):
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:8]):
            yield from _walk(v, path + (i,))


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def _set(obj, path, value):
    _get(obj, path[:-1])[path[-1]] = value


# ---------------------------------------------------------------------------- mutations
def m_value(rng, data, ctx):
    paths = [p for p, v in _walk(data) if p and not isinstance(v, (dict, list))]
    p = rng.choice(paths)
    v = copy.deepcopy(rng.choice(HOSTILE_VALUES))
    _set(data, p, v)
    return f"value {'.'.join(map(str, p))} = {v!r}"


def m_number(rng, data, ctx):
    paths = [p for p, v in _walk(data) if p and isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not paths:
        return m_value(rng, data, ctx)
    p = rng.choice(paths)
    v = rng.choice([NAN, INF, -INF, 10**100, -(10**100), 1e308, 0, -1, 2**62, 1e-300, 10**7])
    _set(data, p, v)
    return f"number {'.'.join(map(str, p))} = {v!r}"


def m_delete(rng, data, ctx):
    paths = [p for p, v in _walk(data) if p and isinstance(_get(data, p[:-1]), dict)]
    p = rng.choice(paths)
    del _get(data, p[:-1])[p[-1]]
    return f"delete {'.'.join(map(str, p))}"


def m_unknown(rng, data, ctx):
    dicts = [p for p, v in _walk(data) if isinstance(v, dict)]
    p = rng.choice(dicts)
    _get(data, p)["bogus_field"] = 1
    return f"unknown field under {'.'.join(map(str, p)) or '(top)'}"


def m_rename(rng, data, ctx):
    spaces = [s for s in ("populations", "projections", "modulators", "probes") if isinstance(data.get(s), dict) and data[s]]
    if not spaces:
        return m_value(rng, data, ctx)
    s = rng.choice(spaces)
    old = rng.choice(list(data[s]))
    new = rng.choice(HOSTILE_NAMES)
    data[s] = {(new if k == old else k): v for k, v in data[s].items()}
    return f"rename {s}.{old} -> {new!r}"


def m_empty(rng, data, ctx):
    conts = [p for p, v in _walk(data) if p and isinstance(v, (dict, list)) and v]
    p = rng.choice(conts)
    _set(data, p, type(_get(data, p))())
    return f"empty {'.'.join(map(str, p))}"


def m_rule(rng, data, ctx):
    projs = [(k, v) for k, v in (data.get("projections") or {}).items() if isinstance(v, dict)]
    if not projs:
        return m_value(rng, data, ctx)
    k, v = rng.choice(projs)
    expr = rng.choice(HOSTILE_RULES)
    v["rule"] = {"template": "custom", "dw": expr, "traces": {"x1": {"impulse": rng.choice([1.0, -1.0, NAN, 1e300]),
                                                                      "tau": rng.choice([20, 0, INF, -5])}}}
    return f"rule projections.{k} dw = {expr[:40]!r}"


def m_name(rng, data, ctx):
    v = rng.choice(ESCAPE_NAMES).format(token=ctx["token"])
    data["name"] = v
    return f"name = {v!r}"


def m_function(rng, data, ctx):
    pops = data.get("populations")
    if not isinstance(pops, dict):
        return m_value(rng, data, ctx)
    fn, key = rng.choice([("os:system", "command"), ("subprocess:getoutput", "cmd"), ("posix:system", "command"),
                          ("neurohebb.environments.reversal:np.lib.npyio.os.system", "command"),
                          ("neurohebb.environments.reversal:os.system", "command")])
    pops["evil"] = {"type": "external", "n": 1, "function": fn, "params": {key: f"touch {ctx['marker']}"}}
    return f"external function {fn}"


def m_steps(rng, data, ctx):
    run = data.setdefault("run", {}) if isinstance(data.get("run", {}), dict) else {}
    key = rng.choice(["steps", "seed", "dt", "dtype"])
    v = rng.choice([10**100, 2**63, 10**9, 0, -1, NAN, INF, 1e-300, "float16"])
    run[key] = v
    data["run"] = run
    return f"run.{key} = {v!r}"


def m_size(rng, data, ctx):
    pops = [(k, v) for k, v in (data.get("populations") or {}).items() if isinstance(v, dict)]
    if not pops:
        return m_value(rng, data, ctx)
    k, v = rng.choice(pops)
    fld = rng.choice(["n", "n", "refractory", "branches", "plateau_steps"])
    val = rng.choice([10**100, 10**12, 10**7, 2**40, 0, -3])
    v[fld] = val
    return f"populations.{k}.{fld} = {val}"


def m_delay(rng, data, ctx):
    projs = [(k, v) for k, v in (data.get("projections") or {}).items() if isinstance(v, dict)]
    probes = [(k, v) for k, v in (data.get("probes") or {}).items() if isinstance(v, dict)]
    if projs and (not probes or rng.random() < 0.5):
        k, v = rng.choice(projs)
        val = rng.choice([10**100, 10**9, 10**6, -1, 2**63])
        v["delay"] = val
        return f"projections.{k}.delay = {val}"
    if probes:
        k, v = rng.choice(probes)
        val = rng.choice([0, -1, 10**100, 1])
        v["every"] = val
        return f"probes.{k}.every = {val}"
    return m_value(rng, data, ctx)


DATA_MUTATIONS = [m_value, m_value, m_number, m_number, m_number, m_delete, m_unknown, m_rename, m_empty, m_rule,
                  m_rule, m_name, m_function, m_steps, m_size, m_delay]


def t_truncate(rng, text):
    cut = rng.randrange(1, max(2, len(text)))
    return text[:cut], f"truncate at {cut}"


def t_nonutf8(rng, text):
    b = text
    i = rng.randrange(0, len(b))
    return b[:i] + rng.choice([b"\xff", b"\xc3\x28", b"\xe9", b"\x00"]) + b[i:], "non-UTF-8 byte"


def t_flip(rng, text):
    b = bytearray(text)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        b[i] = rng.choice(b"{}[]:,&*!|>'\"-#%@` \n\t")
    return bytes(b), "flip bytes"


def t_bomb(rng, text):
    lines = [b"a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, rng.choice([6, 9, 12])):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]".encode())
    bomb = b"\n".join(lines) + b"\n"
    return bomb + text.replace(b"format_version", b"description: *a%d\nformat_version" % (len(lines) - 1), 1), "alias bomb"


def t_deep(rng, text):
    d = rng.choice([200, 5000, 50000])
    return text + b"\nextra: " + b"[" * d + b"]" * d + b"\n", f"nesting depth {d}"


def t_recursive(rng, text):
    return text + b"\nextra: &r [1, *r]\n", "recursive alias"


def t_duplicate(rng, text):
    return text + b"\nrun: {steps: 5}\npopulations: {}\n", "duplicate keys"


def t_tag(rng, text):
    return text + rng.choice([b"\nextra: !!python/object/apply:os.system ['true']\n", b"\nextra: !!binary aGVsbG8=\n",
                              b"\nextra: !!set {a, b}\n", b"\nextra: 2001-12-14\n"]), "YAML tag"


TEXT_MUTATIONS = [t_truncate, t_nonutf8, t_flip, t_bomb, t_deep, t_recursive, t_duplicate, t_tag]


def _npz_bytes(arrays: dict, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _huge_header_npz(key: str) -> bytes:
    """A small .npz whose member claims a (10**6, 10**6) float64 array."""
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(key + ".npy", hdr.getvalue() + b"\0" * 64)
    return buf.getvalue()


def _pickled_npz(key: str) -> bytes:
    buf = io.BytesIO()
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = {"a": 1}, [1, 2]
    with zipfile.ZipFile(buf, "w") as z:
        b = io.BytesIO()
        np.save(b, arr, allow_pickle=True)
        z.writestr(key + ".npy", b.getvalue())
    return buf.getvalue()


def n_mutate(rng, npz: bytes | None, keys: list[str]):
    key = rng.choice(keys) if keys else "x"
    kind = rng.choice(["corrupt", "pickle", "nan", "huge", "dtype", "unreferenced", "truncate", "shape"])
    if kind == "corrupt":
        return b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(200)), "corrupt npz"
    if kind == "pickle":
        return _pickled_npz(key), f"pickled npz array {key}"
    if kind == "huge":
        return _huge_header_npz(key), f"huge npz header {key}"
    if kind == "unreferenced":
        if npz is None:
            return b"not a zip file at all", "unreferenced corrupt npz"
        return npz, "unchanged npz"
    if kind == "truncate" and npz:
        return npz[: len(npz) // 2], "truncated npz"
    if npz is None:
        return _npz_bytes({key: np.array([NAN])}), "npz without references"
    with np.load(io.BytesIO(npz)) as z:
        arrays = {k: z[k] for k in z.files}
    if kind == "nan":
        a = arrays[key].astype(float)
        a.flat[rng.randrange(a.size)] = rng.choice([NAN, INF])
        arrays[key] = a
    elif kind == "dtype":
        arrays[key] = rng.choice([arrays[key].astype(complex), arrays[key].astype(str), np.array(["x"])])
    else:
        arrays[key] = arrays[key].reshape(-1)[: max(1, arrays[key].size // 3)]
    return _npz_bytes(arrays), f"npz {kind} {key}"


def _npz_keys(data) -> list[str]:
    return sorted({v[4:] for _, v in _walk(data) if isinstance(v, str) and v.startswith("npz:")})


def variants(n: int, seed: int = 0, root: Path = ROOT, docs=None, token: str | None = None):
    """``n`` variants: dicts with ``seed_doc``, ``yaml`` (bytes), ``npz`` (bytes or None) and ``mutations``.
    ``token`` names the absolute escape path ``/ESCAPED_ABS_<token>`` (default: this process's id)."""
    rng = random.Random(seed)
    token = token or str(os.getpid())
    docs = docs or seed_documents(root)
    cache = {}
    for i in range(n):
        doc = docs[i % len(docs)]
        if doc not in cache:
            npz = doc.with_suffix(".npz")
            cache[doc] = (yaml.safe_load(doc.read_text()), npz.read_bytes() if npz.exists() else None)
        data0, npz0 = cache[doc]
        data = copy.deepcopy(data0)
        npz = npz0
        muts = []
        ctx = {"marker": MARKER, "token": token}
        kinds = rng.choices(["data", "text", "npz"], weights=[8, 2, 1 if npz0 else 0.3])[0]
        if kinds == "data":
            for _ in range(rng.choice([1, 1, 2, 3])):
                try:
                    muts.append(rng.choice(DATA_MUTATIONS)(rng, data, ctx))
                except (IndexError, KeyError, TypeError, AttributeError):
                    muts.append("no-op")
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()
        elif kinds == "text":
            text = yaml.safe_dump(data, sort_keys=False).encode()
            text, m = rng.choice(TEXT_MUTATIONS)(rng, text)
            muts.append(m)
        else:
            text = yaml.safe_dump(data, sort_keys=False).encode()
            npz, m = n_mutate(rng, npz0, _npz_keys(data0))
            muts.append(m)
        yield {"index": i, "seed_doc": str(doc.relative_to(root)), "yaml": text, "npz": npz, "mutations": muts}


# ---------------------------------------------------------------------------- evaluation
PATH_RE = re.compile(r"(line \d+|[A-Za-z_][\w\[\]]*(\.[\w\[\]\-]+)+\s*:|\b(populations|projections|modulators|probes|run|name|format_version|description)\b)")


def _cpu_seconds() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _child(argv, conn, mem_limit, cpu_limit):
    import resource

    if mem_limit:
        resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))
    if cpu_limit:  # SIGXCPU after cpu_limit seconds of computing (of this child, whatever the machine's load)
        used = int(_cpu_seconds()) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (used + int(cpu_limit), used + int(cpu_limit) + 5))
    cpu0 = _cpu_seconds()
    out, err = io.StringIO(), io.StringIO()
    try:
        from neurohebb.cli import main

        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
        conn.send({"code": code, "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()[-4000:],
                   "cpu": _cpu_seconds() - cpu0})
    except SystemExit as exc:
        conn.send({"code": exc.code if isinstance(exc.code, int) else 2, "stdout": out.getvalue()[-4000:],
                   "stderr": err.getvalue()[-4000:]})
    except BaseException as exc:  # noqa: BLE001 - everything is an outcome here
        conn.send({"code": None, "exc": type(exc).__name__, "tb": traceback.format_exc()[-3000:],
                   "stdout": out.getvalue()[-2000:], "stderr": err.getvalue()[-2000:]})
    finally:
        conn.close()


def run_cli(argv, timeout=10.0, mem_limit=6 * 2**30, wall_limit=600.0):
    """Run ``neurohebb argv`` in a forked child; returns a dict with code, stdout,
    stderr, cpu (seconds), or exc/tb (a traceback), or hang/crash, and the wall
    time.  A hang is a child that computes for more than ``timeout`` CPU
    seconds (SIGXCPU; CPU time, so that a loaded machine does not turn slow
    commands into hangs) or that does not finish within ``wall_limit`` seconds."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    a, b = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    p = ctx.Process(target=_child, args=(argv, b, mem_limit, timeout))
    p.start()
    b.close()
    res = None
    if a.poll(wall_limit):
        try:
            res = a.recv()
        except EOFError:
            res = None
    p.join(timeout=5)
    if p.is_alive():
        os.kill(p.pid, signal.SIGKILL)
        p.join()
    if res is None:
        if p.exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
            res = {"code": None, "hang": True, "why": f"more than {timeout:g} s of CPU" if p.exitcode == -signal.SIGXCPU
                   else f"no answer within {wall_limit:g} s"}
        else:
            res = {"code": None, "crash": p.exitcode}
    res["seconds"] = time.perf_counter() - t0
    return res


def _has_path(msg: str) -> bool:
    return bool(PATH_RE.search(msg or ""))


def classify(res, stage) -> str:
    if res.get("hang"):
        return "hang"
    if "crash" in res:
        return f"crash({res['crash']})"
    if res.get("exc"):
        return f"traceback:{res['exc']}"
    code = res["code"]
    if code == 0:
        return "ok"
    if code == 2:
        return "refused" if (stage != "validate" or _has_path(res.get("stderr", ""))) else "refused-no-path"
    return f"exit{code}"


def _nonfinite_in(out_dir: Path) -> bool:
    for f in out_dir.glob("*.npz"):
        try:
            with np.load(f, allow_pickle=False) as z:
                for k in z.files:
                    a = z[k]
                    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
                        return True
        except Exception:  # noqa: BLE001
            return True
    return False


def evaluate(v, work: Path, steps=20, timeout=10.0, stages=("validate", "run", "compile"), run_timeout=60.0,
             run_args=()) -> dict:
    """Write variant ``v`` under ``work`` and run the stages; returns outcomes."""
    d = work / f"v{v['index']}" / "a" / "b"
    d.mkdir(parents=True, exist_ok=True)
    doc = d / "doc.yaml"
    doc.write_bytes(v["yaml"])
    if v["npz"] is not None:
        (d / "doc.npz").write_bytes(v["npz"])
    out = d / "out"
    cwd = os.getcwd()
    os.chdir(d)  # relative escapes and the marker land in the variant's folder
    try:
        before = {p for p in (work / f"v{v['index']}").rglob("*")}
        root_before = set(Path("/").glob(f"ESCAPED_ABS_{os.getpid()}*"))
        result = {"index": v["index"], "seed_doc": v["seed_doc"], "mutations": v["mutations"]}
        r = run_cli(["validate", str(doc)], timeout)
        result["validate"] = classify(r, "validate")
        result["detail"] = {"validate": r.get("tb") or r.get("stderr", "")[-600:]}
        if result["validate"] == "ok" and "run" in stages:
            r = run_cli(["run", str(doc), "--steps", str(steps), "--quiet", "--out", str(out), *run_args], run_timeout)
            c = classify(r, "run")
            if c in ("ok", "refused") and r.get("cpu", 0) > timeout:
                c = f"{c} but slow (>{timeout:g} s CPU)"
            if c == "ok" and _nonfinite_in(out):
                said = re.search(r"nan|non-finite|infinit", (r.get("stdout", "") + r.get("stderr", "")), re.I)
                c = "ok-nonfinite-reported" if said else "UNREPORTED-NONFINITE"
            result["run"] = c
            result["detail"]["run"] = r.get("tb") or r.get("stderr", "")[-600:]
            result["run_seconds"] = r["seconds"]
            result["run_cpu"] = r.get("cpu")
        if result["validate"] == "ok" and "compile" in stages:
            r = run_cli(["compile", str(doc), "--hardware", "loihi2"], timeout)
            result["compile"] = classify(r, "compile")
            result["detail"]["compile"] = r.get("tb") or r.get("stderr", "")[-600:]
        after = {p for p in (work / f"v{v['index']}").rglob("*")}
        new = [p for p in after - before if not str(p).startswith(str(out)) and p.name not in ("doc.yaml", "doc.npz")]
        breach = [str(p) for p in new if p.is_file()] + [str(p) for p in set(Path("/").glob(f"ESCAPED_ABS_{os.getpid()}*")) - root_before]
        if (d / MARKER).exists() or (Path(cwd) / MARKER).exists():
            breach.append("marker: a document ran a command")
        result["breach"] = breach
    finally:
        os.chdir(cwd)
    return result


def table(results) -> str:
    rows = []
    for stage in ("validate", "run", "compile"):
        c = Counter(r[stage] for r in results if stage in r)
        for k, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append(f"| {stage} | {k} | {n} |")
    c = sum(1 for r in results if r.get("breach"))
    rows.append(f"| security | file written outside --out or command run | {c} |")
    return "| stage | outcome | variants |\n|---|---|---|\n" + "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="evaluate only variants start .. variants-1 (to split a run)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=10.0, help="validate, compile: a hang after this many seconds")
    ap.add_argument("--run-timeout", type=float, default=120.0, help="run: a hang after this many seconds (slower runs are listed as slow)")
    ap.add_argument("--work", default="out/fuzz")
    ap.add_argument("--jsonl", default=None, help="write every outcome here (default WORK/outcomes.jsonl)")
    ap.add_argument("--report", nargs="+", metavar="JSONL",
                    help="print the table of outcome files (several: one run split with --start; by variant index)")
    args = ap.parse_args(argv)
    if args.report:
        by_index = {}
        for f in args.report:
            for line in Path(f).read_text().splitlines():
                r = json.loads(line)
                by_index.setdefault(r["index"], r)
        results = [by_index[i] for i in sorted(by_index) if i < args.variants]
        print(table(results))
        print(f"\n{len(results)} variants (indices {min(by_index)} .. {max(by_index)})")
        return 0
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    # imported once: every child is a fork of this process
    import neurohebb.api  # noqa: F401
    import neurohebb.backends.reference.fixed  # noqa: F401
    import neurohebb.cli  # noqa: F401
    import neurohebb.compiler  # noqa: F401
    import neurohebb.plotting  # noqa: F401

    results = []
    jsonl = Path(args.jsonl or work / "outcomes.jsonl")
    t0 = time.perf_counter()
    with jsonl.open("w") as fh:
        for v in variants(args.variants, args.seed):
            if v["index"] < args.start:
                continue
            r = evaluate(v, work, args.steps, args.timeout, run_timeout=args.run_timeout)
            results.append(r)
            fh.write(json.dumps(r, default=str) + "\n")
            fh.flush()
            bad = [s for s in ("validate", "run", "compile") if s in r and (r[s].startswith(("traceback", "hang", "crash", "exit", "UNREP", "refused-no")))]
            if bad or r["breach"]:
                print(f"[{v['index']}] {v['seed_doc']} {v['mutations']}: " + ", ".join(f"{s}={r[s]}" for s in bad)
                      + (f" BREACH {r['breach']}" if r["breach"] else ""), flush=True)
            if (v["index"] + 1) % 100 == 0:
                print(f"... {v['index'] + 1} variants, {time.perf_counter() - t0:.0f} s", flush=True)
    print(table(results))
    print(f"\n{len(results)} variants in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
