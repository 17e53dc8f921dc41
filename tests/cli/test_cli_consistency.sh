#!/usr/bin/env bash
# CLI consistency (issue 11): case-insensitive ids, formats and strategies in every command; bare
# numbers where a unit is due are refused with the unit to add; 32K token counts; one short line
# (exit 2) for every bad flag value, negative counts included; exit 1 with a Fix for a missing
# file; --csv cells are plain numbers with units in the header; show / evaluate JSON shapes;
# roofline's ridge and LM head; plan's best plan per hardware kind; deprecated flag spellings.
set -u
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# usage RC NEEDLE -- ARGS: exit RC, nothing on stdout, exactly one stderr line holding NEEDLE.
usage() {
  local rc_want="$1" needle="$2"; shift 3
  "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null; local rc=$?
  local what="ridgeline $*"
  [ "$rc" = "$rc_want" ] || { fail "$what: exit $rc, expected $rc_want: $(head -c 300 "$T/err")"; return; }
  [ ! -s "$T/out" ] || fail "$what: printed a result"
  [ "$(wc -l <"$T/err")" = 1 ] || fail "$what: expected one line on stderr, got: $(cat "$T/err")"
  [ "$(wc -c <"$T/err")" -le 300 ] || fail "$what: stderr is not short: $(head -c 400 "$T/err")"
  grep -qF -- "$needle" "$T/err" || fail "$what: stderr lacks '$needle': $(cat "$T/err")"
}

# --- Case-insensitive ids, number formats and strategies, in every command -------------------
a=$("$BIN" plan --model deepseek-v3 --hardware h800 --weights fp8 --strategy ep --csv) || fail "plan lower"
b=$("$BIN" plan --model DeepSeek-V3 --hardware H800 --weights FP8 --kv-cache BF16 --strategy EP --csv) || fail "plan upper"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "plan: upper-case ids/formats/strategy give another answer"
grep -q "^afd," <<<"$b" && fail "plan --strategy EP searched AFD too"
"$BIN" list Models | grep -q "deepseek-v3" || fail "list Models does not list the models"
"$BIN" plan --objective WATT --strategy Both --json >/dev/null || fail "plan --objective WATT --strategy Both"
a=$("$BIN" roofline --model deepseek-v3 --hardware h800 --weights fp8 --kv bf16 --csv) || fail "roofline lower"
b=$("$BIN" roofline --model DEEPSEEK-V3 --hardware H800 --weights FP8 --kv BF16 --csv) || fail "roofline upper"
[ "$a" = "$b" ] || fail "roofline: upper case changes the answer"
for args in "show H800" "show DeepSeek-V3" "list HARDWARE" "list Models" \
            "commroof --model DeepSeek-V3 --hardware H800 --weights FP8 --nf 1..4" \
            "deadzone --model DeepSeek-V3 --weights FP8 --nf 1..4" \
            "imbalance --model DeepSeek-V3 --ranks 8 --tokens 16" \
            "sweep --model DeepSeek-V3 --hardware H800 --weights FP8 --strategy EP" \
            "compare --model DeepSeek-V3 --hardware H800 --slo 50ms --context 4096 --weights FP8"; do
  # shellcheck disable=SC2086
  "$BIN" $args >"$T/out" 2>"$T/err" || fail "$args: exit $?: $(head -c 300 "$T/err")"
done
sed -e 's/"deepseek-v3"/"DeepSeek-V3"/; s/"h800"/"H800"/; s/"fp8"/"FP8"/; s/"ep"/"EP"/' \
  "$SRC/examples/deepseek-v3-h800-ep.json" >"$T/upper.json"
grep -q '"EP"' "$T/upper.json" && grep -q '"FP8"' "$T/upper.json" || fail "upper.json was not rewritten"
a=$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['results'][0]['tokens_per_s_per_gpu'])")
b=$("$BIN" evaluate "$T/upper.json" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['results'][0]['tokens_per_s_per_gpu'])")
[ -n "$a" ] && [ "$a" = "$b" ] || fail "evaluate: an upper-case scenario gives $b, not $a"

# --- A bare number where a unit is due: refused with the unit to add ------------------------
usage 2 '--slo: 50 has no unit; write "50 ms"' -- plan --slo 50
usage 2 '50 has no unit; write "50 ms"' -- sweep --slo 50
usage 2 '50 has no unit; write "50 ms"' -- compare --slo "30 ms,50"
usage 2 '50 has no unit; write "50 ms"' -- commroof --model deepseek-v3 --hardware h800 --slo 50
usage 2 '5 has no unit; write "5 ms"' -- evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --gap 5
usage 2 '400 has no unit; write "400 GB/s"' -- sweep --scale-out-bandwidth 400
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --gap 0 >/dev/null || fail "--gap 0 (zero needs no unit)"
dep='"deployment": {"strategy": "ep", "hardware": "h800", "gpus": 8, "batch_per_gpu": 8}'
for field in '"tpot_slo": 50' '"tpot_slo": "50"'; do
  echo "{\"model\": \"deepseek-v3\", \"workload\": {\"context_tokens\": 4096, $field}, $dep}" >"$T/bare.json"
  "$BIN" evaluate "$T/bare.json" >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 1 ] || fail "scenario $field: exit $rc"
  for s in "bare.json: /workload/tpot_slo" "has no unit" 'write "50 ms"' "Fix"; do
    grep -qF "$s" "$T/err" || fail "scenario $field: stderr lacks '$s': $(cat "$T/err")"
  done
done
echo "{\"model\": \"deepseek-v3\", \"workload\": {\"context_tokens\": 4096, \"tpot_slo\": \"50 ms\"}, \"deployment\": {\"strategy\": \"ep\", \"hardware\": {\"base\": \"h800\", \"hbm_capacity\": \"80\"}, \"gpus\": 8, \"batch_per_gpu\": 8}}" >"$T/bare_hw.json"
"$BIN" evaluate "$T/bare_hw.json" >/dev/null 2>"$T/err" && fail "a hardware override \"80\" without a unit was accepted"
grep -q 'has no unit' "$T/err" && grep -q 'write "80 GB"' "$T/err" || fail "hbm_capacity \"80\": $(cat "$T/err")"

# --- Token counts: 32K = 32768, 32k = 32000 --------------------------------------------------
"$BIN" plan --help | grep -q '"32K"' || fail "plan --help does not suggest 32K"
c=$("$BIN" plan --context 32K --strategy ep --json | python3 -c "import json,sys; print(json.load(sys.stdin)['context_tokens'])") || fail "plan --context 32K"
[ "$c" = "32768" ] || [ "$c" = "32768.0" ] || fail "plan --context 32K read as $c"
c=$("$BIN" roofline --model deepseek-v3 --hardware h800 --context 32k --batch 1K --json |
  python3 -c "import json,sys; d = json.load(sys.stdin); print(d['context_tokens'], d['batch_per_gpu'])") || fail "roofline 32k"
[ "$c" = "32000.0 1024.0" ] || [ "$c" = "32000 1024" ] || fail "roofline --context 32k --batch 1K read as $c"
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --context 8K >/dev/null || fail "evaluate --context 8K"
usage 2 "--context" -- plan --context 32X

# --- Negative counts and other bad values: one short line, exit 2 ----------------------------
usage 2 "--gpus" -- plan --gpus -5
usage 2 "--max-gpus" -- plan --max-gpus -1
usage 2 "--threads" -- plan --threads -1
usage 2 "--top" -- plan --top -2
usage 2 "--ep" -- roofline --model deepseek-v3 --hardware h800 --ep -5
usage 2 "--batch" -- roofline --model deepseek-v3 --hardware h800 --batch -3
usage 2 "--ranks" -- imbalance --model deepseek-v3 --ranks -5
usage 2 "--nf" -- commroof --model deepseek-v3 --hardware h800 --nf -5
usage 2 "--context" -- sweep --context -5
usage 2 "--weights" -- plan --weights fp9
usage 2 "--objective" -- plan --objective speed
usage 2 "--strategy" -- plan --strategy both-ways
usage 2 "--mtp-acceptance" -- evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --mtp-acceptance -5
usage 2 "--mtp-acceptance" -- evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --mtp-acceptance 0
usage 2 "--nonsense" -- plan --nonsense
usage 2 "--json excludes --csv" -- plan --json --csv
usage 2 "without an expert" -- roofline --model deepseek-v3 --hardware h800 --ep 1000
usage 2 "--gpus 100 is more than --max-gpus 50" -- plan --gpus 100 --max-gpus 50
usage 2 "at least 1 (the busiest rank" -- evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --routing 0.9
usage 2 "--json excludes --markdown" -- validate "$SRC/examples/validation" --json --markdown

# --- A missing input file: exit 1 with a Fix -------------------------------------------------
for args in "evaluate $T/nothere.json" "plan --calibration $T/nothere.json" \
            "evaluate $SRC/examples/deepseek-v3-h800-ep.json --calibration $T/nothere.json" "validate $T/nothere"; do
  # shellcheck disable=SC2086
  "$BIN" $args >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 1 ] || fail "$args: exit $rc, expected 1: $(cat "$T/err")"
  grep -q "nothere" "$T/err" && grep -q "Fix:" "$T/err" || fail "$args: no file name or Fix: $(cat "$T/err")"
done

# --- CSV: units in the header, plain numbers in the cells ------------------------------------
"$BIN" plan --csv --top 3 >"$T/plan.csv" || fail "plan --csv"
"$BIN" plan --json --top 3 >"$T/plan.json" || fail "plan --json"
"$BIN" sweep --hardware h800,h20 --csv >"$T/sweep.csv" || fail "sweep --csv"
"$BIN" compare --slo "30 ms,50 ms" --context 4096 --csv >"$T/compare.csv" || fail "compare --csv"
"$BIN" roofline --model deepseek-v3 --hardware h800 --csv >"$T/roofline.csv" || fail "roofline --csv"
"$BIN" commroof --model deepseek-v3 --hardware h800 --nf 1..8 --csv >"$T/commroof.csv" || fail "commroof --csv"
"$BIN" deadzone --model deepseek-v3 --csv >"$T/deadzone.csv" || fail "deadzone --csv"
"$BIN" imbalance --model deepseek-v3 --csv >"$T/imbalance.csv" || fail "imbalance --csv"
"$BIN" imbalance --alpha --csv >"$T/alpha.csv" || fail "imbalance --alpha --csv"
"$BIN" validate "$SRC/examples/validation" --csv >"$T/validate.csv" || fail "validate --csv"
python3 - "$T" <<'PY' || fail "CSV outputs are not machine-readable"
import csv, json, math, re, sys
T = sys.argv[1]
text_cols = {"strategy", "plan", "attention_hardware", "ffn_hardware", "dispatch_style", "binding", "batch_limited_by",
             "model", "hardware", "winner", "operator", "dtype", "bound", "regime", "point", "verification"}
for name in ["plan", "sweep", "compare", "roofline", "commroof", "deadzone", "imbalance", "alpha", "validate"]:
    rows = list(csv.reader(open(f"{T}/{name}.csv")))
    head, body = rows[0], rows[1:]
    assert body, name
    for h in head:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", h), (name, "header", h)
    for r in body:
        assert len(r) == len(head), (name, r)
        for h, cell in zip(head, r):
            assert "%" not in cell, (name, h, cell)
            if h in text_cols or h.endswith("_plan") or h.endswith("_hardware") or h.endswith("_strategy") \
                    or h.endswith("_binding") or h.endswith("_by") or h.endswith("_style") or cell == "":
                continue
            v = float(cell)  # raises on "50 ms", "1.2x", "-"
            assert math.isfinite(v), (name, h, cell)
plan = list(csv.DictReader(open(f"{T}/plan.csv")))
for col in ["strategy", "attention_gpus", "ffn_gpus", "attention_tp", "ffn_tp", "ep", "micro_batches",
            "sequences", "tpot_s", "tokens_per_s_per_gpu", "hfu"]:
    assert col in plan[0], col
# Full precision: the CSV's tpot_s is the JSON's tpot_ms in seconds, to the last bit's worth.
j = json.load(open(f"{T}/plan.json"))
top = {c["plan"]: c for c in j["top"]}
for r in plan:
    assert abs(float(r["tpot_s"]) * 1e3 - top[r["plan"]]["tpot_ms"]) <= 1e-12 * top[r["plan"]]["tpot_ms"], r
    assert float(r["tokens_per_s_per_gpu"]) == top[r["plan"]]["tokens_per_s_per_gpu"], r
    assert 0 < float(r["hfu"]) < 1, r  # a fraction, not a percentage
sweep = list(csv.DictReader(open(f"{T}/sweep.csv")))
assert [r["hardware"] for r in sweep] == ["h800", "h20"] and float(sweep[0]["tpot_slo_s"]) == 0.05, sweep
assert sweep[0]["ep_strategy"] == "ep" and int(sweep[0]["ep_attention_gpus"]) > 0, sweep[0]
cmp = list(csv.DictReader(open(f"{T}/compare.csv")))
assert sorted(float(r["tpot_slo_s"]) for r in cmp) == [0.03, 0.05], cmp
PY

# --- JSON shapes: show, evaluate ---------------------------------------------------------------
"$BIN" show deepseek-v3 --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
c = d['computed']
assert c['kind'] == 'model' and c['total_params'] > 6e11 and c['active_params_per_token'] > 3e10, c
assert d['computed']['file'].endswith('deepseek-v3.json'), d['computed']" || fail "show MODEL --json is not valid JSON with computed counts"
"$BIN" show H800 | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d['computed']['kind'] == 'hardware' and d['computed']['ridge_fp8_flop_per_byte'] > 100, d['computed']" ||
  fail "show H800 is not valid JSON with a computed ridge"
EP="$SRC/examples/deepseek-v3-h800-ep.json"; AFD="$SRC/examples/deepseek-v3-h800-afd.json"
"$BIN" evaluate "$EP" --json >"$T/one.json" || fail "evaluate one"
"$BIN" evaluate "$EP" "$AFD" --json >"$T/two.json" || fail "evaluate two"
python3 - "$T/one.json" "$T/two.json" <<'PY' || fail "evaluate --json shape differs between 1 and 2 files"
import json, sys
one, two = (json.load(open(f)) for f in sys.argv[1:])
assert isinstance(one["results"], list) and len(one["results"]) == 1, one.keys()
assert isinstance(two["results"], list) and len(two["results"]) == 2, two.keys()
assert "meta" in one and "meta" in two
assert set(one["results"][0]) == set(two["results"][0]), set(one["results"][0]) ^ set(two["results"][0])
assert one["results"][0]["tokens_per_s_per_gpu"] == two["results"][0]["tokens_per_s_per_gpu"]
assert one["tokens_per_s_per_gpu"] == one["results"][0]["tokens_per_s_per_gpu"]  # kept at the top level too
PY

# --- roofline: the ridge it classifies with; the LM head outside the layer time ----------------
"$BIN" roofline --model deepseek-v3 --hardware h800 --json >"$T/roof.json" || fail "roofline --json"
python3 - "$T/roof.json" <<'PY' || fail "roofline ridge / LM head"
import json, sys
d = json.load(open(sys.argv[1]))
ops = d["operators"]
layer = [o for o in ops if o["per_layer"]]
head = [o for o in ops if not o["per_layer"]]
assert len(head) == 1 and head[0]["operator"].startswith("lm_head"), [o["operator"] for o in ops]
assert abs(d["layer_time_s"] - sum(o["time_s"] for o in layer)) <= 1e-15 + 1e-12 * d["layer_time_s"]
assert abs(d["lm_head_time_s"] - head[0]["time_s"]) <= 1e-18
for o in ops:
    # Classified with the effective ridge: below it memory-bound, above it compute-bound.
    want = "compute" if o["intensity_flop_per_byte"] > o["ridge_flop_per_byte"] else "memory"
    assert o["bound"] == want or abs(o["intensity_flop_per_byte"] / o["ridge_flop_per_byte"] - 1) < 1e-9, o
    assert o["ridge_flop_per_byte"] != o["peak_ridge_flop_per_byte"], o  # efficiencies applied
PY
"$BIN" roofline --model deepseek-v3 --hardware h800 | grep -q "LM head excluded" || fail "roofline text: LM head"

# --- plan with several hardware kinds: the best plan per kind; --objective watt --------------
out=$("$BIN" plan --hardware h800,h20 --strategy ep) || fail "plan --hardware h800,h20"
grep -q "Best plan per hardware kind" <<<"$out" || fail "no per-hardware table: $out"
grep -q "^ *h20 " <<<"$out" && grep -q "^ *h800 " <<<"$out" || fail "per-hardware rows: $out"
"$BIN" plan --hardware h800,h20 --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert [p['hardware'] for p in d['per_hardware']] == ['h800', 'h20'], d['per_hardware']
assert all(p['ep'] is None or p['ep']['attention_hardware'] == p['hardware'] for p in d['per_hardware'])" ||
  fail "plan --json per_hardware"
w=$("$BIN" plan --objective watt --json | python3 -c "import json,sys; print(json.load(sys.stdin)['objective'])") || fail "--objective watt"
p=$("$BIN" plan --objective power --json | python3 -c "import json,sys; print(json.load(sys.stdin)['objective'])")
[ -n "$w" ] && [ "$w" = "$p" ] || fail "--objective watt ($w) and power ($p) differ"

# --- Deprecated spellings: still work, one note on stderr --------------------------------------
"$BIN" compare --slos "50 ms" --contexts 4096 --csv >"$T/out" 2>"$T/err" || fail "compare --slos exit $?"
grep -q -- "--slos is deprecated; use --slo" "$T/err" && grep -q -- "--contexts is deprecated" "$T/err" ||
  fail "compare --slos/--contexts: no note: $(cat "$T/err")"
"$BIN" compare --help | grep -A3 "Deprecated spellings" | grep -q -- "--slos" || fail "compare --help: --slos not under Deprecated spellings"
usage 2 "--contexts" -- compare --contexts 4096,1e308

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
