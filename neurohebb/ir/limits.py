"""What a run of a network would allocate, estimated before anything is allocated.

``estimate(network, steps)`` lists the large allocations of a run on the
reference backend (the other backends hold the same arrays, or fewer):

* per projection in the dense layout: its weights (post x pre) in several
  copies (the weights, the initial weights kept for the result, the
  eligibility ``e`` when the rule has ``de``, the draws of a random init, the
  connectivity mask, the distances of a ``gaussian_arbor``);
* per projection in the sparse layout (:mod:`neurohebb.ir.layout`): its
  expected synapse count times :data:`PER_SPARSE_SYNAPSE` (state, index and
  the temporaries of building it) plus the weights of the result (a
  (post, pre) array when small, one value and index per synapse when large);
* per population: its spike record (steps x n booleans), its output ring
  buffer (1 + the largest delay out of it, x n) and its state;
* per probe: one copy of the recorded variable every ``every`` steps;
* per Poisson source: a block of 1024 steps of random numbers.

``check(network, steps)`` raises a :class:`~neurohebb.errors.NetworkError`
naming the largest item's field, the estimate and the machine's memory when
the estimate exceeds the memory available (``/proc/meminfo``
``MemAvailable``, or the physical memory).
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import NetworkError, NeurohebbError
from . import layout

SOURCE_TYPES = ("spike_times", "poisson", "array")
#: bytes per synapse of a plastic projection (weights, initial copy, draws, result copy, e)
PER_SYNAPSE = 8 * 4
#: bytes per synapse of a static projection
PER_STATIC_SYNAPSE = 8 * 3
#: bytes per synapse of the sparse layout: 12 of indices (int32 column, column
#: index, post) + the weight, its initial copy and ``e``, and 32 of
#: temporaries while it is built (int64 post and pre, float64 draws, a sort order)
SPARSE_INDEX_BYTES = 12
SPARSE_BUILD_BYTES = 32
#: a result holds a sparse projection's weights as a (post, pre) array up to
#: this many entries (the reference's ``DENSE_RESULT_ENTRIES``)
DENSE_RESULT_ENTRIES = 1 << 22


def machine_memory() -> tuple[int, int]:
    """(available, total) bytes of this machine's memory."""
    avail = total = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                k, _, v = line.partition(":")
                if k == "MemAvailable":
                    avail = int(v.split()[0]) * 1024
                elif k == "MemTotal":
                    total = int(v.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    if total is None:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total = 8 * 2**30
    if avail is None:
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            avail = total
    return int(avail), int(total)


def _size(net, name) -> int:
    from .sizes import size

    try:
        n = size(net, name)
    except Exception:  # noqa: BLE001 - a size check() already reported
        n = None
    return int(n) if n else 1


def estimate(net, steps: int | None = None) -> list[tuple[str, int, str]]:
    """``(field path, bytes, what)`` of the large allocations of a run of
    ``steps`` steps (default: the document's), largest first."""
    steps = int(net.run.steps if steps is None else steps)
    item = 8
    items: list[tuple[str, int, str]] = []
    sizes = {name: _size(net, name) for name in net.populations}
    depth = {name: 2 for name in net.populations}
    for name, pr in net.projections.items():
        if pr.pre in depth:
            depth[pr.pre] = max(depth[pr.pre], int(pr.delay) + 2)
    for name, p in net.populations.items():
        n = sizes[name]
        state = n * item * 8 + (n * p.branches * item * 8 if p.type == "lif_dendritic" else 0)
        if p.type == "poisson":
            state += 1024 * n * item * 2
        items.append((f"populations.{name}.n", state, f"{name}: state of {n} neurons"))
        deepest = max(((k, int(pr.delay)) for k, pr in net.projections.items() if pr.pre == name),
                      key=lambda kv: kv[1], default=(None, 0))
        path = f"projections.{deepest[0]}.delay" if deepest[1] > 0 else f"populations.{name}.n"
        items.append((path, depth[name] * n * item * 2, f"{name}: output buffer ({depth[name]} steps x {n})"))
        if p.type in ("lif", "lif_dendritic", "spike_times", "poisson", "array") or (
                p.type == "external" and p.spiking):
            items.append(("run.steps", steps * n, f"{name}: spike record ({steps} steps x {n})"))
    sparse = {}
    for name, pr in net.projections.items():
        npre, npost = sizes.get(pr.pre, 1), sizes.get(pr.post, 1)
        syn = npre * npost
        try:
            lay = layout.choose(net, name)
        except NeurohebbError:
            lay = "dense"  # a forced sparse layout the reference refuses: it says so when it runs
        if lay == "sparse":
            n = layout.expected_synapses(net, name)
            sparse[name] = n
            item_w = np.dtype(net.run.dtype).itemsize
            de = pr.rule is not None and bool(pr.rule.expand().de)
            b = n * (SPARSE_INDEX_BYTES + SPARSE_BUILD_BYTES + item_w * (2 + de + (pr.rule is not None)))
            b += syn * 8 * 2 if syn <= DENSE_RESULT_ENTRIES else n * (8 + 4) * 2  # final and initial weights
            how = f"sparse, about {n} synapses" + (f" of {npost} x {npre}" if n != syn else "")
            items.append((f"projections.{name}", b, f"{name}: {how}"))
            continue
        per = PER_SYNAPSE if pr.rule is not None else PER_STATIC_SYNAPSE
        b = syn * per + syn  # + a mask
        if pr.weights.init == "gaussian_arbor" or pr.connectivity.type == "gaussian_arbor":
            b += syn * 16 * 2
        items.append((f"projections.{name}", b, f"{name}: {npost} x {npre} synapses (dense)"))
    for name, pb in net.probes.items():
        rows = steps // int(pb.every) + 1
        if pb.target in net.projections:
            pr = net.projections[pb.target]
            width = sizes.get(pr.pre, 1) * sizes.get(pr.post, 1) if pb.var in ("weights", "e") else sizes.get(pr.pre, 1)
            if pb.var in ("weights", "e") and pb.target in sparse and width > DENSE_RESULT_ENTRIES:
                width = sparse[pb.target]  # a big sparse projection records one value per synapse
        elif pb.target in net.populations:
            width = sizes[pb.target]
            p = net.populations[pb.target]
            if p.type == "lif_dendritic" and pb.var in ("branch_v", "plateau", "branch_input"):
                width *= p.branches
        else:
            width = 1
        items.append((f"probes.{name}.every", rows * width * item, f"probe {name}: {rows} records x {width} values"))
    items.sort(key=lambda t: -t[1])
    return items


def _gb(b: float) -> str:
    return f"{b / 2**30:.3g} GB"


def check(net, steps: int | None = None, source: str | None = None, available: int | None = None):
    """Raise :class:`NetworkError` when a run of ``steps`` steps would need
    more memory than the machine has available."""
    items = estimate(net, steps)
    total = sum(b for _, b, _ in items)
    avail, phys = machine_memory()
    if available is not None:
        avail = available
    if total <= avail:
        return items
    path, b, what = items[0]
    steps = int(net.run.steps if steps is None else steps)
    raise NetworkError([(path, f"a run of {steps} steps would allocate about {_gb(total)} (largest: {what}, "
                               f"{_gb(b)}); this machine has {_gb(avail)} available ({_gb(phys)} in total). "
                               "Reduce the sizes, the steps or the probes' recording (every)"
                               + (" or store the projection sparsely (layout: sparse, memory proportional to its "
                                  "synapses)" if what.endswith("(dense)") and path.startswith("projections.")
                                  and net.projections[path.split(".")[1]].connectivity.type != "all_to_all" else ""))],
                      source)
