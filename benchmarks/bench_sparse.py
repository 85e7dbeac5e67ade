"""Sparse synapses: a balanced E/I network on the reference (float and fixed
point, sparse vs dense layout where dense fits) and on Brian2, in one run.

Network (Brunel-style, current-based LIF, dt = 1 ms): N neurons, 80 %
excitatory; every neuron receives ``k_e`` synapses from E and ``k_i`` from I
(fixed in-degree: 10 % of the E and of the I population at 10^4 neurons,
the same in-degree, 800 + 200, at 10^5); a Poisson population (1000 x 10 Hz)
drives each neuron through 50 synapses.  E -> E learns with pair STDP
(bounds [0, w_max]); the other projections are static.

Each configuration runs in its own process (peak RSS = that process's
``ru_maxrss``, which includes the interpreter, numba and the building of the
synapses); the table prints wall time per step (build excluded, first-run
compilation excluded: one warm-up run of 20 steps in the same process),
peak RSS, RSS per synapse and, for each layout, the bytes its synapse arrays
hold per synapse (``result.report["sparse"]``).  Brian2 (runtime mode,
Cython) runs the same network (same discrete LIF; Brian2's event-driven STDP
traces) at the sizes given by ``--brian2-sizes``; the ratios are measured in
the same run.

    .venv/bin/python benchmarks/bench_sparse.py [--sizes 10000 100000] [--steps 500]

The crossover density (where the sparse layout becomes as fast as dense) is
measured with ``--crossover``: one projection (Poisson 4000 at 10 Hz -> LIF
4000) at fixed_probability p in {0.02 .. 0.8}, dense vs sparse, with an
event-driven rule (pair STDP) and an every-step rule (Oja).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TAU_M, TAU_S = 20.0, 5.0
VTH = 1.0


def net_params(N):
    ne = int(0.8 * N)
    ni = N - ne
    if N <= 10_000:
        ke, ki = ne // 10, ni // 10
    else:
        ke, ki = 800, 200
    return dict(N=N, ne=ne, ni=ni, ke=ke, ki=ki, n_ext=1000, k_ext=50, rate_ext=10.0, J=0.03, g=4.0, J_ext=0.25,
                w_max=0.1, a_plus=0.001, a_minus=0.00105, tau=20.0,
                du=1 - math.exp(-1 / TAU_S), dv=1 - math.exp(-1 / TAU_M), refractory=2)


def ei_document(P, steps, dtype="float64", layout="auto"):
    lif = {"type": "lif", "du": P["du"], "dv": P["dv"], "vth": VTH, "refractory": P["refractory"]}

    def proj(pre, post, k, w, **extra):
        return {"pre": pre, "post": post, "weights": {"init": "constant", "value": w},
                "connectivity": {"type": "fixed_indegree", "k": k, "allow_self": pre != post}, "layout": layout,
                **extra}

    J, g = P["J"], P["g"]
    return {
        "format_version": "1.0", "name": f"ei_{P['N']}",
        "populations": {"ext": {"type": "poisson", "n": P["n_ext"], "rates": P["rate_ext"]},
                        "e": {**lif, "n": P["ne"]}, "i": {**lif, "n": P["ni"]}},
        "projections": {
            "ee": proj("e", "e", P["ke"], J, sign="excitatory", bounds=[0.0, P["w_max"]],
                       rule={"template": "stdp_pair", "a_plus": P["a_plus"], "a_minus": P["a_minus"],
                             "tau_plus": P["tau"], "tau_minus": P["tau"], "timing": "exclusive"}),
            "ei": proj("e", "i", P["ke"], J),
            "ie": proj("i", "e", P["ki"], -g * J),
            "ii": proj("i", "i", P["ki"], -g * J),
            "xe": proj("ext", "e", P["k_ext"], P["J_ext"]),
            "xi": proj("ext", "i", P["k_ext"], P["J_ext"]),
        },
        "run": {"steps": steps, "seed": 1, "dtype": dtype},
    }


def synapse_count(P):
    return P["N"] * (P["ke"] + P["ki"] + P["k_ext"])


# ----------------------------------------------------------------- one configuration (child process)
def child_neurohebb(N, steps, precision, layout, dtype):
    import neurohebb as nh
    from neurohebb.ir import from_dict

    P = net_params(N)
    t0 = time.perf_counter()
    net = from_dict(ei_document(P, steps + 20, dtype, layout))
    # fixed point: the arithmetic of Loihi 2 emulated; the network is bigger than one chip's cores can place
    # (input axons per core), so the compiler's placement check is off
    sess = nh.Simulator(net, precision=precision, **({"check_capacity": False} if precision == "fixed" else {}))
    build = time.perf_counter() - t0
    sess.run(20, progress=False)  # warm-up (numba cache load, first-call dispatch)
    t0 = time.perf_counter()
    sess.run(steps, progress=False)
    wall = time.perf_counter() - t0
    res = sess.result()
    rate_e = float(res.spikes["e"][-steps:].mean() * 1000.0)
    syn_bytes = sum(v["bytes"] for v in res.report.get("sparse", {}).values())
    syn_n = sum(v["synapses"] for v in res.report.get("sparse", {}).values())
    return dict(build=build, per_step=wall / steps, rate_e=rate_e, syn_bytes=syn_bytes, syn_sparse=syn_n)


def child_brian2(N, steps):
    import logging

    import brian2 as b2
    import numpy as np

    logging.getLogger("brian2").setLevel(logging.ERROR)
    P = net_params(N)
    b2.start_scope()
    b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = 1 * b2.ms
    b2.seed(1)
    ms = b2.ms
    ns = dict(du=P["du"], dv=P["dv"], vth=VTH, R=P["refractory"], w_max=P["w_max"], a_plus=P["a_plus"],
              a_minus=P["a_minus"], tau=P["tau"] * ms)
    t0 = time.perf_counter()
    ext = b2.PoissonGroup(P["n_ext"], rates=P["rate_ext"] * b2.Hz)
    neurons = b2.NeuronGroup(P["N"], "u : 1\nv : 1\nI : 1\nrl : integer", threshold="v > vth",
                             reset="v = 0\nrl = R", namespace=ns)
    neurons.run_regularly("u = u * (1 - du) + I\nI = 0\n"
                          "v = int(rl == 0) * (v * (1 - dv) + u) + int(rl > 0) * v\nrl = rl - int(rl > 0)\n",
                          when="groups")
    E, I = neurons[:P["ne"]], neurons[P["ne"]:]
    rng = np.random.default_rng(1)

    def fixed_in(src, n_src, dst, n_dst, k, same):
        pre = np.empty(n_dst * k, np.int64)
        for i in range(n_dst):
            c = rng.choice(n_src - (1 if same else 0), k, replace=False)
            if same:
                c[c >= i] += 1
            pre[i * k:(i + 1) * k] = c
        return pre, np.repeat(np.arange(n_dst), k)

    groups = []
    stdp = b2.Synapses(E, E, model="""w : 1
        dx1/dt = -x1 / tau : 1 (event-driven)
        dy1/dt = -y1 / tau : 1 (event-driven)""",
                       on_pre={"pre": "I_post += w\nw = clip(w - a_minus * y1, 0, w_max)\nx1 += 1"},
                       on_post="w = clip(w + a_plus * x1, 0, w_max)\ny1 += 1", namespace=ns)
    i, j = fixed_in(E, P["ne"], E, P["ne"], P["ke"], True)
    stdp.connect(i=i, j=j)
    stdp.w = P["J"]
    groups.append(stdp)
    for src, ns_, dst, nd, k, w, same in ((E, P["ne"], I, P["ni"], P["ke"], P["J"], False),
                                          (I, P["ni"], E, P["ne"], P["ki"], -P["g"] * P["J"], False),
                                          (I, P["ni"], I, P["ni"], P["ki"], -P["g"] * P["J"], True),
                                          (ext, P["n_ext"], E, P["ne"], P["k_ext"], P["J_ext"], False),
                                          (ext, P["n_ext"], I, P["ni"], P["k_ext"], P["J_ext"], False)):
        s = b2.Synapses(src, dst, "w : 1", on_pre="I_post += w")
        i, j = fixed_in(src, ns_, dst, nd, k, same)
        s.connect(i=i, j=j)
        s.w = w
        groups.append(s)
    mon = b2.SpikeMonitor(E, record=False)
    net = b2.Network(ext, neurons, *groups, mon)
    net.run(20 * ms, report=None)  # compiles the code objects
    build = time.perf_counter() - t0
    n0 = mon.num_spikes
    t0 = time.perf_counter()
    net.run(steps * ms, report=None)
    wall = time.perf_counter() - t0
    return dict(build=build, per_step=wall / steps, rate_e=float((mon.num_spikes - n0) / P["ne"] / (steps / 1000)))


CROSS_RULES = {"stdp_pair": {"template": "stdp_pair", "a_plus": 0.001, "a_minus": 0.00105},
               "oja": {"template": "oja", "eta": 0.0005}}


def child_crossover(p, layout, steps, rule="stdp_pair"):
    import neurohebb as nh
    from neurohebb.ir import from_dict

    doc = {"format_version": "1.0", "name": "cross",
           "populations": {"a": {"type": "poisson", "n": 4000, "rates": 10.0},
                           "b": {"type": "lif", "n": 4000, "du": 0.2, "dv": 0.05, "vth": 1.0}},
           "projections": {"p": {"pre": "a", "post": "b", "sign": "excitatory", "bounds": [0.0, 1.0],
                                 "weights": {"init": "uniform", "low": 0.0, "high": 0.02 / max(p, 0.01)},
                                 "connectivity": {"type": "fixed_probability", "p": p}, "layout": layout,
                                 "rule": CROSS_RULES[rule]}},
           "run": {"steps": steps + 10, "seed": 1}}
    sess = nh.Simulator(from_dict(doc))
    sess.run(10, progress=False)
    t0 = time.perf_counter()
    sess.run(steps, progress=False)
    return dict(per_step=(time.perf_counter() - t0) / steps)


def child(argv):
    kind = argv[0]
    if kind == "nh":
        out = child_neurohebb(int(argv[1]), int(argv[2]), argv[3], argv[4], argv[5])
    elif kind == "brian2":
        out = child_brian2(int(argv[1]), int(argv[2]))
    else:
        out = child_crossover(float(argv[1]), argv[2], int(argv[3]), argv[4])
    out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(out))


def spawn(args, timeout):
    cmd = [sys.executable, __file__, "--child", *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout} s"}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (p.stderr.strip().splitlines() or ["?"])[-1][:200]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--dense-max", type=int, default=10_000, help="largest N run in the dense layout")
    ap.add_argument("--brian2-sizes", type=int, nargs="*", default=[10_000])
    ap.add_argument("--precisions", nargs="+", default=["float", "fixed"])
    ap.add_argument("--crossover", action="store_true", help="measure the dense/sparse crossover density")
    ap.add_argument("--crossover-rules", nargs="+", default=["stdp_pair", "oja"], choices=["stdp_pair", "oja"],
                    help="event-driven (stdp_pair) and every-step (oja) rule")
    ap.add_argument("--densities", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2, 0.4, 0.8])
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    rows = []
    for N in a.sizes:
        P = net_params(N)
        nsyn = synapse_count(P)
        base = None
        if N in a.brian2_sizes:
            r = spawn(["brian2", N, a.steps], a.timeout)
            rows.append(dict(N=N, synapses=nsyn, sim="brian2 (cython)", **r))
            base = r.get("per_step")
        for prec in a.precisions:
            for layout in (["dense", "sparse"] if N <= a.dense_max else ["sparse"]):
                r = spawn(["nh", N, a.steps, prec, layout, "float64"], a.timeout)
                rows.append(dict(N=N, synapses=nsyn, sim=f"neurohebb {prec} {layout}", base=base, **r))
    print(f"\nbalanced E/I network, {a.steps} steps; peak RSS per process")
    print(f"{'N':>7} {'synapses':>11} {'simulator':<26} {'ms/step':>8} {'x Brian2':>8} {'peak RSS':>9} "
          f"{'RSS B/syn':>9} {'arrays B/syn':>12} {'E rate Hz':>9}")
    for r in rows:
        if "error" in r:
            print(f"{r['N']:>7} {r['synapses']:>11} {r['sim']:<26} {r['error']}")
            continue
        ratio = f"{r['base'] / r['per_step']:.2f}" if r.get("base") else "-"
        arr = f"{r['syn_bytes'] / r['syn_sparse']:.1f}" if r.get("syn_sparse") else "-"
        print(f"{r['N']:>7} {r['synapses']:>11} {r['sim']:<26} {r['per_step'] * 1e3:>8.3f} {ratio:>8} "
              f"{r['peak_rss'] / 2**30:>7.2f} G {r['peak_rss'] / r['synapses']:>9.1f} {arr:>12} {r['rate_e']:>9.2f}")
    cross = []
    if a.crossover:
        for rule in a.crossover_rules:
            print(f"\ncrossover: 4000 -> 4000, {rule}, fixed_probability p (ms per step)")
            print(f"{'p':>6} {'dense':>8} {'sparse':>8} {'dense/sparse':>12}")
            for p in a.densities:
                d = spawn(["cross", p, "dense", 300, rule], a.timeout)
                s_ = spawn(["cross", p, "sparse", 300, rule], a.timeout)
                cross.append(dict(rule=rule, p=p, dense=d.get("per_step"), sparse=s_.get("per_step")))
                if d.get("per_step") and s_.get("per_step"):
                    print(f"{p:>6} {d['per_step'] * 1e3:>8.3f} {s_['per_step'] * 1e3:>8.3f} "
                          f"{d['per_step'] / s_['per_step']:>12.2f}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "crossover": cross}, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        sys.exit(main())
