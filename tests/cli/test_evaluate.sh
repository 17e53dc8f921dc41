#!/usr/bin/env bash
# `ridgeline evaluate`: the examples run, JSON has the documented fields, and bad input gives a
# clear error (file, JSON path, fix), exit 1, and no partial result on stdout.
set -u
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --json) || fail "ep example exit $?"
for k in feasible binding tpot_ms tokens_per_s_per_gpu tokens_per_s_per_dollar_hour hfu breakdown attention_ms ffn_ms dispatch_ms combine_ms memory meta; do
  grep -q "\"$k\"" <<<"$out" || fail "missing $k in --json"
done
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-afd.json" | grep -q "feasible: yes" || fail "afd example not feasible"

# expect_error NAME EXPECTED_SUBSTRING... : the scenario $T/NAME.json must fail with exit 1,
# print nothing on stdout, and name each substring on stderr.
expect_error() {
  local name="$1"; shift
  "$BIN" evaluate "$T/$name.json" >"$T/out" 2>"$T/err"; local rc=$?
  [ "$rc" = 1 ] || fail "$name: exit $rc, expected 1"
  [ ! -s "$T/out" ] || fail "$name: printed a partial result: $(cat "$T/out")"
  for s in "$@"; do grep -qF -- "$s" "$T/err" || fail "$name: stderr lacks '$s': $(cat "$T/err")"; done
}

base='"model": "deepseek-v3", "workload": {"context_tokens": 4096, "tpot_slo": "50 ms"}'
dep='"deployment": {"strategy": "ep", "hardware": "h800", "gpus": 128, "batch_per_gpu": 64, "micro_batches": 2}'

echo '{"model": "deepseek-v3", ' > "$T/malformed.json"
expect_error malformed "malformed.json" "malformed JSON"

echo "{$base}" > "$T/missing.json"
expect_error missing "missing.json" "/deployment" "Fix"

echo "{$base, \"deployment\": {\"strategy\": \"ep\", \"hardware\": {\"base\": \"h800\", \"scale_out_bandwidth\": \"400 GB\"}, \"gpus\": 128, \"batch_per_gpu\": 64}}" > "$T/wrongunit.json"
expect_error wrongunit "wrongunit.json" "scale_out" "wrong kind" "bandwidth"

echo "{\"model\": \"deepseek-v3\", \"workload\": {\"context_tokens\": 4096, \"tpot_slo\": \"-5 ms\"}, $dep}" > "$T/negative.json"
expect_error negative "negative.json" "/workload/tpot_slo" "must be positive"

echo "{\"model\": \"deepseek-v3\", \"workload\": {\"context_tokens\": 4096, \"tpot_slo\": \"50 ms\", \"context_cv\": -0.2}, $dep}" > "$T/cv.json"
expect_error cv "cv.json" "/workload/context_cv" "between 0 and 10" "-0.2"

echo "{\"model\": \"deepseek-v3\", \"workload\": {\"context_tokens\": 4096, \"tpot_slo\": \"50 ms\", \"mtp_acceptance\": 3.0}, $dep}" > "$T/mtp.json"
expect_error mtp "mtp.json" "/workload/mtp_acceptance" "1 + mtp_draft_tokens = 2" "mtp_draft_tokens to at least 2"

echo "{$base, \"deployment\": {\"strategy\": \"AFD\", \"batch_per_gpu\": 64}}" > "$T/afd_ep_key.json"
expect_error afd_ep_key "afd_ep_key.json" "/deployment/batch_per_gpu" "is an EP key" "global_batch"

echo "{$base, \"deployment\": {\"strategy\": \"ep\", \"hardware\": \"h800\", \"gpus\": 0, \"batch_per_gpu\": 64}}" > "$T/zero.json"
expect_error zero "zero.json" "/deployment/gpus" "at least 1"

echo "{\"model\": \"deepsek-v3\", \"workload\": {\"context_tokens\": 4096, \"tpot_slo\": \"50 ms\"}, $dep}" > "$T/unknown_model.json"
expect_error unknown_model "unknown_model.json" "/model" "deepseek-v3"

echo "{$base, \"deployment\": {\"strategy\": \"ep\", \"hardware\": \"h8000\", \"gpus\": 8, \"batch_per_gpu\": 64}}" > "$T/unknown_hw.json"
expect_error unknown_hw "unknown_hw.json" "/deployment/hardware" "did you mean" "h800"

echo "{$base, \"deployment\": {\"strategy\": \"epp\", \"hardware\": \"h800\", \"gpus\": 8, \"batch_per_gpu\": 64}}" > "$T/strategy.json"
expect_error strategy "strategy.json" "/deployment/strategy" "afd"

echo "{$base, \"deployment\": {\"strategy\": \"ep\", \"hardware\": \"h800\", \"gpus\": 8, \"batch_per_gpu\": 64, \"gpu\": 3}}" > "$T/typo.json"
expect_error typo "typo.json" "/deployment/gpu" "unknown key" "gpus"

echo "{$base, \"precision\": {\"weights\": \"fp8\"}, \"deployment\": {\"strategy\": \"ep\", \"hardware\": \"a100-80g\", \"gpus\": 64, \"batch_per_gpu\": 64}}" > "$T/nofp8.json"
expect_error nofp8 "nofp8.json" "/precision/weights" "a100-80g" "bf16"

# Unknown ids on the command line list close matches.
"$BIN" show h8000 >/dev/null 2>"$T/err" && fail "show h8000 succeeded"
grep -q "h800" "$T/err" || fail "show: no close match"

# list / show / roofline work.
"$BIN" list hardware | grep -q "h800" || fail "list hardware"
# Which accelerators are priced from measured kernel tables (hwdb/calibration/<id>.json).
"$BIN" list hardware | grep -E "^  h200 .* measured *$" >/dev/null || fail "list hardware: h200 not marked measured"
"$BIN" list hardware | grep -E "^  h20 .* generic *$" >/dev/null || fail "list hardware: h20 not marked generic"
"$BIN" list hardware --json | python3 -c '
import json, sys
d = {h["id"]: h for h in json.load(sys.stdin)}
assert d["gb200"]["roofline_profile"] == "hwdb/calibration/gb200.json" and d["l40s"]["roofline_profile"] is None
' || fail "list hardware --json roofline_profile"
"$BIN" list models | grep -q "deepseek-v3" || fail "list models"
"$BIN" show deepseek-v3 | grep -q "computed" || fail "show model"
"$BIN" roofline --model deepseek-v3 --hardware h800 --batch 64 --context 4096 | grep -q "attn_core" || fail "roofline"
"$BIN" roofline --model deepseek-v3 --hardware h800 --json | grep -q "intensity_flop_per_byte" || fail "roofline json"
"$BIN" roofline --model deepseek-v3 --hardware h800 --weights fp9 >/dev/null 2>&1 && fail "roofline accepted fp9"
# Per-op breakdown, transport and the computed imbalance (realistic defaults).
EPJ=$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --json) || fail "evaluate --json exit $?"
python3 - "$EPJ" <<'PY' || fail "breakdown.ops / attention_layer_ms / transport"
import json, sys
d = json.loads(sys.argv[1])
b = d["breakdown"]
ops = b["ops"]
assert {"name", "stage", "time_ms", "flops", "hbm_bytes", "bound"} <= set(ops[0]), ops[0]
att = sum(o["time_ms"] for o in ops if o["stage"] == "attention")
ffn = sum(o["time_ms"] for o in ops if o["stage"] == "ffn")
assert abs(att - b["attention_ms"]) < 1e-6 * max(1, att), (att, b["attention_ms"])
assert abs(ffn - b["ffn_ms"]) < 1e-6 * max(1, ffn), (ffn, b["ffn_ms"])
layer = sum(o["time_ms"] for o in ops if o["name"] in ("attn_proj", "attn_core"))
assert abs(layer - b["attention_layer_ms"]) < 1e-9 and layer < b["attention_ms"], b
assert d["transport"]["name"] == "deepep_low_latency" and d["transport"]["transfer_overhead_us"] > 0, d["transport"]
assert d["expert_load_imbalance"] > 1.0 and d["expert_load_imbalance_source"].startswith("uniform"), d
PY
# KV-length spread: the default (0.58) slows attention against --context-cv 0 (all sequences
# equally long); the factor is reported and a negative spread is a usage error.
read -r c_def a_def <<<"$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['context_length_imbalance'], d['breakdown']['attention_ms'])")"
read -r c_0 a_0 <<<"$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --context-cv 0 --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['context_length_imbalance'], d['breakdown']['attention_ms'])")"
python3 -c "import sys; c, a, c0, a0 = map(float, sys.argv[1:]); assert c > 1 and c0 == 1 and a > a0, (c, a, c0, a0)" "$c_def" "$a_def" "$c_0" "$a_0" || fail "--context-cv 0 should remove the length imbalance: $c_def/$a_def vs $c_0/$a_0"
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --context-cv -0.5 >/dev/null 2>"$T/cv.err"; rc=$?
[ "$rc" = 2 ] && grep -q -- "--context-cv" "$T/cv.err" || fail "--context-cv -0.5 should be a usage error naming the flag (rc $rc): $(cat "$T/cv.err")"
# Realism overrides: a larger gap slows the same deployment; balanced routing is the ideal.
t0=$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['tpot_ms'])")
t1=$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --gap "20 ms" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['tpot_ms'])")
python3 -c "import sys; a, b = map(float, sys.argv[1:]); assert abs(b - a - 15) < 1e-6, (a, b)" "$t0" "$t1" || fail "--gap 20 ms should add 15 ms to 5 ms: $t0 -> $t1"
imb=$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --routing balanced --json | python3 -c "import json,sys; print(json.load(sys.stdin)['expert_load_imbalance'])")
[ "$imb" = "1.0" ] || fail "--routing balanced should give max/mean 1, got $imb"
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --routing zipf:abc >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 2 ] || fail "--routing zipf:abc exit $rc, expected 2"
grep -q -- "--routing" "$T/err" || fail "routing error should name the flag: $(cat "$T/err")"
# An old calibration key gets a message saying what replaced it.
echo '{"source": "x", "efficiency": {"micro_batch_overlap": 0.5}}' >"$T/old.json"
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --calibration "$T/old.json" >/dev/null 2>"$T/err" && fail "old key accepted"
grep -q "transport" "$T/err" || fail "old-key message should point to transport: $(cat "$T/err")"
# New scenario and hwdb fields: a wrong value names the JSON path and the fix.
sed 's/"micro_batches": 2}/"micro_batches": 2, "transport": "carrier_pigeon"}/' "$SRC/examples/deepseek-v3-h800-ep.json" >"$T/tr.json"
"$BIN" evaluate "$T/tr.json" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "unknown deployment.transport exit $rc, expected 1"
grep -q "/deployment/transport" "$T/err" && grep -q "cpu_rdma" "$T/err" || fail "transport message: $(cat "$T/err")"
sed 's/"mtp_acceptance": 1.0}/"mtp_acceptance": 1.0, "mtp_simulated": "yes"}/' "$SRC/examples/deepseek-v3-h800-ep.json" >"$T/sim.json"
"$BIN" evaluate "$T/sim.json" >/dev/null 2>"$T/err" && fail "mtp_simulated \"yes\" accepted"
grep -q "mtp_simulated" "$T/err" || fail "mtp_simulated message: $(cat "$T/err")"
mkdir -p "$T/data/hwdb" "$T/data/models"
cp "$SRC/models/deepseek-v3.json" "$T/data/models/"
sed 's/"architecture": "hopper"/"architecture": "hoper"/' "$SRC/hwdb/h800.json" >"$T/data/hwdb/h800.json"
"$BIN" --data-dir "$T/data" show h800 >/dev/null 2>"$T/err" && fail "unknown architecture accepted"
grep -q "architecture" "$T/err" && grep -q "hopper" "$T/err" || fail "architecture message: $(cat "$T/err")"
sed 's/"architecture": "hopper",/"architecture": "hopper", "dies_per_package": 99,/' "$SRC/hwdb/h800.json" >"$T/data/hwdb/h800.json"
"$BIN" --data-dir "$T/data" show h800 >/dev/null 2>"$T/err" && fail "dies_per_package 99 accepted"
grep -q "dies_per_package" "$T/err" || fail "dies_per_package message: $(cat "$T/err")"
# FFN GPUs beyond the expert slots are priced (they count per GPU) and the table says they hold none.
python3 - "$SRC/examples/deepseek-v3-h800-afd.json" "$T/afd320.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["deployment"]["ffn"]["gpus"] = 320
json.dump(d, open(sys.argv[2], "w"))
PY
"$BIN" evaluate "$T/afd320.json" >"$T/out" || fail "320 FFN GPUs: exit $?"
grep -q "64 of the 320 GPUs for experts hold none (320 EP ranks for 256 expert slots)" "$T/out" ||
  fail "idle FFN GPUs not noted: $(head -5 "$T/out")"
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-afd.json" | grep -q "hold none" && fail "note without idle GPUs"

# Token counts in a scenario take the command line's K suffix: "4K" is 4096.
sed 's/"context_tokens": 4096/"context_tokens": "4K"/' "$SRC/examples/deepseek-v3-h800-ep.json" >"$T/k.json"
grep -q '"4K"' "$T/k.json" || fail "the example no longer says context_tokens 4096"
[ "$("$BIN" evaluate "$T/k.json" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s_per_gpu"])')" = \
  "$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s_per_gpu"])')" ] ||
  fail "context_tokens \"4K\" evaluates differently from 4096"
# The roofline fractions each side was priced with, and their origin: H800's measured profile by
# default, the generic values under generic-efficiencies.json, a given value as calibrated.
for cal in "" "$SRC/examples/calibration/generic-efficiencies.json" "$SRC/hwdb/calibration/h800.json"; do
  "$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --json ${cal:+--calibration "$cal"} >"$T/r.json" ||
    fail "evaluate with calibration '$cal': exit $?"
  python3 - "$T/r.json" "$cal" <<'PY' || fail "roofline_efficiency with calibration '$cal'"
import json, sys
d, cal = json.load(open(sys.argv[1])), sys.argv[2]
r = d["roofline_efficiency"]["attention_gpu"]
assert r["hardware"] == "h800", r
want = "default" if "generic" in cal else "calibrated" if cal else "measured"
for k in ("gemm_compute", "gemm_memory", "attention_compute", "attention_memory"):
    assert r[k]["source"] == want and 0 < r[k]["value"] <= 1, (k, r[k], want)
assert (r["profile"] == "hwdb/calibration/h800.json") == (want == "measured"), r
assert d["roofline_efficiency"]["ffn_gpu"]["hardware"] == "h800"
PY
done
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" | grep -q "roofline: GEMM .*measured (hwdb/calibration/h800.json)" ||
  fail "the table does not say where the roofline fractions come from"
echo "1 passed, 0 failed"
