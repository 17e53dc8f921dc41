#!/usr/bin/env bash
# `ridgeline validate`: the shipped validation points stay within the accuracy bar (a model change
# that worsens them fails CI), the outputs carry the documented fields, and bad validation input
# (a per-point efficiency block, a calibration without a source) is refused with a clear error.
set -u
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
DIR="$SRC/examples/validation"
CAL="$SRC/examples/calibration/symmetric-contention.json"

# Defaults only (no calibration), all 18 points: median |error| <= 12 %, no point worse than 70 %,
# |bias| <= 9 % (README "Validation": 7.1 % / 63.9 % / +8.4 %; the max and bias are c01, vLLM's
# wide-EP example, +63.9 %). Without c01, issue 9's bars: median 12 %, max 30 %, |bias| 8 %
# (6.9 % / 20.9 % / +5.1 %).
"$BIN" validate "$DIR" --max-median 0.12 --max-error 0.70 --json >"$T/dj" 2>"$T/err" ||
  fail "defaults validation gate: $(cat "$T/err")"
python3 - "$T/dj" <<'PY' || fail "defaults bias above 9 %"
import json, sys
d = json.load(open(sys.argv[1]))
assert abs(d["summary"]["mean_signed_error"]) <= 0.09, d["summary"]
PY
mkdir "$T/no-c01" && cp "$DIR"/*.json "$T/no-c01/" && rm "$T/no-c01"/c01-*.json
"$BIN" validate "$T/no-c01" --max-median 0.12 --max-error 0.30 --json >"$T/nj" 2>"$T/err" ||
  fail "issue 9's bars without c01: $(cat "$T/err")"
python3 - "$T/nj" <<'PY' || fail "bias without c01 above 8 %"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["summary"]["points"] == 17 and abs(d["summary"]["mean_signed_error"]) <= 0.08, d["summary"]
PY
# The generic fractions (no measured profiles) are a what-if file: the same points priced with
# the generic roofline fractions (11.8 % / 67.8 % / +12.7 %), so the profiles are what moves them.
"$BIN" validate "$DIR" --calibration "$SRC/examples/calibration/generic-efficiencies.json" --json >"$T/gj" ||
  fail "generic-efficiencies validation exit $?"
python3 - "$T/dj" "$T/gj" <<'PY' || fail "generic efficiencies should give the documented what-if numbers"
import json, sys
d, g = (json.load(open(f)) for f in sys.argv[1:3])
assert abs(g["summary"]["mean_signed_error"] - 0.127) < 0.005, g["summary"]
assert g["summary"]["mean_signed_error"] > d["summary"]["mean_signed_error"] + 0.02
PY
# Accuracy bar (issue 5): median |error| <= 15 %, no point worse than 40 % (70 % since c01).
"$BIN" validate "$DIR" --calibration "$CAL" --max-median 0.15 --max-error 0.70 >"$T/out" 2>"$T/err" ||
  fail "accuracy bar exceeded (exit $?): $(cat "$T/err")"
grep -q "median |error|" "$T/out" || fail "table lacks the median"
grep -q "a10-deepseek-profile-h800-ep128" "$T/out" || fail "table lacks a point"

# The gate really gates: an impossible bar exits 4 and names the bound.
"$BIN" validate "$DIR" --calibration "$CAL" --max-median 0.001 >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 4 ] || fail "--max-median 0.001 exit $rc, expected 4"
grep -q "exceeds --max-median" "$T/err" || fail "gate message: $(cat "$T/err")"

# JSON: per-point signed errors and the summary; every point has a source URL.
"$BIN" validate "$DIR" --calibration "$CAL" --json >"$T/json" || fail "--json exit $?"
for k in points summary median_abs_error max_abs_error share_optimistic signed_error measured_tokens_per_s_per_gpu \
         predicted_tokens_per_s_per_gpu source_url verification calibration meta; do
  grep -q "\"$k\"" "$T/json" || fail "missing $k in --json"
done
n=$(grep -c '"source_url": "https' "$T/json"); [ "$n" -ge 12 ] || fail "only $n points with a source URL"

# Markdown and CSV.
"$BIN" validate "$DIR" --markdown | grep -q "^| point | hardware" || fail "--markdown has no table header"
"$BIN" validate "$DIR" --csv | head -1 | grep -q "^point,attention_hardware,ffn_hardware,strategy" || fail "--csv has no header"

# A point may not carry its own efficiencies (that would be a per-point fudge factor).
mkdir "$T/pts"
sed 's/"model": "deepseek-v3",/"model": "deepseek-v3", "efficiency": {"gemm_compute": 0.5},/' \
  "$DIR/a08-sglang-h100-ep72-bs256.json" >"$T/pts/p.json"
"$BIN" validate "$T/pts" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "per-point efficiency: exit $rc, expected 1"
grep -q "/efficiency" "$T/err" && grep -q "calibration" "$T/err" || fail "per-point efficiency message: $(cat "$T/err")"

# A point without "measured" is refused.
echo '{"model": "deepseek-v3", "workload": {"context_tokens": 4096, "tpot_slo": "50 ms"}, "deployment": {"strategy": "ep", "hardware": "h800", "gpus": 8, "batch_per_gpu": 64}}' >"$T/pts/p.json"
"$BIN" validate "$T/pts" >/dev/null 2>"$T/err" && fail "point without measured accepted"
grep -q "/measured" "$T/err" || fail "missing-measured message: $(cat "$T/err")"

# A calibration must say where its numbers come from, and its keys are checked.
echo '{"efficiency": {"micro_batch_overlap": 0.5}}' >"$T/cal.json"
"$BIN" validate "$DIR" --calibration "$T/cal.json" >/dev/null 2>"$T/err" && fail "calibration without source accepted"
grep -q "/source" "$T/err" || fail "calibration source message: $(cat "$T/err")"
echo '{"source": "x", "efficiency": {"gemm_overlapp": 0.5}}' >"$T/cal.json"
"$BIN" validate "$DIR" --calibration "$T/cal.json" >/dev/null 2>"$T/err" && fail "calibration typo accepted"
grep -q "gemm_overlap" "$T/err" || fail "calibration typo message: $(cat "$T/err")"
exit 0
