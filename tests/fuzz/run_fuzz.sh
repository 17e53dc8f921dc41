#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time with a seed corpus from hwdb/, models/,
# examples/ and prints one summary line per target (executions, corpus size, findings).
# Usage: run_fuzz.sh <fuzz-build-dir> <source-dir> [seconds-per-target]
# A crash input is kept as <build>/fuzz-work/<target>/crash-*; fix the bug, then copy the input
# into tests/fuzz/regressions/<target>/ so the unit suite replays it forever.
set -uo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) seconds=${3:-60}
work="$build/fuzz-work"
mkdir -p "$work"
declare -A seeds=(
  [units]="$src/tests/fuzz/seeds/units"
  [hardware]="$src/hwdb"
  [model]="$src/models"
  [scenario]="$src/examples $src/examples/validation"
  [reader]="$src/hwdb $src/models $src/examples"
  [calibration]="$src/tests/fuzz/seeds/calibration"
  [validation]="$src/examples/validation"
  [flags]="$src/tests/fuzz/seeds/flags"
)
status=0
summary=""
for t in units hardware model scenario reader calibration validation flags; do
  corpus="$work/$t/corpus"
  mkdir -p "$corpus"
  # Seeds plus every regression input of this target (they are small and worth mutating).
  for d in ${seeds[$t]} "$src/tests/fuzz/regressions/$t"; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f -exec cp -n {} "$corpus/" \;
  done
  rm -f "$work/$t"/crash-* "$work/$t"/timeout-* "$work/$t"/oom-* "$work/$t"/leak-*  # count this run's only
  log="$work/$t/fuzz.log"
  # -rss_limit_mb bounds memory, -timeout flags any input slower than 10 s, -max_len lets the
  # largest seed (about 4 KB) grow; the input size limit of the loaders themselves is tested
  # separately (tests/unit/test_hostile_input.cpp).
  (cd "$work/$t" && "$build/tests/fuzz/fuzz_$t" "$corpus" -dict="$src/tests/fuzz/ridgeline.dict" \
    -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/$t/" >"$log" 2>&1)
  rc=$?
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  crashes=$(find "$work/$t" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' -o -maxdepth 1 -name 'leak-*' | wc -l)
  line=$(printf '%-9s executions=%-9s corpus=%-5s findings=%s rc=%s' "$t" "${runs:-?}" "$(ls "$corpus" | wc -l)" "$crashes" "$rc")
  echo "$line"
  summary+="$line"$'\n'
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "---- $t failed; last lines of $log:"
    tail -40 "$log"
  fi
done
printf '%s' "$summary" >"$work/summary.txt"
exit $status
