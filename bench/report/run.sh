#!/usr/bin/env bash
# The report page of a DEAM-sized run (1 744 songs, 4 models × 50 epochs × 5
# folds): page size, time to build it, and time for headless Chromium to draw
# every figure (the page's own data-render-ms: from its script's start to the
# last figure drawn). Usage: bench/report/run.sh [BUILD_DIR]
#   SONGS (1744), EPOCHS (50)  the run folder's size
#   RENDERS (3)                Chromium draws of the page (0: none, no Chromium needed)
# ctest's bench-report-smoke runs SONGS=50 EPOCHS=3 RENDERS=1 in seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-${MER_BUILD_DIR:-build}}
songs=${SONGS:-1744}
epochs=${EPOCHS:-50}
renders=${RENDERS:-3}
[ -x "$build/bin/mer-run" ] || { echo "$build/bin/mer-run not found: build mer first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 bench/report/deam_sized_run.py "$work/run" "$songs" "$epochs" >/dev/null
du -sh "$work/run/metrics.csv" "$work/run/predictions.csv" | sed 's/^/input: /'
start=$(date +%s.%N)
"$build/bin/mer-run" report "$work/run" >/dev/null
end=$(date +%s.%N)
echo "build: $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }') s (mer-run report)"
echo "page: $(du -b "$work/run/report.html" | cut -f1) bytes, $(ls "$work/run/report_data" | wc -l) figures"
for ((i = 1; i <= renders; i++)); do
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --user-data-dir="$work/profile" --window-size=1366,900 --timeout=20000 --dump-dom "file://$work/run/report.html" \
    2>/dev/null | grep -o 'data-render-ms="[0-9.]*"' | sed "s/^/render $i: /"
done
