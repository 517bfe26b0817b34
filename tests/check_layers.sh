#!/usr/bin/env bash
# The layer cake (DESIGN.md section 1): a folder includes only folders below
# it, and nothing below tools/ prints, exits or aborts.
set -u
cd "$(dirname "$0")/.."
order=(tensor autograd layers optim data distill tools)
rank() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && echo "$i" && return; done; echo -1; }
status=0
for dir in "${order[@]}"; do
  [ -d "$dir" ] || continue
  mine=$(rank "$dir")
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^/"]+)\/.*/\1/' <<<"$line")
    theirs=$(rank "$inc")
    if [ "$theirs" -gt "$mine" ]; then
      echo "layering: $file includes $inc/ (above $dir/): $line"
      status=1
    fi
  done < <(grep -rn --include='*.h' --include='*.cpp' --include='*.cu' '#include "[a-z]*/' "$dir")
done
# Only tools/ talks to the terminal or ends the process.
if grep -rnE '\b(printf|puts|fprintf|std::cout|std::cerr|std::exit|exit|abort)\s*\(' \
     --include='*.h' --include='*.cpp' --include='*.cu' tensor autograd layers optim data distill 2>/dev/null \
     | grep -vE '//.*\b(printf|exit|abort)|snprintf'; then
  echo "layering: the lines above print or exit below tools/"
  status=1
fi
exit $status
