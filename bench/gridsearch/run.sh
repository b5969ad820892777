#!/usr/bin/env bash
# mer's Phase 1 grid search against scikit-learn's GridSearchCV on the same
# songs and the same work (issue 13): XGBoost hist, max_depth {3,5,7} × eta
# {0.05,0.1} × n_estimators {200,400}, 5 inner folds, each target tuned on its
# own, on the 1395 training songs of an 80/20 holdout of a DEAM-sized table
# (1744 songs × 386 features); mer with threads: 2 (one XGBoost thread per
# job), GridSearchCV with n_jobs=2 and XGBRegressor(n_jobs=1). Prints both
# times, their ratio and each side's picks; not a test.
#
#   bench/gridsearch/run.sh
#   SONGS=120 FEATURES=20 bench/gridsearch/run.sh     a smoke test in seconds
#
#   SONGS (1744), FEATURES (386)  the table's size
#   SEED (42)                     table, split, inner folds and XGBoost seeds
#   JOBS (2)                      mer's threads and GridSearchCV's n_jobs
#   WORK=DIR                      keep the table and run folder there (default:
#                                 a temporary folder, removed at the end)
#   MER_ONLY=1                    mer's side only (steps a and b): no
#                                 scikit-learn needed; ctest's
#                                 bench-gridsearch-smoke uses it where Debian's
#                                 python3-sklearn is not installed
#   MER_BUILD_DIR (build)         the build whose bin/mer-run it runs
# Needs Debian's python3-sklearn and python3-xgboost (for /usr/bin/python3),
# and a built mer (build/bin/mer-run with its plugins). Run it on a quiet
# machine: a build beside it skews both sides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${MER_BUILD_DIR:-$root/build}" 2>/dev/null && pwd) || { echo "no build folder ${MER_BUILD_DIR:-$root/build}" >&2; exit 2; }
mer="$build/bin/mer-run"
export LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
python=/usr/bin/python3
songs=${SONGS:-1744}
features=${FEATURES:-386}
seed=${SEED:-42}
jobs=${JOBS:-2}
mer_only=${MER_ONLY:-0}

if [ "$mer_only" = 1 ]; then
  "$python" -c 'import numpy' 2>/dev/null || { echo "$python cannot import numpy: apt-get install -y python3-numpy" >&2; exit 2; }
elif ! "$python" -c 'import numpy, sklearn, xgboost' 2>/dev/null; then
  echo "$python cannot import numpy, sklearn and xgboost; install Debian's packages:" >&2
  echo "  apt-get install -y python3-sklearn python3-xgboost" >&2
  exit 2
fi
[ -x "$mer" ] || { echo "$mer not found: build mer first" >&2; exit 2; }

if [ -n "${WORK:-}" ]; then
  mkdir -p "$WORK"
  work=$(cd "$WORK" && pwd)
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"

# (a) The table.
"$python" "$here/make_table.py" --out songs.csv --songs "$songs" --features "$features" --seed "$seed"

# (b) mer: the whole mer-run, wall clock (plugin loading, reading the table,
# the grid search, the refits, scoring the validation songs, writing the run
# folder). A fresh cache folder each time, so nothing comes from a former run.
rm -rf cache
start=$(date +%s.%N)
if ! run=$("$mer" run "$here/gridsearch.yaml" --quiet --out runs --cache cache \
             --set seed="$seed" --set threads="$jobs"); then
  echo "mer-run failed; its log:" >&2
  cat runs/*/*/log.txt >&2 2>/dev/null || true
  exit 1
fi
end=$(date +%s.%N)
mer_wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
echo "mer-run: $mer_wall s wall; run folder $run"
grep -h "grid search in fold" "$run/log.txt" | sed 's/^/  /' || true

if [ "$mer_only" = 1 ]; then exit 0; fi

# (c) GridSearchCV on the training songs, fixed parameters and candidates of
# that run, and (d) the side-by-side picks and the summary.
"$python" "$here/gridsearchcv.py" --table songs.csv --run "$run" --node xgb --jobs "$jobs" --seed "$seed" \
  --mer-wall "$mer_wall"
