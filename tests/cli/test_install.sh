#!/usr/bin/env bash
# `cmake --install`: installs into a temporary prefix, runs the installed `ridgeline` from outside
# the source tree with no RIDGELINE_DATA_DIR (it must find share/ridgeline next to its bin/, also
# after the prefix is moved), then builds and runs a consumer project (tests/consumer) that uses
# find_package(ridgeline) and ridgeline::core. Skipped in the sanitizer build (CI time).
set -u
BIN="$1"; SRC="$2"
BUILD="${RIDGELINE_BUILD_DIR:-$(dirname "$BIN")}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
unset RIDGELINE_DATA_DIR

cmake --install "$BUILD" --prefix "$T/prefix" >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "cmake --install"; }
P="$T/prefix"
for f in bin/ridgeline bin/ridgeline-calibrate include/ridgeline/units.hpp include/ridgeline/search.hpp \
  share/ridgeline/hwdb/h800.json share/ridgeline/models/deepseek-v3.json share/ridgeline/examples/deepseek-v3-h800-ep.json \
  lib/cmake/ridgeline/ridgelineConfig.cmake lib/cmake/ridgeline/ridgelineConfigVersion.cmake \
  lib/cmake/ridgeline/ridgelineTargets.cmake; do
  [ -e "$P/$f" ] || fail "not installed: $f"
done
[ -e "$P/include/ridgeline/io" ] && fail "include/ridgeline/io belongs to the I/O library, not the installed core"

# The installed binary, run from an empty folder, reads the installed data: an extra hardware
# file placed only there must show up.
mkdir -p "$T/elsewhere"
python3 - "$P/share/ridgeline/hwdb" <<'PY' || fail "could not write the extra hardware file"
import json, sys
d = json.load(open(sys.argv[1] + "/h800.json"))
d.pop("aliases", None)
if "id" in d: d["id"] = "installcheck"
json.dump(d, open(sys.argv[1] + "/installcheck.json", "w"))
PY
out=$(cd "$T/elsewhere" && "$P/bin/ridgeline" list hardware 2>&1) || fail "installed list hardware: $out"
grep -q "^ *installcheck " <<<"$out" || fail "the installed ridgeline did not read share/ridgeline: $out"
rm "$P/share/ridgeline/hwdb/installcheck.json"
out=$(cd "$T/elsewhere" && "$P/bin/ridgeline" plan --model deepseek-v3 --hardware h800 --slo "50 ms" 2>&1) ||
  fail "installed plan exit $?: $out"
grep -q "winner: " <<<"$out" || fail "installed plan printed no winner: $out"
# Relocatable: the data is found relative to the binary, not at the configured prefix.
mv "$P" "$T/moved"
out=$(cd "$T/elsewhere" && "$T/moved/bin/ridgeline" show h800 2>&1) || fail "moved prefix: $out"
grep -q "h800" <<<"$out" || fail "moved prefix: show h800 printed: $out"
mv "$T/moved" "$P"

# A consumer project: find_package(ridgeline) + ridgeline::core, configured, built and run.
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
cmake -S "$SRC/tests/consumer" -B "$T/consumer" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P" \
  >"$T/consumer.log" 2>&1 || { cat "$T/consumer.log"; fail "consumer configure"; }
cmake --build "$T/consumer" >>"$T/consumer.log" 2>&1 || { cat "$T/consumer.log"; fail "consumer build"; }
out=$("$T/consumer/consumer" 2>&1) || fail "consumer run: $out"
grep -q "consumer ok" <<<"$out" || fail "consumer: $out"
grep -q "memory bound" <<<"$out" || fail "consumer: $out"
echo "ok"
