"""Train, freeze, test, checkpoint: the Simulator tutorial (docs/simulator.md).

    python docs/examples/train_test.py [--train 60000] [--test 10000] [--out docs/img]

Song, Miller & Abbott's STDP network learns for ``--train`` steps; then its
weights are frozen and the network is tested on the same input statistics;
a checkpoint taken after training resumes bit for bit."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import neurohebb as nh

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=60_000)
    ap.add_argument("--test", type=int, default=10_000)
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    a = ap.parse_args(argv)
    net = nh.load(ROOT / "neurohebb" / "examples" / "stdp_song.yaml")

    with nh.Simulator(net, precision="float") as sim:
        w0 = sim.weights("syn")
        sim.run(a.train)                           # 1. learn
        train = sim.result()
        w_trained = sim.weights("syn")
        ckpt = sim.save(Path(tempfile.mkdtemp()) / "song_trained.npz")

        sim.clear()                                # 2. test with frozen weights
        sim.set_plasticity("syn", on=False)
        sim.run(a.test)
        test = sim.result()
        assert np.array_equal(sim.weights("syn"), w_trained)

    resumed = nh.Simulator.load(ckpt)              # 3. the checkpoint: same state, bit for bit
    resumed.clear()                                #    (it also holds what was recorded before it)
    resumed.set_plasticity("syn", on=False)
    resumed.run(a.test)
    same = np.array_equal(resumed.result().spikes["out"], test.spikes["out"])

    import matplotlib
    matplotlib.use("Agg")  # this script writes files; in a notebook, leave the backend alone
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    bins = np.linspace(0, net.projections["syn"].bounds[1], 41)
    ax[0].hist(w0.ravel(), bins, alpha=0.6, label="initial")
    ax[0].hist(w_trained.ravel(), bins, alpha=0.6, label=f"after {a.train} steps of STDP")
    ax[0].set_xlabel("weight")
    ax[0].set_ylabel("synapses")
    ax[0].legend(fontsize=8)
    rt = train.rates("out")
    rs = test.rates("out")
    ax[1].bar(np.arange(len(rt)) - 0.2, rt, 0.4, label="training (plastic)")
    ax[1].bar(np.arange(len(rs)) + 0.2, rs, 0.4, label="test (frozen)")
    ax[1].set_xlabel("output neuron")
    ax[1].set_ylabel("rate (Hz)")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "simulator_train_test.png", dpi=110)
    print(f"trained mean weight {w_trained.mean():.4g} (initial {w0.mean():.4g}); training rate {rt.mean():.3g} Hz, "
          f"test rate {rs.mean():.3g} Hz; resumed checkpoint identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
