#!/usr/bin/env bash
# Create .venv with Python 3.10 and install neurohebb with everything the tests,
# the examples and the benchmarks need, at the versions pinned in constraints.txt
# (regenerate that file with `make lock`).  Idempotent: does nothing when the venv was
# installed from the current pyproject.toml and constraints.txt (their hash is in the stamp).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/py310.sh
VENV=${VENV:-.venv}
STAMP="$VENV/.neurohebb-installed"
PIP="pip==26.3"
WANT=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -x "$VENV/bin/python" ]; then exit 0; fi

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(find_py310) || { echo "neurohebb set-up: $PY310_MISSING" >&2; exit 1; }
  echo "neurohebb set-up: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
pip_install() {  # pip's output only when it fails
  local log="$VENV/pip-install.log"
  "$VENV/bin/python" -m pip install -q "$@" >"$log" 2>&1 || { grep -v "^WARNING: Location" "$log" >&2; echo "neurohebb set-up: pip install $* failed" >&2; exit 1; }
}
pip_install "$PIP"
echo "neurohebb set-up: installing neurohebb[dev] into $VENV (versions from constraints.txt)"
pip_install -c constraints.txt -e ".[dev]"
# Every pin holds (a package installed by hand at another version would not).
"$VENV/bin/python" - <<'PY'
import re, sys
from importlib.metadata import PackageNotFoundError, version
bad = []
for line in open("constraints.txt"):
    m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
    if not m:
        continue
    name, want = m.groups()
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name}: want {want}, have {have}")
if bad:
    sys.exit("neurohebb set-up: the venv does not match constraints.txt:\n  " + "\n  ".join(bad))
import neurohebb  # noqa: F401
PY
echo "$WANT" > "$STAMP"
