"""The reference's sparse synapse layout: one entry per existing synapse.

A projection in the sparse layout stores its synapses sorted by (post, pre)
(compressed rows: ``rowptr``, ``col`` = pre index, per-synapse ``W``, ``E``)
and a column index over them (``colptr``, ``csyn`` = synapse ids of each pre
neuron, ``cpost`` = their posts), so both a post spike (its row) and a pre
spike (its column) reach their synapses without a scan.  Indices are int32
while they fit, so a synapse costs ``itemsize(W) + 12`` bytes (+ ``itemsize``
for ``E`` when the rule has ``de``): 20 bytes in float64, 16 in float32.

``layout`` in a projection chooses: ``dense``, ``sparse``, or ``auto`` (the
default): sparse when the connectivity's density (synapses / (post x pre)) is
below :data:`AUTO_DENSITY`, dense for all-to-all and dense masks.  Results do
not depend on the layout (see :func:`choose`).
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedFeature
from ...ir.sizes import size

#: density below which ``layout: auto`` stores a projection sparsely (measured:
#: benchmarks/bench_sparse.py, docs/performance.md)
AUTO_DENSITY = 0.1
#: a sparse projection's ``Result.weights`` entry is a dense (post, pre) array
#: up to this many entries, a ``scipy.sparse.csr_matrix`` above
DENSE_RESULT_ENTRIES = 1 << 24


def density(net, name) -> float | None:
    """The expected fraction of (post, pre) pairs that are synapses, from the
    parameters alone (None when only drawing would tell: ``gaussian_arbor``)."""
    pr = net.projections[name]
    c = pr.connectivity
    npre, npost = size(net, pr.pre), size(net, pr.post)
    pairs = max(1, npre * npost)
    if c.type == "all_to_all":
        return 1.0
    if c.type == "one_to_one":
        return min(npre, npost) / pairs
    if c.type == "fixed_probability":
        return float(c.p)
    if c.type == "fixed_indegree":
        return c.k * npost / pairs
    if c.type == "fixed_outdegree":
        return c.k * npre / pairs
    if c.type == "from_list":
        return len(np.asarray(c.pairs).reshape(-1, 2)) / pairs
    if c.type == "mask":
        return float(np.asarray(c.values).astype(bool).mean())
    return None


def sparse_refusal(net, name) -> str | None:
    """Why projection ``name`` cannot be stored sparsely (None: it can)."""
    pr = net.projections[name]
    if pr.rule is not None and pr.rule.expand().nonlocal_vars():
        return ("its rule reads partner variables (non-local: wT, xp, vp or xi), which the reference evaluates on "
                "dense (post, pre) arrays")
    for k, q in net.projections.items():
        qr = q.rule.expand() if q.rule is not None else None
        if qr is not None and getattr(qr, "partner", None) == name and qr.nonlocal_vars():
            return f"it is the partner of {k!r}, whose non-local rule reads its dense weights"
    return None


def choose(net, name) -> str:
    """``"dense"`` or ``"sparse"`` for projection ``name`` (``layout`` field;
    ``auto``: sparse below :data:`AUTO_DENSITY`).  A forced ``sparse`` the
    reference cannot do raises :class:`UnsupportedFeature`."""
    pr = net.projections[name]
    why = sparse_refusal(net, name)
    if pr.layout == "sparse":
        if why:
            raise UnsupportedFeature(f"projections.{name}.layout: sparse is not supported here: {why}; use layout: "
                                     "dense or auto")
        return "sparse"
    if pr.layout == "dense" or why:
        return "dense"
    d = density(net, name)
    return "sparse" if d is not None and d < AUTO_DENSITY else "dense"


class SparseSynapses:
    """Indices of the synapses ``(post[s], pre[s])``, sorted by (post, pre)."""

    def __init__(self, npost, npre, post, pre):
        self.npost, self.npre = int(npost), int(npre)
        self.n = n = int(post.size)
        idx = np.int32 if max(self.npost, self.npre, n) < 2**31 - 1 else np.int64
        self.rowptr = np.zeros(npost + 1, np.int64)
        np.cumsum(np.bincount(post, minlength=npost), out=self.rowptr[1:])
        self.col = pre.astype(idx)
        order = np.argsort(pre, kind="stable")  # by pre, then post (the synapses are sorted by post)
        self.csyn = order.astype(idx)
        self.cpost = post[order].astype(idx)
        del order
        self.colptr = np.zeros(npre + 1, np.int64)
        np.cumsum(np.bincount(pre, minlength=npre), out=self.colptr[1:])

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.rowptr, self.col, self.csyn, self.cpost, self.colptr))

    def post(self) -> np.ndarray:
        return np.repeat(np.arange(self.npost), np.diff(self.rowptr))

    def csr(self, values):
        """``scipy.sparse.csr_matrix`` (post, pre) of per-synapse ``values``."""
        import scipy.sparse as sp

        return sp.csr_matrix((np.array(values, copy=True), self.col.copy(), self.rowptr.copy()),
                             shape=(self.npost, self.npre))

    def dense(self, values) -> np.ndarray:
        out = np.zeros((self.npost, self.npre), values.dtype)
        out[self.post(), self.col] = values
        return out

    def matrix(self, values):
        """What a result holds for per-synapse ``values``: a dense (post, pre)
        array up to :data:`DENSE_RESULT_ENTRIES` entries, a CSR matrix above."""
        if self.npost * self.npre <= DENSE_RESULT_ENTRIES:
            return self.dense(values)
        return self.csr(values)

    def from_dense(self, W) -> np.ndarray:
        """The per-synapse entries of a (post, pre) array."""
        return np.asarray(W)[self.post(), self.col]
