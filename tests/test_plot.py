"""neurohebb.plot returns Figures and never touches the backend; compare's
plot, drift split and compile's forecast; the CLI's names and flags."""
import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import neurohebb as nh
from neurohebb import plot, plotting
from neurohebb.cli import main
from neurohebb.compare import compare
from neurohebb.errors import NotExpressible
from neurohebb.ir.io import from_dict

from test_result import song


@pytest.fixture
def no_backend_switch(monkeypatch):
    before = matplotlib.get_backend()

    def forbidden(*a, **k):
        raise AssertionError("the library must not select a matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", forbidden)
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "switch_backend", forbidden)
    yield
    assert matplotlib.get_backend() == before


def test_result_plots_are_figures(no_backend_switch):
    import matplotlib.pyplot as plt

    res = nh.run(song(), progress=False)
    figs = [plot.weights(res, "syn"), plot.final_weights(res, "syn"), plot.raster(res, "out"),
            plot.rates(res, "inputs"), res.plot.weights("syn", max_lines=5), res.plot.raster("out")]
    for f in figs:
        assert isinstance(f, Figure) and f.axes
    # the weights plot starts at the initial weights (t = 0) and ends at the final ones (t = steps * dt)
    ax = figs[0].axes[0]
    mean_line = ax.get_lines()[-1]
    x, y = mean_line.get_data()
    assert x[0] == 0 and x[-1] == pytest.approx(res.steps * res.dt / 1000)
    assert y[0] == pytest.approx(res.initial_weights["syn"].mean()) and y[-1] == pytest.approx(res.weights["syn"].mean())
    # draw into the user's own axes
    fig, axes = plt.subplots(1, 2)
    assert plot.weights(res, "syn", ax=axes[0]) is fig and plot.raster(res, "out", ax=axes[1]) is fig
    plt.close("all")


def test_library_never_selects_a_backend():
    """Only the CLI (its own process) selects Agg; the library and the experiments never do."""
    from pathlib import Path

    root = Path(nh.__file__).resolve().parents[1]
    files = [f for f in (root / "neurohebb").rglob("*.py") if f.name != "cli.py"]
    files += list((root / "sims").glob("*/experiment.py"))
    assert len(files) > 20
    for f in files:
        text = f.read_text()
        assert "matplotlib.use(" not in text and "switch_backend" not in text, f


def test_run_and_demo_name_plots_alike(tmp_path):
    net = song()
    res = nh.run(net, progress=False)
    files = sorted(p.name for p in plotting.all_plots(res, net, tmp_path, "song_small"))
    assert files == ["song_small_out_raster.png", "song_small_syn_final_weights.png",
                     "song_small_syn_weights_over_time.png"]
    # neurohebb run writes the same names (and a loadable result with the document)
    nh.save(net, tmp_path / "song_small.yaml")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "song_small.yaml"), "--out", str(out), "--quiet"]) == 0
    assert {p.name for p in out.glob("*.png")} == set(files)
    back = nh.load_result(out / "song_small_reference_float.npz")
    assert back.network.name == "song_small" and back.steps == net.run.steps


def small_song_doc(weights_probe_every=None, steps=3000):
    doc = {
        "name": "cmp_small",
        "populations": {"inputs": {"type": "poisson", "n": 80, "rates": 15.0},
                        "out": {"type": "lif", "n": 4, "du": 0.1813, "dv": 0.0952, "vth": 1.0}},
        "projections": {"syn": {"pre": "inputs", "post": "out", "sign": "excitatory",
                                "weights": {"init": "uniform", "low": 0.0, "high": 0.06}, "bounds": [0.0, 0.06],
                                "rule": {"template": "stdp_pair", "a_plus": 6e-4, "a_minus": 6.3e-4}}},
        "run": {"steps": steps, "seed": 1},
    }
    if weights_probe_every:
        doc["probes"] = {"w": {"target": "syn", "var": "weights", "every": weights_probe_every}}
    return doc


def test_compare_plot_keeps_its_history_with_a_coarse_document_probe(no_backend_switch):
    """A document's own weights probe (here: one sample) no longer flattens compare's plot."""
    cmp = compare(from_dict(small_song_doc(weights_probe_every=100_000)), seeds=1, history_every=100, drift=False)
    for run in cmp.runs:
        t, m = cmp.histories[run]["syn"]
        # initial weights (0 steps), the probe after steps 0, 100, ... (1, 101, ...) and the final weights
        assert len(t) == 3000 // 100 + 2 and t[0] == 0 and t[1] == 1 and t[-1] == 3000
        assert np.ptp(m) > 0  # the weights move
    fig = cmp.plot()
    assert isinstance(fig, Figure)
    line = fig.axes[0].get_lines()[0]
    assert len(line.get_xdata()) == len(t)


def test_compare_drift_by_cause_names_the_saturated_trace():
    doc = small_song_doc()
    net = from_dict(doc)
    cmp = compare(net, seeds=1, compile_options={"trace_impulses": {"syn": {"y1": 120}}}, drift=True)
    d = cmp.drift()["syn"]
    assert set(d["causes"]) == {"coefficient rounding", "fixed-point arithmetic"}
    for v in list(d["causes"].values()) + [d["total"]]:
        assert np.isfinite(v["rmse_lsb"]) and v["rmse_lsb"] >= 0
    # y1 (impulse 120 of 127) saturates on every second post spike; x1 keeps its default impulse and does not
    assert d["saturated_traces"]["y1"] > 0 and d["saturated_traces"]["x1"] == 0
    text = cmp.table()
    assert "saturated traces: y1" in text and "coefficient rounding" in text
    # the coefficient-rounding run is the float run of the rounded rule: zero when nothing is rounded away
    assert isinstance(cmp.plot_drift(), Figure)


def test_forecast_predicts_the_fixed_runs_saturation():
    """The compile report's forecast (a float run) against the fixed run's own saturation counters."""
    net = from_dict(small_song_doc(steps=2000))
    from neurohebb.forecast import forecast_trace_saturation

    prog, rep = nh.compile(net, trace_impulses={"syn": {"x1": 100}})
    assert forecast_trace_saturation(prog, steps=2000) is rep
    fc = {f["trace"]: f for f in rep.forecast}
    assert fc["x1"]["saturated"] > 0 and "lower its impulse" in fc["x1"]["advice"]
    assert fc["y1"]["saturated"] == 0
    # the forecast's mean trace is the closed form for Poisson input: I * p / (1 - exp(-1/tau))
    p = 15.0 / 1000
    closed = 100 * p / (1 - np.exp(-1 / 20))
    assert fc["x1"]["mean"] == pytest.approx(closed, rel=0.15)
    from neurohebb.backends.reference.fixed import run_program

    res = run_program(prog, progress=False)
    sat = res.report["saturation"]["syn"]["trace_saturations"]
    assert sat["x1"] > 0 and sat["y1"] == 0
    text = rep.format()
    assert "Trace saturation forecast" in text and "--trace-impulses syn.x1=" in text


def test_refused_coefficient_names_what_would_work():
    doc = small_song_doc()
    doc["projections"]["syn"]["rule"] = {"template": "custom", "dw": "0.002*y0*e",
                                         "de": "0.001*y0*x1 - 0.00995*u*e",
                                         "traces": {"x1": {"impulse": 1, "tau": 20}}}
    with pytest.raises(NotExpressible) as ei:
        nh.compile(from_dict(doc))
    msg = str(ei.value)
    # -0.00995 per step (tau_e ~ 100) is 21 % from 2^-7: the nearest that work, and as time constants
    assert "nearest coefficients that work: -0.0078125 or -0.015625" in msg
    assert "tau = 128 or 64 steps" in msg and "the smallest per-step decay is 0.007812" in msg


def test_cli_compile_flags(capsys, tmp_path):
    f = tmp_path / "s.yaml"
    nh.save(from_dict(small_song_doc()), f)
    assert main(["compile", str(f), "--trace-impulses", "syn.x1=100", "--forecast-steps", "1000"]) == 0
    out = capsys.readouterr().out
    assert "syn.x1" in out and "lower its impulse" in out and "100 + " not in out
    assert main(["compile", str(f), "--timing", "inclusive", "--forecast-steps", "0"]) == 0
    out = capsys.readouterr().out
    assert "timing of syn changed" in out and "exclusive timing" not in out and "Trace saturation" not in out
    assert main(["compile", str(f), "--trace-impulses", "syn.z9=3"]) == 2
    assert "has no trace z9" in capsys.readouterr().err
    assert main(["compile", str(f), "--trace-impulses", "x1"]) == 2
    assert "PROJECTION.TRACE=IMPULSE" in capsys.readouterr().err


def test_cli_rules_prints_allowed_values(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "Literal" not in out and "Optional" not in out
    assert "'exclusive' or 'inclusive'" in out
    assert "'additive' or 'multiplicative' or 'van_rossum'" in out
    assert "absolute weight change" in out  # the triplet amplitudes say what they are
