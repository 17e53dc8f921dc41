#!/usr/bin/env bash
# ridgeline-calibrate m2n --gpudirect, what runs without a GPU or an RDMA NIC: the flag is refused
# off the verbs backend, and in a build without CUDA with a message naming what is missing and the
# fix; in a CUDA build it gets past the flags and ends cleanly (exit 2, saying which device is
# missing) where there is no GPU or NIC, or records GPU memory in the raw file where both exist.
set -u
. "$(dirname "$0")/calibrate_preamble.sh" "$@"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

"$CAL" m2n --help >"$T/help" 2>&1 || fail "m2n --help"
grep -q -- "--gpudirect" "$T/help" || fail "--help does not list --gpudirect"

# Refused before any MPI or device work, in every build.
for b in cpu nccl; do
  "$CAL" m2n --backend $b --gpudirect -M 1 -N 1 >"$T/o" 2>&1; rc=$?
  [ "$rc" = 2 ] && grep -q -- "--gpudirect applies to --backend verbs only" "$T/o" ||
    fail "--backend $b --gpudirect: exit $rc: $(cat "$T/o")"
done

if grep -q "needs a CUDA build: refused in this one" "$T/help"; then
  "$CAL" m2n --backend verbs --gpudirect -M 1 -N 1 >"$T/o" 2>&1; rc=$?
  [ "$rc" = 2 ] || fail "no-CUDA build: --gpudirect exit $rc (want 2): $(cat "$T/o")"
  for want in "needs a CUDA build" "RIDGELINE_WITH_CUDA=ON" "drop --gpudirect"; do
    grep -q -- "$want" "$T/o" || fail "no-CUDA build: message lacks \"$want\": $(cat "$T/o")"
  done
  echo "no-CUDA build: $(head -1 "$T/o")"
else
  grep -q "this build has CUDA" "$T/help" || fail "--help says neither CUDA nor no CUDA: $(cat "$T/help")"
  command -v mpirun >/dev/null 2>&1 || { echo "CUDA build: flags accepted; no mpirun for the run"; echo "1 passed, 0 failed"; exit 0; }
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
  timeout 120 mpirun -np 2 "$CAL" m2n --backend verbs --gpudirect -M 1 -N 1 -b 4096 -e 65536 -n 3 \
    --json "$T/r.json" >"$T/o" 2>&1; rc=$?
  if [ "$rc" = 0 ]; then
    python3 - "$T/r.json" <<'PY' || fail "GPUDirect raw file"
import json, sys
env = json.load(open(sys.argv[1]))["environment"]
assert env["memory"] in ("gpu-dmabuf", "gpu-peermem"), env.get("memory")
assert all(r["memory"] == env["memory"] for r in env["ranks"]), env["ranks"]
PY
    echo "CUDA build: ran, memory $(grep -o '# memory: .*' "$T/o")"
  elif [ "$rc" = 2 ]; then
    grep -qiE "no (CUDA device|RDMA device|verbs backend|MPI)" "$T/o" || fail "CUDA build: exit 2 without a clear message: $(cat "$T/o")"
    echo "CUDA build: $(grep -iE 'no (CUDA|RDMA|verbs|MPI)' "$T/o" | head -1)"
  else
    # A GPU and a NIC but no GPUDirect: the failure must name nvidia-peermem and the fix.
    grep -q "nvidia-peermem" "$T/o" && grep -q "drop --gpudirect" "$T/o" || fail "CUDA build: exit $rc: $(cat "$T/o")"
    echo "CUDA build: registration refused: $(grep -o 'Likely cause.*' "$T/o" | head -1)"
  fi
fi
echo "1 passed, 0 failed"
