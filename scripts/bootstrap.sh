#!/usr/bin/env bash
# Create .venv with Python 3.10 and install neurohebb with everything the tests,
# the examples and the benchmarks need. Idempotent: does nothing when the venv is current.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
STAMP="$VENV/.neurohebb-installed"
if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ]; then exit 0; fi

find_py310() {
  local c
  for c in "${PYTHON310:-}" python3.10; do
    [ -n "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2]==(3,10)' >/dev/null 2>&1 && { command -v "$c" || echo "$c"; return 0; }
  done
  for c in "$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -x "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2]==(3,10)' >/dev/null 2>&1 && { echo "$c"; return 0; }
  done
  return 1
}
if [ ! -x "$VENV/bin/python" ]; then
  PY=$(find_py310) || { echo "neurohebb set-up: Python 3.10 not found (lava-nc 0.10 needs >=3.10,<3.11). Install it (e.g. 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10." >&2; exit 1; }
  echo "neurohebb set-up: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
echo "neurohebb set-up: installing neurohebb[dev] into $VENV"
"$VENV/bin/python" -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import neurohebb" 
touch "$STAMP"
