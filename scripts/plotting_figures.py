"""Regenerate the pictures of docs/plotting.md (about a minute):

    PYTHONPATH=. python scripts/plotting_figures.py
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script that writes files chooses its backend; the library never does

import neurohebb as nh  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "plotting"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    net = nh.load(Path(nh.__file__).parent / "examples" / "stdp_song.yaml")
    res = nh.run(net, steps=20_000, progress=False)
    nh.plot.save(nh.plot.weights(res, "syn"), OUT / "weights.png")
    nh.plot.save(res.plot.final_weights("syn"), OUT / "final_weights.png")
    nh.plot.save(res.plot.raster("out"), OUT / "raster.png")
    nh.plot.save(res.plot.rates("out"), OUT / "rates.png")
    cmp = nh.compare(net, seeds=3, steps=20_000, drift=True)
    cmp.plot(OUT / "comparison.png")
    cmp.plot_drift(OUT / "drift.png")
    print(cmp.table())


if __name__ == "__main__":
    main()
