#!/usr/bin/env bash
# ridgeline-calibrate attention / gemm: tiny CPU sweeps (verified kernels, table, raw JSON, a
# calibration file that `evaluate --calibration` accepts), bad flags, and the CUDA backend's
# clean refusal without a GPU (it runs for real where one is).
set -u
. "$(dirname "$0")/calibrate_preamble.sh" "$@"

# Tiny shapes: this checks the pipeline, not the host's numbers (and stays fast under ASan).
"$CAL" attention --backend cpu --quick --batch 1,2 --context 64,256 --mla-heads 16 --latent-dim 64 --rope-dim 16 \
  --gqa-heads 4 --gqa-kv-heads 4 --head-dim 32 --json "$T/att.json" -o "$T/att-cal.json" >"$T/out" 2>"$T/err" \
  || fail "attention cpu: $(cat "$T/out" "$T/err")"
grep -q "check mla decode attention .* ok" "$T/out" || fail "no mla check line: $(cat "$T/out")"
grep -q "check gqa decode attention .* ok" "$T/out" || fail "no gqa check line: $(cat "$T/out")"
grep -qE "^ *mla +2 +256 +16 .*(us|ms)" "$T/out" || fail "no mla table row with a time unit: $(cat "$T/out")"
grep -q "GFLOP/s" "$T/out" || fail "no achieved GFLOP/s summary: $(cat "$T/out")"
grep -q "\[8/8\]" "$T/err" || fail "no progress line: $(cat "$T/err")"
python3 - "$T/att.json" "$T/att-cal.json" <<'PY' || fail "attention JSON content"
import json, sys
raw = json.load(open(sys.argv[1]))
cal = json.load(open(sys.argv[2]))
assert raw["environment"]["backend"] == "cpu" and raw["environment"]["device"], raw["environment"]
assert all(c["ok"] for c in raw["checks"]) and len(raw["checks"]) == 2, raw["checks"]
s = raw["samples"]
assert len(s) == 8, len(s)
for p in s:
    assert p["time_median_s"] > 0 and p["time_p99_s"] >= p["time_median_s"], p
    assert p["dtype"] == "fp32" and p["dtype_bytes"] == 4
    L, B, H = p["context_tokens"], p["batch"], p["q_heads"]
    if p["kernel"] == "mla":
        assert p["flops"] == 2 * B * H * L * (2 * 64 + 16), p
        assert p["kv_bytes"] == B * L * (64 + 16) * 4, p
    else:
        assert p["flops"] == 4 * B * H * L * 32, p
        assert p["kv_bytes"] == B * L * 2 * 4 * 32 * 4, p
    assert p["bytes_moved"] > p["kv_bytes"]
assert "published_comparison" in raw
e = cal["efficiency"]
f = cal["fits"]["attention"]
nm = cal["provenance"]["not_measured"]
# A slow host (sanitizer build) can leave one regime unmeasured: then its key is absent and listed.
assert f["compute_bound_samples"] + f["memory_bound_samples"] == 8, f
for key, n in (("attention_compute", f["compute_bound_samples"]), ("attention_memory", f["memory_bound_samples"])):
    if n > 0: assert 0 < e[key] <= 1, e
    else: assert key not in e and key in nm, (e, nm)
assert set(e) <= {"attention_compute", "attention_memory"}, e
assert cal["source"] and cal["provenance"]["peak_source"]
PY

"$CAL" gemm --backend cpu --quick --experts 4 --hidden 128 --intermediate 64 --tokens 1,8,32 --skew zipf:1.2,hot:0.5 \
  --json "$T/gemm.json" -o "$T/gemm-cal.json" >"$T/out" 2>"$T/err" || fail "gemm cpu: $(cat "$T/out" "$T/err")"
grep -q "check fp32 grouped GEMM .*hot:0.5.* ok" "$T/out" || fail "no gemm check line: $(cat "$T/out")"
grep -qE "fp32 +zipf:1.2 +32 .*x$" "$T/out" || fail "no skewed gemm row: $(cat "$T/out")"
python3 - "$T/gemm.json" "$T/gemm-cal.json" <<'PY' || fail "gemm JSON content"
import json, sys
raw = json.load(open(sys.argv[1]))
cal = json.load(open(sys.argv[2]))
s = raw["samples"]
assert len(s) == 9 and {p["skew"] for p in s} == {"balanced", "zipf:1.2", "hot:0.5"}, [p["skew"] for p in s]
for p in s:
    assert sum(p["tokens_per_expert"]) == 4 * p["tokens_per_expert_mean"], p
    assert p["flops"] == 2 * sum(p["tokens_per_expert"]) * 128 * 64
    if p["skew"] == "hot:0.5": assert p["tokens_per_expert"][0] == 2 * p["tokens_per_expert_mean"], p
    if p["skew"] == "zipf:1.2": assert p["tokens_per_expert"] == sorted(p["tokens_per_expert"], reverse=True)
assert set(cal["efficiency"]) <= {"gemm_compute", "gemm_memory", "kernel_overhead"} and cal["efficiency"], cal
PY

# --merge: the gemm sweep adds its keys to the attention calibration and keeps the others.
cp "$T/att-cal.json" "$T/merged.json"
"$CAL" gemm --backend cpu --quick --experts 2 --hidden 64 --intermediate 32 --tokens 1,4,16 --skew hot:0.5 \
  -o "$T/merged.json" --merge >"$T/out" 2>&1 || fail "gemm --merge: $(cat "$T/out")"
python3 - "$T/att-cal.json" "$T/merged.json" <<'PY' || fail "merged calibration content"
import json, sys
a, m = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for k, v in a["efficiency"].items(): assert m["efficiency"][k] == v, (k, m["efficiency"])
assert set(m["efficiency"]) - set(a["efficiency"]), m["efficiency"]
assert "attention" in m["fits"] and "gemm" in m["fits"], m["fits"]
assert not set(m["provenance"]["not_measured"]) & set(m["efficiency"]), m["provenance"]
PY
echo '{"source": "x"}' >"$T/nomerge.json"
"$CAL" gemm --backend cpu --quick --experts 2 --hidden 64 --intermediate 32 --tokens 1,4 -o "$T/nomerge.json" \
  --merge >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] && grep -q "Fix" "$T/err" || fail "--merge into a file without efficiency: exit $rc: $(cat "$T/err")"

# Both files feed predictions; evaluate says it used them.
for c in att-cal gemm-cal merged; do
  out=$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --calibration "$T/$c.json" --calibration-any-device --json) \
    || fail "evaluate --calibration $c"
  grep -q '"calibration"' <<<"$out" || fail "evaluate --json does not record $c"
done

# Bad flags: exit 2 naming the flag.
for args in "attention --batch 0" "attention --context 8..2" "attention --kernels mla,foo" \
            "attention --gqa-heads 6 --gqa-kv-heads 4" "gemm --skew zipf:abc" "gemm --skew hot:2" \
            "gemm --dtype fp8" "gemm --experts 0"; do
  flag=$(awk '{print $2}' <<<"$args")
  # shellcheck disable=SC2086
  "$CAL" $args --backend cpu >/dev/null 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] || fail "$args: exit $rc, expected 2 ($(cat "$T/err"))"
  grep -q -- "$flag" "$T/err" || fail "$args: $flag not named: $(cat "$T/err")"
  [ "$(wc -l <"$T/err")" -le 3 ] || fail "$args: long usage error: $(cat "$T/err")"
done
# --hardware with the cpu backend is refused with a fix (a file-level error: exit 1).
"$CAL" attention --backend cpu --hardware h100-sxm >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] && grep -q "Fix" "$T/err" || fail "cpu + --hardware: exit $rc: $(cat "$T/err")"
"$CAL" attention --help | grep -q -- "--context" || fail "attention --help lacks --context"
"$CAL" --help | grep -q "attention" || fail "top-level --help does not mention the attention sweep"

# CUDA: exit 2 with a clear message without a GPU; a real (small) sweep with one.
for sub in attention gemm; do
  "$CAL" $sub --backend cuda --quick --json "$T/cuda-$sub.json" >"$T/out" 2>"$T/err"; rc=$?
  if [ "$rc" = 2 ]; then
    grep -qiE "no CUDA (device|backend)" "$T/err" || fail "cuda $sub exit 2 without a clear message: $(cat "$T/err")"
  elif [ "$rc" = 0 ]; then
    grep -q '"backend": "cuda"' "$T/cuda-$sub.json" || fail "cuda $sub raw file"
  else
    fail "cuda $sub exit $rc: $(cat "$T/err")"
  fi
done
echo ok
