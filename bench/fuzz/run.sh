#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/: clang, ASan + UBSan, no LibTorch)
# and runs each for SECONDS (default 60), one after the other. Inputs that
# crash a target, time out (10 s) or pass 2 GiB are kept in
# bench/fuzz/crashes/<target>/; the fuzzing goes on after each. Working
# corpora, collected seeds and logs stay in build-fuzz/fuzz/.
#
# Usage: bench/fuzz/run.sh [SECONDS] [TARGET...]   targets: experiment csv npy plugin_tag bundle
#                                                  node_cache state_dict_pickle
#        bench/fuzz/run.sh --replay                every seed and kept crash once (ctest in build-fuzz)
#        bench/fuzz/run.sh --check                 no build, in a second (ctest's bench-fuzz-smoke, as
#                                                  the fuzz build takes minutes): each target has its
#                                                  source, its CMake entry and its seed folder, and
#                                                  replay.sh passes every seed through a stand-in
#                                                  fuzzer that accepts all and fails one that crashes
#   JOBS=N          build jobs (default: every core)
#   FUZZ_ARGS="..."  more libFuzzer options, e.g. -only_ascii=1 to get past a
#                   known finding about invalid UTF-8
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build-fuzz
work=$build/fuzz
all_targets=(experiment csv npy plugin_tag bundle node_cache state_dict_pickle)

if [ "${1:-}" = "--check" ]; then
  bash -n bench/fuzz/replay.sh
  listed=$(sed -n 's/^set(fuzz_targets \(.*\))$/\1/p' bench/fuzz/CMakeLists.txt)
  [ "$listed" = "${all_targets[*]}" ] ||
    { echo "bench/fuzz/CMakeLists.txt builds '$listed', run.sh runs '${all_targets[*]}'" >&2; exit 1; }
  for target in "${all_targets[@]}"; do
    [ -f "bench/fuzz/fuzz_$target.cpp" ] || { echo "no bench/fuzz/fuzz_$target.cpp" >&2; exit 1; }
    [ -d "bench/fuzz/corpus/$target" ] || { echo "no seed folder bench/fuzz/corpus/$target" >&2; exit 1; }
  done
  seeds=("${all_targets[@]/#/bench/fuzz/corpus/}")
  bash bench/fuzz/replay.sh /bin/true "${seeds[@]}" bench/fuzz/crashes
  if bash bench/fuzz/replay.sh /bin/false bench/fuzz/corpus/csv >/dev/null; then
    echo "replay.sh passed a fuzzer that fails on every input" >&2
    exit 1
  fi
  echo "fuzz check: ${#all_targets[@]} targets, each with its source, CMake entry and seeds"
  exit 0
fi

cmake -S . -B $build -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DMER_FUZZ=ON -DMER_WITH_TORCH=OFF -DMER_BUILD_TESTS=OFF \
  >$build-configure.log 2>&1 || { cat $build-configure.log >&2; exit 1; }
rm -f $build-configure.log
cmake --build $build --target mer_fuzz --parallel "${JOBS:-$(nproc)}"

if [ "${1:-}" = "--replay" ]; then
  exec ctest --test-dir $build --output-on-failure
fi
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

mkdir -p $work/tmp
export TMPDIR=$PWD/$work/tmp  # the targets' scratch files, and libFuzzer's own
# Every UBSan report is a finding; to fuzz past a known one, pass your own
# UBSAN_OPTIONS with suppressions=FILE (kept crashes are replayed without it).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Seeds too large or too generated to keep in the repository, made afresh:
# the shipped experiments, a synthetic table, bundles and node-cache tables
# of a small run, and tag-only copies of real plugins.
seeds=$work/seeds
rm -rf $seeds
mkdir -p $seeds/{experiment,csv,npy,plugin_tag,bundle,node_cache,state_dict_pickle} $seeds/run
cp experiments/*.yaml $seeds/experiment/
(
  cd $seeds/run
  "$OLDPWD/$build/bin/mer-run" synth-table --out songs.csv --songs 60 >/dev/null
  "$OLDPWD/$build/bin/mer-run" run "$OLDPWD/bench/fuzz/seed-bundles.yaml" --quiet >/dev/null
)
head -n 21 $seeds/run/songs.csv >$seeds/csv/songs.csv
find $seeds/run/cache -name '*.table' -exec cp {} $seeds/node_cache/ \;
for bundle in $seeds/run/runs/*/*/model/*/; do
  node=$(basename "$bundle")
  (cd "$bundle" && find . -type f ! -name done.json | sort | while read -r f; do
    printf -- '--- %s\n' "${f#./}"
    cat "$f"
    printf '\n'
  done) >$seeds/bundle/$node
  find "$bundle" -name '*.npy' -size -8k | head -n 3 | while read -r f; do cp "$f" "$seeds/npy/$node-$(basename "$f")"; done
done
for plugin in $build/plugins/regressor.ridge.so $build/plugins/dataset.table.so; do
  objcopy --only-section=.mer_abi "$plugin" "$seeds/plugin_tag/$(basename "$plugin" .so)-tag-only.so" 2>/dev/null
done

summary=()
for target in "${targets[@]}"; do
  mkdir -p "$work/corpus/$target" "bench/fuzz/crashes/$target"
  before=$(find "bench/fuzz/crashes/$target" -type f | wc -l)
  echo "== $target: $seconds s" >&2
  "$build/bin/mer-fuzz-$target" "$work/corpus/$target" "bench/fuzz/corpus/$target" "$seeds/$target" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -fork=1 \
    -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="bench/fuzz/crashes/$target/" ${FUZZ_ARGS:-} >"$work/$target.log" 2>&1 || true
  after=$(find "bench/fuzz/crashes/$target" -type f | wc -l)
  stats=$(grep -E '^#[0-9]+: cov' "$work/$target.log" | tail -n 1 || true)
  summary+=("$target: ${stats:-no statistics, see $work/$target.log}; new kept inputs: $((after - before))")
done
printf '%s\n' "${summary[@]}"
