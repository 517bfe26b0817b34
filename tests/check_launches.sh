#!/usr/bin/env bash
# Every CUDA kernel launch (<<<...>>>) is followed by RETORT_CUDA_LAUNCH_CHECK
# on every path: after a launch, the check must come before the function ends
# (a "}" in column 0) and before any return. Launches in if/else branches may
# share one check after the chain.
set -u
cd "$(dirname "$0")/.."
files=$(find tensor -name '*.cu' -o -name '*.cuh' | sort)
[ -n "$files" ] || { echo "check_launches: no CUDA sources found"; exit 0; }
# shellcheck disable=SC2086
awk '
  FNR == 1 { pending = "" }
  /<<</ && !/^[[:space:]]*\/\// { pending = FILENAME ":" FNR; launches++ }
  /RETORT_CUDA_LAUNCH_CHECK/ { if (!/define/) pending = "" }
  pending != "" && /(^|[^a-z_])return([^a-z_]|$)/ {
    print "check_launches: " pending ": launch reaches a return before RETORT_CUDA_LAUNCH_CHECK"; bad = 1; pending = ""
  }
  pending != "" && /^}/ {
    print "check_launches: " pending ": launch without RETORT_CUDA_LAUNCH_CHECK before the function ends"; bad = 1; pending = ""
  }
  END { printf "check_launches: %d launches checked\n", launches; exit bad }
' $files
