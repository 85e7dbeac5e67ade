#!/usr/bin/env bash
# Regenerate constraints.txt, the pinned set that `make` installs (scripts/bootstrap.sh
# installs neurohebb[dev] with `pip install -c constraints.txt`).  Run as `make lock`
# after changing a dependency in pyproject.toml.
#
# The lock is for Python 3.10 on Linux x86_64 (the interpreter pip-compile runs on decides
# the environment markers and wheels); pip-compile (pip-tools, pinned below) runs in its own
# venv, .venv-lock, never in .venv.  Existing pins are kept unless they conflict with
# pyproject.toml; pass pip-compile options to move them:
#   make lock                               # add/remove what pyproject.toml changed, keep the rest
#   make lock LOCK_ARGS=--upgrade           # newest versions of everything
#   make lock LOCK_ARGS="--upgrade-package numba"
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/py310.sh
PIP_TOOLS="pip-tools==7.7.0"
PIP="pip==26.3"
LOCK_VENV=${LOCK_VENV:-.venv-lock}
OUT=${LOCK_FILE:-constraints.txt}

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "neurohebb lock: constraints.txt is for Linux x86_64; this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi
if ! "$LOCK_VENV/bin/pip-compile" --version 2>/dev/null | grep -q "${PIP_TOOLS#pip-tools==}"; then
  PY=$(find_py310) || { echo "neurohebb lock: $PY310_MISSING" >&2; exit 1; }
  echo "neurohebb lock: creating $LOCK_VENV ($PIP_TOOLS) with $PY"
  "$PY" -m venv --clear "$LOCK_VENV"
  "$LOCK_VENV/bin/python" -m pip install -q "$PIP" "$PIP_TOOLS" 2>&1 | grep -v "^WARNING: Location" || true
fi
# pip-compile reads the machine's pip configuration (indexes, find-links) to resolve but
# writes none of it; the header names the command to run instead of its own long form.
# Its log (mostly build-backend warnings of sdists) is shown only when it fails.
LOG="$LOCK_VENV/pip-compile.log"
if ! CUSTOM_COMPILE_COMMAND="make lock" "$LOCK_VENV/bin/pip-compile" --quiet --extra dev --strip-extras \
     --allow-unsafe --no-emit-index-url --no-emit-find-links --output-file "$OUT" ${LOCK_ARGS:-} "$@" pyproject.toml \
     >"$LOG" 2>&1; then
  cat "$LOG" >&2
  echo "neurohebb lock: pip-compile failed (log above, also in $LOG)" >&2
  exit 1
fi
# The dev extra names neurohebb itself (neurohebb[lava,...]): pip-compile then lists the
# checkout ("neurohebb @ file:///..."), which is not a pin and would not hold on another machine.
"$LOCK_VENV/bin/python" - "$OUT" <<'PY'
import re, sys
path = sys.argv[1]
out, skip = [], False
for line in open(path).read().splitlines():
    if re.match(r"^neurohebb\b", line):
        skip = True
        continue
    if skip and line.startswith("    #"):
        continue
    skip = False
    out.append(line)
open(path, "w").write("\n".join(out) + "\n")
n = sum(1 for l in out if re.match(r"^[A-Za-z0-9]", l))
print(f"neurohebb lock: {path}: {n} pinned packages")
PY
