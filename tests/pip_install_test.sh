#!/usr/bin/env bash
# `pip install .` gives the Python module and a `ridgeline` command that is the C++ CLI, working
# from outside the source tree with the data shipped in the package. pip builds the wheel from the
# source tree (what `pip install .` does first) with the build backend of the test-tools venv, and
# installs it into a fresh venv that has no build tools. Extra pip arguments: $RIDGELINE_PIP_ARGS.
# The build reuses build-python/ (incremental after a first run or `make python`): scikit-build-core
# clears its build folder whenever it runs from another installation of itself, so a backend
# installed into the fresh venv recompiled everything on every run (measured: 270 CPU-s each time).
set -euo pipefail
SRC="$1"
# Part of `make test`: the first run compiles the wheel's 36 files once more (unoptimised, below: ~350 CPU-s on a slow 2-core VM), later
# runs only what changed. RIDGELINE_PIP_TEST=0 skips it.
if [ "${RIDGELINE_PIP_TEST:-1}" = 0 ]; then
  echo "skipped: RIDGELINE_PIP_TEST=0"
  exit 77
fi
BASE_PY="${RIDGELINE_VENV:-$SRC/.venv}/bin/python"
if [ ! -x "$BASE_PY" ] || ! "$BASE_PY" -c "import scikit_build_core, pybind11" 2>/dev/null; then
  echo "skipped: no venv with scikit-build-core and pybind11 (run 'make python')"
  exit 77
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The wheel is built unoptimised (CMAKE_BUILD_TYPE Debug: -O0, no LTO), which compiles in about a
# third of the CPU time of the Release wheel a user's `pip install .` builds: this test checks the
# packaging (the wheel's module, CLI and data, installed away from the tree); the Release code is
# what the main build compiles and the rest of the suite tests. RIDGELINE_PIP_RELEASE=1 builds the
# Release wheel here too.
BUILD_TYPE_ARG="-Ccmake.build-type=Debug"
[ "${RIDGELINE_PIP_RELEASE:-0}" = 1 ] && BUILD_TYPE_ARG=""
# shellcheck disable=SC2086
"$BASE_PY" -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w "$WORK/dist" \
  $BUILD_TYPE_ARG ${RIDGELINE_PIP_ARGS:-} "$SRC"
# The fresh venv from the same interpreter as the wheel's (its tag must match).
"$("$BASE_PY" -c 'import sys; print(sys._base_executable)')" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$WORK"/dist/ridgeline-*.whl
! "$WORK/venv/bin/python" -c "import scikit_build_core" 2>/dev/null || { echo "FAIL: the fresh venv has build tools"; exit 1; }
cd "$WORK"  # away from the source tree: the installed CLI must find its own data
unset RIDGELINE_DATA_DIR
out=$("$WORK/venv/bin/ridgeline" plan --model deepseek-v3 --hardware h800 --slo "50 ms")
head -5 <<<"$out"  # not `echo | head`: under pipefail, head closing early can kill echo (SIGPIPE)
grep -q "^winner: " <<<"$out" || { echo "FAIL: no winner line"; exit 1; }
# The same plan as JSON, and the module of the same install agrees with it.
"$WORK/venv/bin/ridgeline" plan --model deepseek-v3 --hardware h800 --slo "50 ms" --json >plan.json
"$WORK/venv/bin/python" - <<'PY'
import json, ridgeline as rl
cli = json.load(open("plan.json"))
py = rl.plan("deepseek-v3", "h800", slo="50 ms")
assert cli["winner"] == py["winner"] and cli["ep"]["plan"] == py["ep"]["plan"], (cli["winner"], py["winner"])
assert rl.__file__.startswith(__import__("sys").prefix), rl.__file__  # the installed package, not the tree
print("pip install: CLI and module agree:", py["winner"], round(py["ratio"], 3))
PY
# A bad flag still exits 2 with one line.
set +e
"$WORK/venv/bin/ridgeline" plan --slo "50 GB" 2>err.txt
code=$?
set -e
[ "$code" = 2 ] || { echo "FAIL: exit $code for a bad --slo"; cat err.txt; exit 1; }
echo "PASS"
