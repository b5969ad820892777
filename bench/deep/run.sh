#!/usr/bin/env bash
# mer's four log-mel chunk models against the same models in PyTorch (issue
# 14): mer-bench-deep and pytorch_deep.py on the same number of songs (× 15
# chunks of 128 × 128), threads and batch size, one epoch each on a fresh
# model, training and evaluation counted apart (the header comments of
# bench/bench_deep.cpp and pytorch_deep.py say exactly what each span holds).
# Prints both programs' output, then one table: chunks/s of each side and
# mer ÷ PyTorch, for training and for evaluation. Not a test.
#
#   bench/deep/run.sh [--songs 32] [--threads 2] [--batch 32] [-- PYTORCH_ARGS...]
#
# PYTORCH_ARGS go to pytorch_deep.py (--heap mer: glibc keeps freed blocks as
# mer does; --epochs N). The PyTorch side also checks its parameter names and
# shapes against the models mer saved. Needs a built mer (build/bin with its
# plugins) and Debian's python3-torch for /usr/bin/python3. Run it on a quiet
# machine: a build or ctest beside it skews both sides. MER_BUILD_DIR (default
# build) names the build to run. ctest's bench-deep-smoke runs it in seconds:
#   bench/deep/run.sh --songs 2 --batch 8
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench="${MER_BUILD_DIR:-$root/build}/bin/mer-bench-deep"
python=/usr/bin/python3
songs=32 threads=2 batch=32
while [ $# -gt 0 ]; do
  case "$1" in
    --songs) songs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--songs N] [--threads N] [--batch N] [-- PYTORCH_ARGS...]" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "$bench not found: cmake --build build --target mer-bench-deep" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null || { echo "$python cannot import torch: apt-get install python3-torch" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
"$bench" --songs "$songs" --threads "$threads" --batch "$batch" --keep "$work/models" | tee "$work/mer.txt"
"$python" "$here/pytorch_deep.py" --songs "$songs" --threads "$threads" --batch "$batch" \
  --mer-models "$work/models" "$@" | tee "$work/pytorch.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Lines "NAME [epoch 1] train S s R chunks/s (cpu C)  eval S s R chunks/s ..." → NAME TRAIN EVAL
# (the PyTorch side's first epoch: the one mer's figures are for).
figures() {
  sed -nE 's/^([a-z_.]+) +(epoch 1 )?train [0-9.]+ s ([0-9.]+) chunks\/s.*eval [0-9.]+ s ([0-9.]+) chunks\/s.*/\1 \3 \4/p' "$1"
}
echo
echo "$songs songs × 15 chunks, $threads threads, batch $batch, one epoch; chunks/s"
awk 'NR == FNR { train[$1] = $2; evaluation[$1] = $3; next }
     FNR == 1 { printf "%-28s %10s %10s %6s %10s %10s %6s\n", "model", "mer train", "PT train", "ratio",
                       "mer eval", "PT eval", "ratio" }
     ($1 in train) { printf "%-28s %10.1f %10.1f %6.2f %10.1f %10.1f %6.2f\n", $1, $2, train[$1], $2 / train[$1],
                            $3, evaluation[$1], $3 / evaluation[$1] }' \
  <(figures "$work/pytorch.txt") <(figures "$work/mer.txt")
