"""Writes the regression documents of this folder (run once; the files are committed)."""
import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
BASE = """format_version: "1.0"
name: {name}
populations:
  inputs: {{type: poisson, n: 20, rates: {rates}}}
  out: {{type: lif, n: 2, du: 0.2, dv: 0.1, vth: {vth}, refractory: 2, bias: {bias}}}
projections:
  syn:
    pre: inputs
    post: out
    sign: excitatory
    weights: {{init: constant, value: {w}}}
    bounds: {bounds}
    delay: {delay}
    rule: {rule}
{extra}probes:
  w: {{target: syn, var: weights, every: 50}}
run: {{dt: {dt}, steps: {steps}, seed: {seed}}}
"""
D = dict(name="hostile", rates=20.0, vth=1.0, bias=0.0, w=0.05, bounds="[0.0, 0.1]", delay=0,
         rule="{template: stdp_pair, a_plus: 0.001, a_minus: 0.00105, tau_plus: 20, tau_minus: 20}", extra="",
         dt=1.0, steps=200, seed=1)


def doc(fname, **kw):
    (HERE / fname).write_text(BASE.format(**{**D, **kw}))


def custom(dw, impulse=1.0):
    return "{template: custom, dw: '%s', traces: {x1: {impulse: %s, tau: 20}, y1: {impulse: 1, tau: 20}}}" % (dw, impulse)


doc("nan_weight.yaml", w=".nan")
doc("inf_bounds.yaml", bounds="[0.0, .inf]")
doc("nan_impulse.yaml", rule=custom("0.001*x0*y1", ".nan"))
doc("inf_bias.yaml", bias="-.inf")
doc("nan_rates.yaml", rates="[.nan, 1.0]")
doc("nan_modulator.yaml", rule="{template: custom, dw: '0.001*x0*r', modulator: m}",
    extra="modulators:\n  m: {type: constant, value: .nan}\n")
doc("nan_dt.yaml", dt=".nan")
doc("huge_n.yaml", rates="[1.0]", extra="")
(HERE / "huge_n.yaml").write_text((HERE / "huge_n.yaml").read_text().replace("n: 2,", "n: %d," % 10**100))
doc("huge_steps.yaml", steps=10**100)
doc("huge_delay.yaml", delay=10**100)
doc("huge_seed.yaml", seed=10**100)
doc("memory_steps.yaml", steps=2_000_000_000)
doc("memory_probe.yaml")
(HERE / "memory_probe.yaml").write_text((HERE / "memory_probe.yaml").read_text()
                                        .replace("n: 20,", "n: 200000,").replace("every: 50", "every: 1").replace("steps: 200,", "steps: 20000,"))
doc("duplicate_key.yaml", extra="run: {steps: 5}\n")
doc("complex_coefficient.yaml", rule=custom("(-1)**0.5*x0*y1"))
doc("inf_coefficient.yaml", rule=custom("1e400*x0*y1"))
doc("pow_coefficient.yaml", rule=custom("10**400*u"))
doc("many_factors.yaml", rule=custom("0.001*u*" + "*".join(["x1"] * 1200)))
doc("many_products.yaml", rule=custom(" + ".join(["0.001*x0*y1"] * 80)))
(HERE / "empty_populations.yaml").write_text('format_version: "1.0"\npopulations: {}\n')
doc("newline_name.yaml")
(HERE / "newline_name.yaml").write_text((HERE / "newline_name.yaml").read_text().replace("  out:", '  "out\\n":'))
doc("name_absolute.yaml", name='"/tmp/neurohebb_escape/x"')
doc("name_parent.yaml", name='"../.."')
doc("os_system.yaml", extra="")
(HERE / "os_system.yaml").write_text((HERE / "os_system.yaml").read_text().replace(
    "projections:", "  evil: {type: external, n: 1, function: 'os:system', params: {command: 'touch HOSTILE_PWNED'}}\n"
                    "projections:", 1))
doc("imported_factory.yaml")
(HERE / "imported_factory.yaml").write_text((HERE / "imported_factory.yaml").read_text().replace(
    "projections:", "  evil: {type: external, n: 1, function: 'neurohebb.environments.reversal:np'}\n"
                    "projections:", 1))
# text-level
base = BASE.format(**D).encode()
(HERE / "non_utf8.yaml").write_bytes(base.replace(b"name: hostile", b"name: caf\xe9"))
bomb = [b"a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
    ("a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9))).encode() for i in range(1, 10)]
(HERE / "alias_bomb.yaml").write_bytes(b"\n".join(bomb) + b"\n")
(HERE / "deep_nesting.yaml").write_bytes(base + b"extra: " + b"[" * 50000 + b"]" * 50000 + b"\n")
(HERE / "recursive_alias.yaml").write_bytes(base + b"extra: &r [1, *r]\n")
(HERE / "python_tag.yaml").write_bytes(base + b"extra: !!python/object/apply:os.system ['touch HOSTILE_PWNED']\n")
# .npz beside the document
ref = BASE.format(**{**D, "rates": "'npz:rates'"})


def npz_doc(name, payload: bytes, text=ref):
    (HERE / f"{name}.yaml").write_text(text)
    (HERE / f"{name}.npz").write_bytes(payload)


def member(key, arr, allow_pickle=False):
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=allow_pickle)
    return key + ".npy", b.getvalue()


def zipped(*members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()


obj = np.empty(2, dtype=object)
obj[0], obj[1] = {"a": 1}, [1, 2]
npz_doc("npz_pickled", zipped(member("rates", obj, allow_pickle=True)))
npz_doc("npz_corrupt", b"PK\x03\x04" + bytes(range(256)) * 2)
hdr = io.BytesIO()
np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
npz_doc("npz_huge_header", zipped(("rates.npy", hdr.getvalue() + b"\0" * 64)))
npz_doc("npz_nan", zipped(member("rates", np.array([1.0, np.nan] * 10))))
npz_doc("npz_complex", zipped(member("rates", np.ones(20, complex))))
npz_doc("npz_truncated", zipped(member("rates", np.ones(20000)))[:300])
npz_doc("npz_unreferenced_corrupt", b"this is not a zip file", text=BASE.format(**D))
# valid documents whose run overflows
doc("overflow_weights.yaml", bounds="null", rule="{template: custom, dw: '1e300*u*w'}", steps=300)
(HERE / "overflow_rate.yaml").write_text('''format_version: "1.0"
name: overflow_rate
populations:
  x: {type: array, values: [[1.0]], repeat: true}
  r: {type: rate, n: 1}
projections:
  p: {pre: x, post: r, weights: {init: constant, value: 1.0}}
  loop: {pre: r, post: r, weights: {init: constant, value: 1.0e+10}}
run: {steps: 150}
''')
# valid documents the chip compiler must refuse
doc("negative_impulse.yaml", rule=custom("0.001*x0*y1 - 0.001*y0*x1", -1.0))
doc("u_times_e.yaml", rule="{template: custom, dw: '0.001*u*e'}")
doc("tiny_threshold.yaml", vth=1e-320)
doc("saturating_fixed.yaml", rates=200.0, w=0.1, bounds="[0.0, 0.2]", steps=400,
    rule="{template: stdp_pair, a_plus: 0.05, a_minus: 0.01, tau_plus: 20, tau_minus: 20}")
