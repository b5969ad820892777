#!/usr/bin/env bash
# Packs what device-run.sh needs besides LibTorch into build/gpu-kit: the
# Debian headers the LibTorch subset includes (Boost.DLL, nlohmann-json,
# valijson, yaml-cpp, fmt, Eigen, OpenSSL), the three libraries it links
# (Boost.Filesystem, yaml-cpp, libcrypto) and the models' generated schema
# sources. Run here, after scripts/setup has built build/. About 13 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=build/gpu-kit
[ -f build/torch-plugins.txt ] || { echo "build the project first (scripts/setup)" >&2; exit 1; }
rm -rf "$kit" && mkdir -p "$kit/include" "$kit/lib" "$kit/gen"
# shellcheck source=sources.sh
. bench/gpu-check/sources.sh
for f in "${core_sources[@]}" "${torch_sources[@]}" bench/bench_deep.cpp bench/bench_panns.cpp; do echo "$f"; done > "$kit/files"
# name|generated schema|sources, paths made relative to the repository and the kit
root=$(pwd)
while IFS='|' read -r name schema sources; do
  [ -n "$name" ] || continue
  cp "$schema" "$kit/gen/"
  rel=(); for s in $sources; do rel+=("${s#"$root"/}"); echo "${s#"$root"/}" >> "$kit/files"; done
  echo "$name|gen/$(basename "$schema")|${rel[*]}" >> "$kit/torch-plugins.txt"
done < build/torch-plugins.txt
while read -r f; do
  g++ -std=c++17 -M -I. -isystem /usr/include/eigen3 -isystem /usr/include/torch/csrc/api/include \
      -DMER_BUILD_TORCH_VERSION='"x"' -DMER_BUILD_CUDA_VERSION='"x"' -DFMT_HEADER_ONLY "$f"
done < "$kit/files" | tr ' \\' '\n\n' |
  grep -E "^/usr/include/(boost|eigen3|nlohmann|yaml-cpp|valijson|openssl|fmt|x86_64-linux-gnu/openssl)/" | sort -u |
  while read -r h; do rel=${h#/usr/include/}; mkdir -p "$kit/include/$(dirname "$rel")"; cp "$h" "$kit/include/$rel"; done
rm "$kit/files"
lib=/usr/lib/x86_64-linux-gnu
cp "$lib/libboost_filesystem.so.1.74.0" "$lib/libcrypto.so.3" "$kit/lib/"
cp "$lib/libyaml-cpp.so.0.7.0" "$kit/lib/libyaml-cpp.so.0.7"  # under its soname: no links in the kit
du -sh "$kit"
