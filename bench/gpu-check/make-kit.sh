#!/usr/bin/env bash
# Packs what device-run.sh needs besides LibTorch into build/gpu-kit: the
# Debian headers the LibTorch subset includes (Boost.DLL, nlohmann-json,
# valijson, yaml-cpp, fmt, Eigen, OpenSSL), the three libraries it links
# (Boost.Filesystem, yaml-cpp, libcrypto) and the models' generated schema
# sources. Run here, after scripts/setup has built build/. About 13 MB and a
# minute on 2 cores (g++ -M over every source).
#
#   bench/gpu-check/make-kit.sh [--check]
#
# --check packs nothing: it checks that every file the kit would take exists
# (the sources of sources.sh and of torch-plugins.txt, the generated schema
# sources, the three libraries) and says how many, in a second; ctest's
# bench-gpu-check-smoke runs it, as the kit itself is only of use on a GPU
# machine. MER_BUILD_DIR (default build) names the build it reads
# torch-plugins.txt from and writes gpu-kit into.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${MER_BUILD_DIR:-build}
kit=$build/gpu-kit
lib=/usr/lib/x86_64-linux-gnu
libraries=("$lib/libboost_filesystem.so.1.74.0" "$lib/libcrypto.so.3" "$lib/libyaml-cpp.so.0.7.0")
[ -f "$build/torch-plugins.txt" ] || { echo "build the project first (scripts/setup)" >&2; exit 1; }
# shellcheck source=sources.sh
. bench/gpu-check/sources.sh
if [ "${1:-}" = "--check" ]; then
  missing=0 files=0 plugins=0
  need() { files=$((files + 1)); [ -e "$1" ] || { echo "missing: $1" >&2; missing=$((missing + 1)); }; }
  for f in "${core_sources[@]}" "${torch_sources[@]}" bench/bench_deep.cpp bench/bench_panns.cpp \
           bench/gpu-check/device-run.sh "${libraries[@]}"; do need "$f"; done
  while IFS='|' read -r name schema sources; do
    [ -n "$name" ] || continue
    plugins=$((plugins + 1))
    need "$schema"
    for s in $sources; do need "$s"; done
  done < "$build/torch-plugins.txt"
  echo "kit inputs: $files files ($plugins LibTorch plugins), $missing missing"
  exit $((missing > 0))
fi
rm -rf "$kit" && mkdir -p "$kit/include" "$kit/lib" "$kit/gen"
for f in "${core_sources[@]}" "${torch_sources[@]}" bench/bench_deep.cpp bench/bench_panns.cpp; do echo "$f"; done > "$kit/files"
# name|generated schema|sources, paths made relative to the repository and the kit
root=$(pwd)
while IFS='|' read -r name schema sources; do
  [ -n "$name" ] || continue
  cp "$schema" "$kit/gen/"
  rel=(); for s in $sources; do rel+=("${s#"$root"/}"); echo "${s#"$root"/}" >> "$kit/files"; done
  echo "$name|gen/$(basename "$schema")|${rel[*]}" >> "$kit/torch-plugins.txt"
done < "$build/torch-plugins.txt"
while read -r f; do
  g++ -std=c++17 -M -I. -isystem /usr/include/eigen3 -isystem /usr/include/torch/csrc/api/include \
      -DMER_BUILD_TORCH_VERSION='"x"' -DMER_BUILD_CUDA_VERSION='"x"' -DFMT_HEADER_ONLY "$f"
done < "$kit/files" | tr ' \\' '\n\n' |
  grep -E "^/usr/include/(boost|eigen3|nlohmann|yaml-cpp|valijson|openssl|fmt|x86_64-linux-gnu/openssl)/" | sort -u |
  while read -r h; do rel=${h#/usr/include/}; mkdir -p "$kit/include/$(dirname "$rel")"; cp "$h" "$kit/include/$rel"; done
rm "$kit/files"
cp "${libraries[0]}" "${libraries[1]}" "$kit/lib/"
cp "${libraries[2]}" "$kit/lib/libyaml-cpp.so.0.7"  # under its soname: no links in the kit
du -sh "$kit"
