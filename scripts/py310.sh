# Sourced by bootstrap.sh and lock.sh: find_py310 prints a Python 3.10 interpreter.
# lava-nc 0.10 needs >=3.10,<3.11; set PYTHON310=/path/to/python3.10 to choose one.
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
PY310_MISSING="Python 3.10 not found (lava-nc 0.10 needs >=3.10,<3.11). Install it (e.g. 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10."
