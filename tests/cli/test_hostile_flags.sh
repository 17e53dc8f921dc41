#!/usr/bin/env bash
# Hostile and careless command lines (issue 13): NaN / inf / huge flag values, requests for
# unbounded work, non-regular and oversized input files, a JSON with 1.3 M keys, writes that fail
# (full disk, /dev/full, inside the data folder), a failing stdout, unreadable data folders and
# a mistyped RIDGELINE_DATA_DIR. Each must be refused quickly with one clear line on stderr,
# nothing on stdout, exit 2 for a bad flag and 1 for a bad file.
set -u
BIN="$(realpath "$1")"; SRC="$2"
CAL="$(dirname "$BIN")/ridgeline-calibrate"
T=$(mktemp -d); trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect RC NEEDLE... -- ARGS...: exit RC within FAST_S (10 s; 60 s under the sanitizers), nothing on stdout, every NEEDLE on stderr,
# never "internal error".
# Each command must answer within LIMIT_S. Under the sanitizers (make test-sanitize sets
# ASAN_OPTIONS; Debug -O0 + ASan runs ~10-20x slower) the limit and the duplicate-key file
# scale down/up: a quadratic check would still never finish.
# FAST_S: how long a refusal may take; BENCH_S: the bench run below (the plan search tries ~1,600
# shapes since the worker-shape search, which takes tens of seconds at -O0 + ASan).
LIMIT_S=20; KEYS=1300000; FAST_S=10; BENCH_S=60
if [ -n "${ASAN_OPTIONS:-}" ]; then LIMIT_S=120; KEYS=300000; FAST_S=60; BENCH_S=600; fi
expect() {
  local rc_want="$1"; shift
  local needles=()
  while [ "$1" != "--" ]; do needles+=("$1"); shift; done
  shift
  local start=$SECONDS
  timeout "$LIMIT_S" "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null; local rc=$?
  local what="ridgeline $*"; what="${what:0:120}"
  [ "$rc" = "$rc_want" ] || { fail "$what: exit $rc, expected $rc_want (stderr: $(head -c 300 "$T/err"))"; return; }
  [ ! -s "$T/out" ] || fail "$what: printed a result: $(head -c 200 "$T/out")"
  grep -q "internal error" "$T/err" && fail "$what: not a clear error: $(head -c 300 "$T/err")"
  for s in "${needles[@]}"; do
    grep -qF -- "$s" "$T/err" || fail "$what: stderr lacks '$s': $(head -c 300 "$T/err")"
  done
  [ $((SECONDS - start)) -le "$FAST_S" ] || fail "$what: took $((SECONDS - start)) s"
}

# --- NaN, inf and huge values: usage errors naming the flag, the value and the range ---------
expect 2 --mtp-acceptance nan "[1, 16]" -- plan --mtp-acceptance nan
expect 2 --mtp-acceptance -- plan --mtp-acceptance -1
expect 2 --mtp-acceptance inf -- plan --mtp-acceptance inf
expect 2 --max-gpus 2147483647 65536 -- plan --max-gpus 2147483647
expect 2 --gpus -- plan --gpus 1e9
# Comma-separated lists: an empty element is a typo, not a shorter list.
expect 2 --hardware "h800," "empty element" -- plan --hardware h800,
expect 2 --hardware "h800,,h200" "empty element" -- plan --hardware=h800,,h200
expect 2 -H ",h800" "empty element" -- sweep -H ,h800
expect 2 --attention-hardware "empty element" -- plan --attention-hardware h20, --ffn-hardware h800
expect 2 --threads -- plan --threads 100000000
expect 2 --afd-micro-batches -- plan --afd-micro-batches 3,nan
expect 2 --context 1e20 -- plan --context 1e20
expect 2 --slo "nan ms" -- plan --slo "nan ms"
expect 2 --batch nan -- roofline --model deepseek-v3 --hardware h800 --batch nan
expect 2 --context 1e308 -- roofline --model deepseek-v3 --hardware h800 --context 1e308
expect 2 --ep -- roofline --model deepseek-v3 --hardware h800 --ep 2147483647
expect 2 --mtp-acceptance nan -- commroof --model deepseek-v3 --hardware h800 --mtp-acceptance nan
expect 2 --usable-hbm nan -- commroof --model deepseek-v3 --hardware h800 --usable-hbm nan
expect 2 --target-hfu nan -- deadzone --model deepseek-v3 --target-hfu nan
expect 2 --zipf nan -- imbalance --model deepseek-v3 --zipf nan
expect 2 --lambda nan -- imbalance --model deepseek-v3 --lambda nan
expect 2 --lambda-max inf -- imbalance --alpha --lambda-max inf
expect 2 --slo -- sweep --slo "50 ms,nan ms"
expect 2 --context -- sweep --context 1e300
expect 2 --scale-out-bandwidth -- sweep --scale-out-bandwidth "inf Gb/s"
expect 2 --contexts -- compare --contexts 4096,1e308
expect 2 --mtp-acceptance nan -- compare --mtp-acceptance nan
expect 2 --seconds 1e308 -- bench --seconds 1e308
expect 2 --seconds nan -- bench --seconds nan
expect 2 --nf -- commroof --model deepseek-v3 --hardware h800 --nf 1..100000,1..100000

# --- Unbounded work: the size is computed first and refused past the documented limit -------
expect 2 "imbalance --alpha" "limit" "Fix:" -- imbalance --alpha --nf 100000 --lambda-max 100
expect 2 "imbalance: rows" "limit" -- imbalance --model deepseek-v3 --ranks 1..100 --tokens 1..1000
slos=$(seq -s, 1 3000 | sed 's/,/ ms,/g; s/$/ ms/'); ctxs=$(seq -s, 1 3000)
expect 2 "sweep: grid points" "9000000" "limit" -- sweep --slo "$slos" --context "$ctxs"
expect 2 "compare: cells" "limit" -- compare --slos "$(seq -s, 1 200 | sed 's/,/ ms,/g; s/$/ ms/')" --contexts "$(seq -s, 1 200)"

# --- Input files: regular files only, size-limited, duplicate keys found in linear time -----
expect 1 --histogram /dev/zero "not a regular file" -- imbalance --model deepseek-v3 --histogram /dev/zero
mkfifo "$T/fifo"
expect 1 --histogram "not a regular file" -- imbalance --model deepseek-v3 --histogram "$T/fifo"
expect 1 fifo "not a regular file" -- evaluate "$T/fifo"
head -c 17000000 /dev/zero | tr '\0' '1' >"$T/big.txt"
expect 1 --histogram "byte limit" -- imbalance --model deepseek-v3 --histogram "$T/big.txt"
printf '%s\n' 1e300 1e300 >"$T/huge.txt"
expect 1 --histogram "1e15" -- imbalance --model deepseek-v3 --histogram "$T/huge.txt"
python3 -c "
import sys
n = int(sys.argv[1])
sys.stdout.write('{' + ','.join('\"k%d\":0' % i for i in range(n)) + ',\"k7\":1}')
" "$KEYS" >"$T/keys.json"
expect 1 keys.json '"k7" appears twice' -- evaluate "$T/keys.json"

# --- Writes: atomic, errors reported, never over an input or into the data folder ----------
expect 1 --svg /dev/full "not a regular file" -- imbalance --alpha --svg /dev/full
expect 1 --svg /dev/full -- compare --slos "50 ms" --contexts 4096 --svg /dev/full
expect 1 --svg "data folder" -- imbalance --alpha --svg "$SRC/hwdb/chart.svg"
[ ! -e "$SRC/hwdb/chart.svg" ] || { rm -f "$SRC/hwdb/chart.svg"; fail "--svg into hwdb/ was written"; }
expect 1 --svg "cannot create" -- imbalance --alpha --svg "$T/no/such/folder/a.svg"
# A full disk (RLIMIT_FSIZE with SIGXFSZ ignored: write() fails with EFBIG): exit 1, the old
# file intact, no temporary left behind.
echo old >"$T/chart.svg"
(trap '' XFSZ; ulimit -f 1; "$BIN" imbalance --alpha --svg "$T/chart.svg" >/dev/null 2>"$T/err"); rc=$?
[ "$rc" = 1 ] || fail "--svg on a full disk: exit $rc, expected 1 ($(cat "$T/err"))"
grep -q -- "--svg" "$T/err" || fail "--svg on a full disk: stderr lacks the flag: $(cat "$T/err")"
[ "$(cat "$T/chart.svg")" = old ] || fail "--svg on a full disk: the old file was truncated"
[ -z "$(ls -A "$T" | grep tmp-)" ] || fail "--svg on a full disk left a temporary file: $(ls -A "$T")"
"$BIN" imbalance --alpha --svg "$T/chart.svg" >/dev/null 2>&1 || fail "--svg to a writable file failed"
grep -q "</svg>" "$T/chart.svg" || fail "--svg did not replace the file"
if [ -x "$CAL" ]; then
  start=$SECONDS
  "$CAL" --backend cpu --quick -o /dev/full >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 1 ] || fail "calibrate -o /dev/full: exit $rc, expected 1"
  grep -q -- "--out" "$T/err" || fail "calibrate -o /dev/full: $(cat "$T/err")"
  [ $((SECONDS - start)) -le 5 ] || fail "calibrate -o /dev/full measured before refusing"
fi

# --- A failing stdout is an error, not exit 0 or "internal error" ---------------------------
for args in "list hardware" "plan --json" "imbalance --alpha"; do
  "$BIN" $args >/dev/full 2>"$T/err"; rc=$?
  [ "$rc" = 1 ] || fail "$args > /dev/full: exit $rc, expected 1"
  grep -q "standard output" "$T/err" || fail "$args > /dev/full: $(cat "$T/err")"
done

# --- Data folders: symlink loops, a mistyped RIDGELINE_DATA_DIR -----------------------------
mkdir -p "$T/d1/models" && ln -s loop "$T/d1/hwdb" && ln -s hwdb "$T/d1/loop"
expect 1 hwdb -- --data-dir "$T/d1" list hardware
mkdir -p "$T/d2/hwdb" "$T/d2/models" && ln -s x.json "$T/d2/hwdb/x.json"
expect 1 x.json -- --data-dir "$T/d2" list hardware
RIDGELINE_DATA_DIR="$T/nowhere" expect 1 RIDGELINE_DATA_DIR nowhere -- list hardware

# --- FP32 weights are refused, not run at the BF16 peak -------------------------------------
expect 1 fp32 -- plan --weights fp32
expect 1 fp32 -- roofline --model deepseek-v3 --hardware h800 --weights fp32

# --- bench runs itself without a shell: an argv[0] with shell syntax is not executed --------
ln -s "$BIN" "$T/rl;touch pwned"
(cd "$T" && timeout "$BENCH_S" "./rl;touch pwned" bench --seconds 0 --json >"$T/bench.json" 2>"$T/err") ||
  fail "bench via an odd argv[0]: $(cat "$T/err")"
[ ! -e "$T/pwned" ] || fail "bench ran argv[0] through a shell"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['default_plan_process_s'] is not None, d" \
  "$T/bench.json" || fail "bench did not run the plan process"

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all hostile-flag checks passed"
