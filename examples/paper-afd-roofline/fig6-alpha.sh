#!/usr/bin/env bash
# AFD paper Fig. 6: throughput penalty alpha vs lambda under EP imbalance; large EP (Eq. 12, solid)
# and AFD with discrete attention scaling (Eqs. 13-16 with the corrected floor/ceil forms, dashed),
# N_F in {2, 4, 6}, sigma in {0.7, 0.75, 0.8, 0.85}, lambda in [1, 5].
# Usage: fig6-alpha.sh [OUT_DIR]   (binary: $RIDGELINE, default build/ridgeline)
set -euo pipefail
BIN=${RIDGELINE:-build/ridgeline}
OUT=${1:-.}
mkdir -p "$OUT"
"$BIN" imbalance --alpha --sigma 0.7,0.75,0.8,0.85 --nf 2,4,6 --lambda-max 5 \
  --svg "$OUT/fig6-alpha.svg" --csv >"$OUT/fig6-alpha.csv"
echo "wrote $OUT/fig6-alpha.csv and $OUT/fig6-alpha.svg"
