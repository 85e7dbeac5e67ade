"""Compiled (numba) kernels of the reference backend.

For each plastic projection and step, the rule's products are evaluated as a
post-level vector ``A[k, i]`` (coefficient, post traces, r, v, post functions,
and the post activity for a ``y0`` product), a pre-level vector ``B[k, j]``
(pre traces, pre functions, and the arriving pre activity for an ``x0``
product) and a synaptic part ``S_k(w, e)`` (w, e and their brackets)::

    dw_ij = sum_k A[k, i] * B[k, j] * S_k(w_ij, e_ij)

The code of ``A``, ``B`` and ``S_k`` is generated per rule shape, written to a
cache folder and compiled with numba (``cache=True``: a second process reuses
the machine code).  Two update modes:

* ``dense`` (the rule has a ``u`` product): every synapse, rows in parallel,
  fused with the next step's input ``out += W(t+1) @ x_next``;
* ``events`` (only ``x0``/``y0`` products): only rows with a post spike and
  columns with an arriving pre spike; each synapse is updated once from the
  state before the step.  Then the next step's input is gathered.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from pathlib import Path

import numba

from ...rules.algebra import POST_TRACES, PRE_TRACES


def _cache_dir() -> Path:
    """Where generated kernels and their machine code live: ``$NEUROHEBB_CACHE/kernels``
    (default ``$XDG_CACHE_HOME/neurohebb``, else ``~/.cache/neurohebb``).  Any number of
    processes may share it (pytest workers, Dask workers): files are created atomically
    and never rewritten."""
    root = os.environ.get("NEUROHEBB_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neurohebb"
    return Path(root) / "kernels"


CACHE_DIR = _cache_dir()
_loaded: dict[str, object] = {}


class Layout:
    """Where each factor value lives in the arrays passed to the kernel.

    ``XTa``/``XTb``: pre traces after/before this step's impulse (rows in
    ``pre_traces`` order); ``YTa``/``YTb``: post traces; ``PV``: post-level
    values computed in Python each step (``r``, ``v``, functions of post
    variables; ``d``, the voltage of the synapses' dendritic branch);
    ``QV``: pre-level function values.
    """

    def __init__(self, rule):
        self.rule = rule
        self.pre_traces = [k for k in PRE_TRACES if k in rule.traces]
        self.post_traces = [k for k in POST_TRACES if k in rule.traces]
        self.pv: list[tuple] = []  # (kind, var, fn, before)
        self.qv: list[tuple] = []
        excl = rule.timing == "exclusive"
        for p in rule.products():
            before = excl and p.dep != "u"
            for f in p.factors:
                if f.fn:
                    key = ("fn", f.var, f.fn, before if f.var in rule.traces else False)
                    (self.qv if f.level == "pre" else self.pv).append(key)
                elif f.var in ("r", "v", "d"):
                    self.pv.append((f.var, f.var, None, False))
        self.pv = list(dict.fromkeys(self.pv))
        self.qv = list(dict.fromkeys(self.qv))

    def expr(self, f, before: bool, i="i", j="j") -> str:
        if f.fn:
            key = ("fn", f.var, f.fn, before if f.var in self.rule.traces else False)
            if f.level == "pre":
                return f"QV[{self.qv.index(key)}, {j}]"
            return f"PV[{self.pv.index(key)}, {i}]"
        if f.var in self.pre_traces:
            base = f"XT{'b' if before else 'a'}[{self.pre_traces.index(f.var)}, {j}]"
        elif f.var in self.post_traces:
            base = f"YT{'b' if before else 'a'}[{self.post_traces.index(f.var)}, {i}]"
        elif f.var in ("r", "v", "d"):
            base = f"PV[{self.pv.index((f.var, f.var, None, False))}, {i}]"
        elif f.var in ("w", "e"):
            base = f.var
        else:  # pragma: no cover
            raise AssertionError(f.var)
        return f"({base} + {f.offset!r})" if f.offset else base


def _parts(rule, clipped: bool, dtype: str, ix: str = "i, j"):
    """(A lines, B lines, update lines) of a rule: the update of the synapse
    at ``W[ix]``/``E[ix]`` with post ``i`` and pre ``j``."""
    L = Layout(rule)
    prods = list(rule.products())
    nw = len(rule.dw)
    excl = rule.timing == "exclusive"
    a_lines, b_lines, syn = [], [], []
    for k, p in enumerate(prods):
        before = excl and p.dep != "u"
        post = [L.expr(f, before) for f in p.factors if f.level == "post"]
        pre = [L.expr(f, before) for f in p.factors if f.level == "pre"]
        if p.dep == "y0":
            post.append("y[i]")
        if p.dep == "x0":
            pre.append("xa[j]")
        a_lines.append(f"        A[{k}, i] = " + " * ".join([f"{dtype}({p.coeff!r})"] + post))
        b_lines.append(f"        B[{k}, j] = " + (" * ".join(pre) if pre else f"{dtype}(1.0)"))
        s = [L.expr(f, before) for f in p.factors if f.level == "synapse"]
        syn.append(" * ".join(s) if s else "")
    def total(lo, hi):
        terms = []
        for k in range(lo, hi):
            t = f"A[{k}, i] * B[{k}, j]"
            if syn[k]:
                t += f" * {syn[k]}"
            terms.append(t)
        return " + ".join(terms) if terms else "0.0"
    uses_e = bool(rule.de) or any(f.var == "e" for p in prods for f in p.factors)
    ind = "            "
    body = [f"{ind}w = W[{ix}]"]
    if uses_e:
        body.append(f"{ind}e = E[{ix}]")
    body.append(f"{ind}w2 = w + ({total(0, nw)})")
    if clipped:
        body.append(f"{ind}w2 = min(max(w2, lo), hi)")
    body.append(f"{ind}W[{ix}] = w2")
    if rule.de:
        body.append(f"{ind}E[{ix}] = e + ({total(nw, len(prods))})")
    return a_lines, b_lines, body


def _gen(rule, masked: bool, clipped: bool, parallel: bool, dtype: str) -> str:
    a_lines, b_lines, body = _parts(rule, clipped, dtype)
    ind = "            "
    mask = [f"{ind}if not M[i, j]:", f"{ind}    continue"] if masked else []
    upd = "\n".join(mask + body)
    upd_col = "\n".join(("    " + ln) for ln in mask + body)
    prep = "\n".join(["    for i in range(npost):"] + (a_lines or ["        pass"]) + ["    for j in range(npre):"]
                     + (b_lines or ["        pass"]))
    return f'''
import numba

from numpy import {dtype}


@numba.njit(cache=True, nogil=True, fastmath={{"reassoc", "contract", "nsz"}}, parallel={parallel})
def dense(W, E, M, xa, y, XTa, XTb, YTa, YTb, PV, QV, A, B, lo, hi, xn, out):
    """Every synapse, fused with out += W(t+1) @ xn."""
    npost, npre = W.shape
{prep}
    for i in numba.prange(npost):
        acc = {dtype}(0.0)
        for j in range(npre):
{upd}
            acc += w2 * xn[j]
        out[i] += acc


@numba.njit(cache=True, nogil=True)
def events(W, E, M, xa, y, XTa, XTb, YTa, YTb, PV, QV, A, B, lo, hi, xn, out, xn_binary):
    """Rows with a post spike, then columns with an arriving pre spike (other
    rows); then out += W(t+1) @ xn."""
    npost, npre = W.shape
    any_y = False
    for i in range(npost):
        if y[i] != 0:
            any_y = True
            break
    any_x = False
    for j in range(npre):
        if xa[j] != 0:
            any_x = True
            break
    if any_x or any_y:
{chr(10).join("    " + ln for ln in prep.splitlines())}
        for i in range(npost):
            if y[i] == 0:
                continue
            for j in range(npre):
{chr(10).join("    " + ln for ln in upd.splitlines())}
        if any_x:
            for j in range(npre):
                if xa[j] == 0:
                    continue
                for i in range(npost):
                    if y[i] != 0:
                        continue
{chr(10).join("    " + ln for ln in upd_col.splitlines())}
    if xn_binary:
        for j in range(npre):
            if xn[j] != 0:
                for i in range(npost):
                    out[i] += W[i, j]
    else:
        for i in range(npost):
            acc = {dtype}(0.0)
            for j in range(npre):
                acc += W[i, j] * xn[j]
            out[i] += acc
'''


def load_generated(src: str, prefix: str, deps: str = ""):
    """Import generated kernel source as a module: written once to
    ``CACHE_DIR/<prefix>_<hash of the source>.py``, so numba's ``cache=True``
    keeps its machine code (in ``CACHE_DIR/__pycache__``) across processes;
    memoised in this process.

    The file is never rewritten once it exists: numba's cache index records the
    source file's modification time, so a rewrite by a concurrent process would
    make every other process compile again.  A new file is written to a private
    temporary name and hard-linked into place (atomic, and the first writer wins).
    ``deps``: the source of the jitted functions the generated code calls from
    other modules; it is part of the file name because numba's cache does not
    notice when a callee changes."""
    key = f"{prefix}_{hashlib.sha1((src + deps).encode()).hexdigest()[:16]}"
    if key in _loaded:
        return _loaded[key]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{key}.py"
    if not path.exists():
        tmp = CACHE_DIR / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(src)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: replace, unless another process was first
            if not path.exists():
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    name = f"neurohebb_kernel_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    _loaded[key] = mod
    return mod


def kernels_for(rule, masked: bool, clipped: bool, parallel: bool = True, dtype: str = "float64"):
    """(dense, events, layout) compiled for this rule's shape and dtype."""
    mod = load_generated(_gen(rule, masked, clipped, parallel, dtype), "k")
    return mod.dense, mod.events, Layout(rule)


def _gen_sparse(rule, clipped: bool, parallel: bool, dtype: str) -> str:
    """The sparse layout's kernels: synapse ``s`` of post ``i`` (``rowptr[i] <=
    s < rowptr[i + 1]``) has pre ``j = col[s]`` and state ``W[s]``/``E[s]``;
    ``csyn[colptr[j]:colptr[j + 1]]`` are the synapses of pre ``j`` (their
    posts in ``cpost``), in increasing post order.  Same arithmetic, in the
    same order per synapse and per input sum, as the dense kernels."""
    a_lines, b_lines, body = _parts(rule, clipped, dtype, ix="s")
    upd = "\n".join(body)
    upd_col = "\n".join("        " + ln for ln in body)
    prep = "\n".join(["    for i in range(npost):"] + (a_lines or ["        pass"]) + ["    for j in range(npre):"]
                     + (b_lines or ["        pass"]))
    prep_ev = "\n".join("    " + ln for ln in prep.splitlines())
    return f'''
import numba

from numpy import {dtype}


@numba.njit(cache=True, nogil=True, fastmath={{"reassoc", "contract", "nsz"}}, parallel={parallel})
def dense(W, E, rowptr, col, xa, y, XTa, XTb, YTa, YTb, PV, QV, A, B, lo, hi, xn, out):
    """Every stored synapse, rows in parallel, fused with out += W(t+1) @ xn."""
    npost = y.shape[0]
    npre = xa.shape[0]
{prep}
    for i in numba.prange(npost):
        acc = {dtype}(0.0)
        for s in range(rowptr[i], rowptr[i + 1]):
            j = col[s]
{upd}
            acc += w2 * xn[j]
        out[i] += acc


@numba.njit(cache=True, nogil=True)
def events(W, E, rowptr, col, colptr, csyn, cpost, xa, y, XTa, XTb, YTa, YTb, PV, QV, A, B, lo, hi, xn, out,
           xn_binary):
    """The synapses of rows with a post spike, then those of columns with an
    arriving pre spike (other rows); then out += W(t+1) @ xn."""
    npost = y.shape[0]
    npre = xa.shape[0]
    any_y = False
    for i in range(npost):
        if y[i] != 0:
            any_y = True
            break
    any_x = False
    for j in range(npre):
        if xa[j] != 0:
            any_x = True
            break
    if any_x or any_y:
{prep_ev}
        for i in range(npost):
            if y[i] == 0:
                continue
            for s in range(rowptr[i], rowptr[i + 1]):
                j = col[s]
{chr(10).join("    " + ln for ln in upd.splitlines())}
        if any_x:
            for j in range(npre):
                if xa[j] == 0:
                    continue
                for q in range(colptr[j], colptr[j + 1]):
                    i = cpost[q]
                    if y[i] != 0:
                        continue
                    s = csyn[q]
{upd_col}
    forward(W, rowptr, col, colptr, csyn, cpost, xn, xn_binary, out)
'''


def sparse_kernels_for(rule, clipped: bool, parallel: bool = True, dtype: str = "float64"):
    """(dense, events, layout) of the sparse layout, compiled for this rule's shape and dtype."""
    src = "from neurohebb.backends.reference.kernels import sparse_forward as forward\n" + _gen_sparse(
        rule, clipped, parallel, dtype)
    mod = load_generated(src, "ks", deps=_SPARSE_FORWARD_SRC)
    return mod.dense, mod.events, Layout(rule)


# ------------------------------------------------------------ generic kernels

@numba.njit(cache=True, nogil=True)
def update_traces(T_after, T_before, decay, impulse, a):
    """before = decay * after_prev;  after = impulse * a + before  (per trace row)."""
    for k in range(T_after.shape[0]):
        d = decay[k]
        imp = impulse[k]
        for j in range(T_after.shape[1]):
            b = T_after[k, j] * d
            T_before[k, j] = b
            T_after[k, j] = a[j] * imp + b


@numba.njit(cache=True, nogil=True)
def lif_step(u, v, I, bias, refrac_left, kdu, kdv, vth, v_reset, R, out):
    """The IR's LIF: u = u*(1-du) + I; v = v*(1-dv) + u + bias unless
    refractory; spike if v > vth, then v = v_reset for R more steps."""
    for i in range(u.shape[0]):
        u[i] = u[i] * kdu + I[i]
        if refrac_left[i] > 0:
            refrac_left[i] -= 1
        else:
            v[i] = v[i] * kdv + u[i] + bias[i]
        if v[i] > vth:
            v[i] = v_reset
            out[i] = 1.0
            refrac_left[i] = R
        else:
            out[i] = 0.0


@numba.njit(cache=True, nogil=True)
def forward(W, x, binary, out):
    """out += W @ x (a column gather when x is binary spikes)."""
    npost, npre = W.shape
    if binary:
        for j in range(npre):
            if x[j] != 0:
                for i in range(npost):
                    out[i] += W[i, j]
    else:
        for i in range(npost):
            acc = out[i] * 0
            for j in range(npre):
                acc += W[i, j] * x[j]
            out[i] += acc


@numba.njit(cache=True, nogil=True)
def lif_dendritic_step(u, v, I, bias, refrac_left, kdu, kdv, vth, v_reset, R,
                       s, q, P, D, IB, kdd, theta_p, amp_p, L, coupling, out):
    """The IR's ``lif_dendritic`` (branch arrays are (branches, n)): passive
    branch potential s, plateau counter q, indicator P, branch voltage D; then
    the LIF soma with sum_b coupling_b * D_b added to v (unless refractory)."""
    nb = s.shape[0]
    for i in range(u.shape[0]):
        drive = v[i] * 0
        for b in range(nb):
            sb = s[b, i] * kdd + IB[b, i]
            s[b, i] = sb
            qb = q[b, i] - 1
            if qb < 0:
                qb = 0
            if qb == 0 and sb > theta_p:
                qb = L
            q[b, i] = qb
            p = 1.0 if qb > 0 else 0.0
            P[b, i] = p
            db = sb + amp_p * p
            D[b, i] = db
            drive += coupling[b] * db
        u[i] = u[i] * kdu + I[i]
        if refrac_left[i] > 0:
            refrac_left[i] -= 1
        else:
            v[i] = v[i] * kdv + u[i] + bias[i] + drive
        if v[i] > vth:
            v[i] = v_reset
            out[i] = 1.0
            refrac_left[i] = R
        else:
            out[i] = 0.0


@numba.njit(cache=True, nogil=True)
def sparse_forward(W, rowptr, col, colptr, csyn, cpost, x, binary, out):
    """out += W @ x for the sparse layout (see :func:`_gen_sparse`): a gather
    over the synapses of the spiking pre neurons, or row sums for graded x;
    the order of the additions is the dense :func:`forward`'s."""
    if binary:
        for j in range(colptr.shape[0] - 1):
            if x[j] != 0:
                for q in range(colptr[j], colptr[j + 1]):
                    out[cpost[q]] += W[csyn[q]]
    else:
        for i in range(rowptr.shape[0] - 1):
            acc = out[i] * 0
            for s in range(rowptr[i], rowptr[i + 1]):
                acc += W[s] * x[col[s]]
            out[i] += acc


import inspect as _inspect  # noqa: E402

_SPARSE_FORWARD_SRC = _inspect.getsource(sparse_forward.py_func)
