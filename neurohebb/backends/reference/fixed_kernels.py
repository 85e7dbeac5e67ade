"""Numba kernels of the fixed-point reference mode (Lava's bit-approximate
learning engine and fixed-point LIF, see ``fixed.py`` for the semantics).

The synapse update is generated per compiled rule: a product ``k`` is
``A[k, i] * B[k, j] * S_k(w, e) * m_k`` with ``A`` the post-level part (post
traces, r slot, y0) and ``B`` the pre-level part (pre traces, x0), each
factor already clipped to its width, and ``S_k`` the synaptic factors
(``clip(w + c)``, ``clip(e + c)``).  Mantissas, shifts, constants and ranges
are arguments (loop-invariant locals), so one compiled kernel serves every rule
of the same shape, and the update is branchless (min/max), so LLVM vectorizes
a row.  The compiler guarantees ``|A B S m| < 2**31``, so
no intermediate overflows (as in Lava's int32 arithmetic).
"""
from __future__ import annotations

import functools
import inspect

import numba
import numpy as np

from .kernels import load_generated


HEADER = """
import numba
import numpy as np

from neurohebb.backends.reference.fixed_kernels import trace_step
"""

# one synapse (i, j); locals: n (packed clip counts), t0.. (truncation residues per product)
W_FINISH = """{sign}
q = acc >> fb
q += (acc - (q << fb)) > thr
q2 = min(max(q, wlo), whi)
n += q2 != q
W[i, j] = q2
"""

E_FINISH = """q = acc >> fb
q += (acc - (q << fb)) > thr
q2 = min(max(q, elo), ehi)
n += (q2 != q) << 40
E[i, j] = q2
"""

BODY = """

@numba.njit(cache=True, nogil=True, parallel={parallel})
def dense(W, E, M, A, B, K, P, rnd, cnt, T, xnext, out):
    \"\"\"Every synapse; out[i] += sum_j W_new[i, j] * xnext[j] (integers).\"\"\"
    npost, npre = W.shape
{params}
    for i in numba.prange(npost):
        acc_in = np.int64(0)
        n = np.int64(0)
{tinit}
        for j in range(npre):
{mask}
{body_dense}
            acc_in += W[i, j] * xnext[j]
        out[i] += acc_in
        cnt[i, 0] += n & 0xFFFFF
        cnt[i, 1] += (n >> 20) & 0xFFFFF
        cnt[i, 2] += n >> 40
{tstore}


@numba.njit(cache=True, nogil=True)
def events(W, E, M, A, B, K, P, rnd, cnt, T, x, y):
    \"\"\"Only synapses in the rows of post spikes (y) and the columns of arriving pre spikes (x).\"\"\"
    npost, npre = W.shape
{params}
    for i in range(npost):
        if not y[i]:
            continue
        n = np.int64(0)
{tinit}
        for j in range(npre):
{mask}
{body_events}
        cnt[i, 0] += n & 0xFFFFF
        cnt[i, 1] += (n >> 20) & 0xFFFFF
        cnt[i, 2] += n >> 40
{tstore}
    for j in range(npre):
        if not x[j]:
            continue
        for i in range(npost):
            if y[i]:
                continue
{mask}
            n = np.int64(0)
{tinit_col}
{body_col}
            cnt[i, 0] += n & 0xFFFFF
            cnt[i, 1] += (n >> 20) & 0xFFFFF
            cnt[i, 2] += n >> 40
{tstore_col}
"""


STEP = """

@numba.njit(cache=True, nogil=True)
def step(W, E, M, A, B, K, P, cnt, T, X, Y, R, xdec, ximp, xfr, ydec, yimp, yfr, xsat, ysat, zmax,
         FC, FL, FH, FS, x, y, xnext, out, tmp, TR, RR, it, ir, wexp):
    \"\"\"One learning epoch and the next step's input: traces, factors, synapses, then
    out += (sum of the new weights of the spikes in xnext) << wexp (>> floors).
    TR[:, it] are the trace randoms of this epoch (pre decay, pre impulse, post decay,
    post impulse), RR[ir] the rounding random.\"\"\"
    rnd = RR[ir]
    trace_step(X, xdec, ximp, xfr, x, TR[0, it], np.int64(TR[1, it]), zmax, xsat)
    trace_step(Y, ydec, yimp, yfr, y, TR[2, it], np.int64(TR[3, it]), zmax, ysat)
    x_any = False
    for j in range(x.shape[0]):
        if x[j]:
            x_any = True
            break
    y_any = False
    for i in range(y.shape[0]):
        if y[i]:
            y_any = True
            break
    for i in range(tmp.shape[0]):
        tmp[i] = 0
    if {has_u}:
        build_ab_shape(A, B, FC, FL, FH, FS, X, Y, R, x, y)
        dense(W, E, M, A, B, K, P, rnd, cnt, T, xnext, tmp)
    else:
        if x_any or y_any:
            build_ab_shape(A, B, FC, FL, FH, FS, X, Y, R, x, y)
            events(W, E, M, A, B, K, P, rnd, cnt, T, x, y)
        npost = W.shape[0]
        for j in range(xnext.shape[0]):
            if xnext[j]:
                for i in range(npost):
                    tmp[i] += W[i, j]
    for i in range(tmp.shape[0]):
        if wexp >= 0:
            out[i] += tmp[i] << wexp
        else:
            out[i] += tmp[i] >> (-wexp)
"""


def _product_code(k, prod):
    expr = f"A[{k}, i] * B[{k}, j]"
    n = 0
    for f in prod.factors:
        if f.var not in ("w", "e"):
            continue
        lo, hi = ("wflo", "wfhi") if f.var == "w" else ("eflo", "efhi")
        expr += f" * min(max({f.var} + c{k}_{n}, {lo}), {hi})"
        n += 1
    lines = [f"v = {expr} * m{k}"]
    if prod.shift:
        lines.append(f"t{k} += v & r{k}")
    lines += [f"v = (v >> s{k}) << l{k}",
              "v = min(max(v, alo), ahi)",
              "acc += v",
              "a2 = min(max(acc, alo), ahi)",
              "n += (a2 != acc) << 20",
              "acc = a2"]
    return "\n".join(lines)


def _indent(code, n):
    return "\n".join(" " * n + line if line else line for line in code.splitlines())


# K[k] = (mantissa, shift, left shift = engine exponent + fraction bits, residue mask, const 0, const 1, const 2, const 3)
K_COLS = 8
# P = (wlo, whi, elo, ehi, acc_lo, acc_hi, frac_bits, w factor lo, hi, e factor lo, hi)
P_NAMES = ("wlo", "whi", "elo", "ehi", "alo", "ahi", "fb", "wflo", "wfhi", "eflo", "efhi")


def shape_of(products) -> tuple:
    """What the generated code depends on: per product its target, whether it
    is shifted, and its synaptic factors."""
    return tuple((p.target, bool(p.shift), tuple(f.var for f in p.factors if f.var in ("w", "e"))) for p in products)


def params_of(products, P: dict):
    K = np.zeros((max(1, len(products)), K_COLS), np.int64)
    for k, p in enumerate(products):
        K[k, :4] = (p.mantissa, p.shift, p.exp_engine + P["fb"], 2**p.shift - 1)
        for n, f in enumerate(f for f in p.factors if f.var in ("w", "e")):
            K[k, 4 + n] = f.const
    Pv = np.array([P["wlo"], P["whi"], P["elo"], P["ehi"], P["alo"], P["ahi"], P["fb"],
                   P["wf"][0], P["wf"][1], P["ef"][0], P["ef"][1]], np.int64)
    return K, Pv


def _pieces(products, has_e: bool, sign: int):
    """(synapse code, synapse code without the products a silent post zeroes,
    parameter lines, residue init, residue store) of a rule shape."""
    uses_e = has_e or any(f.var == "e" for p in products for f in p.factors)
    sgn = {0: "", 1: "acc = max(acc, 0)", 2: "acc = min(acc, 0)"}[sign]
    wp = [(k, p) for k, p in enumerate(products) if p.target == "w"]
    ep = [(k, p) for k, p in enumerate(products) if p.target == "e"]
    def synapse(skip_post_spike: bool) -> str:
        """One synapse; without the products that a silent post neuron zeroes (dep or factor y0)."""
        keep = (lambda p: not (p.dep == "y0" or any(f.var == "y0" for f in p.factors))) if skip_post_spike \
            else (lambda p: True)
        body = ["w = np.int64(W[i, j])"] + (["e = np.int64(E[i, j])"] if uses_e else [])
        body += ["acc = w << fb"] + [_product_code(k, p) for k, p in wp if keep(p)]
        body.append(W_FINISH.format(sign=sgn))
        if has_e:
            body += ["acc = e << fb"] + [_product_code(k, p) for k, p in ep if keep(p)]
            body.append(E_FINISH)
        return "\n".join(body)

    code = synapse(False)
    code_col = synapse(True)
    params = [f"{name} = P[{i}]" for i, name in enumerate(P_NAMES)]
    params.append("thr = np.int64(np.floor(rnd * np.float64(np.int64(1) << fb)))")
    for k, p in enumerate(products):
        params += [f"m{k} = K[{k}, 0]", f"s{k} = K[{k}, 1]", f"l{k} = K[{k}, 2]", f"r{k} = K[{k}, 3]"]
        params += [f"c{k}_{n} = K[{k}, {4 + n}]" for n, f in enumerate(f for f in p.factors if f.var in ("w", "e"))]
    tk = [k for k, p in enumerate(products) if p.shift]
    tinit = "\n".join(f"t{k} = np.int64(0)" for k in tk)
    tstore = "\n".join(f"T[i, {k}] += t{k}" for k in tk)
    return code, code_col, params, tinit, tstore


def generate(products, has_e: bool, masked: bool, parallel: bool, sign: int) -> str:
    """The kernels of a rule shape (see ``shape_of``); ``sign``: 0 mixed, 1 excitatory, 2 inhibitory.
    ``T[i, k]`` accumulates the residues dropped by product k's right shift (its truncation)."""
    code, code_col, params, tinit, tstore = _pieces(products, has_e, sign)
    mask = "if not M[i, j]:\n    continue" if masked else ""
    src = HEADER + BODY.format(
        parallel=parallel, params=_indent("\n".join(params), 4), mask=_indent(mask, 12),
        body_dense=_indent(code, 12), body_events=_indent(code, 12), body_col=_indent(code_col, 12),
        tinit=_indent(tinit, 8),
        tstore=_indent(tstore, 8), tinit_col=_indent(tinit, 12), tstore_col=_indent(tstore, 12))
    has_u = any(p.dep == "u" for p in products)
    return src + _build_ab_code(products) + STEP.format(has_u=has_u)


SPARSE_BODY = """

@numba.njit(cache=True, nogil=True, parallel={parallel})
def dense(W, E, rowptr, col, A, B, K, P, rnd, cnt, T, xnext, out):
    \"\"\"Every stored synapse; out[i] += sum_s W_new[s] * xnext[col[s]] (integers).\"\"\"
    npost = rowptr.shape[0] - 1
{params}
    for i in numba.prange(npost):
        acc_in = np.int64(0)
        n = np.int64(0)
{tinit}
        for s in range(rowptr[i], rowptr[i + 1]):
            j = col[s]
{body_dense}
            acc_in += W[s] * xnext[j]
        out[i] += acc_in
        cnt[i, 0] += n & 0xFFFFF
        cnt[i, 1] += (n >> 20) & 0xFFFFF
        cnt[i, 2] += n >> 40
{tstore}


@numba.njit(cache=True, nogil=True)
def events(W, E, rowptr, col, colptr, csyn, cpost, A, B, K, P, rnd, cnt, T, x, y):
    \"\"\"Only the synapses of post spikes (y) and of arriving pre spikes (x).\"\"\"
    npost = rowptr.shape[0] - 1
    npre = colptr.shape[0] - 1
{params}
    for i in range(npost):
        if not y[i]:
            continue
        n = np.int64(0)
{tinit}
        for s in range(rowptr[i], rowptr[i + 1]):
            j = col[s]
{body_events}
        cnt[i, 0] += n & 0xFFFFF
        cnt[i, 1] += (n >> 20) & 0xFFFFF
        cnt[i, 2] += n >> 40
{tstore}
    for j in range(npre):
        if not x[j]:
            continue
        for q in range(colptr[j], colptr[j + 1]):
            i = cpost[q]
            if y[i]:
                continue
            s = csyn[q]
            n = np.int64(0)
{tinit_col}
{body_col}
            cnt[i, 0] += n & 0xFFFFF
            cnt[i, 1] += (n >> 20) & 0xFFFFF
            cnt[i, 2] += n >> 40
{tstore_col}


@numba.njit(cache=True, nogil=True)
def step(W, E, rowptr, col, colptr, csyn, cpost, A, B, K, P, cnt, T, X, Y, R, xdec, ximp, xfr, ydec, yimp, yfr,
         xsat, ysat, zmax, FC, FL, FH, FS, x, y, xnext, out, tmp, TR, RR, it, ir, wexp):
    \"\"\"The sparse layout's fused learning epoch and next-step input (as the dense ``step``).\"\"\"
    rnd = RR[ir]
    trace_step(X, xdec, ximp, xfr, x, TR[0, it], np.int64(TR[1, it]), zmax, xsat)
    trace_step(Y, ydec, yimp, yfr, y, TR[2, it], np.int64(TR[3, it]), zmax, ysat)
    x_any = False
    for j in range(x.shape[0]):
        if x[j]:
            x_any = True
            break
    y_any = False
    for i in range(y.shape[0]):
        if y[i]:
            y_any = True
            break
    for i in range(tmp.shape[0]):
        tmp[i] = 0
    if {has_u}:
        build_ab_shape(A, B, FC, FL, FH, FS, X, Y, R, x, y)
        dense(W, E, rowptr, col, A, B, K, P, rnd, cnt, T, xnext, tmp)
    else:
        if x_any or y_any:
            build_ab_shape(A, B, FC, FL, FH, FS, X, Y, R, x, y)
            events(W, E, rowptr, col, colptr, csyn, cpost, A, B, K, P, rnd, cnt, T, x, y)
        for j in range(xnext.shape[0]):
            if xnext[j]:
                for q in range(colptr[j], colptr[j + 1]):
                    tmp[cpost[q]] += W[csyn[q]]
    for i in range(tmp.shape[0]):
        if wexp >= 0:
            out[i] += tmp[i] << wexp
        else:
            out[i] += tmp[i] >> (-wexp)
"""


def generate_sparse(products, has_e: bool, parallel: bool, sign: int) -> str:
    """The sparse layout's kernels of a rule shape: synapse ``s`` (post ``i``,
    pre ``j = col[s]``) holds ``W[s]``, ``E[s]``; integer arithmetic identical
    to :func:`generate`'s, so the two layouts agree bit for bit."""
    code, code_col, params, tinit, tstore = _pieces(products, has_e, sign)
    code, code_col = (c.replace("W[i, j]", "W[s]").replace("E[i, j]", "E[s]") for c in (code, code_col))
    src = HEADER + SPARSE_BODY.format(
        parallel=parallel, params=_indent("\n".join(params), 4),
        body_dense=_indent(code, 12), body_events=_indent(code, 12), body_col=_indent(code_col, 12),
        tinit=_indent(tinit, 8), tstore=_indent(tstore, 8), tinit_col=_indent(tinit, 12),
        tstore_col=_indent(tstore, 12), has_u=any(p.dep == "u" for p in products))
    return src + _build_ab_code(products)


def _build_ab_code(products) -> str:
    """A[k, i] and B[k, j] of each product, branchless; factor k, f reads
    FC[k, f] (its constant) and FL/FH (its clip range)."""
    lines = ["", "", "@numba.njit(cache=True, nogil=True)",
             "def build_ab_shape(A, B, FC, FL, FH, FS, X, Y, R, x, y):",
             "    npost = A.shape[1]", "    npre = B.shape[1]"]
    for k, p in enumerate(products):
        post, pre = [], []
        for n, f in enumerate(p.factors):
            if f.var in ("w", "e"):
                continue
            src = f"FS[{k}, {n}]"
            term = f"min(max({{v}} + FC[{k}, {n}], FL[{k}, {n}]), FH[{k}, {n}])"
            if f.var == "x0":
                pre.append(term.format(v="x[j]"))
            elif f.var.startswith("x"):
                pre.append(term.format(v=f"X[{src}, j]"))
            elif f.var == "y0":
                post.append(term.format(v="y[i]"))
            else:  # a post trace or the r slot (FS < 0)
                post.append(term.format(v=f"(R[i] if {src} < 0 else Y[{src}, i])"))
        a = " * ".join((["y[i]"] if p.dep == "y0" else []) + post) or "1"
        b = " * ".join((["x[j]"] if p.dep == "x0" else []) + pre) or "1"
        lines += [f"    for i in range(npost):", f"        A[{k}, i] = np.int64({a})",
                  f"    for j in range(npre):", f"        B[{k}, j] = np.int64({b})"]
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=None)
def _deps() -> str:
    """The source of what the generated code imports from this module (see ``HEADER``)."""
    return inspect.getsource(trace_step.py_func)


def kernels_for(products, has_e: bool, masked: bool, sign: int, parallel: bool = True):
    """(dense, events, step, build_ab) for this rule shape (constants are arguments: ``params_of``)."""
    mod = load_generated(generate(products, has_e, masked, parallel, sign), "fx", _deps())
    return mod.dense, mod.events, mod.step, mod.build_ab_shape


def sparse_kernels_for(products, has_e: bool, sign: int, parallel: bool = True):
    """(dense, events, step, build_ab) of the sparse layout for this rule shape."""
    mod = load_generated(generate_sparse(products, has_e, parallel, sign), "fxs", _deps())
    return mod.dense, mod.events, mod.step, mod.build_ab_shape


# ------------------------------------------------------------------ traces
@numba.njit(cache=True, nogil=True)
def trace_step(Z, decay, imp_int, imp_frac, spikes, r_decay, r_imp, zmax, sat):
    """Lava's trace update for one epoch of one step: every row of Z decays
    with stochastic rounding (``floor(d z) + [r_decay < frac]``; rows with
    decay 0 become 0), then spiking columns get ``imp_int + [r_imp < imp_frac]``,
    saturating at zmax (``sat[k]`` counts saturations of row k)."""
    nk, n = Z.shape
    for k in range(nk):
        d = decay[k]
        ii = imp_int[k]
        fr = imp_frac[k]
        for m in range(n):
            if d != 0.0:
                v = d * Z[k, m]
                f = np.floor(v)
                z = np.int64(f)
                if r_decay < v - f:
                    z += 1
            else:
                z = np.int64(0)
            if spikes[m]:
                z += ii
                if r_imp < fr:
                    z += 1
                if z > zmax:
                    z = zmax
                    sat[k] += 1
                elif z < 0:
                    z = 0
            Z[k, m] = z


# ------------------------------------------------------------------ LIF
@numba.njit(cache=True, nogil=True)
def lif_step(u, v, I, du_eff, dv_eff, decay_bits, act_shift, bias, vth_eff, v_reset, refrac_left, R,
             smax, u_wrap, out, counts):
    """Lava's PyLifModelBitAcc (plus the IR's refractory period and reset):
    u = sgn(u (D - du_eff)) (|.| >> bits) + (I << act_shift), wrapped to the
    state width; v likewise (saturating), spike if v > vth_eff."""
    D = np.int64(1) << decay_bits
    n = u.shape[0]
    for i in range(n):
        x = u[i] * (D - du_eff)
        if x >= 0:
            nu = x >> decay_bits
        else:
            nu = -((-x) >> decay_bits)
        nu += I[i] << act_shift
        if u_wrap:
            if nu > smax:
                nu -= 2 * smax
                counts[0] += 1
            elif nu <= -smax:
                nu += 2 * smax
                counts[0] += 1
        else:
            if nu > smax - 1:
                nu = smax - 1
                counts[0] += 1
            elif nu < -(smax - 1):
                nu = -(smax - 1)
                counts[0] += 1
        u[i] = nu
        if R == 0 or refrac_left[i] == 0:
            y = v[i] * (D - dv_eff)
            if y >= 0:
                nv = y >> decay_bits
            else:
                nv = -((-y) >> decay_bits)
            nv += nu + bias[i]
            if nv > smax - 1:
                nv = smax - 1
                counts[1] += 1
            elif nv < -(smax - 1):
                nv = -(smax - 1)
                counts[1] += 1
            v[i] = nv
        else:
            refrac_left[i] -= 1
        if v[i] > vth_eff:
            out[i] = 1
            v[i] = v_reset
            if R:
                refrac_left[i] = R
        else:
            out[i] = 0


@numba.njit(cache=True, nogil=True)
def static_forward(W, xnext, out, tmp, wexp):
    """out += (sum of W's columns of the spikes in xnext) << wexp (>> floors)."""
    npost = W.shape[0]
    for i in range(npost):
        tmp[i] = 0
    for j in range(xnext.shape[0]):
        if xnext[j]:
            for i in range(npost):
                tmp[i] += W[i, j]
    for i in range(npost):
        if wexp >= 0:
            out[i] += tmp[i] << wexp
        else:
            out[i] += tmp[i] >> (-wexp)


@numba.njit(cache=True, nogil=True)
def gather_int(W, cols, out):
    """out += W[:, cols].sum(axis=1) in int64."""
    npost = W.shape[0]
    for j in cols:
        for i in range(npost):
            out[i] += W[i, j]


@numba.njit(cache=True, nogil=True)
def matvec_int(W, x, out):
    npost, npre = W.shape
    for i in range(npost):
        acc = np.int64(0)
        for j in range(npre):
            if x[j]:
                acc += W[i, j]
        out[i] += acc


@numba.njit(cache=True, nogil=True)
def sparse_static_forward(W, colptr, csyn, cpost, xnext, out, tmp, wexp):
    """:func:`static_forward` of the sparse layout."""
    for i in range(tmp.shape[0]):
        tmp[i] = 0
    for j in range(xnext.shape[0]):
        if xnext[j]:
            for q in range(colptr[j], colptr[j + 1]):
                tmp[cpost[q]] += W[csyn[q]]
    for i in range(tmp.shape[0]):
        if wexp >= 0:
            out[i] += tmp[i] << wexp
        else:
            out[i] += tmp[i] >> (-wexp)
