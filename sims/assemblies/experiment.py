"""assemblies: Müller, Papadimitriou, Maass & Legenstein (2020), eNeuro.

Protocol (network.yaml: content space C and variable space V of LIF cells,
200 Poisson inputs; see its header for the mapping of the paper's STDP):

1. **form** (the document's C part, V left out): the five input patterns in turn,
   200 ms each + 200 ms silence; full: 200 presentations (the paper's), short: 50.
   Plastic input->C and C->C.
2. **bind** (the whole document, C frozen): for each pattern k, V is disinhibited
   (inh_v silent, learn_v = 1) for 1 s while k is shown (the paper's CREATE), then
   V is inhibited again (learn_v = 0) for 300 ms.  Plastic C->V, V->C, V->V.
3. **recall** (all weights frozen), per pattern k, 200 ms each, 200 ms apart:
   (a) the full pattern, V inhibited: defines C assembly A_k (cells firing >= 10 Hz,
       assigned to the pattern they fire most for);
   (b) half of the pattern (13 of its 25 inputs), V inhibited: pattern completion;
   (c) the full pattern with V disinhibited: does V answer with its bound assembly B_k;
   (d) no input; B_k driven through vcue (400 Hz Poisson, one-to-one) for 200 ms; V
       disinhibited, C inhibited for the first 50 ms (the paper's RECALL: V for
       50 ms, then C): does C answer with A_k?
   (e) 3 of the pattern's 25 inputs, V inhibited: where the learned input weights
       alone recruit only part of A_k, the learned C->C weights complete it.
   The recall tests are repeated with the untrained C->C and C<->V weights
   (control: the learned input weights only).

Metrics: the within/between assembly weight ratio in C, the selectivity of the
assemblies, the C->V and V->C weight ratios of bound vs other assembly pairs,
the fraction of bidirectionally connected bound pairs where both weights are
strong (above the initial range) vs other pairs, and the recall fractions.
"""
from __future__ import annotations

import numpy as np

NAME = "assemblies"
DESCRIPTION = ("Müller, Papadimitriou, Maass & Legenstein 2020: fast Hebbian STDP in E/I LIF spaces; input patterns "
               "form assemblies, disinhibition binds V assemblies to them; recall from partial cues")

N_IN, N_PAT, PAT_SIZE = 200, 5, 25
ON, OFF = 200, 200                 # ms pattern, ms silence (paper)
RATE_ON, RATE_OFF = 100.0, 0.1     # Hz (paper)
FULL_PRES, SHORT_PRES = 200, 50    # training presentations (paper: 200)
CREATE, GAP = 1000, 300            # binding: V disinhibited for 1 s per pattern (paper's CREATE), then inhibited
CUE_FRAC = 0.5                     # partial cue: 13 of 25 inputs
SMALL_CUE = 3                      # small cue: 3 of 25 inputs (12 %), where the input weights alone fall short
CUE_RATE = 400.0                   # vcue rate onto the bound V assembly
C_DELAY = 50                       # recall (d): C inhibited for the first 50 ms (paper: V 50 ms, then C)
ACTIVE_HZ = 10.0                   # "active" = >= 10 Hz over a 200 ms window (>= 2 spikes)
V_NAMES = ("vE", "vI", "nz_vE", "nz_vI", "inh_v", "vcue")

# the paper's STDP constants (swta.py; cfg/final_config.json): eta, w_max, A_minus, alpha
PAPER = {"in_cE": (0.01, 0.8, 0.4, 0.0), "cE_cE": (0.0025, 0.6, 0.5, -1.0),
         "vE_vE": (0.0054135, 1.04060619, 0.51823208, -1.0), "cE_vE": (0.00312222, 1.24902448, 0.28319782, 0.0),
         "vE_cE": (0.00605105, 0.86900343, 0.44844316, 0.0)}
PAPER_INIT = {"vE_vE": (0.42054783, 0.91009721), "cE_vE": (0.48376855, 0.85674204),
              "vE_cE": (0.19214029, 0.3844604)}   # [w_low, w_high] (absolute, paper units)

PUB_ASM = "assemblies with strong recurrent weights (no number)"
PUB_BIND = "bidirectional C<->V weights strengthened for bound pairs (no number)"
PUB_RECALL = "the assembly is recalled (no number)"


def mueller_dw(proj: str, w_max: float, gated: bool) -> str:
    """The rule string of ``proj``: the paper's constants with our ``w_max``."""
    eta, wp, A, alpha = PAPER[proj]
    c = eta / wp * w_max
    r = "r*" if gated else ""
    t = [f"{c:.6g}*{r}y0*x1", f"- {c * A:.6g}*{r}y0"]
    if alpha:
        t.append(f"{'-' if alpha > 0 else '+'} {c * abs(alpha):.6g}*{r}x0*y1")
    t.append(f"- {c * A:.6g}*{r}x0")
    return " ".join(t)


def make_patterns() -> np.ndarray:
    """(5, 25) disjoint input indices (the other 75 inputs are never in a pattern, as in the paper)."""
    perm = np.random.default_rng(7).permutation(N_IN)
    return np.sort(perm[: N_PAT * PAT_SIZE].reshape(N_PAT, PAT_SIZE), axis=1)


def make_data() -> dict:
    """network.npz: the training schedule (patterns 0..4 in turn, 2000 steps, repeated)."""
    return {"train_rates": _schedule(make_patterns(), range(N_PAT))}


def _schedule(pats, order, frac=1.0):
    R = np.full(((ON + OFF) * len(order), N_IN), RATE_OFF)
    for i, k in enumerate(order):
        idx = pats[k][: int(round(frac * PAT_SIZE))]
        R[i * (ON + OFF): i * (ON + OFF) + ON, idx] = RATE_ON
    return R


# ---------------------------------------------------------------- documents of the phases
def _static(pr, W, mask=None):
    from neurohebb.ir.schema import Mask, WArray

    pr.rule = None
    pr.weights = WArray(values=np.asarray(W, float))
    if mask is not None:
        pr.connectivity = Mask(values=np.asarray(mask, bool))


def form_doc(net, presentations):
    """Phase 1: the document without V (V is inhibited and silent during training)."""
    n = net.model_copy(deep=True)
    for k in V_NAMES:
        n.populations.pop(k)
    for k in [k for k, p in n.projections.items() if p.pre in V_NAMES or p.post in V_NAMES]:
        n.projections.pop(k)
    n.modulators = {}
    n.probes = {}
    n.run.steps = presentations * (ON + OFF)
    return n


def _freeze_c(n, learned):
    for k in ("in_cE", "cE_cE"):
        _static(n.projections[k], learned[k], learned[k + "_mask"])


def bind_doc(net, learned):
    """Phase 2: C frozen; V disinhibited (learning on) while each pattern is shown for CREATE ms."""
    from neurohebb.ir.schema import ArraySource, ModArray, Poisson

    n = net.model_copy(deep=True)
    _freeze_c(n, learned)
    pats = make_patterns()
    T = N_PAT * (CREATE + GAP)
    R = np.full((T, N_IN), RATE_OFF)
    inh = np.ones((T, 1), bool)
    learn = np.zeros(T)
    for k in range(N_PAT):
        t = k * (CREATE + GAP)
        R[t:t + CREATE, pats[k]] = RATE_ON
        inh[t:t + CREATE] = False
        learn[t:t + CREATE] = 1.0
    n.populations["inp"] = Poisson(n=N_IN, rates=R)
    n.populations["inh_v"] = ArraySource(n=1, values=inh)
    n.modulators["learn_v"] = ModArray(values=learn)
    n.probes = {}
    n.run.steps = T
    return n


TESTS = ("full", "cue", "c_to_v", "v_to_c", "cue_small")   # new tests go last: earlier windows keep their input draws


def test_doc(net, learned, v_assemblies):
    """Phase 3: every weight frozen; the four tests (a)-(d) for each pattern."""
    from neurohebb.ir.schema import ArraySource, Poisson

    n = net.model_copy(deep=True)
    _freeze_c(n, learned)
    for k in ("vE_vE", "cE_vE", "vE_cE"):
        _static(n.projections[k], learned[k], learned[k + "_mask"])
    n.modulators = {}
    pats = make_patterns()
    nv = n.populations["vE"].n
    blocks = []   # (test, k, start)
    T = len(TESTS) * N_PAT * (ON + OFF)
    R = np.full((T, N_IN), RATE_OFF)
    inh_v = np.ones((T, 1), bool)
    inh_c = np.zeros((T, 1), bool)
    cue = np.zeros((T, nv))
    t = 0
    for test in TESTS:
        for k in range(N_PAT):
            s = slice(t, t + ON)
            if test == "full":
                R[s, pats[k]] = RATE_ON
            elif test == "cue":
                R[s, pats[k][: int(round(CUE_FRAC * PAT_SIZE))]] = RATE_ON
            elif test == "cue_small":
                R[s, pats[k][:SMALL_CUE]] = RATE_ON
            elif test == "c_to_v":
                R[s, pats[k]] = RATE_ON
                inh_v[s] = False
            else:
                inh_v[s] = False
                cue[s, v_assemblies[k]] = CUE_RATE
                inh_c[t:t + C_DELAY] = True
            blocks.append((test, k, t))
            t += ON + OFF
    n.populations["inp"] = Poisson(n=N_IN, rates=R)
    n.populations["inh_v"] = ArraySource(n=1, values=inh_v)
    n.populations["inh_c"] = ArraySource(n=1, values=inh_c)
    n.populations["vcue"] = Poisson(n=nv, rates=cue)
    n.probes = {}
    n.run.steps = T
    return n, blocks


# ---------------------------------------------------------------- analysis
def rates(spikes, t0, t1):
    return spikes[t0:t1].sum(0) * 1000.0 / (t1 - t0)


def assemblies_from(resp):
    """resp (patterns, cells) in Hz -> per pattern the cells >= ACTIVE_HZ that fire most for it."""
    top = resp.argmax(0)
    return [np.where((resp[k] >= ACTIVE_HZ) & (top == k))[0] for k in range(resp.shape[0])]


def block_masks(shape, pre_sets, post_sets):
    """(bound, other): synapse masks (post, pre) for pre in set k, post in set k (bound) or j != k (other)."""
    bound = np.zeros(shape, bool)
    other = np.zeros(shape, bool)
    for k, pre in enumerate(pre_sets):
        for j, post in enumerate(post_sets):
            (bound if j == k else other)[np.ix_(post, pre)] = True
    return bound, other


def ee_ratio(W, mask, A):
    b, o = block_masks(W.shape, A, A)
    return W[b & mask].mean() / max(W[o & mask].mean(), 1e-12), W[b & mask].mean(), W[o & mask].mean()


def recall_fractions(spikes, blocks, test, sets, t_from=0):
    """Mean over patterns of (fraction of set k active, fraction of the other sets' cells active)."""
    own, oth = [], []
    for tst, k, t in blocks:
        if tst != test:
            continue
        act = rates(spikes, t + t_from, t + ON) >= ACTIVE_HZ
        own.append(act[sets[k]].mean() if len(sets[k]) else np.nan)
        rest = np.concatenate([sets[j] for j in range(len(sets)) if j != k])
        oth.append(act[rest].mean() if len(rest) else np.nan)
    return float(np.nanmean(own)), float(np.nanmean(oth))


def _learned(res, keys):
    out = {}
    for k in keys:
        out[k] = res.weights[k]
        out[k + "_mask"] = res.initial_weights[k] != 0 if k != "in_cE" else np.ones_like(res.weights[k], bool)
    return out


def _w_bounds(net, k):
    return net.projections[k].effective_bounds()[1]


# ---------------------------------------------------------------- run
def run(ctx):
    net = ctx.load()
    pres = SHORT_PRES if ctx.short else FULL_PRES
    pats = make_patterns()

    # 1. form
    r1 = ctx.run(form_doc(net, pres))
    learned = _learned(r1, ("in_cE", "cE_cE"))

    # 2. bind
    r2 = ctx.run(bind_doc(net, learned))
    learned.update(_learned(r2, ("vE_vE", "cE_vE", "vE_cE")))
    sV = r2.spikes["vE"]
    vresp = np.array([rates(sV, k * (CREATE + GAP) + CREATE // 2, k * (CREATE + GAP) + CREATE) for k in range(N_PAT)])
    B = assemblies_from(vresp)

    # 3. recall, learned and untrained weights
    tdoc, blocks = test_doc(net, learned, B)
    r3 = ctx.run(tdoc)
    untrained = dict(learned)
    for k in ("cE_cE", "vE_vE", "cE_vE", "vE_cE"):
        untrained[k] = r2.initial_weights[k] if k != "cE_cE" else r1.initial_weights[k]
    r3c = ctx.run(test_doc(net, untrained, B)[0])
    sC = r3.spikes["cE"]
    cresp = np.array([rates(sC, t, t + ON) for tst, k, t in blocks if tst == "full"])
    A = assemblies_from(cresp)

    # --- metrics: assemblies in C
    sizes = np.array([len(a) for a in A])
    responders = (cresp >= ACTIVE_HZ)
    n_resp = responders.any(0).sum()
    selective = float((responders.sum(0) == 1).sum() / max(n_resp, 1))
    Wee, Mee = learned["cE_cE"], learned["cE_cE_mask"]
    ratio, w_in, w_out = ee_ratio(Wee, Mee, A)
    wmax_ee = _w_bounds(net, "cE_cE")
    ratio0 = ee_ratio(r1.initial_weights["cE_cE"], Mee, A)[0]
    Win = learned["in_cE"]
    in_own = np.mean([Win[np.ix_(A[k], pats[k])].mean() for k in range(N_PAT) if len(A[k])])
    in_oth = np.mean([Win[np.ix_(A[k], np.setdiff1d(pats.ravel(), pats[k]))].mean() for k in range(N_PAT) if len(A[k])])
    ctx.metric("asm_size", sizes.mean(), "C assembly size (cells, mean of 5)", "– (paper: 1000 cells)")
    ctx.metric("asm_min", sizes.min(), "smallest C assembly (cells)", "", (">=", 5))
    ctx.metric("selectivity", selective, "C responders that fire for one pattern only", "assemblies for distinct "
               "patterns (no number)", (">=", 0.65))
    ctx.metric("ee_ratio", ratio, "C->C weight within / between assemblies", PUB_ASM, (">=", 5.0))
    ctx.metric("ee_within", w_in / wmax_ee, "C->C weight within assemblies / w_max", "strong")
    ctx.metric("ee_ratio_init", ratio0, "same ratio, initial weights", "~1 (random)")
    ctx.metric("in_ratio", in_own / max(in_oth, 1e-12), "input weight from own / other patterns", "selective")

    # --- metrics: binding
    vsizes = np.array([len(b) for b in B])
    ctx.metric("v_asm_size", vsizes.mean(), "V assembly size (cells, mean of 5)", "–")
    ctx.metric("v_asm_min", vsizes.min(), "smallest V assembly (cells)", "", (">=", 5))
    strong = {}
    for k, pre, post, label in (("cE_vE", A, B, "C->V"), ("vE_cE", B, A, "V->C")):
        W, M = learned[k], learned[k + "_mask"]
        wmax = _w_bounds(net, k)
        b, o = block_masks(W.shape, pre, post)
        rb, ro = W[b & M].mean() / wmax, W[o & M].mean() / wmax
        ctx.metric(f"{k}_ratio", rb / max(ro, 1e-12), f"{label} weight, bound / other assembly pairs", PUB_BIND,
                   (">=", 1.3 if k == "cE_vE" else 3.0))
        ctx.metric(f"{k}_bound", rb, f"{label} weight / w_max, bound pairs", "")
        ctx.metric(f"{k}_other", ro, f"{label} weight / w_max, other pairs", "")
        lo, hi = PAPER_INIT[k]
        strong[k] = W > hi / PAPER[k][1] * wmax      # above the initial range
    Wcv, Wvc = learned["cE_vE"], learned["vE_cE"]     # (v, c) and (c, v)
    bi = learned["cE_vE_mask"] & learned["vE_cE_mask"].T          # (v, c): connected both ways
    both = strong["cE_vE"] & strong["vE_cE"].T
    bb, bo = block_masks(bi.shape, A, B)
    f_b = both[bi & bb].mean() if (bi & bb).any() else np.nan
    f_o = both[bi & bo].mean() if (bi & bo).any() else np.nan
    ctx.metric("bidir_bound", f_b, "bidirectional pairs with both weights strong, bound", PUB_BIND, (">=", 0.5))
    ctx.metric("bidir_other", f_o, "same, other assembly pairs", "few", ("<=", 0.25))
    ctx.metric("bidir_n", int((bi & bb).sum()), "bidirectionally connected bound pairs (count)", "")

    # --- metrics: recall
    sV3 = r3.spikes["vE"]
    own, oth = recall_fractions(sC, blocks, "cue", A)
    own0, oth0 = recall_fractions(r3c.spikes["cE"], blocks, "cue", A)
    ctx.metric("cue_own", own, f"{CUE_FRAC:.0%} cue: active fraction of its C assembly", PUB_RECALL, (">=", 0.7))
    ctx.metric("cue_other", oth, f"{CUE_FRAC:.0%} cue: active fraction of other C assemblies", "low", ("<=", 0.1))
    ctx.metric("cue_own_untrained", own0, "same, C->C weights untrained (control)", "")
    sown, soth = recall_fractions(sC, blocks, "cue_small", A)
    sown0, _ = recall_fractions(r3c.spikes["cE"], blocks, "cue_small", A)
    ctx.metric("small_cue_own", sown, f"{SMALL_CUE}-input cue: active fraction of its C assembly", PUB_RECALL,
               (">=", 0.6))
    ctx.metric("small_cue_other", soth, f"{SMALL_CUE}-input cue: active fraction of other C assemblies", "low",
               ("<=", 0.1))
    ctx.metric("small_cue_untrained", sown0, f"{SMALL_CUE}-input cue, C->C weights untrained (control)", "")
    ctx.metric("small_cue_gain", sown - sown0, "completion by the learned C->C weights (own - untrained)",
               "recurrent completion", (">=", 0.1))
    vown, voth = recall_fractions(sV3, blocks, "c_to_v", B)
    ctx.metric("c_to_v_own", vown, "pattern, V disinhibited: active fraction of the bound V assembly", PUB_RECALL,
               (">=", 0.6))
    ctx.metric("c_to_v_other", voth, "same, other V assemblies", "low", ("<=", 0.25))
    cown, coth = recall_fractions(sC, blocks, "v_to_c", A, t_from=C_DELAY)
    cown0, _ = recall_fractions(r3c.spikes["cE"], blocks, "v_to_c", A, t_from=C_DELAY)
    ctx.metric("v_to_c_own", cown, "V assembly driven, no input: active fraction of its C assembly", PUB_RECALL,
               (">=", 0.5))
    ctx.metric("v_to_c_other", coth, "same, other C assemblies", "low", ("<=", 0.2))
    ctx.metric("v_to_c_own_untrained", cown0, "same, C<->V and C->C weights untrained (control)", "")

    ctx.note(f"{'short' if ctx.short else 'full'} protocol: {pres} training presentations "
             f"({pres * (ON + OFF) / 1000:g} s), binding {N_PAT} x ({CREATE} + {GAP}) ms, recall tests "
             f"{len(TESTS)} x {N_PAT} x {ON + OFF} ms (twice: learned and untrained weights)")
    ctx.extra.update(A=A, B=B, cresp=cresp, vresp=vresp)
    if ctx.out is not None:
        _plots(ctx, net, r1, r2, r3, blocks, A, B, learned, pres)


def _order(sets, n):
    idx = list(np.concatenate([s for s in sets if len(s)])) if any(len(s) for s in sets) else []
    rest = [i for i in range(n) if i not in set(idx)]
    return np.array(idx + rest, int)


def _plots(ctx, net, r1, r2, r3, blocks, A, B, learned, pres):
    import matplotlib.pyplot as plt

    oc = _order(A, net.populations["cE"].n)
    ov = _order(B, net.populations["vE"].n)
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    # (0,0) C->C weights ordered by assembly
    ax = axes[0, 0]
    W = learned["cE_cE"] / _w_bounds(net, "cE_cE")
    ax.imshow(W[np.ix_(oc, oc)], cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title("C->C weights / w_max (cells ordered by assembly)")
    ax.set_xlabel("pre")
    ax.set_ylabel("post")
    # (0,1) C->V and V->C, bound structure
    ax = axes[0, 1]
    Wcv = learned["cE_vE"] / _w_bounds(net, "cE_vE")
    ax.imshow(Wcv[np.ix_(ov, oc)], cmap="viridis", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    ax.set_title("C->V weights / w_max (rows V, cols C)")
    ax.set_xlabel("C cell")
    ax.set_ylabel("V cell")
    ax = axes[0, 2]
    Wvc = learned["vE_cE"] / _w_bounds(net, "vE_cE")
    ax.imshow(Wvc[np.ix_(oc, ov)], cmap="viridis", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    ax.set_title("V->C weights / w_max (rows C, cols V)")
    ax.set_xlabel("V cell")
    ax.set_ylabel("C cell")
    # (1,0) training raster: first and last presentations
    ax = axes[1, 0]
    s = r1.spikes["cE"][:, oc]
    for t0, lab in ((0, "first"), ((pres - N_PAT) * (ON + OFF), "last")):
        seg = s[t0:t0 + N_PAT * (ON + OFF)]
        tt, ii = np.nonzero(seg)
        off = 0 if lab == "first" else N_PAT * (ON + OFF) + 200
        ax.plot((tt + off) / 1000, ii, ",", color="k" if lab == "first" else "C0")
    ax.set_title(f"C spikes: first / last 5 of {pres} presentations")
    ax.set_xlabel("s (two segments)")
    ax.set_ylabel("C cell (by assembly)")
    # (1,1) recall raster: C and V during the tests
    ax = axes[1, 1]
    sc = r3.spikes["cE"][:, oc]
    sv = r3.spikes["vE"][:, ov]
    tt, ii = np.nonzero(sc)
    ax.plot(tt / 1000, ii, ",", color="C0")
    tt, ii = np.nonzero(sv)
    ax.plot(tt / 1000, ii + sc.shape[1] + 10, ",", color="C3")
    for tst, k, t in blocks:
        if k == 0:
            ax.axvline(t / 1000, color="0.6", lw=0.5)
            ax.text(t / 1000, sc.shape[1] + sv.shape[1] + 15, tst, fontsize=7)
    ax.set_title("recall tests: C (blue) and V (red) spikes")
    ax.set_xlabel("s")
    ax.set_yticks([])
    # (1,2) summary bars
    ax = axes[1, 2]
    rows = {r["key"]: r["value"] for r in ctx.rows}
    keys = [("cue_own", "cue: own"), ("cue_own_untrained", "cue: own (untr.)"), ("cue_other", "cue: other"),
            ("small_cue_own", "3-input cue: own"), ("small_cue_untrained", "3-input cue: own (untr.)"),
            ("c_to_v_own", "C->V: own"), ("c_to_v_other", "C->V: other"), ("v_to_c_own", "V->C: own"),
            ("v_to_c_own_untrained", "V->C: own (untr.)"), ("v_to_c_other", "V->C: other"),
            ("bidir_bound", "bidir strong: bound"), ("bidir_other", "bidir strong: other")]
    ax.barh([lab for _, lab in keys][::-1], [rows[k] for k, _ in keys][::-1],
            color=["C2" if "own" in k and "untr" not in k or k == "bidir_bound" else "0.6" for k, _ in keys][::-1])
    ax.set_xlim(0, 1)
    ax.set_title("recall and binding (fractions)")
    fig.suptitle(f"assemblies on {ctx.run_label}{' (short)' if ctx.short else ''}")
    ctx.save_figure(fig, "summary", dpi=100)
