#!/usr/bin/env bash
# `ridgeline plan`: the default run, JSON/CSV, --top/--pareto/--explain, the scenario round trip
# (plan -> --write-scenario -> evaluate -> identical numbers) and bad-flag errors.
set -u
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$BIN" plan) || fail "default plan exit $?"
grep -q "best EP" <<<"$out" || fail "no side-by-side table: $out"
grep -q "winner: " <<<"$out" || fail "no winner line: $out"
grep -q "inputs: iteration gap: 5 ms (default)" <<<"$out" || fail "plan should say which inputs are defaults: $out"
grep -q "context: 4096 tokens (default)" <<<"$out" || fail "the default context should say default: $out"
"$BIN" plan --context 32K | grep -q "context: 32768 tokens (given)" || fail "--context 32K should say given"
tail -1 <<<"$out" | grep -q "^verdict .*robust" || fail "the default plan should end with the robustness line: $out"
# --strategy ep searches no AFD plan: the AFD column and the winner line say so, not "no feasible plan".
out=$("$BIN" plan --strategy ep) || fail "plan --strategy ep exit $?"
grep -q "winner: EP (AFD not searched: --strategy)" <<<"$out" || fail "--strategy ep winner line: $out"
grep -q "not searched (--strategy)" <<<"$out" || fail "--strategy ep: the AFD column should say not searched: $out"
grep -q "no feasible" <<<"$out" && fail "--strategy ep: nothing was infeasible: $out"
out=$("$BIN" plan --strategy AFD --hardware h800,h20) || fail "plan --strategy AFD exit $?"
grep -q "winner: AFD (EP not searched: --strategy)" <<<"$out" || fail "--strategy afd winner line: $out"
grep -q "^  h20 .*not searched (--strategy)" <<<"$out" || fail "--strategy afd: per-hardware EP should say not searched: $out"
# Under the symmetric-contention what-if EP wins DeepSeek-V3 on H800 (README "What changed").
out=$("$BIN" plan --calibration "$SRC/examples/calibration/symmetric-contention.json") || fail "plan --calibration exit $?"
grep -q "winner: EP" <<<"$out" || fail "symmetric contention should favour EP: $out"
grep -q "calibration: " <<<"$out" || fail "plan should name the calibration file: $out"

# Plan sanity against DeepSeek's published 2,325 tokens/s per GPU (profile, MTP, ~5K context): +-25 %.
pj=$("$BIN" plan --model deepseek-v3 --hardware h800 --slo "50 ms" --context 5000 --mtp-acceptance 1.8 --json) ||
  fail "plan sanity exit $?"
python3 - "$pj" <<'PY' || fail "best EP plan outside 2,325 +- 25 %"
import json, sys
d = json.loads(sys.argv[1])
v = d["ep"]["tokens_per_s_per_gpu"]
assert 0.75 * 2325 <= v <= 1.25 * 2325, v
assert d["ep"]["transport"]["name"] == "deepep_low_latency", d["ep"]["transport"]
assert d["afd"]["transport"]["name"] == "cpu_rdma", d["afd"]["transport"]
assert {i["name"] for i in d["inputs"]} >= {"iteration gap", "routing", "EP transport", "AFD transport"}, d["inputs"]
PY

# --sensitivity: the table, and its JSON keys.
out=$("$BIN" plan --sensitivity) || fail "plan --sensitivity exit $?"
for s in "Sensitivity of the verdict" "iteration gap" "expert load imbalance" "AFD transport contention" "KV-length spread" "kernel tables"; do
  grep -q "$s" <<<"$out" || fail "missing '$s' in --sensitivity output"
done
sj=$("$BIN" plan --sensitivity --json) || fail "plan --sensitivity --json exit $?"
python3 - "$sj" <<'PY' || fail "sensitivity JSON keys"
import json, sys
d = json.loads(sys.argv[1])
rows = d["sensitivity"]
assert len(rows) >= 5, rows
keys = {"parameter", "low", "high", "ep_low", "ep_high", "afd_low", "afd_high", "winner_low", "winner_high"}
for r in rows:
    assert set(r) == keys, r
    assert r["winner_low"] in ("ep", "afd", "none") and r["winner_high"] in ("ep", "afd", "none"), r
    assert r["ep_low"] > 0 and r["afd_high"] > 0, r
assert "robust" in d["verdict_robustness"], d["verdict_robustness"]
PY
# KV-length spread: equal lengths (--context-cv 0) can only help; the input is reported.
pj0=$("$BIN" plan --context-cv 0 --json) || fail "plan --context-cv 0 exit $?"
pjd=$("$BIN" plan --json) || fail "plan --json exit $?"
python3 - "$pj0" "$pjd" <<'PY' || fail "--context-cv 0 vs default"
import json, sys
flat, dflt = (json.loads(a) for a in sys.argv[1:])
for k in ("ep", "afd"):
    assert flat[k]["tokens_per_s_per_gpu"] >= dflt[k]["tokens_per_s_per_gpu"], (k, flat[k], dflt[k])
src = {i["name"]: i["source"] for i in dflt["inputs"]}
assert src.get("KV-length spread (CV)") == "default", dflt["inputs"]
assert {i["name"]: i["source"] for i in flat["inputs"]}["KV-length spread (CV)"] == "given"
PY
"$BIN" plan --context-cv nan >/dev/null 2>"$T/err" && fail "--context-cv nan accepted"
grep -q -- "--context-cv" "$T/err" || fail "context-cv message: $(cat "$T/err")"
# Bad realism flags are usage errors naming the flag.
"$BIN" plan --routing zipf:x >/dev/null 2>"$T/err" && fail "--routing zipf:x accepted"
grep -q -- "--routing" "$T/err" || fail "routing message: $(cat "$T/err")"
"$BIN" plan --afd-transport carrier-pigeon >/dev/null 2>"$T/err" && fail "unknown transport accepted"
grep -q "cpu_rdma" "$T/err" || fail "transport message: $(cat "$T/err")"

out=$("$BIN" plan --top 3 --pareto --explain) || fail "plan --top --pareto --explain exit $?"
for s in "Top 3 plans" "Pareto frontier" "rejected plan shapes" weights_exceed_hbm slo_violated budget; do
  grep -q "$s" <<<"$out" || fail "missing '$s' in plan output"
done

# The AFD score bound: --explain counts the skipped families; --no-bound skips none and finds the
# same best plans (the same plan labels) from more shapes.
bounded=$("$BIN" plan --top 2 --explain --json) || fail "plan --explain --json exit $?"
unbounded=$("$BIN" plan --top 2 --explain --json --no-bound) || fail "plan --no-bound exit $?"
python3 - "$bounded" "$unbounded" <<'PY' || fail "--no-bound should give the same plans from more shapes"
import json, sys
b, u = (json.loads(x) for x in sys.argv[1:3])
assert b["rejected"]["score_bound"] > 0 and u["rejected"]["score_bound"] == 0, (b["rejected"], u["rejected"])
assert [p["plan"] for p in b["top"]] == [p["plan"] for p in u["top"]], (b["top"], u["top"])
assert b["search"]["shapes"] < u["search"]["shapes"]
PY

json=$("$BIN" plan --json --pareto --top 2) || fail "plan --json exit $?"
for k in ep afd winner ratio top pareto rejected search evaluations meta deployment tokens_per_s_per_gpu binding; do
  grep -q "\"$k\"" <<<"$json" || fail "missing $k in plan --json"
done

csv=$("$BIN" plan --csv --top 2) || fail "plan --csv exit $?"
[ "$(head -1 <<<"$csv" | cut -d, -f1-3)" = "strategy,plan,total_gpus" ] || fail "csv header: $(head -1 <<<"$csv")"
[ "$(wc -l <<<"$csv")" -ge 4 ] || fail "csv rows: $csv"

# Round trip: the written scenario evaluates to the same numbers as the plan reported.
for args in "--strategy ep" "--strategy afd" "--model dbrx --hardware a800 --weights bf16 --dispatch bf16 --slo 150ms --strategy afd" \
            "--model mixtral-8x22b --hardware h20 --attention-hardware h20 --ffn-hardware l40s --weights bf16 --slo 150ms --strategy afd --objective cost"; do
  # shellcheck disable=SC2086
  pj=$("$BIN" plan $args --json --write-scenario "$T/plan.json") || fail "plan $args exit $?"
  ej=$("$BIN" evaluate "$T/plan.json" --json) || fail "evaluate of the written scenario ($args) exit $?"
  for k in tokens_per_s_per_gpu tpot_ms tokens_per_s_per_dollar_hour gpus sequences; do
    pv=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d[d['winner']]['$k'])" "$pj")
    ev=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['$k'])" "$ej")
    [ "$pv" = "$ev" ] || fail "round trip ($args): $k plan $pv vs evaluate $ev"
  done
done

# Determinism: one thread and two threads give the same JSON (minus timing and meta).
strip() { python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d.pop('meta'); d['search'].pop('wall_s'); print(json.dumps(d, sort_keys=True))"; }
a=$("$BIN" plan --json --top 5 --threads 1 | strip); b=$("$BIN" plan --json --top 5 --threads 2 | strip)
[ "$a" = "$b" ] || fail "results depend on --threads"

# Bad input: exit 1, the flag, the value and a fix on stderr, nothing on stdout.
# RC_WANT overrides the exit code: a bad flag value is a usage error (2).
expect_error() {
  "$BIN" plan "${@:2}" >"$T/out" 2>"$T/err"; local rc=$?
  [ "$rc" = "${RC_WANT:-1}" ] || fail "$1: exit $rc, expected ${RC_WANT:-1}"
  [ ! -s "$T/out" ] || fail "$1: printed a partial result"
  grep -qi "fix\|did you mean" "$T/err" || fail "$1: no fix in: $(cat "$T/err")"
}
# A bad flag value is a usage error (exit 2) naming the flag and the allowed range.
"$BIN" plan --slo "fast" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 2 ] || fail "bad-slo: exit $rc, expected 2"
grep -q -- '--slo' "$T/err" && grep -q "1 us to 1 h" "$T/err" || fail "bad-slo: $(cat "$T/err")"
RC_WANT=2 expect_error bad-objective --objective speed
expect_error bad-hw --hardware h8000
RC_WANT=2 expect_error bad-dtype --weights fp9
expect_error unsupported-dtype --hardware a800
grep -q "a800" "$T/err" || fail "unsupported dtype error should name a800"
# Worker shapes (docs/shapes.md): on 4 GPUs the search offers DP x TP attention and pure TP;
# --attention-tp 1 searches DP attention only; a bad size is a usage error.
out=$("$BIN" plan --model qwen3-30b-a3b --hardware h800 --strategy ep --gpus 4 --top 30 --json) ||
  fail "plan shapes exit $?"
python3 - "$out" <<'PY' || fail "shapes missing from the 4-GPU search"
import json, sys
d = json.loads(sys.argv[1])
shapes = {(c["shape"]["attention_tp"], c["shape"]["expert_tp"]) for c in d["top"] if c["strategy"] == "ep"}
assert (4, 4) in shapes and (2, 1) in shapes, shapes
PY
out=$("$BIN" plan --model qwen3-30b-a3b --hardware h800 --strategy ep --gpus 4 --top 30 --json --attention-tp 1) ||
  fail "plan --attention-tp 1 exit $?"
python3 - "$out" <<'PY' || fail "--attention-tp 1 should search DP attention only"
import json, sys
d = json.loads(sys.argv[1])
assert all(c["shape"]["attention_tp"] == 1 and c["shape"]["expert_tp"] == 1 for c in d["top"]), d["top"]
PY
"$BIN" plan --attention-tp 0 >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 2 ] || fail "--attention-tp 0 exit $rc, expected 2"
grep -q -- "--attention-tp" "$T/err" || fail "--attention-tp 0 error should name the flag: $(cat "$T/err")"
# --require-bubble-free keeps a shape at its largest bubble-free batch (Kimi-K2 on 48 B300s at 40 ms:
# the largest SLO batch of the best shape has bubbles) and says what stopped the batch.
out=$("$BIN" plan --model kimi-k2 --hardware b300 --max-gpus 48 --slo "40 ms" --require-bubble-free --strategy afd --json) ||
  fail "plan --require-bubble-free exit $?"
python3 - "$out" <<'PY' || fail "--require-bubble-free plan"
import json, sys
a = json.loads(sys.argv[1])["afd"]
assert a["breakdown"]["bubble_free"] is True, a["breakdown"]["bubble_free"]
assert a["batch_limited_by"] in ("bubble-free ping-pong", "TPOT SLO", "KV-cache memory"), a["batch_limited_by"]
PY
exit 0
