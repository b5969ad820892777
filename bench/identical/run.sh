#!/usr/bin/env bash
# Every experiment in experiments/, shrunk to seconds, run with one mer-run;
# the files a refactoring must leave byte-identical (metrics.csv,
# predictions.csv, results.csv, frame_predictions.csv) are copied to OUT/<experiment>/.
# Run it with the binary before and after a change and compare:
#   bench/identical/run.sh build-before/bin/mer-run /tmp/before
#   bench/identical/run.sh build/bin/mer-run /tmp/after
#   diff -r /tmp/before /tmp/after && echo identical
# Shrinking: a 24-song, 20-s synthetic corpus (seed 1; DEAM's dynamic annotations
# start at 15 s) in each dataset's layout, every `epochs`
# parameter set to 2, a random CNN14 checkpoint (tests/panns/make_checkpoint.py,
# seed 0) for the PANNs nodes. Takes about 10 minutes on 2 cores.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 MER_RUN OUT" >&2
  exit 2
fi
mer_run=$(realpath "$1")
out=$(realpath -m "$2")
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
for layout in deam pmemo emomusic; do
  "$mer_run" synth --layout "$layout" --out "$work/corpus-$layout" --songs 24 --seconds 20 --seed 1 >/dev/null
done
/usr/bin/python3 tests/panns/make_checkpoint.py "$work/cnn14.pth" --seed 0 >/dev/null
status=0
for experiment in experiments/*.yaml; do
  name=$(basename "$experiment" .yaml)
  # --set for every node parameter this experiment has: data root, epochs, checkpoints.
  mapfile -t sets < <(/usr/bin/python3 - "$experiment" "$work" <<'PY'
import json, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
work = sys.argv[2]
for node, spec in (doc.get("nodes") or {}).items():
    params = spec.get("params") or {}
    if "root" in params:  # dataset.deam, dataset.pmemo, dataset.emomusic: a corpus in its layout
        layout = spec["uses"].split(".")[1]
        print(f"nodes.{node}.params.root={work}/corpus-{layout}")
    schema = json.load(open(f"plugins/{spec['uses']}/params.schema.json"))
    if "epochs" in schema.get("properties", {}):
        print(f"nodes.{node}.params.epochs=2")
    if "checkpoint" in params:
        print(f"nodes.{node}.params.checkpoint={work}/cnn14.pth")
PY
)
  args=()
  for s in "${sets[@]}"; do args+=(--set "$s"); done
  if ! run=$("$mer_run" run "$experiment" --quiet --out "$work/runs" --cache "$work/cache" "${args[@]}" 2>"$work/$name.err"); then
    echo "$name: failed ($(tail -1 "$work/$name.err"))" >&2
    status=1
    continue
  fi
  mkdir -p "$out/$name"
  for f in metrics.csv predictions.csv results.csv frame_predictions.csv; do
    [ -f "$run/$f" ] && cp "$run/$f" "$out/$name/"
  done
  echo "$name: $(ls "$out/$name" | tr '\n' ' ')"
done
exit $status
