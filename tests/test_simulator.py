"""nh.Simulator: continue, train/test, checkpoints (reference backend, float and fixed).

The claims are exact: ``run(a); run(b)`` equals ``run(a + b)`` bit for bit, a
checkpoint resumed equals the uninterrupted run bit for bit (also after the
writing process was killed with SIGKILL), and plasticity off leaves the
weights untouched while the network keeps spiking."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import neurohebb as nh
from neurohebb.errors import NeurohebbError

ROOT = Path(__file__).resolve().parent.parent


def three_factor_net(steps=400):
    """Poisson -> LIF with reward-modulated STDP (tag e), a decaying pulse
    modulator, a delay of 2 and a static recurrent projection: every kind of
    state the engine carries (ring buffers, traces, tags, modulator memory)."""
    b = nh.Builder("three_factor", steps=steps, seed=3)
    b.population("inp", type="poisson", n=30, rates=40.0)
    b.population("out", type="lif", n=6, du=0.2, dv=0.1, vth=1.0, refractory=2)
    b.projection("p", "inp", "out", sign="excitatory", bounds=(0, 1.0), delay=2,
                 weights={"init": "uniform", "low": 0.1, "high": 0.6},
                 rule={"template": "reward_stdp", "a_plus": 0.02, "a_minus": 0.021, "tau_e": 64,
                       "modulator": "rew"})
    b.projection("rec", "out", "out", weights={"init": "constant", "value": 0.05})
    b.modulator("rew", type="pulses", times=[50, 120, 200, 310], amplitude=1.0, width=5, tau=20)
    b.probe("w", "p", "weights", every=37)
    b.probe("v", "out", "v", every=11)
    return b.build()


def song(steps=600):
    net = nh.load(ROOT / "neurohebb" / "examples" / "stdp_song.yaml")
    return net.model_copy(update={"run": net.run.model_copy(update={"steps": steps})})


def same_result(a, b):
    assert set(a.spikes) == set(b.spikes) and set(a.weights) == set(b.weights)
    for k in a.spikes:
        assert np.array_equal(a.spikes[k], b.spikes[k]), k
    for k in a.weights:
        assert np.array_equal(a.weights[k], b.weights[k]), k
    for k in a.probes:
        assert np.array_equal(a.probes[k].times, b.probes[k].times), k
        assert np.array_equal(a.probes[k].data, b.probes[k].data), k


NETS = {"three_factor": three_factor_net, "song": song}


@pytest.mark.parametrize("precision", ["float", "fixed"])
@pytest.mark.parametrize("name", sorted(NETS))
def test_continue_equals_one_run(name, precision):
    net = NETS[name]()
    steps = net.run.steps
    full = nh.run(net, precision=precision, progress=False, threads=1)
    sim = nh.Simulator(net, precision=precision, threads=1)
    for chunk in (1, steps // 3, steps - 1 - steps // 3):
        sim.run(chunk)
    assert sim.t == steps
    same_result(sim.result(), full)
    assert sim.result().steps == steps


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_checkpoint_resume_equals_uninterrupted(tmp_path, precision):
    # 5000 steps, saved at 1100: after the resume the Poisson trains draw new blocks (every 1024
    # steps) and the fixed-point engine new random blocks (every 4096 epochs), so the restored
    # random generators are used, not only the blocks drawn before the checkpoint
    net = three_factor_net(steps=5000)
    full = nh.run(net, precision=precision, progress=False, threads=1)
    sim = nh.Simulator(net, precision=precision, threads=1)
    sim.run(1100)
    path = sim.save(tmp_path / "ck.npz")
    del sim
    resumed = nh.Simulator.load(path)          # the document stored in the checkpoint
    assert resumed.t == 1100
    resumed.run(net.run.steps - 1100)
    same_result(resumed.result(), full)
    again = nh.Simulator.load(path, network=net)  # or the caller's document, checked against it
    again.run(net.run.steps - 1100)
    same_result(again.result(), full)


def test_checkpoint_of_another_document_is_refused(tmp_path):
    net = three_factor_net()
    sim = nh.Simulator(net, threads=1)
    sim.run(10)
    path = sim.save(tmp_path / "ck.npz")
    other = three_factor_net(steps=401)
    with pytest.raises(NeurohebbError, match="another document"):
        nh.Simulator.load(path, network=other)
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(NeurohebbError, match="not a neurohebb checkpoint"):
        nh.Simulator.load(tmp_path / "junk.npz")


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_plasticity_off_freezes_weights_while_spiking(precision):
    net = three_factor_net()
    sim = nh.Simulator(net, precision=precision, threads=1)
    sim.run(150)
    w_trained = sim.weights("p")
    sim.clear()
    sim.set_plasticity(on=False)
    sim.run(200)
    test = sim.result()
    assert test.spikes["out"].sum() > 0, "the network must keep spiking in the test phase"
    assert np.array_equal(sim.weights("p"), w_trained)
    # and the control: with plasticity on, the same 200 steps change the weights
    ctrl = nh.Simulator(net, precision=precision, threads=1)
    ctrl.run(350)
    assert not np.array_equal(ctrl.weights("p"), w_trained)
    with pytest.raises(NeurohebbError, match="no rule"):
        sim.set_plasticity("rec", on=True)


def test_set_weights_respects_masks_and_units():
    net = three_factor_net()
    sim = nh.Simulator(net, precision="fixed", threads=1)
    W = np.full(sim.weights("p").shape, 0.5)
    sim.set_weights("p", W)
    lsb = sim._session._proj("p").pp.weights.scale
    assert np.max(np.abs(sim.weights("p") - 0.5)) <= lsb
    with pytest.raises(NeurohebbError, match="shape"):
        sim.set_weights("p", W[:, :3])
    with pytest.raises(NeurohebbError, match="finite"):
        sim.set_weights("p", W * np.nan)


def test_reset_returns_to_step_zero():
    net = three_factor_net()
    sim = nh.Simulator(net, threads=1)
    sim.run(100)
    first = sim.result()
    sim.reset()
    assert sim.t == 0
    sim.run(100)
    same_result(sim.result(), first)


def _cli(args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "neurohebb", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k.split("/")[0] in ("spikes", "weights", "probes")}


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    doc = tmp_path / "tf.yaml"
    nh.save(three_factor_net(steps=30_000), doc)
    common = ["run", str(doc), "--quiet", "--threads", "1", "--checkpoint-every", "3000"]
    p = _cli(common + ["--out", str(tmp_path / "a")])
    ckpt = tmp_path / "a" / "three_factor_reference_float.ckpt.npz"
    deadline = time.time() + 240
    while not ckpt.exists() and p.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert p.poll() is None, "the run ended before it could be killed: " + p.stderr.read().decode()[-500:]
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL
    from neurohebb.simulator import Simulator

    t_killed = Simulator.load(ckpt).t
    assert 0 < t_killed < 30_000
    out, err = _cli(common + ["--out", str(tmp_path / "a")]).communicate(timeout=600)
    assert b"resuming from" in err, err.decode()
    ref = _cli(["run", str(doc), "--quiet", "--threads", "1", "--out", str(tmp_path / "b")])
    ref.communicate(timeout=600)
    a = _arrays(tmp_path / "a" / "three_factor_reference_float.npz")
    b = _arrays(tmp_path / "b" / "three_factor_reference_float.npz")
    assert set(a) == set(b) and a
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_tutorial_script_runs(tmp_path):
    """docs/examples/train_test.py (the tutorial's figure), with short phases."""
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "examples" / "train_test.py"), "--train", "3000",
                          "--test", "1000", "--out", str(tmp_path)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "resumed checkpoint identical: True" in out.stdout
    assert (tmp_path / "simulator_train_test.png").stat().st_size > 1000
