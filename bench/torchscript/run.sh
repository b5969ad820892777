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
#   * a HuBERT-base-sized model with random weights and the report's CNN
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
set -euo pipefail
songs=${1:-6}
threads=${2:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
mer=$root/build/bin/mer-run
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $songs songs × 45 s; $threads threads"
$py "$root/tests/panns/make_checkpoint.py" cnn14.pth >/dev/null
$py "$root/tests/torchscript/cnn14.py" cnn14.pth cnn14.pt
$py "$root/tests/torchscript/make_models.py" bench . 2>/dev/null
"$mer" synth --out corpus --songs "$songs" --seconds 45 --seed 1 >/dev/null 2>&1

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
  local seconds
  seconds=$(grep -o "node 'emb' ([a-z_.0-9]*): computed — .* (\([0-9.]*\) s)" "$1.out" | sed 's/.*(\([0-9.]*\) s)$/\1/')
  printf '%-44s %6.3f s per 45-s song (node %s s)\n' "$1" "$(echo "$seconds / $songs" | bc -l)" "$seconds"
}

experiment panns_cnn14-native features.panns_cnn14 "{checkpoint: cnn14.pth}"
experiment torchscript-cnn14 features.torchscript "{model: cnn14.pt, chunk_seconds: 3.0, hop_seconds: 3.0, batch_size: 15}"
python_bench() {  # Python on glibc's default heap, then with mer's (core/run/heap.cpp: large blocks kept)
  $py "$root/bench/torchscript/python_bench.py" "$@" 2>/dev/null | sed 's/^python:/python, default heap:/'
  MALLOC_MMAP_THRESHOLD_=536870912 MALLOC_TRIM_THRESHOLD_=1073741824 \
    $py "$root/bench/torchscript/python_bench.py" "$@" 2>/dev/null | sed "s/^python:/python, mer's heap:   /"
}
python_bench cnn14.pt 32000 3.0 15 15 "$threads" "$songs"
experiment torchscript-hubert-base features.torchscript "{model: hubert-base.pt, chunk_seconds: 5.0, hop_seconds: 5.0, batch_size: 9}"
python_bench hubert-base.pt 16000 5.0 9 9 "$threads" "$songs"
echo "training, one epoch of 32 songs × 15 chunks (mer-bench-deep):"
"$root/build/bin/mer-bench-deep" --model regressor.cnn --threads "$threads" | grep "^regressor"
"$root/build/bin/mer-bench-deep" --model regressor.torchscript --param model="$work/cnn-1.pt" --threads "$threads" | grep "^regressor"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
