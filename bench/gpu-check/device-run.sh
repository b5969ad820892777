#!/usr/bin/env bash
# On a lent GPU machine that has a CUDA LibTorch (e.g. PyTorch in a venv) but
# none of mer's Debian packages: builds mer's LibTorch subset (the core
# pieces it needs, libmer_torch, every LibTorch plugin of the build, mer-bench-deep, mer-bench-panns) with
# g++ against that LibTorch and the kit from make-kit.sh, then runs
# mer-bench-deep on cuda:0 (batch 32 and 256, fp32 and bf16) and on the CPU,
# one and four CNN-GRU trials packed on the GPU with nvidia-smi's utilisation,
# and mer-bench-panns on cuda:0 (batches 15, 64, 256).
#
#   bench/gpu-check/device-run.sh [PYTHON] [SONGS]     (from the repository root,
#                                                       with build/gpu-kit carried)
set -uo pipefail
SRC=$(pwd)
KIT=$SRC/build/gpu-kit
OUT=$KIT/out
PY=${1:-/opt/torch/.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
SONGS=${2:-128}
. "$SRC/bench/gpu-check/sources.sh"
[ -d "$KIT/include" ] || { echo "no kit at $KIT: run bench/gpu-check/make-kit.sh and carry build/gpu-kit" >&2; exit 1; }

TORCH=$($PY -c 'import torch, os; print(os.path.dirname(torch.__file__))') || exit 1
TV=$($PY -c 'import torch; print(torch.__version__.split("+")[0])')
CV=$($PY -c 'import torch; print(torch.version.cuda or "none")')
ABI=$($PY -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
echo "torch $TV, cuda $CV, cxx11 abi $ABI; $(g++ --version | head -1); $(nproc) cores"
nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
mkdir -p "$OUT/bin" "$OUT/plugins" "$OUT/obj" "$OUT/lib"

FLAGS=(-O2 -g1 -std=c++17 -fPIC -w -D_GLIBCXX_USE_CXX11_ABI="$ABI" -I"$SRC"
       -isystem "$KIT/include" -isystem "$KIT/include/eigen3" -isystem "$KIT/include/x86_64-linux-gnu"
       -isystem "$TORCH/include" -isystem "$TORCH/include/torch/csrc/api/include"
       -DMER_SOURCE_DIR="\"$SRC\"" -DMER_BUILD_TORCH_VERSION="\"$TV\"" -DMER_BUILD_CUDA_VERSION="\"$CV\""
       -DMER_PLUGIN_TORCH_VERSION="\"$TV\"" -DMER_PLUGIN_CUDA_VERSION="\"$CV\"" -DFMT_HEADER_ONLY -DBOOST_ALL_NO_LIB)
TORCH_LIBS=(-L"$TORCH/lib" -Wl,-rpath,"$TORCH/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10)
[ -e "$TORCH/lib/libtorch_cuda.so" ] && TORCH_LIBS+=(-ltorch_cuda -lc10_cuda)
TORCH_LIBS+=(-Wl,--as-needed -Wl,--allow-shlib-undefined)
for d in "$TORCH"/../nvidia/*/lib; do [ -d "$d" ] && TORCH_LIBS+=(-Wl,-rpath-link,"$d"); done
KIT_LIBS=("$KIT/lib/libboost_filesystem.so.1.74.0" "$KIT/lib/libyaml-cpp.so.0.7" "$KIT/lib/libcrypto.so.3" -Wl,-rpath,"$KIT/lib")

compile() {  # SOURCE OBJECT
  g++ "${FLAGS[@]}" -c "$1" -o "$2" 2> "$2.log" || { echo "compile failed: $1"; grep -m 12 -A6 "error" "$2.log" | head -c 5000; return 1; }
}
start=$(date +%s)
obj() { echo "$OUT/obj/$(echo "$1" | tr / _).o"; }
pids=()
for f in "${core_sources[@]}" "${torch_sources[@]}" bench/bench_deep.cpp bench/bench_panns.cpp; do
  compile "$f" "$(obj "$f")" & pids+=($!)
done
# Every LibTorch plugin of the build that made the kit (name|schema|sources).
models=(); declare -A model_schema model_sources
while IFS='|' read -r name schema sources; do
  models+=("$name"); model_schema[$name]=$schema; model_sources[$name]=$sources
done < "$KIT/torch-plugins.txt"
for m in "${models[@]}"; do
  for s in ${model_sources[$m]}; do compile "$s" "$(obj "$s")" & pids+=($!); done
  compile "$KIT/${model_schema[$m]}" "$OUT/obj/${m}_schema.o" & pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ $failed = 0 ] || exit 1
set -e
core_objs=(); for f in "${core_sources[@]}"; do core_objs+=("$(obj "$f")"); done
g++ -shared -o "$OUT/lib/libmer_core.so" "${core_objs[@]}" "${KIT_LIBS[@]}" -ldl
torch_objs=(); for f in "${torch_sources[@]}"; do torch_objs+=("$(obj "$f")"); done
g++ -shared -o "$OUT/lib/libmer_torch.so" "${torch_objs[@]}" -L"$OUT/lib" -lmer_core "${TORCH_LIBS[@]}" -Wl,-rpath,"$OUT/lib"
for m in "${models[@]}"; do
  objs=(); for s in ${model_sources[$m]}; do objs+=("$(obj "$s")"); done
  g++ -shared -o "$OUT/plugins/$m.so" "${objs[@]}" "$OUT/obj/${m}_schema.o" -L"$OUT/lib" -lmer_torch -lmer_core \
      "${TORCH_LIBS[@]}" -Wl,-rpath,"$OUT/lib"
done
# As mer-run: the benchmark itself does not link LibTorch (see bench_deep.cpp).
g++ -rdynamic -o "$OUT/bin/mer-bench-deep" "$(obj bench/bench_deep.cpp)" "$SRC/bench/gpu-check/segv.cpp" -L"$OUT/lib" -lmer_core \
    "${KIT_LIBS[@]}" -Wl,-rpath,"$OUT/lib"
# CNN14 inference links LibTorch directly (through libmer_torch).
g++ -o "$OUT/bin/mer-bench-panns" "$(obj bench/bench_panns.cpp)" -L"$OUT/lib" -lmer_torch -lmer_core "${TORCH_LIBS[@]}" \
    "${KIT_LIBS[@]}" -Wl,-rpath,"$OUT/lib"
echo "built in $(( $(date +%s) - start )) s"
set +e
export MER_PLUGIN_PATH=
status=0
# Chunks/s of the four log-mel models on the GPU: batch 32 and 256, fp32 and
# bf16 (the training set resident on the device), then the CPU for scale.
for batch in 32 256; do
  for precision in fp32 bf16; do
    "$OUT/bin/mer-bench-deep" --songs "$SONGS" --device cuda:0 --threads "$(nproc)" --batch "$batch" \
      --precision "$precision" || status=1
  done
done
"$OUT/bin/mer-bench-deep" --songs "$SONGS" --device cpu --threads "$(nproc)" || status=1
# GPU utilisation with 1 and with 4 trials packed on the GPU: CNN-GRU at
# batch 32 (a small model), 3 epochs each, nvidia-smi sampled every 200 ms;
# each trial in its own temporary folder. On a GPU read the `fit` figures:
# the train/eval split is taken when work is queued, not when it is done.
if command -v nvidia-smi >/dev/null; then
  for packed in 1 4; do
    nvidia-smi -i 0 --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 \
      -f "$OUT/smi-$packed.csv" &
    smi=$!
    t0=$(date +%s%N); pids=(); tmps=()
    for k in $(seq 1 "$packed"); do
      tmp=$(mktemp -d); tmps+=("$tmp")
      TMPDIR=$tmp "$OUT/bin/mer-bench-deep" --songs "$SONGS" --device cuda:0 --threads $(( $(nproc) / packed )) \
        --batch 32 --model regressor.cnn_gru --epochs 3 > "$OUT/packed-$packed-$k.txt" 2>&1 & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null
    rm -rf "${tmps[@]}"
    awk -F', ' -v n="$packed" -v ms="$ms" '
      $1 ~ /^[0-9]+$/ {u+=$1; m=($2>m?$2:m); k++}
      END {if (k == 0 || ms == 0) {print n " trial(s): no nvidia-smi samples"; exit}
           printf "%d trial(s) on one GPU: GPU utilisation %.0f %% (mean of %d samples over %.1f s, data set-up and reloads included), peak memory %d MiB\n", n, u/k, k, ms/1000, m}' \
      "$OUT/smi-$packed.csv"
    grep -h "regressor.cnn_gru " "$OUT"/packed-"$packed"-*.txt
  done
fi
# CNN14 songs/s on the GPU at batch 64 (the test checkpoint: speed does not depend on the values).
if $PY "$SRC/tests/panns/make_checkpoint.py" "$OUT/cnn14.pth" >/dev/null; then
  for batch in 15 64 256; do "$OUT/bin/mer-bench-panns" --checkpoint "$OUT/cnn14.pth" --device cuda:0 --batch "$batch" || status=1; done
  rm -f "$OUT/cnn14.pth"
else
  echo "no CNN14 figures: $PY could not write the test checkpoint (needs torch and numpy)"; status=1
fi
exit $status
