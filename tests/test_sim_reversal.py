"""reversal (docs/sims.md): the task's closed loop, one trial's update by hand,
stop-learning, the document's own task binding, Nengo = reference, refusals."""
import numpy as np
import pytest

import neurohebb as nh
from neurohebb.environments.reversal import VisuomotorReversal, channel
from neurohebb.errors import NotExpressible, UnsupportedFeature
from neurohebb.sims import run_sim, sims_root

DOC = sims_root() / "reversal" / "network.yaml"


def _params(net, **kw):
    p = {k: v for k, v in net.populations["teach"].params.items() if k != "channel"}
    p.update(kw)
    return p


def _soft_bound_update(w, x, m, eta):
    """The document's rule by hand: eta x [m]_+ (1 - w) - eta x [-m]_+ w."""
    return eta * x * (max(m, 0) * (1 - w) - max(-m, 0) * w)


def test_one_trial_update_by_hand():
    """A trial of 4 steps: act decides at step 1, the task answers at step 2,
    the rule learns at step 3 with r = m and x = the image.  Over several seeds
    the trial is correct or not, gated or not; every case matches the hand result."""
    net = nh.load(DOC)
    changed = 0
    for seed in range(8):
        task = VisuomotorReversal(**_params(net, noise=0.0, seed=seed))
        res = nh.run(net, externals=task.externals(), steps=4, seed=seed, progress=False)
        W0 = res.initial_weights["W"]
        L = task.results()
        x = task.patterns[L["image"][0]]
        h = W0 @ x
        choice = int(np.argmax(h))
        assert L["choice"][0] == choice
        ok = choice == L["correct_action"][0]
        m = (1 if ok else -1) * (2 * np.eye(2)[choice] - 1)
        d = h - h.mean()
        g = np.where(((m > 0) & (d > task.stop_margin)) | ((m < 0) & (d < -task.stop_margin)), 0, 1)
        expected = np.array([[W0[i, j] + _soft_bound_update(W0[i, j], x[j], m[i] * g[i], 0.01) for j in range(40)]
                             for i in range(2)])
        np.testing.assert_allclose(res.weights["W"], expected, rtol=0, atol=1e-15)
        changed += bool(np.any(res.weights["W"] != W0))
    assert 0 < changed < 8      # both learning and stopped trials occurred


def test_stop_learning_blocks_updates_beyond_the_margin():
    task = VisuomotorReversal(noise=0.0, stop_margin=0.1, seed=0)
    task._advance(0)
    t = task.T - 2
    correct = task.correct_action(0, task._img)
    strong = np.zeros(2)
    strong[correct] = 0.5                          # d = +-0.25 > 0.1: correct and confident
    assert np.all(task.teach(t, {"act": strong}) == 0)
    weak = np.zeros(2)
    weak[correct] = 0.1                            # d = +-0.05 < 0.1: still learns
    m = task.teach(t, {"act": weak})
    assert m[correct] == 1 and m[1 - correct] == -1
    wrong = np.zeros(2)
    wrong[1 - correct] = 0.5                       # an error: potentiate the correct, depress the chosen
    m = task.teach(t, {"act": wrong})
    assert m[correct] == 1 and m[1 - correct] == -1


def test_reversals_flip_the_map():
    task = VisuomotorReversal(block=10, block_jitter=3, seed=1)
    r0 = task.reversals[0]
    assert 7 <= r0 <= 13
    for img in range(2):
        assert task.correct_action(r0 - 1, img) != task.correct_action(r0, img)
        assert task.correct_action(0, img) == task.first_map[img]


def test_document_binding_equals_explicit_binding():
    """`neurohebb run sims/reversal/network.yaml` builds one task per run from the
    document (three channels sharing it) - the same as binding it by hand."""
    net = nh.load(DOC)
    a = nh.run(net, steps=400, progress=False)
    task = VisuomotorReversal(**_params(net))
    b = nh.run(net, externals=task.externals(), steps=400, progress=False)
    np.testing.assert_array_equal(a.weights["W"], b.weights["W"])
    c = nh.run(net, steps=400, progress=False)     # a second run starts a fresh task
    np.testing.assert_array_equal(a.weights["W"], c.weights["W"])
    with pytest.raises(ValueError, match="channel 'nope'"):
        channel("nope")


def test_nengo_equals_reference():
    net = nh.load(DOC)
    logs = {}
    for be in ("reference", "nengo"):
        task = VisuomotorReversal(**_params(net))
        r = nh.run(net, backend=be, externals=task.externals(), steps=4 * 150, progress=False)
        logs[be] = (task.results(), r.weights["W"])
    np.testing.assert_array_equal(logs["reference"][0]["choice"], logs["nengo"][0]["choice"])
    np.testing.assert_allclose(logs["reference"][1], logs["nengo"][1], rtol=0, atol=1e-12)


def test_short_shows_stop_learning_against_its_control():
    res = run_sim("reversal", short=True)
    m = res["metrics"]
    assert 10 <= m["relearn_trials"] <= 60
    assert 0.35 <= m["p_after_reversal_error"] <= 0.65
    assert m["control_p_after_reversal_error"] < 0.2 < m["p_after_reversal_error"]
    assert m["control_relearn_trials"] > 1.5 * m["relearn_trials"]


def test_fixed_point_lava_and_loihi_say_why():
    with pytest.raises(UnsupportedFeature, match="external .* fixed-point model"):
        run_sim("reversal", precision="fixed", short=True)
    with pytest.raises(NotExpressible):
        from neurohebb.compiler import compile_network
        compile_network(nh.load(DOC), hardware="loihi2")
    from neurohebb.backends.lava.lowering import check_supported
    probs = dict(check_supported(nh.load(DOC), "float"))
    assert "no Lava lowering" in probs["populations.image"] and "rate neurons" in probs["populations.act"]
