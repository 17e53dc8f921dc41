#!/usr/bin/env bash
# AFD paper Fig. 4: theoretical upper-bound HFU per model vs N_F on the paper's 8 platforms
# (Table 5 inputs; 100 % OFU). One CSV + one log-log SVG per platform, and the paper's figure: the
# 8 platforms as panels of one SVG on a shared y range (fig4-hfu-ceilings.svg).
# Usage: fig4-hfu-ceilings.sh [OUT_DIR]   (binary: $RIDGELINE, default build/ridgeline)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${RIDGELINE:-build/ridgeline}
OUT=${1:-.}
MODELS=deepseek-v3,kimi-k2,step-3,qwen3-coder-480b,ernie-4.5-300b,glm-4.7
mkdir -p "$OUT"
for hw in h20 h800 h100-sxm h200 b200 b300 gb200 gb300; do
  "$BIN" commroof --model "$MODELS" --hardware "$hw" --hwdb "$HERE/hardware" --nf 1..32 \
    --svg "$OUT/fig4-$hw.svg" --csv >"$OUT/fig4-$hw.csv"
done
"$BIN" commroof --model "$MODELS" --hardware h20,h800,h100-sxm,h200,b200,b300,gb200,gb300 --hwdb "$HERE/hardware" \
  --nf 1..32 --svg "$OUT/fig4-hfu-ceilings.svg" >/dev/null
echo "wrote $OUT/fig4-<platform>.csv and .svg for 8 platforms, and $OUT/fig4-hfu-ceilings.svg (8 panels)"
