#!/usr/bin/env bash
# CLI tests of `commroof`, `deadzone` and `imbalance` (AFD paper numbers with its Table 5 inputs).
# Usage: bash test_commroof.sh <ridgeline-binary> <source-dir>
set -u
BIN=$1
SRC=$2
PAPER=$SRC/examples/paper-afd-roofline/hardware
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_in() {  # expect_in NAME NEEDLE TEXT
  case "$3" in *"$2"*) ;; *) fail "$1: expected '$2' in output:"; echo "$3" | head -20 ;; esac
}

# Table: paper check 1 (33.1 %) and 3 (10.3 % dead zone), regime names, budget.
out=$("$BIN" commroof --model deepseek-v3 --hardware h800 --hwdb "$PAPER" --nf 1..8,16,32 2>&1) || fail "commroof exit $?"
expect_in "t_B" "t_B = 0.3825 ms" "$out"
expect_in "peak" "33.1" "$out"
expect_in "dead zone floor" "10.3" "$out"
expect_in "boundaries" "stable from N_F = 2.5, dead zone from N_F = 8, max intensity from N_F = 32" "$out"
expect_in "N_F=1 HBM" "weights>HBM" "$out"
expect_in "regime" "scale_out_bound" "$out"

# JSON: meta block, HFU ceiling at N_F = 2.
json=$("$BIN" commroof --model deepseek-v3 --hardware h800 --hwdb "$PAPER" --nf 2 --json) || fail "commroof --json"
expect_in "json meta" '"meta"' "$json"
expect_in "json hfu" '"hfu_ceiling": 0.331' "$json"

# CSV: header + one row per N_F.
csv=$("$BIN" commroof --model deepseek-v3 --hardware h800 --hwdb "$PAPER" --nf 1..4 --csv) || fail "commroof --csv"
[ "$(echo "$csv" | grep -c '^deepseek-v3,')" = 4 ] || fail "commroof --csv: expected 4 data rows, got: $csv"

# SVG: well-formed, one polyline per series with one point per N_F, the dead zone shaded.
"$BIN" commroof --model deepseek-v3 --hardware h800 --hwdb "$PAPER" --nf 1..40 --svg "$TMP/roof.svg" >/dev/null ||
  fail "commroof --svg"
grep -q '<svg' "$TMP/roof.svg" || fail "svg: no <svg"
[ "$(grep -c '<polyline' "$TMP/roof.svg")" = 5 ] || fail "svg: expected 5 polylines (ceiling + 4 roofs)"
grep -q 'data-series="deepseek-v3 HFU ceiling" data-points="40"' "$TMP/roof.svg" || fail "svg: ceiling series needs 40 points"
grep -q 'data-band="dead zone' "$TMP/roof.svg" || fail "svg: dead zone band missing"
grep -q 'class="xlabel"' "$TMP/roof.svg" || fail "svg: x label missing"
if command -v python3 >/dev/null 2>&1; then
  python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$TMP/roof.svg" || fail "svg: not well-formed XML"
fi

# Superpod: flat 65.5 % for DeepSeek-V3 and Kimi-K2 (paper check 5).
out=$("$BIN" commroof --model deepseek-v3,kimi-k2 --hardware gb200 --hwdb "$PAPER" --nf 1,8,32 --csv)
python3 - "$out" <<'PY' || fail "gb200: expected 65.5 % at every N_F for both models: $out"
import csv, io, sys
rows = list(csv.DictReader(io.StringIO(sys.argv[1])))
assert len(rows) == 6 and all(abs(float(r["hfu_ceiling"]) - 0.655) < 5e-4 for r in rows), rows
PY

# deadzone: every accelerator of the paper's Table 5, bandwidth to match EP (paper check 15).
out=$("$BIN" deadzone --model deepseek-v3 --hwdb "$PAPER" --csv) || fail "deadzone exit $?"
[ "$(echo "$out" | wc -l)" = 9 ] || fail "deadzone: expected a header and 8 rows: $out"
python3 - "$out" <<'PY' || fail "deadzone h800 row (1979 TFLOPS, 50/160 GB/s, floor 10.3 %, peak 33.1 % at N_F 2, 290 GB/s): $out"
import csv, io, sys
r = next(r for r in csv.DictReader(io.StringIO(sys.argv[1])) if r["hardware"] == "h800")
near = lambda a, b, rel: abs(float(a) - b) <= rel * abs(b)
assert near(r["peak_flops_per_s"], 1979e12, 1e-3) and near(r["scale_out_bytes_per_s"], 50e9, 1e-9), r
assert near(r["scale_up_bytes_per_s"], 160e9, 1e-9) and abs(float(r["dead_zone_hfu_floor"]) - 0.103) < 5e-4, r
assert abs(float(r["peak_hfu_ceiling"]) - 0.331) < 5e-4 and r["peak_at_nf"] == "2", r
assert abs(float(r["scale_out_bytes_per_s_to_match_ep"]) - 290e9) < 0.5e9, r
PY
out=$("$BIN" deadzone --model deepseek-v3) || fail "deadzone hwdb exit $?"
expect_in "deadzone hwdb fp8-less parts" "no fp8" "$out"

# imbalance: uniform routing table, Zipf + EPLB, alpha curves.
out=$("$BIN" imbalance --model deepseek-v3 --ranks 64 --tokens 128 --json) || fail "imbalance exit $?"
expect_in "imbalance json" '"expert_load_imbalance"' "$out"
z=$("$BIN" imbalance --model deepseek-v3 --ranks 64 --tokens 128 --zipf 0.8 --csv | tail -1 | cut -d, -f5)
e=$("$BIN" imbalance --model deepseek-v3 --ranks 64 --tokens 128 --zipf 0.8 --redundant-experts 32 --csv | tail -1 | cut -d, -f5)
awk -v z="$z" -v e="$e" 'BEGIN { exit !(z > e && e >= 1) }' || fail "EPLB should cut Zipf imbalance ($z -> $e)"
out=$("$BIN" imbalance --alpha --sigma 0.7 --nf 2 --csv) || fail "imbalance --alpha"
python3 - "$out" <<'PY' || fail "alpha: AFD 0.893 at N_F 2, N_A 8 and EP 0.921 at lambda 4: $out"
import csv, io, sys
rows = list(csv.DictReader(io.StringIO(sys.argv[1])))
afd = [r for r in rows if r["strategy"] == "afd" and r["nf"] == "2" and r["na"] == "8" and float(r["lambda"]) == 4]
ep = [r for r in rows if r["strategy"] == "ep" and r["nf"] == "" and float(r["lambda"]) == 4]
assert afd and abs(float(afd[0]["alpha"]) - 0.8929) < 5e-5 and float(afd[0]["sigma"]) == 0.7, afd
assert ep and abs(float(ep[0]["alpha"]) - 0.9211) < 5e-5, ep
PY

# Scenario routing feeds evaluate: the computed max/mean shows in the JSON, Zipf above uniform.
cat >"$TMP/r.json" <<'JSON'
{"model": "deepseek-v3", "workload": {"context_tokens": 4096, "tpot_slo": "1 s", "routing": {"zipf": 0.6}},
 "deployment": {"strategy": "ep", "hardware": "h800", "gpus": 64, "batch_per_gpu": 64, "micro_batches": 2}}
JSON
imb=$("$BIN" evaluate "$TMP/r.json" --json | grep '"expert_load_imbalance"' | head -1 | tr -dc '0-9.')
awk -v v="$imb" 'BEGIN { exit !(v > 1.2) }' || fail "evaluate with routing zipf 0.6: expert_load_imbalance '$imb' should exceed 1.2"
sed -e 's/"zipf": 0.6/"zipf": -2/' "$TMP/r.json" >"$TMP/bad.json"
err=$("$BIN" evaluate "$TMP/bad.json" 2>&1) && fail "zipf -2 accepted"
expect_in "bad zipf" "/workload/routing/zipf" "$err"

# Bad input: clear errors naming the flag, the value and the fix.
err=$("$BIN" commroof --model deepseek-v3 --hardware h800 --nf 0..4 2>&1) && fail "--nf 0..4 accepted"
expect_in "bad --nf" '--nf "0..4"' "$err"
err=$("$BIN" commroof --model deepseek-v3 --hardware h800 --slo 5kg 2>&1) && fail "--slo 5kg accepted"
expect_in "bad --slo" '--slo "5kg"' "$err"
err=$("$BIN" commroof --model deepseek-v3 --hardware h800 --gap 3GB 2>&1) && fail "--gap 3GB accepted"
expect_in "bad --gap" '--gap "3GB"' "$err"
err=$("$BIN" commroof --model deepseek-v3 --hardware h800 --hwdb /nonexistent 2>&1) && fail "--hwdb missing accepted"
expect_in "bad --hwdb" 'Fix' "$err"
printf '1, 2, x\n' >"$TMP/h.txt"
err=$("$BIN" imbalance --model deepseek-v3 --histogram "$TMP/h.txt" 2>&1) && fail "bad histogram accepted"
expect_in "bad histogram" 'entry 2 is "x"' "$err"
err=$("$BIN" imbalance --model deepseek-v3 --ranks 512 2>&1) && fail "--ranks 512 accepted"
expect_in "too many ranks" 'expert slots' "$err"

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all commroof/deadzone/imbalance CLI checks passed"
