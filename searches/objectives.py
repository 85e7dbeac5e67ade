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
