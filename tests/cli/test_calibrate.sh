#!/usr/bin/env bash
# The calibrate -> fit -> predict loop on this machine (CPU backend), and the CUDA backend's
# clean refusal when no GPU is present (it runs for real where one is).
set -u
. "$(dirname "$0")/calibrate_preamble.sh" "$@"

# Small shapes: this checks the loop, not the host's numbers (and stays fast under ASan).
"$CAL" --backend cpu --quick --experts 4 --hidden 512 --intermediate 256 -o "$T/cpu.json" >"$T/out" 2>&1 || fail "cpu backend: $(cat "$T/out")"
python3 - "$T/cpu.json" <<'PY' || fail "calibration file content"
import json, sys
d = json.load(open(sys.argv[1]))
e = d["efficiency"]
g = d["fits"]["gemm"]
nm = d["provenance"]["not_measured"]
# A slow host (sanitizer build) can leave one regime unmeasured: then its key is absent and listed.
assert g["compute_bound_samples"] + g["memory_bound_samples"] >= 4, g
for key, n in (("gemm_compute", g["compute_bound_samples"]), ("gemm_memory", g["memory_bound_samples"])):
    if n > 0: assert 0 < e[key] <= 1, e
    else: assert key not in e and key in nm, (e, nm)
assert e.get("kernel_overhead", 0) >= 0
assert d["provenance"]["backend"] == "cpu" and d["provenance"]["peak_source"]
assert len(d["samples"]["grouped_gemm"]) >= 4 and len(d["samples"]["link"]) >= 3
assert d["fits"]["link"]["bytes_per_s"] > 0
PY
# The file feeds predictions: evaluate accepts it and says so; numbers are finite.
# Measured on this CPU, not on the scenario's H800: refused unless mapped explicitly.
"$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --calibration "$T/cpu.json" >/dev/null 2>"$T/err" &&
  fail "a CPU calibration was applied to an H800 scenario without --calibration-for"
grep -q "h800" "$T/err" && grep -q "Fix:" "$T/err" || fail "device refusal message: $(cat "$T/err")"
out=$("$BIN" evaluate "$SRC/examples/deepseek-v3-h800-ep.json" --calibration "$T/cpu.json" --calibration-for h800 --json) || fail "evaluate --calibration"
grep -q '"calibration"' <<<"$out" || fail "evaluate --json does not record the calibration"
python3 -c '
import json, math, sys
def walk(v):
    if isinstance(v, float): assert math.isfinite(v), v
    elif isinstance(v, dict): [walk(x) for x in v.values()]
    elif isinstance(v, list): [walk(x) for x in v]
walk(json.loads(sys.stdin.read()))' <<<"$out" || fail "non-finite output with calibration"

# --hardware with the cpu backend is refused with a fix.
"$CAL" --backend cpu --hardware h100-sxm -o "$T/x.json" >/dev/null 2>"$T/err" && fail "cpu + --hardware accepted"
grep -q "Fix" "$T/err" || fail "no fix in: $(cat "$T/err")"

# Out-of-range shapes and an unknown backend are usage errors (exit 2) that name the flag.
"$CAL" --backend cpu --experts 0 -o "$T/x.json" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 2 ] || fail "--experts 0: exit $rc, expected 2"
grep -q -- "--experts" "$T/err" || fail "--experts 0: flag not named: $(cat "$T/err")"
"$CAL" --backend tpu -o "$T/x.json" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 2 ] || fail "--backend tpu: exit $rc, expected 2"
grep -q -- "--backend" "$T/err" || fail "--backend tpu: flag not named: $(cat "$T/err")"

# CUDA backend: exit 2 with a clear message without a GPU; a real calibration with one.
"$CAL" --backend cuda --quick -o "$T/cuda.json" >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" = 2 ]; then
  grep -qiE "no CUDA (device|backend)" "$T/err" || fail "cuda backend exit 2 without a clear message: $(cat "$T/err")"
elif [ "$rc" = 0 ]; then
  grep -q '"backend": "cuda"' "$T/cuda.json" || fail "cuda calibration file"
else
  fail "cuda backend exit $rc: $(cat "$T/err")"
fi
echo "1 passed, 0 failed"
