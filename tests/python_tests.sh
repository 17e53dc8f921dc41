#!/usr/bin/env bash
# Runs the Python package's tests in the venv that `make python` (part of `make test`) builds.
SRC="$1"
PY="${RIDGELINE_VENV:-$SRC/.venv}/bin/python"
if [ ! -x "$PY" ] || ! "$PY" -c "import ridgeline" 2>/dev/null; then
  echo "skipped: no venv with the ridgeline package (run 'make test' or 'make python')"
  exit 77
fi
cd "$SRC" && exec "$PY" -m pytest -q python/tests
