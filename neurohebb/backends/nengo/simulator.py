"""Run a lowered network on ``nengo.Simulator`` (or ``nengo_loihi.Simulator``)
and fill a :class:`~neurohebb.result.Result` exactly as the reference does."""
from __future__ import annotations

import time

import nengo

from ...errors import UnsupportedFeature
from ...ir.validate import validate
from .collect import collect, summary  # noqa: F401  (re-exported)
from .lowering import build, nengo_precision
from .lowering import refuse_dendritic
from ...progress import show_progress

NAME = "nengo"
#: ``float``: nengo.Simulator, the IR's float arithmetic (float64 or float32);
#: ``loihi1``: nengo_loihi.Simulator (emulator), i.e. ``simulator="nengo_loihi"``.
PRECISIONS = ("float", "loihi1")
SIMULATORS = ("nengo", "nengo_loihi")


def run(network, precision="float", seed=None, steps=None, progress=None, simulator=None, target="sim",
        externals=None):
    """Run ``network`` on Nengo; see :func:`neurohebb.run`.

    ``simulator``: ``"nengo"`` (``nengo.Simulator``, default for
    ``precision="float"``) or ``"nengo_loihi"`` (``nengo_loihi.Simulator``,
    emulator ``target="sim"``; the default for ``precision="loihi1"``).
    """
    if precision not in PRECISIONS:
        raise UnsupportedFeature(
            f"nengo backend: precision {precision!r} is not available; known: {', '.join(PRECISIONS)} "
            "(the Loihi-2 fixed-point learning engine is the reference backend's 'fixed' precision)")
    refuse_dendritic(network)
    if simulator is None:
        simulator = "nengo_loihi" if precision == "loihi1" else "nengo"
    if simulator not in SIMULATORS:
        raise UnsupportedFeature(f"nengo backend: simulator {simulator!r} unknown; known: {', '.join(SIMULATORS)}")
    if simulator == "nengo_loihi":
        from .loihi import run_loihi

        if any(p.type == "external" for p in network.populations.values()):
            raise UnsupportedFeature("nengo backend: simulator 'nengo_loihi' does not run external (host step "
                                     "function) populations here; use simulator='nengo' (precision 'float')")
        return run_loihi(network, seed=seed, steps=steps, progress=progress, target=target)
    if precision != "float":
        raise UnsupportedFeature("nengo backend: precision 'loihi1' needs simulator='nengo_loihi'")
    validate(network)
    t0 = time.perf_counter()
    net, h = build(network, seed=seed, steps=steps, externals=externals)
    show = show_progress(progress)
    with nengo_precision(h.dtype):
        sim = nengo.Simulator(net, dt=h.dt, seed=h.seed, progress_bar=show)
    t_build = time.perf_counter() - t0
    with sim:
        sim.run_steps(h.steps, progress_bar=show)
        res = collect(sim, h, NAME, "float")
    t_total = time.perf_counter() - t0
    res.report.update({
        "simulator": "nengo.Simulator", "nengo_version": nengo.__version__, "build_s": t_build,
        "run_s": t_total - t_build,
        "placement": {"host": sorted(h.populations) + sorted(h.network.projections), "chip": []},
        "lowering": summary(h),
    })
    res.wall_time = t_total
    return res
