#!/usr/bin/env bash
# Files per second of `mer-run predict` on 45-s MP3s with the handcrafted
# XGBoost model, cold feature cache (decode + 386 features + model), on every
# core. Prints the figure; not a test.
#   bench/bench_predict.sh [SONGS]   (default 40)
#   SONG_SECONDS (45)    each song's length: ctest's bench-predict-smoke runs
#                        SONG_SECONDS=5 bench/bench_predict.sh 5 in seconds
#   MER_BUILD_DIR (build) the build whose bin/mer-run it runs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${MER_BUILD_DIR:-$root/build}" 2>/dev/null && pwd) || { echo "no build folder ${MER_BUILD_DIR:-$root/build}" >&2; exit 2; }
mer="$build/bin/mer-run"
songs=${1:-40}
seconds=${SONG_SECONDS:-45}
[ -x "$mer" ] || { echo "$mer not found: build mer first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$mer" synth --out corpus --songs "$songs" --seconds "$seconds" --seed 3 >/dev/null 2>&1
cat > train.yaml <<'YAML'
name: bench-predict
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  features: {uses: features.handcrafted, inputs: [data]}
  xgboost: {uses: regressor.xgboost, inputs: [features], params: {n_estimators: 200}}
evaluation: {split: {kind: holdout, fraction: 0.2}}
YAML
run=$("$mer" run train.yaml --quiet)
start=$(date +%s.%N)
"$mer" predict --model "$run" --cache cold-cache corpus/MEMD_audio > ratings.csv
end=$(date +%s.%N)
rated=$(($(wc -l < ratings.csv) - 1))
awk -v n="$rated" -v s="$start" -v e="$end" -v c="$(nproc)" -v len="$seconds" \
  'BEGIN { t = e - s; printf "predict: %d files of %g s in %.2f s on %d cores: %.2f files/s, %.0fx real time\n", n, len, t, c, n / t, len * n / t }'
