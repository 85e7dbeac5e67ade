"""Compiled (numba) kernels of the reference backend.

A rule's products are split into a post-level vector ``A[k, i]`` (coefficient,
post traces, r, v, functions, and the post activity for a ``y0`` product), a
pre-level vector ``B[k, j]`` (pre traces, and the arriving pre activity for an
``x0`` product) and a synaptic part ``S_k(w, e)`` (w, e and their brackets).
Only ``S_k`` depends on the rule's structure; its code is generated per rule
shape, written to a cache folder and compiled with ``numba`` (``cache=True``,
so a second process reuses the machine code).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

import numba
import numpy as np

CACHE_DIR = Path(os.environ.get("NEUROHEBB_CACHE", Path.home() / ".cache" / "neurohebb")) / "kernels"
_loaded: dict[str, object] = {}


def _syn_expr(product) -> str:
    parts = []
    for f in product.factors:
        if f.level != "synapse":
            continue
        if f.offset:
            parts.append(f"({f.var} + {f.offset!r})")
        else:
            parts.append(f.var)
    return " * ".join(parts) if parts else "1.0"


TEMPLATE = '''
import numba
import numpy as np


@numba.njit(cache=True, nogil=True, fastmath={{'reassoc', 'contract', 'nsz'}}, parallel={parallel})
def dense(W, E, M, A, B, xnext, wlo, whi, out):
    """Every synapse: w += sum_k A[k,i] B[k,j] S_k(w, e); out[i] += w_new . xnext."""
    npost, npre = W.shape
    for i in numba.prange(npost):
        acc = {zero}
{row_loads}
        for j in range(npre):
{mask_check}
            w = W[i, j]
{e_load}
            dw = {dw_dense}
            w2 = w + dw
{clip}
            W[i, j] = w2
{e_update_dense}
            acc += w2 * xnext[j]
        out[i] += acc


@numba.njit(cache=True, nogil=True)
def events(W, E, M, A, B, rows, cols, col_active, wlo, whi):
    """Only synapses touched by a spike: rows (post spikes) and cols (arriving pre spikes).
    Each synapse is updated once, from the state before the step."""
    npost, npre = W.shape
    row_active = np.zeros(npost, dtype=np.bool_)
    for i in rows:
        row_active[i] = True
    for i in rows:
{row_loads}
        for j in range(npre):
{mask_check}
            w = W[i, j]
{e_load}
            dw = {dw_dense}
            w2 = w + dw
{clip}
            W[i, j] = w2
{e_update_dense}
    for j in cols:
        for i in range(npost):
            if row_active[i]:
                continue
{mask_check_col}
{row_loads_col}
            w = W[i, j]
{e_load}
            dw = {dw_dense}
            w2 = w + dw
{clip}
            W[i, j] = w2
{e_update_dense}
'''


def _sum_code(products, offset):
    terms = []
    for k, p in enumerate(products):
        syn = _syn_expr(p)
        idx = offset + k
        term = f"a{idx} * B[{idx}, j]"
        if syn != "1.0":
            term += f" * {syn}"
        terms.append(term)
    return " + ".join(terms) if terms else "0.0"


def generate(rule, masked: bool, clipped: bool, parallel: bool, dtype: str = "float64") -> str:
    nw = len(rule.dw)
    prods = list(rule.dw) + list(rule.de)
    loads = "\n".join(f"        a{k} = A[{k}, i]" for k in range(len(prods))) or "        pass"
    loads_col = "\n".join(f"            a{k} = A[{k}, i]" for k in range(len(prods))) or "            pass"
    dw = _sum_code(rule.dw, 0)
    if rule.de:
        e_up = f"            E[i, j] = e + ({_sum_code(rule.de, nw)})"
    else:
        e_up = ""
    clip = "            w2 = min(max(w2, wlo), whi)" if clipped else ""
    mask = "            if not M[i, j]:\n                continue" if masked else ""
    mask_col = "            if not M[i, j]:\n                continue" if masked else ""
    uses_e = any(f.var == "e" for p in prods for f in p.factors) or bool(rule.de)
    return TEMPLATE.format(
        zero=f"np.{dtype}(0.0)", e_load="            e = E[i, j]" if uses_e else "",
        parallel=parallel, row_loads=loads, row_loads_col=loads_col, dw_dense=dw, clip=clip,
        e_update_dense=e_up, mask_check=mask, mask_check_col=mask_col,
    )


def kernels_for(rule, masked: bool, clipped: bool, parallel: bool = True, dtype: str = "float64"):
    """(dense, events) compiled for this rule's shape and dtype."""
    src = generate(rule, masked, clipped, parallel, dtype)
    key = hashlib.sha1(src.encode()).hexdigest()[:16]
    if key in _loaded:
        return _loaded[key]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"k_{key}.py"
    if not path.exists() or path.read_text() != src:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(src)
        os.replace(tmp, path)
    name = f"neurohebb_kernel_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    _loaded[key] = (mod.dense, mod.events)
    return _loaded[key]


# ------------------------------------------------------------ static helpers
@numba.njit(cache=True, nogil=True)
def gather_columns(W, cols, out):
    """out += W[:, cols].sum(axis=1) (binary spikes arriving)."""
    npost = W.shape[0]
    for j in cols:
        for i in range(npost):
            out[i] += W[i, j]


@numba.njit(cache=True, nogil=True, parallel=True)
def matvec_add(W, x, out):
    """out += W @ x."""
    npost, npre = W.shape
    for i in numba.prange(npost):
        acc = 0.0
        for j in range(npre):
            acc += W[i, j] * x[j]
        out[i] += acc
