#!/usr/bin/env bash
# --calibration safety: a file measured on other hardware is refused (exit 1, both names, Fix:)
# unless mapped (--calibration-for, applies_to, --calibration-any-device); a bare hardware id loads
# its hwdb/calibration profile; the numbers a calibration set are printed and in --json.
set -u
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
EP="$SRC/examples/deepseek-v3-h800-ep.json"

# A CPU-measured file (what ridgeline-calibrate --backend cpu records) on an H800 scenario.
cat >"$T/cpu.json" <<'JSON'
{"source": "ridgeline-calibrate cpu backend, test", "provenance": {"tool": "ridgeline-calibrate", "backend": "cpu",
 "device": "Test CPU 9000"}, "efficiency": {"gemm_compute": 0.5, "kernel_overhead": "3 us"}}
JSON
for cmd in "evaluate $EP" "plan --hardware h800" "validate $SRC/examples/validation"; do
  $BIN $cmd --calibration "$T/cpu.json" >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 1 ] || fail "$cmd: exit $rc, expected 1 for a CPU calibration"
  [ -s "$T/out" ] && fail "$cmd: printed a result before refusing"
  grep -q "Test CPU 9000" "$T/err" && grep -q "h800" "$T/err" && grep -q "Fix:" "$T/err" ||
    fail "$cmd: message should name both devices and a fix: $(cat "$T/err")"
done
# Mapped explicitly: accepted, and the calibrated numbers are listed with what they replaced.
out=$("$BIN" evaluate "$EP" --calibration "$T/cpu.json" --calibration-for h800) || fail "--calibration-for h800 refused"
grep -q "calibrated numbers: gemm_compute 0.5 (was 0.7); kernel_overhead 3 us (was 2 us)" <<<"$out" ||
  fail "calibrated numbers not printed: $out"
"$BIN" evaluate "$EP" --calibration "$T/cpu.json" --calibration-any-device >/dev/null || fail "--calibration-any-device refused"
"$BIN" evaluate "$EP" --calibration "$T/cpu.json" --calibration-for h200 >/dev/null 2>"$T/err" && fail "mapped to h200, ran on h800"
grep -q "h200" "$T/err" || fail "wrong mapping message: $(cat "$T/err")"
"$BIN" evaluate "$EP" --calibration-any-device >/dev/null 2>&1; [ $? = 2 ] || fail "--calibration-any-device without --calibration: want exit 2"
json=$("$BIN" evaluate "$EP" --calibration "$T/cpu.json" --calibration-for h800 --json) || fail "--json"
python3 - "$json" <<'PY' || fail "--json calibration.values"
import json, sys
v = {x["key"]: x for x in json.loads(sys.argv[1])["calibration"]["values"]}
assert v["gemm_compute"]["value"] == 0.5 and v["gemm_compute"]["replaced"] == 0.7, v
assert abs(v["kernel_overhead"]["value"] - 3e-6) < 1e-12 and v["kernel_overhead"]["unit"] == "s", v
PY
out=$("$BIN" plan --hardware h800 --calibration "$T/cpu.json" --calibration-for h800 --json) || fail "plan mapped"
grep -q '"replaced"' <<<"$out" || fail "plan --json lacks calibration values"

# A file with no device record must declare applies_to; the shipped what-if declares ["any"].
cat >"$T/old.json" <<'JSON'
{"source": "hand-written", "efficiency": {"gemm_memory": 0.9}}
JSON
"$BIN" evaluate "$EP" --calibration "$T/old.json" >/dev/null 2>"$T/err" && fail "file without a device record accepted"
grep -q "records no device" "$T/err" && grep -q "applies_to" "$T/err" || fail "no-device message: $(cat "$T/err")"
"$BIN" evaluate "$EP" --calibration "$SRC/examples/calibration/symmetric-contention.json" >/dev/null ||
  fail "applies_to [any] refused"

# Hardware profiles: h800's applies to the H800 scenario, h200's is refused there; a bare id loads the profile.
"$BIN" evaluate "$EP" --calibration "$SRC/hwdb/calibration/h800.json" >/dev/null || fail "h800 profile refused on h800"
"$BIN" evaluate "$EP" --calibration h800 | grep -q "hwdb/calibration/h800.json" || fail "--calibration h800 did not load the profile"
"$BIN" evaluate "$EP" --calibration h200 >/dev/null 2>"$T/err" && fail "h200 profile applied to an h800 scenario"
grep -q "h200" "$T/err" && grep -q "h800" "$T/err" || fail "profile mismatch message: $(cat "$T/err")"
"$BIN" evaluate "$EP" --calibration nosuch >/dev/null 2>"$T/err"; [ $? = 1 ] || fail "unknown --calibration: want exit 1"
grep -q "Fix:" "$T/err" || fail "unknown --calibration message: $(cat "$T/err")"

# "hardware_profiles" (the measured roofline profiles on or off): a boolean, named in the error.
for bad in '"no"' '1' '[true]'; do
  printf '{"description": "x", "source": "y", "applies_to": ["any"], "efficiency": {"hardware_profiles": %s}}' "$bad" >"$T/hp.json"
  "$BIN" evaluate "$EP" --calibration "$T/hp.json" >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 1 ] || fail "hardware_profiles $bad: exit $rc, expected 1"
  [ -s "$T/out" ] && fail "hardware_profiles $bad: printed a result"
  grep -q "/efficiency/hardware_profiles" "$T/err" && grep -q "true or false" "$T/err" ||
    fail "hardware_profiles $bad: message $(cat "$T/err")"
done
printf '{"description": "x", "source": "y", "applies_to": ["any"], "efficiency": {"hardware_profile": false}}' >"$T/hp.json"
"$BIN" evaluate "$EP" --calibration "$T/hp.json" >/dev/null 2>"$T/err" && fail "misspelt hardware_profile accepted"
grep -q 'did you mean "hardware_profiles"' "$T/err" || fail "misspelt key message: $(cat "$T/err")"

# ridgeline-calibrate fit records the hwdb id a GPU/RDMA measurement was made on (--hardware), so
# the file is accepted there without a mapping and refused elsewhere naming both; a cpu-backend
# measurement is never marked, whatever --hardware says. (The raw files are written here: the
# nccl backend needs GPUs; fit only reads what m2n --json writes.)
CAL="$(dirname "$BIN")/ridgeline-calibrate"
if [ -x "$CAL" ]; then
  for backend in nccl cpu; do
    python3 - "$backend" "$T/raw-$backend.json" <<'PY'
import json, sys
backend, out = sys.argv[1], sys.argv[2]
alpha, beta = 20e-6, 40e9                    # a made-up link: 20 us + bytes / 40 GB/s, +-2 % jitter
rows = []
for pattern in ("m2n", "n2m"):
    for k in range(12, 25, 2):
        msg = 2 ** k
        busiest = 4 * msg
        t = alpha + busiest / beta
        rows.append({"pattern": pattern, "message_bytes": msg, "busiest_rank_bytes": busiest,
                     "iteration_times_s": [t * (1 + 0.01 * ((i * 7) % 5 - 2)) for i in range(10)]})
json.dump({"format": "ridgeline-calibrate m2n raw",
           "environment": {"backend": backend, "device": "NVIDIA H800 (test)" if backend == "nccl" else "Test CPU",
                           "hostnames": ["node-a", "node-b"], "layout": {"attention_ranks": 4, "ffn_ranks": 4}},
           "results": rows}, open(out, "w"))
PY
    "$CAL" fit "$T/raw-$backend.json" --transport nccl --hardware h800 --link scale_out --hidden 7168 \
      -o "$T/fit-$backend.json" >"$T/out" 2>&1 || fail "fit of the $backend raw file: $(cat "$T/out")"
  done
  grep -q '"hardware_id": "h800"' "$T/fit-nccl.json" || fail "nccl fit with --hardware h800 records no hardware_id"
  "$BIN" evaluate "$SRC/examples/deepseek-v3-h800-afd.json" --calibration "$T/fit-nccl.json" >"$T/out" 2>&1 ||
    fail "an h800-measured fit refused on h800: $(cat "$T/out")"
  grep -q "calibrated numbers: transport.nccl.fixed" "$T/out" || fail "fitted numbers not printed: $(cat "$T/out")"
  sed 's/"h800"/"h200"/' "$SRC/examples/deepseek-v3-h800-afd.json" >"$T/h200-afd.json"
  "$BIN" evaluate "$T/h200-afd.json" --calibration "$T/fit-nccl.json" >/dev/null 2>"$T/err" &&
    fail "an h800-measured fit applied to h200"
  grep -q "hardware h800" "$T/err" && grep -q "runs on h200" "$T/err" || fail "h800 fit on h200: $(cat "$T/err")"
  grep -q '"hardware_id"' "$T/fit-cpu.json" && fail "a cpu-backend fit was marked as measured on --hardware"
  "$BIN" evaluate "$SRC/examples/deepseek-v3-h800-afd.json" --calibration "$T/fit-cpu.json" >/dev/null 2>"$T/err" &&
    fail "a cpu-backend fit (--hardware h800) applied to h800 without a mapping"
  grep -q "Test CPU" "$T/err" && grep -q "h800" "$T/err" || fail "cpu fit on h800: $(cat "$T/err")"
fi

# profile-check reports held-out errors for every operator of a raw-sample folder.
out=$("$BIN" profile-check "$SRC/hwdb/calibration/raw/h200" --hardware h200) || fail "profile-check exit $?"
for op in gemm mla_decode moe_experts deepep_ll; do grep -q "$op" <<<"$out" || fail "profile-check lacks $op"; done
"$BIN" profile-check "$T" --hardware h200 >/dev/null 2>"$T/err"; [ $? = 1 ] || fail "empty raw folder: want exit 1"
echo ok
