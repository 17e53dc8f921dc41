#!/usr/bin/env bash
# Hostile input through the CLI: a 100 MB scenario, deep nesting, binary garbage, an empty
# file, invalid UTF-8, NaN/Inf/overflowing/denormal numbers, duplicated keys, ids with path
# separators, a bad file inside --data-dir. Each must exit 1 within a few seconds, print nothing
# on stdout, and name the file (and the JSON path where there is one) on stderr.
set -u
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Bounded memory: 2 GB of address space is plenty for Ridgeline; sanitizer builds reserve
# terabytes of shadow memory up front, so the limit is only applied to plain builds.
if ldd "$BIN" 2>/dev/null | grep -qE 'libasan|libubsan|libclang_rt'; then limit=unlimited; else limit=2000000; fi

# expect_error FILE EXPECTED_SUBSTRING... [-- extra args before the file]
expect_error() {
  local file="$1"; shift
  local start=$SECONDS
  (ulimit -v "$limit"; timeout 20 "$BIN" evaluate "$file" >"$T/out" 2>"$T/err"); local rc=$?
  [ "$rc" = 1 ] || fail "$file: exit $rc, expected 1 (stderr: $(head -c 400 "$T/err"))"
  [ ! -s "$T/out" ] || fail "$file: printed a partial result: $(head -c 200 "$T/out")"
  grep -q "internal error" "$T/err" && fail "$file: not a clear error: $(cat "$T/err")"
  for s in "$@"; do grep -qF -- "$s" "$T/err" || fail "$file: stderr lacks '$s': $(head -c 400 "$T/err")"; done
  [ $((SECONDS - start)) -le 10 ] || fail "$file: took $((SECONDS - start)) s"
}

base='"model": "deepseek-v3", "workload": {"context_tokens": 4096, "tpot_slo": "50 ms"}'
scenario_hw() { echo "{$base, \"deployment\": {\"strategy\": \"ep\", \"hardware\": $1, \"gpus\": 128, \"batch_per_gpu\": 64}}"; }

# 100 MB: refused by size before it is read.
{ printf '{"description": "'; head -c 100000000 /dev/zero | tr '\0' 'x'; printf '"}'; } >"$T/big.json"
expect_error "$T/big.json" "big.json" "byte limit"

# Deep nesting (both kinds of bracket) and nesting hidden in a valid prefix.
head -c 1000000 /dev/zero | tr '\0' '[' >"$T/deep.json"
expect_error "$T/deep.json" "deep.json" "nested deeper"
{ printf '{"model": '; head -c 100000 /dev/zero | tr '\0' '{' ; } >"$T/deep2.json"
expect_error "$T/deep2.json" "deep2.json" "nested deeper"

# Empty, binary garbage, invalid UTF-8, a JSON array.
: >"$T/empty.json"
expect_error "$T/empty.json" "empty.json" "malformed JSON"
head -c 65536 /dev/urandom >"$T/garbage.json"
expect_error "$T/garbage.json" "garbage.json"
printf '{"model": "deepseek-v3\xff\xfe"}' >"$T/utf8.json"
expect_error "$T/utf8.json" "utf8.json" "malformed JSON"
echo '[1, 2, 3]' >"$T/array.json"
expect_error "$T/array.json" "array.json" "JSON object"

# NaN / Inf / overflow / denormal / negative / zero / unknown unit.
echo "{\"model\": \"deepseek-v3\", \"workload\": {\"context_tokens\": NaN, \"tpot_slo\": 1}}" >"$T/nan.json"
expect_error "$T/nan.json" "nan.json" "malformed JSON"
echo "{\"model\": \"deepseek-v3\", \"workload\": {\"context_tokens\": 1e999, \"tpot_slo\": 1}}" >"$T/overflow.json"
expect_error "$T/overflow.json" "overflow.json" "number overflow"
for v in '"inf ms"' '"NaN s"' '"-5 ms"' '0' '"1e-300 s"' '"50 parsecs"'; do
  echo "{\"model\": \"deepseek-v3\", \"workload\": {\"context_tokens\": 4096, \"tpot_slo\": $v}, \"deployment\": {\"strategy\": \"ep\", \"hardware\": \"h800\", \"gpus\": 8, \"batch_per_gpu\": 8}}" >"$T/slo.json"
  expect_error "$T/slo.json" "slo.json: /workload/tpot_slo" "Fix"
done
scenario_hw '{"base": "h800", "hbm_bandwidth": 1e-320}' >"$T/denormal.json"
expect_error "$T/denormal.json" "denormal.json" "hbm_bytes_per_s" "1e-12 to 1e21"

# Duplicated keys.
echo "{$base, \"model\": \"kimi-k2\"}" >"$T/dup.json"
expect_error "$T/dup.json" "dup.json" "\"model\" appears twice"

# Ids with path separators never reach the file system.
for id in '"../hwdb/h800"' '"/etc/passwd"' '"hwdb/h800"' '"..\\\\h800"'; do
  scenario_hw "$id" >"$T/path.json"
  expect_error "$T/path.json" "path.json: /deployment/hardware" "not a valid id"
done
echo "{\"model\": \"../models/deepseek-v3\", \"workload\": {\"context_tokens\": 1, \"tpot_slo\": 1}}" >"$T/pathm.json"
expect_error "$T/pathm.json" "pathm.json: /model" "not a valid id"

# A bad file inside --data-dir stops the load with its name.
mkdir -p "$T/data/hwdb" "$T/data/models"
cp "$SRC"/models/deepseek-v3.json "$T/data/models/"
printf '{"schema_version": 1, "hbm_bytes": "80 GB", "hbm_bytes": "80 GB"}' >"$T/data/hwdb/bad.json"
(timeout 20 "$BIN" --data-dir "$T/data" list hardware >"$T/out" 2>"$T/err"); rc=$?
[ "$rc" = 1 ] || fail "bad --data-dir: exit $rc"
[ ! -s "$T/out" ] || fail "bad --data-dir printed: $(cat "$T/out")"
grep -q "bad.json" "$T/err" || fail "bad --data-dir: no file name: $(cat "$T/err")"

echo "hostile input: all refused cleanly"
