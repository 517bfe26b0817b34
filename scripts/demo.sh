#!/usr/bin/env bash
# make demo: trains a teacher, then one student three ways from the same seed
# (alone, Hinton KD, CSKD with CSWT), and prints the comparison.
#   scripts/demo.sh BUILD_DIR [fashion-mnist|cifar10]
# The budget (models, training subset, epochs) is in configs/demo/<set>/*.yaml;
# `--set` style overrides go in DEMO_SET, e.g. DEMO_SET="epochs=2".
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
set_name=${2:-fashion-mnist}
retort="$build/retort"
configs="configs/demo/$set_name"
[ -x "$retort" ] || { echo "demo: $retort not found; run make demo" >&2; exit 2; }
[ -d "$configs" ] || { echo "demo: no demo configs for '$set_name' in configs/demo/" >&2; exit 2; }

# CIFAR-10: the JPEG set at hand, unpacked once into data/cache/ (git-ignored).
if [ "$set_name" = cifar10 ] && [ ! -d data/cache/cifar10-jpeg ]; then
  tarball=../shared/data/cifar10-jpeg.tar.gz
  [ -f "$tarball" ] || { echo "demo: $tarball not found (the CIFAR-10 JPEG set)" >&2; exit 2; }
  echo "demo: unpacking $tarball into data/cache/"
  # Into a temporary folder first: an interrupted unpack never looks complete.
  mkdir -p data/cache && rm -rf data/cache/.unpack && mkdir data/cache/.unpack
  tar xzf "$tarball" -C data/cache/.unpack && mv data/cache/.unpack/cifar10-jpeg data/cache/ && rmdir data/cache/.unpack
fi

overrides=()
read -r -a settings <<<"${DEMO_SET:-}"
for kv in ${settings[@]+"${settings[@]}"}; do overrides+=(--set "$kv"); done
out="runs/demo-$set_name-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
start=$SECONDS

step() { echo; echo "== demo: $1"; }
step "teacher ($configs/teacher.yaml)"
"$retort" train --config "$configs/teacher.yaml" --out "$out" --name teacher ${overrides[@]+"${overrides[@]}"}
teacher="$out/teacher/best.safetensors"
for method in alone kd cskd; do
  step "student: $method ($configs/$method.yaml)"
  if [ "$method" = alone ]; then
    "$retort" train --config "$configs/$method.yaml" --out "$out" --name "student-$method" ${overrides[@]+"${overrides[@]}"}
  else
    "$retort" distill --config "$configs/$method.yaml" --set "model.teacher_weights=$teacher" \
      --out "$out" --name "student-$method" ${overrides[@]+"${overrides[@]}"}
  fi
done

step "comparison"
"$retort" report "$out/teacher" "$out/student-alone" "$out/student-kd" "$out/student-cskd" --out "$out/comparison.html"

# The final top-1 of a run: the last row of its metrics.csv, column test_top1.
last_top1() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_top1") c = i } END { if (!c) exit 1; print $c }' "$1/metrics.csv" ||
    { echo "demo: $1/metrics.csv has no test_top1 column" >&2; exit 2; }
}
alone=$(last_top1 "$out/student-alone")
echo
for method in kd cskd; do
  acc=$(last_top1 "$out/student-$method")
  awk -v m="$method" -v a="$acc" -v b="$alone" 'BEGIN {
    d = a - b
    verdict = (d >= 0) ? "matches or beats the student alone" : "is BELOW the student alone in this budget"
    printf "%-5s last top-1 %.2f vs alone %.2f: %+.2f points: the distilled student %s\n", m, a, b, d, verdict
  }'
done
echo "demo finished in $((SECONDS - start)) s; comparison report: $out/comparison.html"
