"""The nest backend: an IR document lowered to NEST and run there.

``neurohebb.run(net, backend="nest", threads=2)`` /
``neurohebb run FILE --backend nest``.  Precision ``float`` (NEST computes in
double precision).  ``threads``: NEST threads per process (default 1).  Under
``mpirun -np N`` with an MPI build of NEST, every process simulates its share
and the results are gathered on every rank (the CLI writes them on rank 0).

Importing this module imports NEST (the availability check).
"""
from __future__ import annotations

import time

import numpy as np

from ...errors import UnsupportedFeature
from ...ir.validate import size, validate
from ...progress import bar as progress_bar
from ...result import ProbeData, Result
from ...semantics import SourceTrain, initial_weights
from ..base import Backend
from . import lowering
from .module import OFFSET, import_nest, library, openmp_conflict, reset_kernel

NAME = "nest"
import_nest()  # ImportError here: the backend is unavailable


class NestBackend(Backend):
    """NEST (threads; MPI processes with an MPI build of NEST)."""

    name = NAME
    precisions = lowering.PRECISIONS

    def available(self):
        from ...errors import BackendUnavailable

        try:
            library()
        except BackendUnavailable as exc:
            return str(exc)
        return None

    def unsupported(self, network, precision="float", **options):
        return self.dense_matrix_problems(network) or lowering.unsupported(network, precision, **options)

    def run(self, network, precision="float", seed=None, steps=None, progress=None, threads=None, **options):
        return run(network, precision=precision, seed=seed, steps=steps, progress=progress, threads=threads,
                   **options)


BACKEND = NestBackend()


def _refuse(network, precision, **options):
    bad = lowering.unsupported(network, precision, **options)
    if bad:
        head = f"nest backend cannot run {network.name or 'this network'} exactly:"
        raise UnsupportedFeature(head + "\n  " + "\n  ".join(f"{p}: {m}" if p else m for p, m in bad))


class _Lowered:
    """The NEST objects of one run and how to read them back."""

    def __init__(self, nest, network, seed, steps):
        self.nest, self.net, self.seed, self.steps = nest, network, seed, steps
        self.nodes = {}       # population -> NodeCollection (parrots for sources)
        self.size = {}
        self.trains = {}      # source/prescribed population -> (steps, n) bool
        self.models = {}      # projection -> synapse model name
        self.init_w = {}
        self.masks = {}
        self.recorders = {}

    def build(self):
        nest, net = self.nest, self.net
        dt = net.run.dt
        for name, spec in net.populations.items():
            n = size(net, name)
            self.size[name] = n
            src = spec if spec.is_source else getattr(spec, "prescribed", None)
            if src is not None:
                train = SourceTrain(src, n, dt, self.seed, f"source:{name}", np.float64)
                train.check_steps(self.steps, f"populations.{name}" + ("" if spec.is_source else ".prescribed"))
                S = np.zeros((self.steps, n), bool)
                for t in range(self.steps):
                    S[t] = train.at(t) != 0
                self.trains[name] = S
                gens = nest.Create("spike_generator", n)
                # IR step s: the generator fires at s + OFFSET, its parrot at s + 1 + OFFSET
                gens.set([{"spike_times": (np.nonzero(S[:, k])[0] + float(OFFSET)).tolist()} for k in range(n)])
                parrots = nest.Create("parrot_neuron", n)
                nest.Connect(gens, parrots, "one_to_one", syn_spec={"delay": 1.0})
                self.nodes[name] = parrots
            else:
                p = lowering.lif_params(spec, n)
                nodes = nest.Create("neurohebb_lif", n)
                nodes.set({k: v for k, v in p.items() if k not in ("bias", "v")})
                nodes.set([{"bias": b, "v": v} for b, v in zip(p["bias"], p["v"])])
                self.nodes[name] = nodes
            rec = nest.Create("spike_recorder")
            nest.Connect(self.nodes[name], rec)
            self.recorders[name] = rec
        for name, pr in net.projections.items():
            W, mask = initial_weights(net, name, self.seed, np.float64)
            self.init_w[name], self.masks[name] = W, mask
            post = net.populations[pr.post]
            if post.type == "lif" and post.prescribed is not None:
                continue  # a prescribed population emits its train whatever its input
            model = f"nh_{name}"
            if pr.rule is None:
                nest.CopyModel("static_synapse", model)
            else:
                nest.CopyModel("neurohebb_synapse", model,
                               lowering.rule_params(net, pr, self.steps, self.size[pr.post],
                                                    self.nodes[pr.post][0].global_id))
            self.models[name] = model
            i, j = np.nonzero(mask) if mask is not None else np.nonzero(np.ones(W.shape, bool))
            if i.size == 0:
                continue
            pre_ids = np.asarray(self.nodes[pr.pre].tolist())
            post_ids = np.asarray(self.nodes[pr.post].tolist())
            nest.Connect(pre_ids[j], post_ids[i], "one_to_one",
                         syn_spec={"synapse_model": model, "weight": W[i, j].astype(float),
                                   "delay": np.full(i.size, 1.0 + pr.delay)})

    # ------------------------------------------------------------ read back
    def weights(self, name):
        """(post, pre) weights of projection ``name`` now, and which entries this process holds."""
        nest, pr = self.nest, self.net.projections[name]
        W = np.zeros_like(self.init_w[name])
        have = np.zeros(W.shape, bool)
        model = self.models.get(name)
        if model is None:  # not lowered (prescribed post): the weights never change
            return self.init_w[name].copy(), np.ones(W.shape, bool)
        conns = nest.GetConnections(synapse_model=model)
        if len(conns) == 0:
            return W, have
        d = conns.get(["source", "target", "weight"])
        src = np.asarray(d["source"], np.int64) - self.nodes[pr.pre][0].global_id
        tgt = np.asarray(d["target"], np.int64) - self.nodes[pr.post][0].global_id
        W[tgt, src] = d["weight"]
        have[tgt, src] = True
        return W, have

    def trace(self, name, var):
        """Trace ``var`` of projection ``name`` after the last simulated step, per
        pre (x) or post (y) neuron, read from the synapses; and which neurons
        this process holds a synapse of."""
        nest, pr = self.nest, self.net.projections[name]
        pre_side = var.startswith("x")
        n = self.size[pr.pre if pre_side else pr.post]
        out, have = np.zeros(n), np.zeros(n, bool)
        model = self.models.get(name)
        conns = nest.GetConnections(synapse_model=model) if model else ()
        if len(conns) == 0:
            return out, have
        d = conns.get(["source" if pre_side else "target", var])
        first = self.nodes[pr.pre if pre_side else pr.post][0].global_id
        idx = np.asarray(d["source" if pre_side else "target"], np.int64) - first
        out[idx] = d[var]
        have[idx] = True
        return out, have

    def trace_from_spikes(self, spikes, name, var):
        """The IR's trace from the recorded spikes, (steps, n): for neurons
        without a synapse of the projection here (nothing to read in NEST)."""
        pr = self.net.projections[name]
        tr = pr.rule.expand().traces[var]
        pre_side = var.startswith("x")
        a = spikes[pr.pre] if pre_side else spikes[pr.post]
        lag = 1 + pr.delay if pre_side else 0
        z = np.zeros(a.shape[1])
        out = np.zeros(a.shape)
        for t in range(self.steps):
            z = z * tr.decay + (tr.impulse * a[t - lag] if t >= lag else 0.0)
            out[t] = z
        return out

    def state(self, pop, var):
        """``var`` of every neuron of ``pop`` now, and which this process holds."""
        nest = self.nest
        n = self.size[pop]
        out, have = np.zeros(n), np.zeros(n, bool)
        if pop in self.trains:  # prescribed: the reference keeps v, u, input at 0
            return out, np.ones(n, bool)
        local = self.nodes[pop]
        if nest.NumProcesses() > 1:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                local = nest.GetLocalNodeCollection(local)
        if len(local) == 0:
            return out, have
        idx = np.asarray(local.tolist(), np.int64) - self.nodes[pop][0].global_id
        vals = local.get({"v": "v", "u": "u", "input": "I"}[var])
        out[idx] = np.atleast_1d(np.asarray(vals, float))
        have[idx] = True
        return out, have

    def spikes(self, pop):
        n = self.size[pop]
        S = np.zeros((self.steps, n), bool)
        ev = self.recorders[pop].get("events")
        t = np.asarray(ev["times"], float).astype(np.int64) - 1 - OFFSET
        k = np.asarray(ev["senders"], np.int64) - self.nodes[pop][0].global_id
        ok = (t >= 0) & (t < self.steps)
        S[t[ok], k[ok]] = True
        return S


def _gather(parts):
    """Combine the (value, have) pieces of every MPI process (rank order): the
    full value and where some process had it."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise UnsupportedFeature(f"nest backend: gathering the results of several MPI processes "
                                 f"needs mpi4py ({exc}); pip install mpi4py") from None

    comm = MPI.COMM_WORLD
    allparts = comm.allgather(parts)
    out = {}
    for key in parts:
        val, have = allparts[0][key]
        val, have = np.array(val), np.array(have)
        for other in allparts[1:]:
            v2, h2 = other[key]
            if val.dtype == bool:
                val |= v2
            else:
                val[h2] = v2[h2]
            have |= h2
        out[key] = (val, have)
    return out


def run(network, precision="float", seed=None, steps=None, progress=None, threads=None, externals=None,
        hardware=None, **options):
    """Run ``network`` on NEST; see :func:`neurohebb.run`.  ``threads``: NEST
    threads per process (default 1).  In a process where numba runs its
    OpenMP threading layer, NEST runs in a fresh process (:mod:`.isolated`)."""
    validate(network)
    _refuse(network, precision, threads=threads, **options)
    if openmp_conflict():
        from .isolated import run_isolated

        return run_isolated(network, precision=precision, seed=seed, steps=steps, progress=progress,
                            threads=threads, **options)
    seed = network.run.seed if seed is None else int(seed)
    steps = network.run.steps if steps is None else int(steps)
    t0 = time.perf_counter()
    nest = reset_kernel(threads or 1)
    low = _Lowered(nest, network, seed, steps)
    low.build()
    t_build = time.perf_counter() - t0

    # stops: the probe times that need NEST's state (after IR step t: NEST time t + 1 + OFFSET)
    reads = {}
    for pname, pb in network.probes.items():
        if pb.target in network.projections or pb.var in ("v", "u", "input"):
            for t in range(0, steps, pb.every):
                reads.setdefault(t, []).append(pname)
    data = {pname: [] for pname in network.probes}
    pbar = progress_bar(steps, progress, desc=network.name or "nest")
    nest.Prepare()
    now, nest_time = -1, 0  # last IR step simulated; NEST's time (ms = steps)
    try:
        for t in sorted(set(reads) | {steps - 1}):
            if t > now:
                nest.Run(float(t + 1 + OFFSET - nest_time))
                now, nest_time = t, t + 1 + OFFSET
                if pbar is not None:
                    pbar.update(now + 1 - pbar.n)
            for pname in reads.get(t, ()):
                pb = network.probes[pname]
                if pb.target in network.projections and pb.var != "weights":
                    data[pname].append(low.trace(pb.target, pb.var))
                elif pb.target in network.projections:
                    data[pname].append(low.weights(pb.target))
                else:
                    data[pname].append(low.state(pb.target, pb.var))
        final = {name: low.weights(name) for name in network.projections}
    finally:
        nest.Cleanup()
        if pbar is not None:
            pbar.close()

    spikes = {name: (low.spikes(name), np.ones(1, bool)) for name in network.populations}
    nproc = nest.NumProcesses()
    parts = {("s", k): v for k, v in spikes.items()}
    parts.update({("w", k): v for k, v in final.items()})
    for pname, lst in data.items():
        for i, v in enumerate(lst):
            parts[("p", pname, i)] = v
    if nproc > 1:  # every process holds its own neurons, recorders and synapses
        parts = _gather(parts)
    spikes = {k: parts[("s", k)][0] for k in spikes}
    final = {k: parts[("w", k)][0] for k in final}
    for pname, pb in network.probes.items():
        vals = [parts[("p", pname, i)] for i in range(len(data[pname]))]
        if vals and pb.target in network.projections and pb.var != "weights" and not all(h.all() for _, h in vals):
            # traces of neurons without a synapse of the projection: from their recorded spikes
            series = low.trace_from_spikes(spikes, pb.target, pb.var)
            times = range(0, steps, pb.every)
            vals = [(np.where(h, v, series[t]), h) for (v, h), t in zip(vals, times)]
        data[pname] = [v for v, _ in vals]

    res = Result(network.name, NAME, precision, seed, steps, network.run.dt)
    res.spikes = spikes
    res.weights = final
    res.initial_weights = {k: v.copy() for k, v in low.init_w.items()}
    for pname, pb in network.probes.items():
        times = np.arange(0, steps, pb.every, dtype=np.int64)
        if pb.target in network.populations and pb.var in ("spikes", "output"):
            vals = spikes[pb.target][times].astype(np.float64)
        elif pb.target in network.modulators:
            from ...semantics import Modulator

            vals = Modulator(pb.target, network.modulators[pb.target]).series(steps)[times]
        else:
            vals = np.asarray(data[pname])
        res.probes[pname] = ProbeData(pb.target, pb.var, times, vals)
    res.wall_time = time.perf_counter() - t0
    res.report.update({"simulator": "NEST", "nest_version": getattr(nest, "__version__", ""), "build_s": t_build,
                       "run_s": res.wall_time - t_build, "threads": int(threads or 1), "processes": nproc,
                       "mpi_rank": int(nest.Rank()), "module": str(library())})
    return res
