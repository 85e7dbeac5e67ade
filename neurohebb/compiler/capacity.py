"""Does a network fit?  A simple, documented placement model.

* Every non-source population is split into blocks, one block per core
  (populations do not share cores).  A block of ``b`` neurons needs ``b``
  compartments, one input axon per pre neuron that has a synapse into the
  block, and synapse memory for the block's incoming synapses
  (``weight`` bits, ``+ sign`` for mixed sign, ``+ tag`` when the rule has an
  eligibility ``e``, ``+ delay`` when the projection has a delay).
* A neuron needs one output axon per core its spikes go to, so a block of a
  pre population needs ``b * (destination cores)`` output axons.
* Sources are injected by the host unless ``sources_on_chip``.

Blocks shrink until every per-core limit holds; the total number of cores
must fit ``chips * cores_per_chip``.  A single neuron that breaks a per-core
limit, or a total that breaks the chip, is a :class:`CapacityExceeded`.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir.validate import SOURCE_TYPES, size
from .report import CapacityRow

MAX_ROUNDS = 20


def _is_source(net, name):
    p = net.populations[name]
    return p.type in SOURCE_TYPES


def check_capacity(net, cap, masks, plastic_tags, report, problems):
    """``masks[proj]``: the synapse counts of the projection
    (:class:`~neurohebb.compiler.compiler.SynapseCounts`) or None (all-to-all); ``plastic_tags``:
    projection names whose rule has an e.  Fills ``report.capacity``."""
    sb = cap.synapse_bits
    on_chip = [n for n in net.populations if cap.sources_on_chip or not _is_source(net, n)]
    N = {n: size(net, n) for n in net.populations}
    incoming = {n: [k for k, pr in net.projections.items() if pr.post == n] for n in on_chip}
    outgoing = {n: [k for k, pr in net.projections.items() if pr.pre == n] for n in on_chip}

    # per post neuron: input axons and synapse bits (worst neuron of the population)
    in_axons, syn_bits = {}, {}
    for n in on_chip:
        ax, bits = 0, np.zeros(N[n])
        for k in incoming[n]:
            pr = net.projections[k]
            m = masks.get(k)
            per_syn = sb.weight + (sb.sign if pr.sign == "mixed" else 0) + (sb.tag if k in plastic_tags else 0) \
                + (sb.delay if pr.delay else 0)
            if m is None:
                ax += N[pr.pre]
                bits += N[pr.pre] * per_syn
            else:
                ax += int(m.pres)
                bits += m.per_post * per_syn
        in_axons[n] = ax
        syn_bits[n] = bits
    block = {}
    failed = False
    for n in on_chip:
        b = min(cap.neurons_per_core, N[n])
        if in_axons[n] > cap.input_axons_per_core:
            src = ", ".join(f"{k} from {net.projections[k].pre}: {N[net.projections[k].pre]}" for k in incoming[n])
            problems.append((f"populations.{n}", f"its neurons receive input from {in_axons[n]} pre neurons ({src}) "
                                                 f"but a core has {cap.input_axons_per_core} input axons"))
            failed = True
            continue
        worst = float(syn_bits[n].max()) if N[n] else 0.0
        if worst > cap.synapse_memory_bits_per_core:
            problems.append((f"populations.{n}", f"one neuron needs {int(worst)} bits of synapse memory "
                                                 f"(its incoming synapses) but a core has {cap.synapse_memory_bits_per_core}"))
            failed = True
            continue
        if worst > 0:
            b = min(b, int(cap.synapse_memory_bits_per_core // worst))
        block[n] = max(1, b)
    if failed:
        return None

    def cores(n):
        return math.ceil(N[n] / block[n]) if N[n] else 0

    out_axons = {}
    for _ in range(MAX_ROUNDS):
        changed = False
        for n in on_chip:
            dests = sum(cores(net.projections[k].post) for k in outgoing[n] if net.projections[k].post in block)
            out_axons[n] = dests
            if dests > cap.output_axons_per_core:
                problems.append((f"populations.{n}", f"each neuron sends spikes to {dests} cores but a core has "
                                                     f"{cap.output_axons_per_core} output axons"))
                return None
            if dests and block[n] * dests > cap.output_axons_per_core:
                block[n] = max(1, cap.output_axons_per_core // dests)
                changed = True
        if not changed:
            break

    total = 0
    rows = []
    for n in on_chip:
        c = cores(n)
        total += c
        b = block[n]
        rows.append(CapacityRow(n, N[n], c, min(b, N[n]), in_axons[n], min(b, N[n]) * out_axons.get(n, 0),
                                int(float(syn_bits[n].max()) * min(b, N[n])) if N[n] else 0))
    avail = cap.chips * cap.cores_per_chip
    report.capacity = rows
    report.cores_used = total
    report.cores_available = avail
    report.capacity_limits = dict(neurons_per_core=cap.neurons_per_core, input_axons_per_core=cap.input_axons_per_core,
                                  output_axons_per_core=cap.output_axons_per_core,
                                  synapse_memory_bits_per_core=cap.synapse_memory_bits_per_core)
    if total > avail:
        detail = ", ".join(f"{r.population}: {r.neurons} neurons in {r.cores} cores of {r.neurons_per_core}" for r in rows)
        problems.append(("", f"needs {total} cores but {report.hardware} has {avail} "
                             f"({cap.chips} chip(s) x {cap.cores_per_chip} cores); {detail}"))
    return total
