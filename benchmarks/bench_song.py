"""Song, Miller & Abbott (2000) STDP network: neurohebb reference backend vs Brian2.

1000 Poisson inputs (15 Hz) -> 100 current-based LIF neurons, all-to-all,
additive pair STDP (A- / A+ = 1.05, tau_plus = tau_minus = 20 ms), dt = 1 ms,
10 000 steps (10 s of model time).

Both simulators run the *same discrete equations* (the neurohebb IR's):

* LIF, per step:  u <- u (1 - du) + I;  v <- v (1 - dv) + u + bias (held at
  v_reset while refractory);  spike if v > vth, then v <- v_reset and the neuron
  is refractory for ``refractory`` steps;  I is the weight sum of the spikes
  emitted one step earlier.
* Poisson: P(spike per step) = rate * dt.
* Pair STDP, ``timing: exclusive``: traces decay by exp(-1/tau) per step and
  jump by 1 per spike; a pre spike counts at the synapse 1 step after it was
  emitted (the synaptic latency) and depresses w by a_minus * y1 (post trace
  before this step's post spike); a post spike potentiates w by a_plus * x1 (pre
  trace before this step's arriving pre spike); w clipped to [0, w_max].

The Brian2 model (runtime mode, ``prefs.codegen.target = 'cython'``) writes the
LIF update as an explicit discrete update (``run_regularly`` in the ``groups``
slot, no ODE integration) and uses Brian2's standard per-synapse event-driven
traces, which Brian2 integrates exactly (exp(-(t - lastupdate)/tau)), i.e. the
same values as the IR's per-step decay.  Three synaptic pathways reproduce the
IR's order of one step: ``plast`` (pre spikes of the previous step arrive:
LTD, pre-trace impulse), then ``post`` (post spikes of this step: LTP,
post-trace impulse), then ``pre`` (this step's spikes: ``I_post += w`` with the
weight after this step's learning, read by the neurons in the next step).
When a pre and a post event hit the same synapse in the same step, the post
pathway adds its LTP to the unclipped ``w - LTD`` so that w is clipped once,
after the sum, as in the IR.  The Poisson random numbers differ, so the timed
runs are compared statistically (mean output rate, mean final weight); an
exact cross-check then feeds both simulators the same input spikes and initial
weights and compares output spike trains and final weights.

Run from the repo root:  .venv/bin/python benchmarks/bench_song.py
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n-in", type=int, default=1000, help="Poisson inputs")
    p.add_argument("--n-out", type=int, default=100, help="LIF neurons")
    p.add_argument("--rate", type=float, default=15.0, help="input rate (Hz)")
    p.add_argument("--steps", type=int, default=10_000, help="time steps (dt = 1 ms)")
    p.add_argument("--w-max", type=float, default=0.0023, help="upper weight bound (initial w ~ U(0, w_max))")
    p.add_argument("--a-plus", type=float, default=0.005, help="A+ in units of w_max")
    p.add_argument("--ratio", type=float, default=1.05, help="A- / A+")
    p.add_argument("--tau", type=float, default=20.0, help="tau_plus = tau_minus (steps)")
    p.add_argument("--tau-m", type=float, default=10.0, help="membrane time constant (steps): dv = 1 - exp(-1/tau_m)")
    p.add_argument("--tau-s", type=float, default=5.0, help="synaptic current time constant (steps): du = 1 - exp(-1/tau_s)")
    p.add_argument("--vth", type=float, default=1.0)
    p.add_argument("--refractory", type=int, default=2, help="refractory period (steps)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3, help="timed warm runs per simulator (the best is reported)")
    p.add_argument("--no-brian2", action="store_true", help="skip Brian2")
    p.add_argument("--check-steps", type=int, default=2000,
                   help="steps of the exact cross-check (same input spikes and initial weights in both); 0 skips it")
    p.add_argument("--no-float32", action="store_true", help="skip the neurohebb float32 run")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def params(a):
    w_max = a.w_max
    return dict(
        n_in=a.n_in, n_out=a.n_out, rate=a.rate, steps=a.steps, seed=a.seed,
        w_max=w_max, a_plus=a.a_plus * w_max, a_minus=a.a_plus * a.ratio * w_max, tau=a.tau,
        du=1 - math.exp(-1 / a.tau_s), dv=1 - math.exp(-1 / a.tau_m), vth=a.vth, refractory=a.refractory,
    )


# ----------------------------------------------------------------- neurohebb
def neurohebb_network(P, dtype):
    from neurohebb.builder import Builder

    b = Builder("song_bench", steps=P["steps"], seed=P["seed"], dt=1.0, dtype=dtype)
    b.population("inputs", type="poisson", n=P["n_in"], rates=P["rate"])
    b.population("out", type="lif", n=P["n_out"], du=P["du"], dv=P["dv"], vth=P["vth"],
                 refractory=P["refractory"])
    b.projection("syn", "inputs", "out", sign="excitatory",
                 weights={"init": "uniform", "low": 0.0, "high": P["w_max"]},
                 bounds=(0.0, P["w_max"]),
                 rule={"template": "stdp_pair", "a_plus": P["a_plus"], "a_minus": P["a_minus"],
                       "tau_plus": P["tau"], "tau_minus": P["tau"], "timing": "exclusive"})
    return b.build()


def run_neurohebb(P, dtype, repeats, precision="float"):
    """First run in this process (numba machine code loaded from the on-disk
    cache, or compiled if the cache is empty), then ``repeats`` warm runs.
    ``precision="fixed"``: the bit-accurate Loihi-2 mode (compile included)."""
    from neurohebb.backends.reference import simulator

    net = neurohebb_network(P, dtype)
    times = []
    res = None
    for k in range(1 + repeats):
        t0 = time.perf_counter()
        res = simulator.run(net, precision=precision, progress=False)
        times.append(time.perf_counter() - t0)
    out_spikes = res.spikes["out"]
    return dict(
        first=times[0], warm=min(times[1:]), warm_all=times[1:],
        rate_out=float(out_spikes.mean() * 1000.0),
        rate_out_last=float(out_spikes[-min(2000, P["steps"]):].mean() * 1000.0),
        rate_in=float(res.spikes["inputs"].mean() * 1000.0),
        w_mean=float(res.weights["syn"].mean()),
        w_frac_high=float((res.weights["syn"] > 0.9 * P["w_max"]).mean()),
        w_frac_low=float((res.weights["syn"] < 0.1 * P["w_max"]).mean()),
    )


# ----------------------------------------------------------------- Brian2
def brian2_once(P, spikes_in=None, w_init=None, record=False):
    """Build and run the Brian2 model once.  ``spikes_in`` (steps, n_in) bool
    replaces the Poisson group by a SpikeGeneratorGroup with these spikes and
    ``w_init`` (n_out, n_in) sets the initial weights (the exact cross-check)."""
    import brian2 as b2

    b2.start_scope()
    b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = 1 * b2.ms
    b2.seed(P["seed"])
    ms = b2.ms
    ns = dict(du=P["du"], dv=P["dv"], vth=P["vth"], v_reset=0.0, bias=0.0, R=P["refractory"],
              w_max=P["w_max"], a_plus=P["a_plus"], a_minus=P["a_minus"], tau=P["tau"] * ms)

    if spikes_in is None:
        inputs = b2.PoissonGroup(P["n_in"], rates=P["rate"] * b2.Hz, name="inputs")
    else:
        steps_idx, neuron_idx = np.nonzero(spikes_in)
        inputs = b2.SpikeGeneratorGroup(P["n_in"], neuron_idx, steps_idx * ms, name="inputs")
    out = b2.NeuronGroup(P["n_out"], "u : 1\nv : 1\nI : 1\nrl : integer",
                         threshold="v > vth", reset="v = v_reset\nrl = R", namespace=ns, name="out")
    # the IR's discrete LIF update, exactly (no ODE integration)
    out.run_regularly(
        "u = u * (1 - du) + I\n"
        "I = 0\n"
        "v = int(rl == 0) * (v * (1 - dv) + u + bias) + int(rl > 0) * v\n"
        "rl = rl - int(rl > 0)\n",
        when="groups", name="lif_update")
    syn = b2.Synapses(
        inputs, out,
        model="""w : 1
                 w_unclipped : 1
                 lastpre : second
                 dx1/dt = -x1 / tau : 1 (event-driven)
                 dy1/dt = -y1 / tau : 1 (event-driven)""",
        on_pre={
            # pre spike of the previous step arrives at the synapse: LTD, then the pre-trace impulse
            "plast": "w_unclipped = w - a_minus * y1\nw = clip(w_unclipped, 0, w_max)\nx1 += 1\nlastpre = t",
            # this step's pre spike: input of the next step, with the weight after this step's learning
            "pre": "I_post += w",
        },
        # post spike: LTP from the pre trace *before* a pre spike arriving in the same step (exclusive
        # timing); when a pre spike arrived in this step too, add to the unclipped w - LTD so that, as
        # in the IR, w is clipped once after the sum of the step's updates
        on_post="same_step = int(lastpre == t)\n"
                "w = clip(same_step * w_unclipped + (1 - same_step) * w + a_plus * (x1 - same_step), 0, w_max)\n"
                "y1 += 1",
        delay={"plast": 1 * ms, "pre": 0 * ms},
        namespace=ns, name="syn")
    syn.connect()
    if w_init is None:
        syn.w = "rand() * w_max"
    else:
        syn.w = w_init[syn.j[:], syn.i[:]]
    syn.lastpre = -1 * b2.second
    # IR order inside one step: plasticity of arriving pre spikes, of post spikes, then transmission
    syn.plast.order = -3
    syn.post.order = -2
    syn.pre.order = -1
    sm_out = b2.SpikeMonitor(out, record=record)
    sm_in = b2.SpikeMonitor(inputs, record=False)
    net = b2.Network(inputs, out, syn, sm_out, sm_in)
    t0 = time.perf_counter()
    net.run(P["steps"] * ms, report=None)
    wall_run = time.perf_counter() - t0
    T = P["steps"] / 1000.0
    w = np.asarray(syn.w[:])
    extra = {}
    if record:
        spk = np.zeros((P["steps"], P["n_out"]), bool)
        spk[np.round(np.asarray(sm_out.t / ms)).astype(int), np.asarray(sm_out.i)] = True
        W = np.zeros((P["n_out"], P["n_in"]))
        W[np.asarray(syn.j[:]), np.asarray(syn.i[:])] = w
        extra = dict(spikes_out=spk, W=W)
    return dict(**extra,
        wall=wall_run,
        rate_out=float(sm_out.num_spikes / P["n_out"] / T),
        rate_in=float(sm_in.num_spikes / P["n_in"] / T),
        w_mean=float(w.mean()),
        w_frac_high=float((w > 0.9 * P["w_max"]).mean()),
        w_frac_low=float((w < 0.1 * P["w_max"]).mean()),
    )


def run_brian2(P, repeats):
    """One untimed run (compiles the Cython code objects into Brian2's cache),
    then ``repeats`` timed runs in fresh networks (warm compiled cache)."""
    import logging

    logging.getLogger("brian2").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    brian2_once(P)
    first = time.perf_counter() - t0
    walls, runs, last = [], [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        last = brian2_once(P)
        walls.append(time.perf_counter() - t0)  # build + run
        runs.append(last["wall"])  # Network.run only
    return dict(first=first, warm=min(walls), warm_run_only=min(runs), warm_all=walls, **{
        k: v for k, v in last.items() if k != "wall"})


def exact_check(P, steps):
    """Same input spikes and initial weights in both simulators: the output
    spike trains and the final weights must agree up to float rounding."""
    from neurohebb.backends.reference import simulator

    Q = dict(P, steps=steps)
    res = simulator.run(neurohebb_network(Q, "float64"), progress=False)
    b2 = brian2_once(Q, spikes_in=res.spikes["inputs"], w_init=res.initial_weights["syn"], record=True)
    nh_spk, b2_spk = res.spikes["out"], b2["spikes_out"]
    first_diff = np.flatnonzero((nh_spk != b2_spk).any(axis=1))
    return dict(
        steps=steps, spikes_neurohebb=int(nh_spk.sum()), spikes_brian2=int(b2_spk.sum()),
        spike_mismatches=int((nh_spk != b2_spk).sum()),
        first_mismatch_step=int(first_diff[0]) if first_diff.size else None,
        max_abs_w_diff=float(np.abs(res.weights["syn"] - b2["W"]).max()),
        max_abs_w_change=float(np.abs(res.weights["syn"] - res.initial_weights["syn"]).max()),
    )


# ----------------------------------------------------------------- main
def busy_cores(interval=0.5):
    """Cores kept busy by *other* processes, measured from /proc/stat while this
    one sleeps (None where /proc/stat is missing)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v), idle

    try:
        t0, i0 = sample()
        time.sleep(interval)
        t1, i1 = sample()
    except OSError:
        return None
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / max(t1 - t0, 1))


def machine_line():
    """Cores and how many of them other processes use: timings on a 2-core
    machine are only meaningful when nothing else runs (the parallel numba
    kernels stall when a core is taken)."""
    busy = busy_cores()
    if busy is None:
        return f"machine: {os.cpu_count()} cores"
    warn = "  ** the machine is busy: timings are not representative **" if busy > 0.3 else ""
    return f"machine: {os.cpu_count()} cores, {busy:.2f} of them busy with other processes{warn}"


def fmt_table(rows, headers):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    return "\n".join(out)


def main(argv=None):
    a = parse_args(argv)
    P = params(a)
    print(f"Song/Miller/Abbott STDP: {P['n_in']} Poisson ({P['rate']} Hz) -> {P['n_out']} LIF, "
          f"{P['steps']} steps of 1 ms; w_max {P['w_max']}, A+ {P['a_plus']:.3g}, A- {P['a_minus']:.3g}, "
          f"du {P['du']:.4f}, dv {P['dv']:.4f}, vth {P['vth']}, refractory {P['refractory']}")
    print(machine_line())
    results = {"params": P, "busy_cores_start": busy_cores()}
    results["neurohebb_float64"] = nh64 = run_neurohebb(P, "float64", a.repeats)
    print(f"neurohebb float64: first run {nh64['first']:.3f} s, warm {nh64['warm']:.3f} s")
    if not a.no_float32:
        results["neurohebb_float32"] = nh32 = run_neurohebb(P, "float32", a.repeats)
        print(f"neurohebb float32: first run {nh32['first']:.3f} s, warm {nh32['warm']:.3f} s")
    results["neurohebb_fixed"] = nhf = run_neurohebb(P, "float64", a.repeats, precision="fixed")
    print(f"neurohebb fixed:   first run {nhf['first']:.3f} s, warm {nhf['warm']:.3f} s "
          f"(fixed / float64 = {nhf['warm'] / nh64['warm']:.2f}x; target <= 2x: "
          f"{'met' if nhf['warm'] <= 2 * nh64['warm'] else 'NOT met'})")
    results["ratio_fixed_over_float"] = nhf["warm"] / nh64["warm"]
    if not a.no_brian2:
        results["brian2"] = b2 = run_brian2(P, a.repeats)
        print(f"brian2 (cython):   first run {b2['first']:.3f} s (code generation; Cython compilation too "
              f"when its disk cache is empty), warm {b2['warm']:.3f} s "
              f"(Network.run alone {b2['warm_run_only']:.3f} s)")

    rows = []
    for key, label in (("neurohebb_float64", "neurohebb float64"), ("neurohebb_float32", "neurohebb float32"),
                       ("neurohebb_fixed", "neurohebb fixed (loihi2)"), ("brian2", "Brian2 cython (runtime)")):
        if key not in results:
            continue
        r = results[key]
        rows.append([label, f"{r['first']:.3f}", f"{r['warm']:.3f}", f"{P['steps'] / r['warm']:.0f}",
                     f"{r['rate_in']:.2f}", f"{r['rate_out']:.2f}", f"{r['w_mean']:.3e}",
                     f"{r['w_mean'] / P['w_max']:.3f}"])
    print()
    print(fmt_table(rows, ["simulator", "first [s]", "warm [s]", "steps/s", "in [Hz]", "out [Hz]",
                           "mean w", "mean w/w_max"]))
    if "brian2" in results:
        b2 = results["brian2"]
        ratio = b2["warm"] / nh64["warm"]
        results["ratio_brian2_over_neurohebb"] = ratio
        results["ratio_brian2_run_only_over_neurohebb"] = b2["warm_run_only"] / nh64["warm"]
        d_rate = (nh64["rate_out"] - b2["rate_out"]) / b2["rate_out"]
        d_w = (nh64["w_mean"] - b2["w_mean"]) / b2["w_mean"]
        results["rel_diff_rate"], results["rel_diff_w"] = d_rate, d_w
        print()
        print(f"wall time Brian2 / neurohebb float64 (warm): {ratio:.2f}x  (target >= 3x: "
              f"{'met' if ratio >= 3 else 'NOT met'}); Network.run alone: "
              f"{results['ratio_brian2_run_only_over_neurohebb']:.2f}x")
        if "neurohebb_float32" in results:
            print(f"wall time Brian2 / neurohebb float32 (warm): {b2['warm'] / results['neurohebb_float32']['warm']:.2f}x")
        ok = abs(d_rate) < 0.10 and abs(d_w) < 0.02
        results["agree"] = ok
        print(f"agreement: mean output rate differs by {100 * d_rate:+.1f} %, mean final weight by "
              f"{100 * d_w:+.2f} % ({'similar' if ok else 'DIFFERENT'})")
    if not a.no_brian2 and a.check_steps > 0:
        results["exact_check"] = ex = exact_check(P, min(a.check_steps, P["steps"]))
        same = ex["spike_mismatches"] == 0
        print(f"exact cross-check ({ex['steps']} steps, same input spikes and initial weights): output spikes "
              f"neurohebb {ex['spikes_neurohebb']}, Brian2 {ex['spikes_brian2']}, mismatching (step, neuron) "
              f"pairs {ex['spike_mismatches']}"
              + ("" if same else f" (first at step {ex['first_mismatch_step']})")
              + f"; max |w_neurohebb - w_brian2| = {ex['max_abs_w_diff']:.2e} "
              f"(largest weight change {ex['max_abs_w_change']:.2e})")
    results["busy_cores_end"] = busy_cores()
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
