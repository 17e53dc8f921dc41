#!/usr/bin/env bash
# The AFD paper figure scripts (examples/paper-afd-roofline/fig*.sh) run from the CLI and write
# CSV + SVG with the plotted series. Usage: bash test_paper_figures.sh <ridgeline-binary> <source-dir>
set -u
BIN=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for f in fig2-intensity fig4-hfu-ceilings fig6-alpha; do
  RIDGELINE=$BIN bash "$SRC/examples/paper-afd-roofline/$f.sh" "$TMP" >/dev/null || fail "$f.sh exit $?"
done
# Fig. 2: continuous + discretised series over N_F = 1..40; the discretised value at N_F = 3 is 0.242.
grep -q 'data-series="deepseek-v3 continuous" data-points="40"' "$TMP/fig2-intensity.svg" || fail "fig2: continuous series"
grep -q 'data-series="deepseek-v3 discretised" data-points="40"' "$TMP/fig2-intensity.svg" || fail "fig2: discretised series"
# csv_has FILE PYTHON-CONDITION: some row r (a dict of the CSV, raw SI values) satisfies it.
csv_has() {
  python3 - "$1" "$2" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
near = lambda a, b, tol=5e-4: abs(float(a) - b) <= tol
sys.exit(0 if any(eval(sys.argv[2], {"near": near, "r": r}) for r in rows) else 1)
PY
}
csv_has "$TMP/fig2-intensity.csv" 'r["model"] == "deepseek-v3" and r["nf"] == "3" and r["ranks"] == "24" and r["regime"] == "stable_intensity" and near(r["local_experts"], 11, 0.5) and near(r["tokens_per_rank"], 2372, 0.5) and near(r["hbm_intensity_normalised"], 0.242) and near(r["hbm_intensity_continuous_normalised"], 0.250) and near(r["hfu_ceiling"], 0.276)' ||
  fail "fig2: N_F = 3 row"
# Fig. 4: 8 platforms x 6 models; GB200 flat 65.5 % for DeepSeek-V3, 49.2 % for GLM-4.7.
for hw in h20 h800 h100-sxm h200 b200 b300 gb200 gb300; do
  [ "$(grep -c '<polyline' "$TMP/fig4-$hw.svg")" = 6 ] || fail "fig4-$hw: expected 6 model series"
  [ "$(grep -c '' "$TMP/fig4-$hw.csv")" = $((1 + 6 * 32)) ] || fail "fig4-$hw.csv: expected 1 + 192 lines"
done
# Fig. 4 as the paper draws it: one SVG, 8 panels x 6 model series.
[ "$(grep -c 'class="panel"' "$TMP/fig4-hfu-ceilings.svg")" = 8 ] || fail "fig4-hfu-ceilings.svg: expected 8 panels"
[ "$(grep -c '<polyline' "$TMP/fig4-hfu-ceilings.svg")" = 48 ] || fail "fig4-hfu-ceilings.svg: expected 48 series"
python3 - "$TMP/fig4-gb200.csv" <<'PY' || fail "fig4-gb200: DeepSeek-V3 not flat at 65.5 %"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["model"] == "deepseek-v3"]
assert len(rows) == 32 and all(abs(float(r["hfu_ceiling"]) - 0.655) < 5e-4 for r in rows), rows[:2]
PY
csv_has "$TMP/fig4-gb200.csv" 'r["model"] == "glm-4.7" and r["nf"] == "4" and near(r["hfu_ceiling"], 0.492)' ||
  fail "fig4-gb200: GLM-4.7 49.2 %"
# Fig. 6: EP + AFD curves for 4 sigmas x (1 EP + 3 AFD).
[ "$(grep -c '<polyline' "$TMP/fig6-alpha.svg")" = 16 ] || fail "fig6: expected 16 series"
csv_has "$TMP/fig6-alpha.csv" 'r["strategy"] == "afd" and r["nf"] == "2" and r["na"] == "8" and near(r["lambda"], 4, 1e-12) and near(r["sigma"], 0.7, 1e-12) and near(r["alpha"], 0.8929, 5e-5)' ||
  fail "fig6: corrected AFD alpha 0.893 at N_F=2, N_A=8"
if command -v python3 >/dev/null 2>&1; then
  for s in "$TMP"/*.svg; do
    python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$s" || fail "$s: not well-formed XML"
  done
fi
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "paper figure scripts OK"
