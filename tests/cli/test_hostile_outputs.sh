#!/usr/bin/env bash
# Issue 13, round two: gate flags that silently turned themselves off (validate --max-median /
# --max-error with NaN or a negative value) and `plan --write-scenario` writes that failed but
# reported success (/dev/full, a full disk, the data folder). Each is refused with one line on
# stderr naming the flag: exit 2 for a bad flag value, 1 for a bad or failing output file.
set -u
BIN="$(realpath "$1")"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
DIR="$SRC/examples/validation"

# expect RC NEEDLE... -- ARGS...: exit RC, nothing on stdout, every NEEDLE on stderr.
expect() {
  local rc_want="$1"; shift
  local needles=()
  while [ "$1" != "--" ]; do needles+=("$1"); shift; done
  shift
  timeout 20 "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null; local rc=$?
  local what="ridgeline $*"; what="${what:0:120}"
  [ "$rc" = "$rc_want" ] || { fail "$what: exit $rc, expected $rc_want (stderr: $(head -c 300 "$T/err"))"; return; }
  [ ! -s "$T/out" ] || fail "$what: printed a result: $(head -c 200 "$T/out")"
  grep -q "internal error" "$T/err" && fail "$what: not a clear error: $(head -c 300 "$T/err")"
  for s in "${needles[@]}"; do
    grep -qF -- "$s" "$T/err" || fail "$what: stderr lacks '$s': $(head -c 300 "$T/err")"
  done
}

# --- validate gates: NaN or a negative bound used to switch the gate off (exit 0) -----------
expect 2 --max-median nan "[0, 1e+06]" -- validate "$DIR" --max-median nan
expect 2 --max-median -- validate "$DIR" --max-median=-0.5
expect 2 --max-median inf -- validate "$DIR" --max-median inf
expect 2 --max-error nan -- validate "$DIR" --max-error nan
expect 2 --max-error -- validate "$DIR" --max-error=-1
expect 2 --max-error 1e308 -- validate "$DIR" --max-error 1e308
"$BIN" validate "$DIR" --max-median 0 >/dev/null 2>&1; rc=$?
[ "$rc" = 4 ] || fail "validate --max-median 0: exit $rc, expected 4 (the tightest gate)"

# --- plan --write-scenario: refused before the search, written atomically ------------------
expect 1 --write-scenario /dev/full "not a regular file" -- plan --write-scenario /dev/full
expect 1 --write-scenario "data folder" -- plan --write-scenario "$SRC/hwdb/plan.json"
[ ! -e "$SRC/hwdb/plan.json" ] || { rm -f "$SRC/hwdb/plan.json"; fail "--write-scenario into hwdb/ was written"; }
expect 1 --write-scenario "cannot create" -- plan --write-scenario "$T/no/such/folder/plan.json"
mkdir "$T/adir"
expect 1 --write-scenario "not a regular file" -- plan --write-scenario "$T/adir"
# A full disk (RLIMIT_FSIZE with SIGXFSZ ignored: write() fails with EFBIG): exit 1, no "wrote",
# the old file intact, no temporary left behind.
echo old >"$T/plan.json"
(trap '' XFSZ; ulimit -f 1; "$BIN" plan --write-scenario "$T/plan.json" >"$T/out" 2>"$T/err"); rc=$?
[ "$rc" = 1 ] || fail "--write-scenario on a full disk: exit $rc, expected 1 ($(cat "$T/err"))"
grep -q -- "--write-scenario" "$T/err" || fail "--write-scenario on a full disk: stderr: $(cat "$T/err")"
grep -q "wrote" "$T/out" && fail "--write-scenario on a full disk reported success"
[ "$(cat "$T/plan.json")" = old ] || fail "--write-scenario on a full disk: the old file was truncated"
[ -z "$(ls -A "$T" | grep tmp-)" ] || fail "--write-scenario on a full disk left a temporary file: $(ls -A "$T")"
# And a writable target still works, and what it wrote evaluates.
"$BIN" plan --write-scenario "$T/plan.json" >"$T/out" 2>"$T/err" || fail "--write-scenario: $(cat "$T/err")"
grep -q "wrote $T/plan.json" "$T/out" || fail "--write-scenario: no 'wrote' line"
"$BIN" evaluate "$T/plan.json" >/dev/null 2>"$T/err" || fail "the written scenario does not evaluate: $(cat "$T/err")"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
