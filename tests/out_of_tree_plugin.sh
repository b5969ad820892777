#!/usr/bin/env bash
# Drop-in proof: build examples/regressor.knn out of tree against the build's
# exported CMake package, put the .so in a temporary folder on
# MER_PLUGIN_PATH, and run an experiment that uses it.
# Usage: out_of_tree_plugin.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cp -r "$source_dir/examples/regressor.knn" "$work/src"
cmake -S "$work/src" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -Dmer_DIR="$build_dir" >"$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
mkdir -p "$work/plugins"
cp "$work/build/regressor.knn.so" "$work/plugins/"

export MER_PLUGIN_PATH="$work/plugins"
cd "$work"
"$build_dir/bin/mer-run" plugins >plugins.txt
grep -q "^regressor.knn  1.0.0  (regressor)" plugins.txt \
  || { echo "regressor.knn not listed:"; cat plugins.txt; exit 1; }
# The conformance checks the in-tree plugins get, on this one.
"$build_dir/bin/mer-run" plugins check "$work/plugins/regressor.knn.so" >check.txt \
  || { echo "plugins check failed:"; cat check.txt; exit 1; }
grep -q "all checks passed" check.txt || { cat check.txt; exit 1; }
"$build_dir/bin/mer-run" synth-table --out songs.csv --songs 100 >/dev/null
cat > knn.yaml <<'YAML'
name: knn
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  knn: {uses: regressor.knn, inputs: [songs], params: {k: 7}}
evaluation: {split: {kind: kfold, k: 4}}
YAML
"$build_dir/bin/mer-run" validate knn.yaml
run_dir=$("$build_dir/bin/mer-run" run knn.yaml --quiet)
r2=$(awk 'match($0, /"mean": [-0-9.e]+/) { print substr($0, RSTART + 8, RLENGTH - 8); exit }' "$run_dir/summary.json")
echo "regressor.knn valence R² over 4 folds: $r2"
awk -v r2="$r2" 'BEGIN { exit !(r2 > 0.2) }' || { echo "knn did not learn (R² $r2)"; exit 1; }
grep -q "regressor.knn" "$run_dir/plugins.lock"
