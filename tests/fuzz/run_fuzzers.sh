#!/usr/bin/env bash
# Runs every libFuzzer target of BUILD_DIR/fuzz/ for SECONDS each, from a
# scratch copy of its seed corpus (tests/fuzz/corpus/<target>/, so fuzzing never
# writes into the source tree) with its dictionary (tests/fuzz/dict/), then
# prints the executions per target. Findings (crash, leak, timeout, out of
# memory, sanitizer report) are saved under BUILD_DIR/fuzz-run/<target>-findings/;
# the exit status is 1 when any target had one.
#   usage: run_fuzzers.sh BUILD_DIR SECONDS
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
run="$build/fuzz-run"
rm -rf "$run"
mkdir -p "$run"

# One input may take at most 10 s and one allocation at most 256 MB: the
# seeds are a few KB, so anything larger is a reader trusting a declared size.
export OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
report=()
for corpus in "$here"/corpus/*/; do
  name=$(basename "$corpus")
  exe="$build/fuzz/fuzz_$name"
  if [ ! -x "$exe" ]; then
    echo "run_fuzzers: $exe is missing (configure with -DRETORT_FUZZ=ON and build retort_fuzzers)" >&2
    exit 2
  fi
  mkdir -p "$run/$name-corpus" "$run/$name-findings"
  cp "$corpus"* "$run/$name-corpus/"
  dict=()
  [ -f "$here/dict/$name.dict" ] && dict=(-dict="$here/dict/$name.dict")
  echo "run_fuzzers: $name for ${seconds}s ($(ls "$corpus" | wc -l) seeds)"
  "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
    -artifact_prefix="$run/$name-findings/" "${dict[@]}" "$run/$name-corpus" >"$run/$name.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/$name.log" | tail -1)
  findings=$(ls "$run/$name-findings" | wc -l)
  corpus_size=$(ls "$run/$name-corpus" | wc -l)
  if [ $rc -ne 0 ] || [ "$findings" -ne 0 ]; then
    status=1
    echo "run_fuzzers: $name FOUND something (exit $rc); log $run/$name.log, inputs in $run/$name-findings/:"
    grep -E "^==[0-9]+==ERROR|runtime error|SUMMARY|Test unit written|uncaught exception|what\(\)" "$run/$name.log" | head -8
    report+=("$(printf '%-14s %12s executions  %5s corpus  FINDING (exit %s): see %s' "$name" "${execs:-?}" \
      "$corpus_size" "$rc" "$run/$name-findings/")")
  else
    report+=("$(printf '%-14s %12s executions  %5s corpus  no finding' "$name" "${execs:-?}" "$corpus_size")")
  fi
done
echo
echo "fuzzing, ${seconds} s per target:"
printf '  %s\n' "${report[@]}"
exit $status
