#!/usr/bin/env bash
# ridgeline-calibrate m2n under mpirun (cpu backend: MPI point-to-point on host memory), then
# fit on a subset of the sizes, the held-out sizes predicted within 25 %, and the calibration
# fed to `ridgeline evaluate`. The nccl and verbs backends must refuse cleanly (exit 2) without a
# GPU or an RDMA device. Skipped (77) without mpirun or an MPI build.
set -u
. "$(dirname "$0")/calibrate_preamble.sh" "$@"
command -v mpirun >/dev/null 2>&1 || { echo "skipped: no mpirun"; exit 77; }
# Root in CI containers; no ptrace-based single copy in containers; 4 ranks on 2 cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
# Under ASan, Open MPI's own allocations show up as leaks at exit: leak checking is off for this
# test only (every other ASan check stays on).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
"$CAL" m2n --help >/dev/null 2>&1 || fail "m2n --help"
"$CAL" m2n -M 1 -N 1 >"$T/o" 2>&1; [ $? = 2 ] && grep -q "no MPI" "$T/o" && { echo "skipped: built without MPI"; exit 77; }

MPIRUN=(timeout 300 mpirun -np 4 --oversubscribe)

# The runs that must refuse go in the background (mpirun's start-up dominates this test's time).
"${MPIRUN[@]}" "$CAL" m2n --backend cpu --attention-ranks 3 --ffn-ranks 2 >"$T/layout" 2>&1 &
pid_layout=$!
declare -A pid_backend
for b in nccl verbs; do
  timeout 120 mpirun -np 2 "$CAL" m2n --backend $b -M 1 -N 1 -b 1024 -e 4096 -n 3 >"$T/$b" 2>&1 &
  pid_backend[$b]=$!
done

# --- 3 attention -> 1 FFN: 7 sizes x (m2n, n2m) ---------------------------------------------
# 4 KiB .. 256 KiB, one protocol regime: below 4 KiB Open MPI's shared-memory eager protocol is
# about half as costly, and with 4 ranks on 2 cores messages of 1 MiB and more wait for the
# scheduler (a 1 MiB phase took 70x a 256 KiB one here); no one alpha-beta line fits across
# those steps (fit refuses such a sweep, rightly). --rounds 4 spreads each size's iterations over
# the run, so a burst of load from other tests does not bias one row.
measure31() {
  "${MPIRUN[@]}" "$CAL" m2n --backend cpu --attention-ranks 3 --ffn-ranks 1 -b 4096 -e 262144 -f 2 -w 2 -n 20 \
    --rounds 4 --json "$T/r31.json" >"$T/out31" 2>"$T/err31" || fail "m2n 3+1: $(cat "$T/out31" "$T/err31")"
}
measure31
grep -q "time med" "$T/out31" && grep -q "(us)" "$T/out31" && grep -q "(GB/s)" "$T/out31" || fail "table header: $(cat "$T/out31")"
rows=$(grep -cE '^ +[0-9]+ ' "$T/out31")
[ "$rows" = 14 ] || fail "expected 14 table rows (7 sizes x 2 patterns), got $rows: $(cat "$T/out31")"
python3 - "$T/r31.json" <<'PY' || fail "m2n 3+1 raw file"
import json, sys
d = json.load(open(sys.argv[1]))
env = d["environment"]
assert env["backend"] == "cpu" and env["world_size"] == 4, env
assert env["layout"] == {"attention_ranks": 3, "ffn_ranks": 1}, env["layout"]
assert len(env["hostnames"]) == 4 and all(env["hostnames"]), env["hostnames"]
assert [r["role"] for r in env["ranks"]] == ["attention"] * 3 + ["ffn"], env["ranks"]
assert env["mpi_version"] and env["date"], env
# The memory the transfers used, recorded after the buffers were set up (verbs --gpudirect: gpu-*).
assert env["memory"] == "host" and [r["memory"] for r in env["ranks"]] == ["host"] * 4, env
res = d["results"]
assert [r["message_bytes"] for r in res if r["pattern"] == "m2n"] == [4096, 8192, 16384, 32768, 65536, 131072, 262144]
for r in res:
    assert len(r["iteration_times_s"]) == 20, r
    assert 0 < r["time_min_s"] <= r["time_median_s"] <= r["time_p99_s"] <= r["time_max_s"], r
    assert r["busiest_rank_bytes"] == 3 * r["message_bytes"], r   # the FFN rank's 3 messages
    assert abs(r["algbw_bytes_per_s"] - r["busiest_rank_bytes"] / r["time_median_s"]) < 1e-6 * r["algbw_bytes_per_s"]
assert "loaded" in d["host_load"]
PY

# --- fit on 4 of the 7 sizes; the 3 held out must be predicted within 25 % ------------------
# A shared CI host can be busy for a while (here: load average 17-20 on 2 cores from parallel builds,
# where about one measurement in three missed): up to two re-measurements; a third miss fails.
fit31() {
  "$CAL" fit "$T/r31.json" --holdout 8192,32768,131072 --transport cpu_rdma -o "$T/cal.json" >"$T/fit" 2>"$T/fiterr"
}
held_ok() {
  python3 - "$T/cal.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in ("m2n", "n2m"):
    f = d["fits"]["link"][p]
    assert len(f["held_out"]) == 3, f
    for h in f["held_out"]:
        print(f"{p} held-out {h['message_bytes']} B: measured {h['measured_median_s']*1e6:.1f} us, "
              f"predicted {h['predicted_s']*1e6:.1f} us, error {100*h['relative_error']:+.1f} %")
        assert abs(h["relative_error"]) < 0.25, h
PY
}
ok=0
for attempt in 1 2 3; do
  [ "$attempt" = 1 ] || measure31
  if fit31 && held_ok >"$T/held" 2>&1; then ok=1; break; fi
  echo "note: attempt $attempt: fit refused or a held-out error >= 25 %: $(cat "$T/fiterr" "$T/held" 2>/dev/null | tr '\n' ' ')"
done
if [ "$ok" = 0 ]; then
  # Three misses on a host the tool itself reports as loaded (load average above the cores, or
  # iterations that disagree by > 25 %) say that the host was too busy to judge the model, not that
  # the fit is wrong (its arithmetic is unit-tested on exact and noisy synthetic data): the rest
  # of the test goes on with the poor fit accepted. On a host not reported loaded it is a failure.
  if ! "$CAL" fit "$T/r31.json" --holdout 8192,32768,131072 --transport cpu_rdma --accept-poor-fit -o "$T/cal.json" \
    >"$T/fit" 2>"$T/fiterr"; then
    # Times that do not even grow with size: nothing to fit. Only a loaded host excuses that.
    python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["host_load"]["loaded"] else 1)' "$T/r31.json" \
      || fail "fit --accept-poor-fit on an unloaded host: $(cat "$T/fiterr")"
    echo "skipped: the host was too loaded in 3 measurements to fit a link model: $(cat "$T/fiterr")"; exit 77
  fi
  python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["provenance"]["host_load"]["loaded"] else 1)' \
    "$T/cal.json" || fail "held-out sizes not predicted within 25 % (or the fit refused) in 3 measurements on an unloaded host: $(cat "$T/held" "$T/fit" "$T/fiterr")"
  echo "WARNING: held-out accuracy not judged: the host was reported LOADED in all 3 measurements ($(grep LOADED "$T/fit"))"
  held_ok >"$T/held" 2>&1
fi
cat "$T/held"
python3 - "$T/cal.json" <<'PY' || fail "calibration file from fit"
import json, sys
d = json.load(open(sys.argv[1]))
f = d["fits"]["link"]["m2n"]
assert f["alpha_stderr_s"] >= 0 and f["bytes_per_s"] > 0, f
# On a loaded host every bootstrap resample can fail (times that do not grow with size): no spread.
assert f["bytes_per_s_stderr"] > 0 or d["provenance"]["host_load"]["loaded"], f
assert f["sizes"] == 4 and f["trials_kept"] + f["trials_rejected_as_outliers"] == 80, f
t = d["efficiency"]["transport"]["cpu_rdma"]
assert abs(t["fixed"] - f["alpha_s"]) < 1e-12, (t, f)      # no --hardware: fixed = alpha
assert "per_token" not in t                                  # not derivable without --hardware
p = d["provenance"]
assert p["backend"] == "cpu" and p["link_kind"].startswith("MPI point-to-point"), p
assert p["device"] and len(p["hostnames"]) >= 1 and (p["poor_fit_accepted"] is False or p["host_load"]["loaded"]), p
assert "transport.cpu_rdma.per_token" in p["not_measured"] and "loaded" in p["host_load"], p
PY

# --- the calibration feeds the model: AFD's per-transfer cost is the fitted fixed time --------
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-afd.json" --calibration "$T/cal.json" --calibration-any-device --json >"$T/eval.json" \
  || fail "evaluate --calibration"
python3 - "$T/cal.json" "$T/eval.json" <<'PY' || fail "evaluate does not use the fitted transport: $(head -c 2000 "$T/eval.json")"
import json, math, sys
cal = json.load(open(sys.argv[1]))
fixed_us = cal["efficiency"]["transport"]["cpu_rdma"]["fixed"] * 1e6
e = json.load(open(sys.argv[2]))
def find(v, key):
    if isinstance(v, dict):
        if key in v: return v[key]
        for x in v.values():
            r = find(x, key)
            if r is not None: return r
    if isinstance(v, list):
        for x in v:
            r = find(x, key)
            if r is not None: return r
got = find(e, "transfer_overhead_us")
assert got is not None and abs(got - fixed_us) <= 1e-6 * max(1, fixed_us), (got, fixed_us)
assert find(e, "calibration") is not None
PY

# --- refusal: a tight limit refuses with what to re-run; --accept-poor-fit writes and records -
"$CAL" fit "$T/r31.json" --max-rms-error 0.001 -o "$T/poor.json" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "poor fit: exit $rc, expected 1"
grep -q "re-run" "$T/err" && grep -q -- "--accept-poor-fit" "$T/err" || fail "refusal without a fix: $(cat "$T/err")"
[ ! -e "$T/poor.json" ] || fail "a refused fit wrote its file"
"$CAL" fit "$T/r31.json" --max-rms-error 0.001 --accept-poor-fit -o "$T/poor.json" >/dev/null 2>&1 || fail "--accept-poor-fit"
grep -q '"poor_fit_accepted": true' "$T/poor.json" || fail "accepted poor fit not recorded"

# --- 2 attention -> 2 FFN, with the all-to-all and a check every iteration -------------------
"${MPIRUN[@]}" "$CAL" m2n --backend cpu --attention-ranks 2 --ffn-ranks 2 -b 1024 -e 262144 -f 16 -w 2 -n 5 --check \
  --all-to-all --json "$T/r22.json" >"$T/out22" 2>&1 || fail "m2n 2+2: $(cat "$T/out22")"
python3 - "$T/r22.json" <<'PY' || fail "m2n 2+2 raw file"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["environment"]["layout"] == {"attention_ranks": 2, "ffn_ranks": 2}
pats = sorted({r["pattern"] for r in d["results"]})
assert pats == ["all_to_all", "m2n", "n2m"], pats
for r in d["results"]:
    k = 3 if r["pattern"] == "all_to_all" else 2
    assert r["busiest_rank_bytes"] == k * r["message_bytes"], r
assert d["settings"]["check_every_iteration"] is True
PY
"$CAL" fit "$T/r22.json" --pattern all_to_all --transport deepep_normal --accept-poor-fit -o "$T/cal22.json" \
  >"$T/fit22" 2>&1 || fail "fit of the 2+2 all-to-all: $(cat "$T/fit22")"
grep -q '"deepep_normal"' "$T/cal22.json" || fail "all-to-all transport entry"

# --- errors: wrong layout, bad flags, bad files ------------------------------------------------
wait "$pid_layout"; rc=$?
[ "$rc" = 2 ] || fail "layout 3+2 on 4 ranks: exit $rc, expected 2"
grep -q "mpirun -np 5" "$T/layout" || fail "layout error without the fix: $(cat "$T/layout")"
[ "$(grep -c 'processes were started' "$T/layout")" = 1 ] || fail "layout error printed by more than rank 0: $(cat "$T/layout")"
"$CAL" m2n --backend cpu -M 1 -N 1 -b 4096 -e 1024 >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q -- "--max-bytes" "$T/err" || fail "-e below -b: exit $rc: $(cat "$T/err")"
"$CAL" m2n --backend tcp -M 1 -N 1 >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q -- "--backend" "$T/err" || fail "--backend tcp: exit $rc: $(cat "$T/err")"
"$CAL" fit "$SRC/examples/deepseek-v3-h800-afd.json" -o "$T/x.json" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] && grep -q "Fix" "$T/err" || fail "fit of a scenario file: exit $rc: $(cat "$T/err")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); d["results"][0]["iteration_times_s"][0] = -1
json.dump(d, open(sys.argv[2], "w"))' "$T/r31.json" "$T/neg.json"
"$CAL" fit "$T/neg.json" -o "$T/x.json" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] && grep -q "/results/0/iteration_times_s/0" "$T/err" || fail "negative time: exit $rc: $(cat "$T/err")"

# --- nccl and verbs: a clean exit 2 without a GPU / RDMA device (they run where there is one) -
for b in nccl verbs; do
  wait "${pid_backend[$b]}"; rc=$?
  if [ "$rc" = 2 ]; then
    grep -qiE "no (CUDA device|RDMA device|nccl backend|verbs backend)" "$T/$b" || fail "$b: exit 2 without a clear message: $(cat "$T/$b")"
    echo "$b backend: $(grep -iE 'no (CUDA|RDMA|nccl|verbs)' "$T/$b" | head -1)"
  elif [ "$rc" != 0 ]; then
    fail "$b backend: exit $rc: $(cat "$T/$b")"
  fi
done
echo "1 passed, 0 failed"
