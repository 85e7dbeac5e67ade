"""Lower an IR :class:`~neurohebb.ir.schema.Network` to a ``nengo.Network``.

=====================  ====================================================
IR                     Nengo
=====================  ====================================================
source population      ``nengo.Node(SourceProcess)`` (the reference's trains)
lif population         ``Ensemble(n, 1, IRLIF, gain=1, bias=0)``
rate population        ``Ensemble(n, 1, IRRate, gain=1, bias=0)``
prescribed population  ``Ensemble(n, 1, Prescribed(train), gain=1, bias=0)``
axon relay             ``Ensemble(n_pre, 1, Relay)`` fed by ``pre`` through
(pre, lag)             ``Delay(lag)``: ``pre``'s activity ``lag`` steps ago,
                       shared by every projection (and population modulator)
                       that needs that lag; on ``nengo.Simulator`` the lag
                       of a projection is ``1 + delay``
projection             ``Connection(relay.neurons, post.neurons, transform=W,
                       synapse=None)``; a plastic one with
                       ``learning_rule_type=IRRule(...)``
modulator              ``nengo.Node(ModulatorProcess)`` (the reference's
                       modulator code), connected to the learning rule of
                       every projection whose rule reads ``r``; a
                       ``population`` modulator reads that population's
                       relay with lag 1
probe                  ``nengo.Probe`` (see :class:`ProbeSpec`)
=====================  ====================================================

Why relays: the IR delivers ``W(t) @ a_pre[t - 1 - delay]`` with the weights
*after* the previous step's learning; a Nengo synapse filters after the
weights (``W(t - 1 - delay) @ a_pre[...]``), so the delay has to sit before
the weights, and a learned connection needs a ``Neurons`` pre.

With ``on_chip`` (nengo_loihi, see :mod:`.loihi`) a relay's lag is reduced by
the host<->chip transport latency, weights into on-chip neurons are scaled
by ``dt`` (nengo-loihi divides by ``dt``, Nengo's spike height), and static
chip -> chip projections without delay connect the two populations directly.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import nengo
import numpy as np

from ...errors import UnsupportedFeature
from ...ir.validate import size, validate
from ...semantics import SourceTrain, initial_weights
from .learning import IRRule
from .neurons import IRLIF, IRRate, Prescribed, Relay
from ...externals import bind, check_activity
from .processes import Delay, ModulatorProcess, SourceProcess, modulator_size

SOURCE_TYPES = ("spike_times", "poisson", "array")


@dataclass
class ProbeSpec:
    """How an IR probe maps onto a Nengo probe.  ``mode``: ``every_step``
    (the Nengo probe records every step; keep rows ``::every``),
    ``snapshot`` (the learning operator copies the value on the IR's probe
    steps into ``attr``; the Nengo probe samples it with ``sample_every``),
    ``record`` (no Nengo probe: the learning operator records the value in
    ``obj.recordings[(var, every)]``) or ``constant`` (static weights)."""

    name: str
    target: str
    var: str
    every: int
    probe: object  # nengo.Probe, or None (modes "record", "constant")
    mode: str
    obj: object = None
    attr: str = ""
    scalar: bool = False


@dataclass
class Handles:
    """The Nengo objects of a lowered network, by IR name."""

    network: object
    seed: int
    steps: int
    dt_ms: float
    dtype: np.dtype
    populations: dict = field(default_factory=dict)  # name -> Ensemble | Node
    outputs: dict = field(default_factory=dict)      # name -> Neurons | Node (what to connect from)
    kinds: dict = field(default_factory=dict)        # name -> source | lif | rate | prescribed
    spiking: dict = field(default_factory=dict)      # name -> bool
    axons: dict = field(default_factory=dict)        # (pop, latency) -> Ensemble
    axon_connections: dict = field(default_factory=dict)
    connections: dict = field(default_factory=dict)  # projection -> Connection
    modulators: dict = field(default_factory=dict)   # name -> Node
    modulator_connections: dict = field(default_factory=dict)
    initial_weights: dict = field(default_factory=dict)
    masks: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)       # IR probe name -> ProbeSpec
    spike_probes: dict = field(default_factory=dict)  # pop -> nengo.Probe
    on_chip: set = field(default_factory=set)        # populations placed on the chip (nengo_loihi)

    @property
    def dt(self) -> float:
        """Nengo's dt in seconds."""
        return self.dt_ms / 1000.0


@contextlib.contextmanager
def nengo_precision(dtype):
    """Build Nengo signals in ``dtype`` (Nengo's ``rc`` precision setting)."""
    bits = "32" if np.dtype(dtype) == np.float32 else "64"
    old = nengo.rc.get("precision", "bits")
    nengo.rc.set("precision", "bits", bits)
    try:
        yield
    finally:
        nengo.rc.set("precision", "bits", old)


def _ensemble(n, neuron_type, label):
    return nengo.Ensemble(n, 1, neuron_type=neuron_type, gain=np.ones(n), bias=np.zeros(n),
                          encoders=np.ones((n, 1)), label=label)


def _relay(h, pre, host_delay, sizes):
    """The axon relay of ``pre`` whose output lags ``pre``'s activity by
    ``host_delay`` host steps (plus any transport latency)."""
    key = (pre, host_delay)
    if key not in h.axons:
        if host_delay < 0:  # pragma: no cover (placement prevents it)
            raise UnsupportedFeature(f"{pre}: the chip/host transport latency exceeds the IR's latency")
        relay = _ensemble(sizes[pre], Relay(spiking=h.spiking[pre]), f"{pre}.axon{host_delay}")
        h.axons[key] = relay
        h.axon_connections[key] = nengo.Connection(h.outputs[pre], relay.neurons, transform=None,
                                                   synapse=Delay(host_delay) if host_delay else None)
    return h.axons[key]


def _prescribed_train(spec, src, n, dt_ms, seed, key, dtype, steps):
    train = SourceTrain(src, n, dt_ms, seed, key, dtype)
    train.check_steps(steps, f"populations.{key.split(':', 1)[1]}.prescribed")
    out = np.zeros((steps, n), dtype)
    for t in range(steps):
        out[t] = train.at(t)
    return out, (spec.type == "lif" and not train.graded)


class _ExternalStep:
    """The ``nengo.Node`` output of an external population: nengo calls it with
    ``t = (k + 1) dt`` at step ``k`` and the concatenated ``reads`` activity of
    step ``k - 1`` (relays of latency 1)."""

    def __init__(self, name, spec, fn, sizes, dt, dtype):
        self.name, self.spec, self.fn, self.dt, self.dtype = name, spec, fn, dt, dtype
        self.split = np.cumsum([sizes[r] for r in spec.reads])[:-1]

    def __call__(self, t, x=None):
        k = int(round(t / self.dt)) - 1
        parts = np.split(np.asarray(x), self.split) if self.spec.reads else []
        inputs = {}
        for r, v in zip(self.spec.reads, parts):
            v = v.astype(self.dtype)
            v.flags.writeable = False
            inputs[r] = v
        return check_activity(self.name, self.spec, self.fn(k, inputs), k, self.dtype)


def refuse_dendritic(network):
    """The nengo backend has no multi-compartment neuron: raise for ``lif_dendritic``."""
    dend = [k for k, p in network.populations.items() if p.type == "lif_dendritic"]
    if dend:
        raise UnsupportedFeature(
            f"nengo backend: populations.{dend[0]}: nengo has no multi-compartment neuron here; a lif_dendritic "
            "population (dendritic branches with NMDA-like plateaus, read by rules as d) has no Nengo lowering "
            "(a Nengo neuron receives one input vector, and the learning operator reads no per-branch state); "
            "run it on the reference backend (float)")


def build(network, seed=None, steps=None, *, net=None, on_chip=(), record_rules=False, externals=None):
    """Lower ``network`` to Nengo objects.

    Returns ``(nengo_network, handles)``; ``handles`` (:class:`Handles`) maps
    IR names to the Nengo objects.  The network can be simulated as is
    (``nengo.Simulator(net, dt=handles.dt)``) or embedded in a larger model:
    connect to ``handles.outputs[pop]`` (activity in IR units: a spike is
    1) and into ``handles.populations[pop].neurons`` (input in IR units).
    ``net``: build into this (existing) ``nengo.Network`` instead of a new
    one.  ``on_chip``: populations the nengo_loihi lowering places on the
    chip (static projections between them connect directly, see
    :mod:`.loihi`).  ``record_rules``: record projection probes in the
    learning operator instead of with ``nengo.Probe`` (nengo_loihi cannot
    place probes on connections or learning rules).
    """
    validate(network)
    refuse_dendritic(network)
    ext_fns = bind(network, externals)
    rs = network.run
    seed = rs.seed if seed is None else int(seed)
    steps = rs.steps if steps is None else int(steps)
    dtype = np.dtype(rs.dtype)
    h = Handles(network, seed, steps, rs.dt, dtype)
    h.on_chip = set(on_chip)
    net = nengo.Network(label=network.name or "neurohebb", seed=seed) if net is None else net
    sizes = {name: size(network, name) for name in network.populations}

    with net:
        for name, spec in network.populations.items():
            n = sizes[name]
            if spec.type in SOURCE_TYPES:
                proc = SourceProcess(spec, n, rs.dt, seed, f"source:{name}", dtype)
                train = proc.train()
                train.check_steps(steps, f"populations.{name}")
                obj = nengo.Node(proc, size_out=n, label=name)
                h.kinds[name], h.spiking[name], h.outputs[name] = "source", not train.graded, obj
            elif spec.type == "external":
                size_in = sum(sizes[r] for r in spec.reads)
                obj = nengo.Node(_ExternalStep(name, spec, ext_fns[name], sizes, h.dt, dtype), size_in=size_in or None,
                                 size_out=n, label=name)
                h.kinds[name], h.spiking[name], h.outputs[name] = "external", bool(spec.spiking), obj
            elif spec.prescribed is not None:
                tr, spk = _prescribed_train(spec, spec.prescribed, n, rs.dt, seed, f"source:{name}", dtype, steps)
                obj = _ensemble(n, Prescribed(tr, spiking=spk), name)
                h.kinds[name], h.spiking[name], h.outputs[name] = "prescribed", spk, obj.neurons
            elif spec.type == "lif":
                obj = _ensemble(n, IRLIF.from_ir(spec, n), name)
                h.kinds[name], h.spiking[name], h.outputs[name] = "lif", True, obj.neurons
            else:
                obj = _ensemble(n, IRRate.from_ir(spec, n), name)
                h.kinds[name], h.spiking[name], h.outputs[name] = "rate", False, obj.neurons
            h.populations[name] = obj

        def L(pop):  # transport latency of a population's spikes to the host (nengo_loihi: 1 from the chip)
            return 1 if pop in h.on_chip else 0

        for name, spec in network.populations.items():  # externals read a_P[t-1]
            if spec.type == "external" and spec.reads:
                parts = [_relay(h, r, 1 - L(r), sizes).neurons for r in spec.reads]
                offset = 0
                for r, part in zip(spec.reads, parts):
                    nengo.Connection(part, h.populations[name][offset:offset + sizes[r]], synapse=None)
                    offset += sizes[r]

        for name, spec in network.modulators.items():
            size_out = modulator_size(network, name, sizes)
            size_in = sizes[spec.population] if spec.type == "population" else 0
            node = nengo.Node(ModulatorProcess(name, spec, size_in, size_out, dtype),
                              size_in=size_in or None, size_out=size_out, label=name)
            h.modulators[name] = node
            if spec.type == "population":  # s[t] reads a_P[t-1]
                relay = _relay(h, spec.population, 1 - L(spec.population), sizes)
                nengo.Connection(relay.neurons, node, synapse=None)

        # partners of non-local rules first: their rules read the partner's built signals
        partners = {getattr(q.rule, "partner", None) for q in network.projections.values() if q.rule is not None}
        for name, pr in sorted(network.projections.items(), key=lambda kv: kv[0] not in partners):
            W, mask = initial_weights(network, name, seed, dtype)
            h.initial_weights[name] = W.copy()
            h.masks[name] = mask
            post = h.outputs[pr.post]
            to_chip = pr.post in h.on_chip
            # nengo_loihi takes weights to on-chip neurons per spike of height 1/dt
            T = W * h.dt if to_chip else W
            if pr.pre in h.on_chip and to_chip and pr.delay == 0:
                if pr.rule is not None:  # pragma: no cover (the placement keeps learned posts on the host)
                    raise UnsupportedFeature(f"projections.{name}: a learned projection cannot run on the chip")
                h.connections[name] = nengo.Connection(h.outputs[pr.pre], post, transform=T, synapse=None, label=name)
                continue
            # the relay supplies a_pre[t - 1 - delay] where the weights are applied
            relay = _relay(h, pr.pre, 1 + pr.delay - L(pr.pre) - (1 if to_chip else 0), sizes)
            rule_type = None
            if pr.rule is not None:
                rule = pr.rule.expand()
                if rule.nonlocal_vars() and h.on_chip:
                    raise UnsupportedFeature(
                        f"nengo_loihi: projections.{name}.rule reads the non-local variable(s) "
                        f"{', '.join(rule.nonlocal_vars())} (partner {rule.partner!r}), which no chip learning "
                        "rule can read; use the nengo simulator (or the reference backend)")
                r_size = 0
                if "r" in rule.used_vars():
                    r_size = h.modulators[rule.modulator].size_out
                mine = {(pb.var, pb.every) for pb in network.probes.values() if pb.target == name}
                if record_rules:
                    snaps, rec = (), sorted(mine)
                else:
                    snaps, rec = sorted((v, k) for v, k in mine if k > 1), ()
                rule_type = IRRule(rule, pr.effective_bounds(), mask, r_size, snaps, rec)
            conn = nengo.Connection(relay.neurons, post, transform=T, synapse=None,
                                    learning_rule_type=rule_type, label=name)
            h.connections[name] = conn
            if rule_type is not None and rule_type.rule.nonlocal_vars():
                # partner variables (wT, xp, vp, bx, bv) read the partner's signals; xi: as the reference
                rule_type.__dict__["partner_conn"] = h.connections.get(rule_type.rule.partner)
                rule_type.__dict__["noise_key"] = (seed, f"noise:{name}")
            if rule_type is not None and rule_type.size_in:
                h.modulator_connections[name] = nengo.Connection(
                    h.modulators[pr.rule.modulator], conn.learning_rule, synapse=None)

        # spikes of every spiking population (the Result needs them all)
        for name, spk in h.spiking.items():
            if spk:
                h.spike_probes[name] = nengo.Probe(h.outputs[name], "output", label=f"{name}.spikes")
        for pname, pb in network.probes.items():
            h.probes[pname] = _probe(h, pname, pb, record_rules)
    return net, h


_POP_ATTR = {"spikes": "output", "output": "output", "v": "voltage", "u": "current", "input": "input"}


def _probe(h, pname, pb, record_rules=False):
    net = h.network
    if pb.target in net.populations:
        if pb.var in ("spikes", "output") and pb.target in h.spike_probes:
            p = h.spike_probes[pb.target]
        else:
            p = nengo.Probe(h.outputs[pb.target], _POP_ATTR[pb.var], label=pname)
        return ProbeSpec(pname, pb.target, pb.var, pb.every, p, "every_step")
    if pb.target in net.modulators:
        spec = net.modulators[pb.target]
        vector = spec.scope == "per_post" and (spec.type == "population"
                                               or (spec.type == "array" and np.ndim(spec.values) == 2))
        p = nengo.Probe(h.modulators[pb.target], "output", label=pname)
        return ProbeSpec(pname, pb.target, pb.var, pb.every, p, "every_step", scalar=not vector)
    conn = h.connections[pb.target]
    if record_rules:
        if conn.learning_rule_type is None:
            return ProbeSpec(pname, pb.target, pb.var, pb.every, None, "constant", obj=h.initial_weights[pb.target])
        return ProbeSpec(pname, pb.target, pb.var, pb.every, None, "record", obj=conn.learning_rule_type,
                         attr=(pb.var, pb.every))
    if conn.learning_rule_type is None:  # static weights
        if pb.var != "weights":  # pragma: no cover (validate() rejects it)
            raise UnsupportedFeature(f"probes.{pname}: {pb.var!r} on a static projection")
        obj = conn
        p = nengo.Probe(conn, "weights", sample_every=pb.every * h.dt if pb.every > 1 else None, label=pname)
        return ProbeSpec(pname, pb.target, pb.var, pb.every, p, "snapshot", obj=conn, attr="weights")
    obj = conn.learning_rule
    if pb.every == 1:
        p = nengo.Probe(obj, pb.var, label=pname)
        return ProbeSpec(pname, pb.target, pb.var, 1, p, "snapshot", obj=obj, attr=pb.var)
    attr = f"{pb.var}_every{pb.every}"
    p = nengo.Probe(obj, attr, sample_every=pb.every * h.dt, label=pname)
    return ProbeSpec(pname, pb.target, pb.var, pb.every, p, "snapshot", obj=obj, attr=attr)

