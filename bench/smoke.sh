#!/usr/bin/env bash
# A benchmark's smoke case (tests/bench_smoke.cmake registers one per
# benchmark, each on tiny input): runs COMMAND, prints everything it wrote
# and its wall time, and fails when it exits non-zero or when its output has
# no line matching an --expect pattern, the figure it exists to print. A
# benchmark nobody runs rots; this runs every one of them in seconds.
#
#   bench/smoke.sh [--skip-unless 'SHELL TEST']... [--expect 'ERE']... -- COMMAND [ARG...]
#
# --skip-unless: when the test fails (a Python module or a program this
# machine lacks), print why and exit 77, which ctest counts as skipped
# (SKIP_RETURN_CODE). --expect: an extended regular expression (grep -E).
set -uo pipefail
skip_unless=() expect=()
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-unless) skip_unless+=("$2"); shift 2 ;;
    --expect) expect+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--skip-unless 'SHELL TEST']... [--expect 'ERE']... -- COMMAND [ARG...]" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "$0: no command after --" >&2; exit 2; }
for test in "${skip_unless[@]}"; do
  if ! sh -c "$test" >/dev/null 2>&1; then
    echo "skipped: this machine fails '$test'"
    exit 77
  fi
done

echo "+ $*"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s.%N)
"$@" >"$log" 2>&1
status=$?
end=$(date +%s.%N)
cat "$log"
awk -v s="$start" -v e="$end" -v rc="$status" 'BEGIN { printf "smoke: exit %d after %.1f s\n", rc, e - s }'
if [ "$status" -ne 0 ]; then
  echo "smoke: FAILED, the benchmark exited with $status"
  exit 1
fi
for pattern in "${expect[@]}"; do
  if ! grep -Eq -- "$pattern" "$log"; then
    echo "smoke: FAILED, no line matches '$pattern': the benchmark printed no such figure"
    exit 1
  fi
done
echo "smoke: passed"
