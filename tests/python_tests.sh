#!/usr/bin/env bash
# Runs the Python package's tests in the venv that `make test` prepares (the test tools), against
# the package staged in the build tree (RIDGELINE_PYTHON_TREE, set by ctest when the module is
# built there) or, without one, the package pip-installed in the venv (`make python`).
SRC="$1"
PY="${RIDGELINE_VENV:-$SRC/.venv}/bin/python"
if [ -n "${RIDGELINE_PYTHON_TREE:-}" ]; then
  [ -f "$RIDGELINE_PYTHON_TREE/ridgeline/__init__.py" ] || { echo "FAIL: no staged package in $RIDGELINE_PYTHON_TREE"; exit 1; }
  export PYTHONPATH="$RIDGELINE_PYTHON_TREE${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ ! -x "$PY" ] || ! "$PY" -c "import pytest" 2>/dev/null; then
  echo "skipped: no venv with the test tools (run 'make test')"
  exit 77
fi
if ! "$PY" -c "import ridgeline" 2>/dev/null; then
  echo "skipped: the ridgeline package is neither built here nor installed in the venv (run 'make test' or 'make python')"
  exit 77
fi
cd "$SRC" && exec "$PY" -m pytest -q python/tests
