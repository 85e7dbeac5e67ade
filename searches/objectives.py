"""Objective functions of the shipped searches that need more than one metric of
an experiment's run (``objective.function: objectives.py:NAME`` in a spec).

A function gets the network with the candidate rule in place and returns a
float or a dict with ``score`` (the other keys are stored as metrics).
"""
from __future__ import annotations

import math


def credit_assignment(net, backend="reference", precision="float", seed=None):
    """sims/credit_assignment, the document's training only (the candidate rule on
    b_out; the experiment's full run also trains four comparison rule sets):

        score = test accuracy - 0.25 * angle(W2^T, B) / 90 degrees

    (an undefined angle, B decayed to 0, counts as 90 degrees).  Accuracy
    dominates; among rules of equal accuracy the one whose B aligns with W2^T
    wins: Kunin et al.'s two measures of a credit-assignment rule."""
    from neurohebb.sims import SimContext, load_experiment, sims_root

    mod = load_experiment("credit_assignment")
    ctx = SimContext("credit_assignment", sims_root() / "credit_assignment", backend, precision, None, True, seed)
    steps, _ = mod.protocol_steps(ctx, net)
    r = mod.train(ctx, net, steps)
    angle = r["alignment_deg"]
    a = 90.0 if angle is None or math.isnan(angle) else angle
    return {"score": r["accuracy"] - 0.25 * a / 90.0, "accuracy": r["accuracy"], "alignment_deg": angle,
            "train_accuracy": r["train_accuracy"], "norm_ratio": r["norm_ratio"]}


def assemblies_contrast(net, backend="reference", precision="fixed", seed=None):
    """sims/assemblies (short protocol) with the candidate rule on cE_cE:

        score = ee_within - ee_within / ee_ratio
              = (mean C->C weight within assemblies - mean between) / w_max

    The experiment's ee_ratio alone (within / between) rewards rules that
    silence the between-assembly weights while the within ones stay tiny
    (ratios of 1e8 with within-weights at 1 % of w_max were found); the
    contrast in units of w_max needs strong within and weak between weights,
    which is what an assembly is.  Other metrics are kept for the table."""
    from neurohebb.sims import run_sim

    rule = net.projections["cE_cE"].rule.model_dump(exclude_defaults=False)
    res = run_sim("assemblies", backend=backend, precision=precision, short=True, seed=seed,
                  overrides={"cE_cE": rule})
    m = res["metrics"]
    within, ratio = m["ee_within"], m["ee_ratio"]
    between = within / ratio if ratio > 0 else within
    keep = ("ee_ratio", "ee_within", "selectivity", "asm_min", "bidir_bound", "bidir_other", "cue_own",
            "small_cue_own", "small_cue_gain")
    return {"score": within - between, "ee_between": between, **{k: m[k] for k in keep if k in m}}
