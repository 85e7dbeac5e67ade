"""The reference's one scheduler: the IR's step order, written once.

One :class:`Engine` drives a *model* of the network's arithmetic: the float
model (:mod:`.float_model`, the IR's equations in float32/float64) or the
fixed-point model (:mod:`.fixed`, Lava's bit-approximate Loihi-2 arithmetic),
as Lava selects a float or a fixed process model by tag.  The engine owns
everything that is not arithmetic: ring buffers of past activity (delays),
the swap of next-step inputs, modulators, spike recording, probes, progress,
the :class:`~neurohebb.result.Result`, and the run's position in time, so a
run can be continued (``run(a); run(b)`` computes exactly ``run(a + b)``).

One step ``t`` (the IR's order, :mod:`neurohebb.ir.schema`):

1. every population takes the input accumulated for it during step ``t - 1``
   and emits its activity ``a[t]`` (sources read their train; neurons
   integrate; external populations call their step function with the
   activity of step ``t - 1``); ``a[t]`` goes into the population's ring buffer;
2. modulators compute ``r[t]`` (population modulators from ``a[t - 1]``);
3. every projection, in document order, runs its rule for step ``t`` (with the
   pre activity that arrives at the synapse, ``a_pre[t - 1 - delay]``, and the
   post activity ``a_post[t]``) and adds ``W(t + 1) @ a_pre[t - delay]`` to its
   post population's input for step ``t + 1``;
4. probes record (a probe with ``every = k`` records after steps 0, k, 2k, ...).

A model provides populations (``n``, ``spiking``, ``input``, ``emit(t, row)``),
``trains`` (its source trains and their field paths),
projections (``pre``, ``post``, ``delay``, ``step(t, x_arr, x_next, y, r,
target)``), modulators, ``probe_value(probe, t)`` and ``finish(result)``.
"""
from __future__ import annotations

import time

import numpy as np

from ... import progress as _progress
from ...health import Monitor
from ...result import ProbeData, Result

NAME = "reference"


class Engine:
    """A network instantiated on a model, positioned at step ``t``.

    ``run(steps)`` advances by ``steps`` steps; ``result()`` assembles what has
    been recorded since the start (or the last :meth:`clear_records`)."""

    def __init__(self, model):
        self.model = model
        self.t = 0
        net = model.network
        pops = model.populations
        depth = {name: 2 for name in pops}
        for pr in model.projections:
            depth[pr.pre_name] = max(depth[pr.pre_name], pr.delay + 2)
        self.depth = depth
        # buf[name][s % depth] is the output of step s (slots not yet written are 0: nothing before step 0)
        self.buf = {name: np.zeros((depth[name], p.n), model.buffer_dtype) for name, p in pops.items()}
        self.next_input = {name: np.zeros(p.n, model.input_dtype) for name, p in pops.items()}
        self.mods = model.modulators
        self.r_now: dict = {}
        self.probe_specs = list(net.probes.items())
        self.clear_records()
        self.wall_time = 0.0
        self.health = Monitor(pops, {pr.name: pr for pr in model.projections}, self.mods)

    # ------------------------------------------------------------ records
    def clear_records(self):
        """Forget recorded spikes and probe data (the state is kept); the next
        result starts at this step, with the weights of this step as its initial weights."""
        self.t_record = self.t
        self.w_record = self.model.weights_now() if self.t else None
        self.spike_chunks = {name: [] for name, p in self.model.populations.items() if p.spiking}
        self.probe_data = {pname: ([], []) for pname, _ in self.probe_specs}

    def prev_out(self, t):
        """Activity of step ``t - 1`` per population (views into the ring buffers)."""
        return {name: b[(t - 1) % self.depth[name]] for name, b in self.buf.items()}

    # ------------------------------------------------------------ stepping
    def run(self, steps, progress=None, desc=None):
        """Advance ``steps`` steps."""
        model = self.model
        steps = int(steps)
        t0, t1 = self.t, self.t + steps
        for train, path in model.trains:  # an array source must cover every step of the run
            train.check_steps(t1, path)
        t_start = time.perf_counter()
        pops = model.populations
        buf, depth, nxt = self.buf, self.depth, self.next_input
        rec = {name: np.zeros((steps, pops[name].n), bool) for name in self.spike_chunks}
        pop_list = [(name, p, buf[name], depth[name], rec.get(name)) for name, p in pops.items()]
        mod_list = list(self.mods.items())
        need_prev = model.modulators_read_activity
        proj_list = [(pr, buf[pr.pre_name], depth[pr.pre_name], pr.delay, buf[pr.post_name], depth[pr.post_name],
                      nxt[pr.post_name], pr.modulator) for pr in model.projections]
        probes = [(pname, pb, *self.probe_data[pname]) for pname, pb in self.probe_specs]
        r_now = self.r_now
        bar = _progress.bar(steps, progress, (model.network.name or "run") + model.desc_suffix)
        for t in range(t0, t1):
            for name, p, b, d, r in pop_list:
                p.input, nxt[name] = nxt[name], p.input
                nxt[name][:] = 0
            model.begin_step(t, self)
            for name, p, b, d, r in pop_list:
                row = b[t % d]
                p.emit(t, row)
                if r is not None:
                    np.not_equal(row, 0, out=r[t - t0])
            if mod_list:
                prev = self.prev_out(t) if need_prev else None
                for mname, m in mod_list:
                    r_now[mname] = m.step(t, prev)
            model.before_projections(t, self)
            for pr, bpre, dpre, delay, bpost, dpost, target, mname in proj_list:
                pr.step(t, bpre[(t - 1 - delay) % dpre], bpre[(t - delay) % dpre], bpost[t % dpost],
                        r_now[mname] if mname else None, nxt[pr.post_name])
            for pname, pb, times, data in probes:
                if t % pb.every:
                    continue
                times.append(t)
                data.append(np.array(model.probe_value(pb, t, self), copy=True))
            if self.health.due(t, t1 - 1):
                self.health.check(t)
            if bar is not None and (t % 100 == 99 or t == t1 - 1):
                bar.update(t + 1 - t0 - bar.n)
        if bar is not None:
            bar.close()
        for name, r in rec.items():
            self.spike_chunks[name].append(r)
        self.t = t1
        self.wall_time += time.perf_counter() - t_start

    # ------------------------------------------------------------ result
    def result(self) -> Result:
        model = self.model
        net = model.network
        steps = self.t - self.t_record
        res = Result(net.name, NAME, model.precision, model.seed, steps, net.run.dt)
        for name, chunks in self.spike_chunks.items():
            n = model.populations[name].n
            res.spikes[name] = np.concatenate(chunks) if chunks else np.zeros((0, n), bool)
        for pname, pb in self.probe_specs:
            times, data = self.probe_data[pname]
            res.probes[pname] = ProbeData(pb.target, pb.var, np.asarray(times, np.int64),
                                          np.asarray(data) if data else np.zeros((0,)))
        model.finish(res)
        res.start = self.t_record
        if self.w_record is not None:
            res.initial_weights = {k: model.as_matrix(k, W.copy()) for k, W in self.w_record.items()}
        res.network = model.network
        res.wall_time = self.wall_time
        return self.health.finish(res)
