#!/usr/bin/env bash
# Runs a fuzz target once on every file in the given folders (its seeds and
# the crashes kept under crashes/<target>/) and fails when any of them still
# crashes it. Each crashing file is listed with its signature: what went
# wrong and the first frame in mer's own sources (files with the same
# signature are the same defect; one of them is enough to keep).
# Usage: replay.sh FUZZER DIR...
set -uo pipefail
fuzzer=$1
shift
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

signature() {
  local what where
  what=$(grep -m1 -oE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [A-Za-z-]+( [a-z-]+)*|runtime error: [^,]{0,70}|Assertion .{0,60}|what\(\): {0,2}.{0,70}" "$1")
  where=$(grep -oE "$source_dir/(core|plugins)/[^ :]+:[0-9]+" "$1" | head -n 1)
  [ -n "$where" ] || where=$(grep -oE "$source_dir/[^ :]+:[0-9]+" "$1" | head -n 1)
  # Without addresses and the details of a JSON error, so that one defect has one signature.
  what=$(sed -E 's/0x[0-9a-fA-F]+/0x…/g; s/(\[json\.exception\.[a-z_]+\.[0-9]+\]).*/\1/' <<<"$what")
  echo "${what:-?} at ${where#"$source_dir/"}"
}

failed=0
count=0
for dir in "$@"; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' file; do
    count=$((count + 1))
    if ! "$fuzzer" -rss_limit_mb=2048 -timeout=30 "$file" >"$log" 2>&1; then
      failed=$((failed + 1))
      echo "still crashes: ${file#"$source_dir/"}: $(signature "$log")"
    fi
  done < <(find "$dir" -type f ! -name '*.md' -print0 | sort -z)
done
echo "$(basename "$fuzzer"): $count inputs, $failed crashing"
((failed == 0))
