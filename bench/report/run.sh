#!/usr/bin/env bash
# The report page of a DEAM-sized run (1 744 songs, 4 models × 50 epochs × 5
# folds): page size, time to build it, and time for headless Chromium to draw
# every figure (the page's own data-render-ms: from its script's start to the
# last figure drawn). Usage: bench/report/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 bench/report/deam_sized_run.py "$work/run" >/dev/null
du -sh "$work/run/metrics.csv" "$work/run/predictions.csv" | sed 's/^/input: /'
start=$(date +%s.%N)
"$build/bin/mer-run" report "$work/run" >/dev/null
end=$(date +%s.%N)
echo "build: $(echo "$end - $start" | bc) s (mer-run report)"
echo "page: $(du -b "$work/run/report.html" | cut -f1) bytes, $(ls "$work/run/report_data" | wc -l) figures"
for i in 1 2 3; do
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --user-data-dir="$work/profile" --window-size=1366,900 --timeout=20000 --dump-dom "file://$work/run/report.html" \
    2>/dev/null | grep -o 'data-render-ms="[0-9.]*"' | sed "s/^/render $i: /"
done
