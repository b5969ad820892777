#!/bin/bash
# Issue 28's figures: features.torchscript and regressor.torchscript against
# the native plugins and against Python running the same files, on this
# machine, in one run.
#
#   bench/torchscript/run.sh [SONGS] [THREADS]      (default 6 songs of 45 s, 2 threads)
#
# Needs the build (build/bin/mer-run, mer-bench-deep) and Debian's
# python3-torch and python3-torchaudio. Writes into a temporary folder:
#   * the seeded official-layout CNN14 checkpoint (tests/panns/make_checkpoint.py)
#     and CNN14 written in PyTorch on it, scripted (tests/torchscript/cnn14.py);
#   * a HuBERT-base-sized model with random weights and the paper's CNN
#     scripted from bench/deep/pytorch_deep.py with one output
#     (tests/torchscript/make_models.py bench);
#   * SONGS synthetic 45-s songs (mer-run synth).
# Prints, per song of 45 s: features.panns_cnn14 (native) and
# features.torchscript on the exported CNN14, each with a cold cache, the
# node's own time from the run log (decoding and resampling included);
# Python running the exported CNN14 on the same number of chunks (network
# only), on glibc's default heap and with mer's heap settings (large freed
# blocks kept, as bench/deep/pytorch_deep.py --heap mer; glibc's default
# maps and unmaps every large activation, which alone slows PyTorch here); features.torchscript on the HuBERT-base-sized model (5-s chunks),
# and Python on it. Then training chunks/s of regressor.cnn and
# regressor.torchscript on the scripted CNN (mer-bench-deep, one epoch).
# Take the figures on a quiet machine and quote the load average printed.
#   SONG_SECONDS (45)   the songs' length (CNN14 reads it in 3-s chunks,
#                       HuBERT in 5-s ones, remainder dropped)
#   TRAIN_SONGS (32)    mer-bench-deep's songs (× 15 chunks) for the training rows
#   HEAPS ("default mer")  the heaps Python runs on (either or both)
#   HUBERT (1)          0: leave out the two HuBERT-base rows (the slowest)
#   CNN14_CHECKPOINT=FILE  a CNN14 checkpoint to run instead of writing the
#                       seeded test one (the official weights: the same speed)
#   MER_BUILD_DIR (build) the build whose bin/ it runs
# ctest's bench-torchscript-smoke runs SONG_SECONDS=5 TRAIN_SONGS=1
# HEAPS=mer HUBERT=0 bench/torchscript/run.sh 2 1 (the figures then mean nothing; it
# checks that every step still runs and prints one).
set -euo pipefail
songs=${1:-6}
threads=${2:-2}
seconds=${SONG_SECONDS:-45}
train_songs=${TRAIN_SONGS:-32}
heaps=${HEAPS:-default mer}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${MER_BUILD_DIR:-$root/build}" 2>/dev/null && pwd) || { echo "no build folder ${MER_BUILD_DIR:-$root/build}" >&2; exit 2; }
mer=$build/bin/mer-run
[ -x "$mer" ] || { echo "$mer not found: build mer first" >&2; exit 2; }
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $songs songs × $seconds s; $threads threads"
if [ -n "${CNN14_CHECKPOINT:-}" ]; then
  ln -s "$(cd "$(dirname "$CNN14_CHECKPOINT")" && pwd)/$(basename "$CNN14_CHECKPOINT")" cnn14.pth
else
  $py "$root/tests/panns/make_checkpoint.py" cnn14.pth >/dev/null
fi
$py "$root/tests/torchscript/cnn14.py" cnn14.pth cnn14.pt
$py "$root/tests/torchscript/make_models.py" bench . 2>/dev/null
"$mer" synth --out corpus --songs "$songs" --seconds "$seconds" --seed 1 >/dev/null 2>&1

experiment() {  # NAME USES PARAMS
  cat > "$1.yaml" <<YAML
name: $1
seed: 1
threads: $threads
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  emb: {uses: $2, inputs: [data], params: $3}
  mean: {uses: regressor.mean, inputs: [emb]}
evaluation: {split: {kind: holdout, fraction: 0.5}, metrics: [r2]}
YAML
  "$mer" run "$1.yaml" --cache "cache-$1" >"$1.out" 2>&1 || { cat "$1.out"; exit 1; }
  local node_seconds
  node_seconds=$(grep -o "node 'emb' ([a-z_.0-9]*): computed — .* (\([0-9.]*\) s)" "$1.out" | sed 's/.*(\([0-9.]*\) s)$/\1/' || true)
  [ -n "$node_seconds" ] || { echo "$1: no node time in its log:"; cat "$1.out"; exit 1; }
  awk -v name="$1" -v t="$node_seconds" -v n="$songs" -v len="$seconds" \
    'BEGIN { printf "%-44s %6.3f s per %g-s song (node %s s)\n", name, t / n, len, t }'
}

experiment panns_cnn14-native features.panns_cnn14 "{checkpoint: cnn14.pth}"
experiment torchscript-cnn14 features.torchscript "{model: cnn14.pt, chunk_seconds: 3.0, hop_seconds: 3.0, batch_size: 15}"
python_bench() {  # Python on glibc's default heap, then with mer's (core/base/heap.cpp: large blocks kept)
  case " $heaps " in *" default "*)
    $py "$root/bench/torchscript/python_bench.py" "$@" 2>/dev/null | sed 's/^python:/python, default heap:/' ;;
  esac
  case " $heaps " in *" mer "*)
    MALLOC_MMAP_THRESHOLD_=536870912 MALLOC_TRIM_THRESHOLD_=1073741824 \
      $py "$root/bench/torchscript/python_bench.py" "$@" 2>/dev/null | sed "s/^python:/python, mer's heap:   /" ;;
  esac
}
python_bench cnn14.pt 32000 3.0 $((seconds / 3)) 15 "$threads" "$songs"
if [ "${HUBERT:-1}" != 0 ]; then
  experiment torchscript-hubert-base features.torchscript "{model: hubert-base.pt, chunk_seconds: 5.0, hop_seconds: 5.0, batch_size: 9}"
  python_bench hubert-base.pt 16000 5.0 $((seconds / 5)) 9 "$threads" "$songs"
fi
echo "training, one epoch of $train_songs songs × 15 chunks (mer-bench-deep):"
"$build/bin/mer-bench-deep" --model regressor.cnn --threads "$threads" --songs "$train_songs" | grep "^regressor"
"$build/bin/mer-bench-deep" --model regressor.torchscript --param model="$work/cnn-1.pt" --threads "$threads" \
  --songs "$train_songs" | grep "^regressor"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
