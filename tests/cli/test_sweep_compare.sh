#!/usr/bin/env bash
# `ridgeline sweep`, `compare` and `bench`: one row per grid point with EP, AFD and the ratio;
# the crossover table and a well-formed SVG heatmap; bench reports its three figures.
set -u
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

csv=$("$BIN" sweep --model deepseek-v3,step-3 --hardware h800,gb200 --slo "50 ms" --context 4096 --csv) || fail "sweep exit $?"
[ "$(wc -l <<<"$csv")" = 5 ] || fail "sweep should print a header and 4 rows: $csv"
head -1 <<<"$csv" | grep -q "ratio_afd_over_ep" || fail "sweep header lacks ratio_afd_over_ep: $(head -1 <<<"$csv")"
# The old spelling --models still works, with a note on stderr.
"$BIN" sweep --models deepseek-v3 --hardware h800 --csv >"$T/old.csv" 2>"$T/old.err" || fail "sweep --models exit $?"
grep -q "deprecated; use --model" "$T/old.err" || fail "sweep --models: no deprecation note: $(cat "$T/old.err")"
[ "$(wc -l <"$T/old.csv")" = 2 ] || fail "sweep --models: $(cat "$T/old.csv")"
# The verdicts README "What changed in the default plan's answer" documents, read from the
# sweep: EP ahead for DeepSeek-V3 on H800, the gap narrower on GB200, Step-3 on H800 favouring EP
# more (the paper's third verdict reversed).
python3 - "$csv" <<'PY' || fail "sweep ratios differ from the documented verdicts"
import csv, io, sys
rows = {(r["model"], r["hardware"]): float(r["ratio_afd_over_ep"]) for r in csv.DictReader(io.StringIO(sys.argv[1]))}
assert 0.7 < rows[("deepseek-v3", "h800")] < 0.95, rows
assert rows[("deepseek-v3", "gb200")] > rows[("deepseek-v3", "h800")], rows
assert rows[("step-3", "h800")] < rows[("deepseek-v3", "h800")], rows
PY

json=$("$BIN" sweep --hardware h800 --scale-out-bandwidth "200 Gb/s,1600 Gb/s" --json) || fail "sweep --json exit $?"
python3 - "$json" <<'PY' || fail "sweep --json rows"
import json, sys
d = json.loads(sys.argv[1])
assert "meta" in d and len(d["rows"]) == 2, d
lo, hi = d["rows"]
assert lo["scale_out_bandwidth"] == "200 Gb/s" and hi["scale_out_bandwidth"] == "1600 Gb/s"
# More NIC bandwidth never hurts the best plans.
assert hi["ep_score"] >= lo["ep_score"] and hi["afd_score"] >= lo["afd_score"], d["rows"]
PY

out=$("$BIN" compare --model deepseek-v3 --hardware h800 --slo "30 ms,50 ms" --context 2048,8192 --svg "$T/map.svg") \
  || fail "compare exit $?"
grep -q "context" <<<"$out" || fail "compare table: $out"
[ -s "$T/map.svg" ] || fail "compare wrote no SVG"
python3 -c "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); cells = [e for e in d.getElementsByTagName('rect') if e.getAttribute('class') == 'cell']; assert len(cells) == 4, len(cells)" "$T/map.svg" \
  || fail "SVG is not well-formed or lacks 4 cells"

b=$("$BIN" bench --seconds 0.05 --json) || fail "bench exit $?"
for k in evaluations_per_s_one_thread default_plan_search_s default_plan_process_s exhaustive_search_s exhaustive_evaluations; do
  grep -q "\"$k\"" <<<"$b" || fail "bench --json lacks $k"
done

"$BIN" sweep --slo "soon" >"$T/out" 2>"$T/err" && fail "bad --slo accepted"
[ ! -s "$T/out" ] || fail "bad sweep input printed a partial result"
grep -q -- "--slo" "$T/err" || fail "bad --slo error does not name the flag: $(cat "$T/err")"
"$BIN" compare --model nosuchmodel >"$T/out" 2>"$T/err" && fail "unknown model accepted"
grep -qi "nosuchmodel" "$T/err" || fail "unknown model error: $(cat "$T/err")"
exit 0
