#!/usr/bin/env bash
# AFD paper Fig. 2: HBM arithmetic intensity vs N_F for DeepSeek-V3 on H800, continuous (blue) and
# with the ceil(experts / ranks) discretisation (red), normalised to 2 x B_ScaleOut (paper Eq. 10).
# Usage: fig2-intensity.sh [OUT_DIR]   (binary: $RIDGELINE, default build/ridgeline)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${RIDGELINE:-build/ridgeline}
OUT=${1:-.}
mkdir -p "$OUT"
"$BIN" commroof --model deepseek-v3 --hardware h800 --hwdb "$HERE/hardware" --nf 1..40 \
  --chart intensity --svg "$OUT/fig2-intensity.svg" --csv >"$OUT/fig2-intensity.csv"
echo "wrote $OUT/fig2-intensity.csv and $OUT/fig2-intensity.svg"
