#!/usr/bin/env bash
# Files per second of `mer-run predict` on 45-s MP3s with the handcrafted
# XGBoost model, cold feature cache (decode + 386 features + model), on every
# core. Prints the figure; not a test.
#   bench/bench_predict.sh [SONGS]   (default 40)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mer="$root/build/bin/mer-run"
songs=${1:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$mer" synth --out corpus --songs "$songs" --seconds 45 --seed 3 >/dev/null 2>&1
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
awk -v n="$rated" -v s="$start" -v e="$end" -v c="$(nproc)" \
  'BEGIN { t = e - s; printf "predict: %d files of 45 s in %.2f s on %d cores: %.2f files/s, %.0fx real time\n", n, t, c, n / t, 45 * n / t }'
