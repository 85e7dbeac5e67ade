"""The reference's sparse synapse layout: one entry per existing synapse.

A projection in the sparse layout stores its synapses sorted by (post, pre)
(compressed rows: ``rowptr``, ``col`` = pre index, per-synapse ``W``, ``E``)
and a column index over them (``colptr``, ``csyn`` = synapse ids of each pre
neuron, ``cpost`` = their posts), so both a post spike (its row) and a pre
spike (its column) reach their synapses without a scan.  Indices are int32
while they fit, so a synapse costs ``itemsize(W) + 12`` bytes (+ ``itemsize``
for ``E`` when the rule has ``de``): 20 bytes in float64, 16 in float32.

Which projections are sparse: :func:`neurohebb.ir.layout.choose` (the
``layout`` field; ``auto``: below :data:`~neurohebb.ir.layout.AUTO_DENSITY`).
"""
from __future__ import annotations

import numpy as np

from ...ir.layout import AUTO_DENSITY, choose, density, sparse_refusal  # noqa: F401  (re-exported)

from ...ir.limits import DENSE_RESULT_ENTRIES  # noqa: F401  a (post, pre) array in results up to this many entries


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
