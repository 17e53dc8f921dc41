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

# profile-check reports held-out errors for every operator of a raw-sample folder.
out=$("$BIN" profile-check "$SRC/hwdb/calibration/raw/h200" --hardware h200) || fail "profile-check exit $?"
for op in gemm mla_decode moe_experts deepep_ll; do grep -q "$op" <<<"$out" || fail "profile-check lacks $op"; done
"$BIN" profile-check "$T" --hardware h200 >/dev/null 2>"$T/err"; [ $? = 1 ] || fail "empty raw folder: want exit 1"
echo ok
