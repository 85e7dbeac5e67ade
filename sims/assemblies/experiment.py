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

from neurohebb.sims import QUALITATIVE

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
UNTRAINED = "untrained C->C and C<->V weights (learned input weights only)"
INITIAL = "initial weights (no learning)"
ALL_UNTRAINED = "every weight untrained (plasticity off)"


def _one(ctx, net, pres, seed):
    """Form, bind and test with one seed; returns (values {key: (value, control)}, plot data)."""
    pats = make_patterns()
    # 1. form
    r1 = ctx.run(form_doc(net, pres), seed=seed)
    learned = _learned(r1, ("in_cE", "cE_cE"))
    # 2. bind
    r2 = ctx.run(bind_doc(net, learned), seed=seed)
    learned.update(_learned(r2, ("vE_vE", "cE_vE", "vE_cE")))
    sV = r2.spikes["vE"]
    vresp = np.array([rates(sV, k * (CREATE + GAP) + CREATE // 2, k * (CREATE + GAP) + CREATE) for k in range(N_PAT)])
    B = assemblies_from(vresp)
    # 3. recall: learned weights; untrained C->C and C<->V; every weight untrained
    tdoc, blocks = test_doc(net, learned, B)
    r3 = ctx.run(tdoc, seed=seed)
    untrained = dict(learned)
    for k in ("cE_cE", "vE_vE", "cE_vE", "vE_cE"):
        untrained[k] = r2.initial_weights[k] if k != "cE_cE" else r1.initial_weights[k]
    r3c = ctx.run(test_doc(net, untrained, B)[0], seed=seed)
    none = dict(untrained)
    none["in_cE"] = r1.initial_weights["in_cE"]
    r3u = ctx.run(test_doc(net, none, B)[0], seed=seed)
    sC = r3.spikes["cE"]
    cresp = np.array([rates(sC, t, t + ON) for tst, k, t in blocks if tst == "full"])
    A = assemblies_from(cresp)
    cresp0 = np.array([rates(r3u.spikes["cE"], t, t + ON) for tst, k, t in blocks if tst == "full"])
    A0 = assemblies_from(cresp0)

    def selectivity(resp):
        responders = resp >= ACTIVE_HZ
        return float((responders.sum(0) == 1).sum() / max(responders.any(0).sum(), 1))

    v = {}
    sizes = np.array([len(a) for a in A])
    v["asm_size"] = (sizes.mean(), np.mean([len(a) for a in A0]))
    v["asm_min"] = (sizes.min(), min(len(a) for a in A0))
    v["selectivity"] = (selective := selectivity(cresp), selectivity(cresp0))
    Mee = learned["cE_cE_mask"]
    ratio, w_in, _ = ee_ratio(learned["cE_cE"], Mee, A)
    v["ee_ratio"] = (ratio, ee_ratio(r1.initial_weights["cE_cE"], Mee, A)[0])
    v["ee_within"] = (w_in / _w_bounds(net, "cE_cE"), None)
    Win, Win0 = learned["in_cE"], r1.initial_weights["in_cE"]

    def in_ratio(W):
        own = np.mean([W[np.ix_(A[k], pats[k])].mean() for k in range(N_PAT) if len(A[k])])
        oth = np.mean([W[np.ix_(A[k], np.setdiff1d(pats.ravel(), pats[k]))].mean() for k in range(N_PAT) if len(A[k])])
        return own / max(oth, 1e-12)

    v["in_ratio"] = (in_ratio(Win), in_ratio(Win0))
    vsizes = np.array([len(b) for b in B])
    v["v_asm_size"] = (vsizes.mean(), None)
    v["v_asm_min"] = (vsizes.min(), None)
    strong, strong0 = {}, {}
    for k, pre, post in (("cE_vE", A, B), ("vE_cE", B, A)):
        M = learned[k + "_mask"]
        wmax = _w_bounds(net, k)
        b, o = block_masks(learned[k].shape, pre, post)
        for W, tag in ((learned[k], 0), (r2.initial_weights[k], 1)):
            rb, ro = W[b & M].mean() / wmax, W[o & M].mean() / wmax
            key = f"{k}_ratio"
            v.setdefault(key, [None, None])[tag] = rb / max(ro, 1e-12)
            v.setdefault(f"{k}_bound", [None, None])[tag] = rb
            v.setdefault(f"{k}_other", [None, None])[tag] = ro
        hi = PAPER_INIT[k][1]
        strong[k] = learned[k] > hi / PAPER[k][1] * wmax      # above the initial range
        strong0[k] = r2.initial_weights[k] > hi / PAPER[k][1] * wmax
    bi = learned["cE_vE_mask"] & learned["vE_cE_mask"].T          # (v, c): connected both ways
    bb, bo = block_masks(bi.shape, A, B)
    fr = []
    for st in (strong, strong0):
        both = st["cE_vE"] & st["vE_cE"].T
        fr.append((both[bi & bb].mean() if (bi & bb).any() else np.nan,
                   both[bi & bo].mean() if (bi & bo).any() else np.nan))
    v["bidir_bound"] = (fr[0][0], fr[1][0])
    v["bidir_other"] = (fr[0][1], fr[1][1])
    v["bidir_n"] = (int((bi & bb).sum()), None)
    # recall
    for test, key, t_from, sets, pop in (("cue", "cue", 0, A, "cE"), ("cue_small", "small_cue", 0, A, "cE"),
                                         ("c_to_v", "c_to_v", 0, B, "vE"), ("v_to_c", "v_to_c", C_DELAY, A, "cE")):
        own, oth = recall_fractions(r3.spikes[pop], blocks, test, sets, t_from=t_from)
        own0, oth0 = recall_fractions(r3c.spikes[pop], blocks, test, sets, t_from=t_from)
        v[f"{key}_own"] = (own, own0)
        v[f"{key}_other"] = (oth, oth0)
    return v, (r1, r2, r3, blocks, A, B, learned, cresp, vresp)


def run(ctx):
    net = ctx.load()
    pres = SHORT_PRES if ctx.short else FULL_PRES
    seeds = ctx.seeds(short=1)
    per = [_one(ctx, net, pres, sd) for sd in seeds]

    def val(k):
        return [float(p[0][k][0]) for p in per]

    def ctl(k):
        return [float(p[0][k][1]) for p in per]

    def row(k, label, target=None, control_label=None, source=QUALITATIVE):
        has_c = per[0][0][k][1] is not None
        ctx.metric(k, val(k), label, target=target, control=ctl(k) if has_c else None,
                   control_label=control_label if has_c else "", source=source if target else "")

    src_asm = f"{QUALITATIVE} (Müller et al. 2020: assemblies with strong recurrent weights form for each pattern)"
    src_bind = f"{QUALITATIVE} (Müller et al. 2020: bound C<->V pairs strengthened both ways)"
    src_rec = f"{QUALITATIVE} (Müller et al. 2020: RECALL re-activates the content assembly from V)"
    row("asm_size", "C assembly size (cells, mean of 5)", control_label=ALL_UNTRAINED)
    row("asm_min", "smallest C assembly (cells)", control_label=ALL_UNTRAINED)
    row("selectivity", "C responders that fire for one pattern only", (">=", 0.65), ALL_UNTRAINED, src_asm)
    row("ee_ratio", "C->C weight within / between assemblies", (">=", 2.0), INITIAL, src_asm)
    row("ee_within", "C->C weight within assemblies / w_max")
    row("in_ratio", "input weight from own / other patterns", control_label=INITIAL)
    row("v_asm_size", "V assembly size (cells, mean of 5)")
    row("v_asm_min", "smallest V assembly (cells)")
    row("cE_vE_ratio", "C->V weight, bound / other assembly pairs", (">=", 1.3), INITIAL, src_bind)
    row("vE_cE_ratio", "V->C weight, bound / other assembly pairs", (">=", 1.3), INITIAL, src_bind)
    for k, lab in (("cE_vE", "C->V"), ("vE_cE", "V->C")):
        row(f"{k}_bound", f"{lab} weight / w_max, bound pairs", control_label=INITIAL)
        row(f"{k}_other", f"{lab} weight / w_max, other pairs", control_label=INITIAL)
    row("bidir_bound", "bidirectional pairs with both weights strong, bound", (">=", 0.5), INITIAL, src_bind)
    row("bidir_other", "same, other assembly pairs", control_label=INITIAL)
    row("bidir_n", "bidirectionally connected bound pairs (count)")
    row("cue_own", f"{CUE_FRAC:.0%} cue: active fraction of its C assembly", control_label=UNTRAINED)
    row("cue_other", f"{CUE_FRAC:.0%} cue: active fraction of other C assemblies", control_label=UNTRAINED)
    row("small_cue_own", f"{SMALL_CUE}-input cue: active fraction of its C assembly", (">=", 0.6), UNTRAINED,
        f"{QUALITATIVE} (Müller et al. 2020: recall from a partial cue)")
    row("small_cue_other", f"{SMALL_CUE}-input cue: active fraction of other C assemblies", control_label=UNTRAINED)
    row("c_to_v_own", "pattern, V disinhibited: active fraction of the bound V assembly", control_label=UNTRAINED)
    row("c_to_v_other", "same, other V assemblies", control_label=UNTRAINED)
    row("v_to_c_own", "V assembly driven, no input: active fraction of its C assembly", (">=", 0.5), UNTRAINED,
        src_rec)
    row("v_to_c_other", "same, other C assemblies", control_label=UNTRAINED)
    # compatibility keys (the control values of the rows above)
    ctx.metric("cue_own_untrained", ctl("cue_own"), "cue_own's control (untrained C->C, C<->V)")
    ctx.metric("small_cue_untrained", ctl("small_cue_own"), "small_cue_own's control")
    ctx.metric("v_to_c_own_untrained", ctl("v_to_c_own"), "v_to_c_own's control")
    ctx.metric("ee_ratio_init", ctl("ee_ratio"), "ee_ratio's control (initial weights)")

    ctx.note(f"{'short' if ctx.short else 'full'} protocol: {pres} training presentations "
             f"({pres * (ON + OFF) / 1000:g} s), binding {N_PAT} x ({CREATE} + {GAP}) ms, recall tests "
             f"{len(TESTS)} x {N_PAT} x {ON + OFF} ms (three times: learned, untrained C->C and C<->V, every weight "
             f"untrained); {len(seeds)} seed(s)")
    ctx.note("not claimed: re-creating the bound V assembly from its pattern (c_to_v_own), the 50% cue "
             "(cue_own) and the assembly sizes: they reach about the same values with untrained weights (the "
             "control column), so they do not show binding, completion or learning")
    r1, r2, r3, blocks, A, B, learned, cresp, vresp = per[0][1]
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
