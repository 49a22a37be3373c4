#!/usr/bin/env bash
# The last lines of a test run: how many passed and failed, and each failed test with the start of its message,
# so a CI log that keeps only its tail still names what failed.
#   scripts/test-summary.sh LOG LABEL
set -uo pipefail
log=${1:?log file}; label=${2:-tests}
passed=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ *Failed: *\([0-9]*\).*/\1/p' "$log" | tail -1)
skipped=$(sed -n 's/^ *Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -1)
echo "$label: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
# vstest's console logger: "  Failed Name [time]", then "  Error Message:" and its lines until "  Stack Trace:".
awk '
  /^ +Failed [^:]/ && !/^ +Failed:/ { sub(/^ +/, ""); print "  FAILED " substr($0, 8); grab = 0; next }
  /^ +Error Message:/ { grab = 1; n = 0; next }
  /^ +Stack Trace:/ { grab = 0; next }
  grab && n < 6 { sub(/^ +/, ""); if (length($0) > 0) { print "    " substr($0, 1, 300); n++ } }
' "$log"
