"""The fuzz invariant on a sample of mutated shipped documents
(tests/fuzz_documents.py; the full 2,000-variant table is in docs/validation.md):
``neurohebb validate`` exits 2 with a field path (or line and column) or 0;
a valid variant runs a few steps and compiles for loihi2 with exit 0 or 2,
never a traceback, a hang or an unreported NaN; nothing is written outside
--out and no command of the document's choosing runs."""
import fuzz_documents as fz

VARIANTS = 100
GOOD = {"validate": {"ok", "refused"}, "run": {"ok", "refused", "ok-nonfinite-reported"}, "compile": {"ok", "refused"}}


def test_fuzz_invariant(tmp_path):
    results = [fz.evaluate(v, tmp_path, steps=5, timeout=60.0, run_timeout=60.0, run_args=("--no-plots",))
               for v in fz.variants(VARIANTS, seed=20261205)]
    bad = []
    for r in results:
        for stage, ok in GOOD.items():
            if stage in r and r[stage] not in ok:
                bad.append((r["seed_doc"], r["mutations"], stage, r[stage], r["detail"].get(stage, "")[-800:]))
        if r["breach"]:
            bad.append((r["seed_doc"], r["mutations"], "security", r["breach"]))
    assert not bad, "\n\n".join(map(str, bad))
    # the sample exercises both sides of the invariant
    outcomes = {r["validate"] for r in results}
    assert outcomes == {"ok", "refused"}
    assert sum("run" in r for r in results) >= 5
