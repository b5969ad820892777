#!/usr/bin/env bash
# Issue 27: a grid search's inner fit against the refit of its winner, quiet
# and beside two busy processes (mer-bench-boost's header says what each
# holds), with this build's libmer_xgboost and, given BEFORE_LIB, with
# another one (the library before a change): the same benchmark binary, the
# other library through LD_LIBRARY_PATH. Prints both; asserts nothing.
#
#   bench/boost/run.sh [BEFORE_LIB] [-- BENCH_ARGS...]
#
# BEFORE_LIB: a folder holding libmer_xgboost.so.0.1.0 built from an earlier
# commit, e.g.
#   git worktree add /tmp/mer-before a1033a7 && cmake -S /tmp/mer-before -B /tmp/mer-before/build -G Ninja \
#     -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/mer-before/build --target mer_xgboost
#   bench/boost/run.sh /tmp/mer-before/build/lib
# BENCH_ARGS go to mer-bench-boost (default here: --rounds 60, about a minute
# per library on 2 cores). Hold the build lock so no build runs beside it:
#   flock /tmp/mer-build.lock bench/boost/run.sh ...
# MER_BUILD_DIR (default build) names the build to run. ctest's
# bench-boost-smoke runs it in seconds:
#   bench/boost/run.sh -- --songs 200 --features 20 --rounds 5 --threads 1 --hogs 1
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${MER_BUILD_DIR:-$root/build}" 2>/dev/null && pwd) || { echo "no build folder ${MER_BUILD_DIR:-$root/build}" >&2; exit 2; }
bench="$build/bin/mer-bench-boost"
[ -x "$bench" ] || { echo "$bench not found: build mer first" >&2; exit 2; }
before=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then before=$1; shift; fi
[ "${1:-}" = "--" ] && shift
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--rounds 60)
if [ -n "$before" ]; then
  [ -e "$before/libmer_xgboost.so.0.1.0" ] || { echo "$before has no libmer_xgboost.so.0.1.0" >&2; exit 2; }
  echo "== before: $before/libmer_xgboost.so.0.1.0"
  LD_LIBRARY_PATH="$before${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bench" "${args[@]}"
fi
echo "== this build: $build/lib/libmer_xgboost.so.0.1.0"
"$bench" "${args[@]}"
