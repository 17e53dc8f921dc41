# Sourced by the ridgeline-calibrate CLI tests (`. calibrate_preamble.sh "$@"`): the CLI and source
# tree from the arguments, the calibrator beside the CLI (skip, 77, when it was not built), a
# temporary folder removed on exit, and fail().
BIN="$1"; SRC="$2"
CAL="$(dirname "$BIN")/ridgeline-calibrate"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$CAL" ] || { echo "skipped: ridgeline-calibrate not built"; exit 77; }
