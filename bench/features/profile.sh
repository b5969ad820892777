#!/usr/bin/env bash
# Where the features node's time goes, per stage, from Debian's linux-perf:
# records mer-bench-handcrafted --node-only (the node on one thread over the
# benchmark's 45-s MP3s) with call graphs, then prints each stage's share of
# the samples — the stage's function and everything it calls — and its
# seconds per song. docs/features.md keeps the table.
#
#   bench/features/profile.sh [SONGS]        (env MER_BUILD_DIR, default build; CORPUS, default a temp folder)
set -euo pipefail
songs=${1:-8}
build=${MER_BUILD_DIR:-build}
corpus=${CORPUS:-${TMPDIR:-/tmp}/mer-bench-corpus-$songs}
command -v perf >/dev/null || { echo "$0: needs perf (Debian's linux-perf)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bin/mer-bench-handcrafted" --songs "$songs" --corpus "$corpus" --node-only >/dev/null  # corpus, warm caches
perf record -q --call-graph dwarf,16384 -F 1000 -o "$work/perf.data" \
  "$build/bin/mer-bench-handcrafted" --songs "$songs" --corpus "$corpus" --node-only >"$work/node.txt" 2>/dev/null
cat "$work/node.txt"
perf report -i "$work/perf.data" --stdio --children -g none --sort sym 2>/dev/null >"$work/report.txt"
node_seconds=$(sed -n 's/.*1 thread: \([0-9.]*\) s\/song.*/\1/p' "$work/node.txt")

# Each stage: its label, then the symbol whose inclusive share it is (the
# function and all it calls; perf's report lists it once, sorted). Shares are
# of the node's whole (song_vector), so indented rows are parts of the row above.
cat >"$work/stages.txt" <<'STAGES'
decode + resample (libsndfile/mpg123, soxr)	mer::load_audio
features (everything after decoding)	HandcraftedFeatures::compute
  STFT: frame FFTs, power and magnitude	mer::dsp::spectrogram
  CQT (tonnetz)	mer::dsp::cqt_magnitude
    octave FFTs and filter products	kernels::filter_responses
    2:1 decimations (soxr)	mer::dsp::decimate_by_two
    filters for a new tuning	CqtFilterCache::get
  tuning estimates (chroma, CQT)	mer::dsp::estimate_tuning
  spectral contrast	mer::dsp::spectral_contrast
  mel bands	mer::dsp::BandedFilterbank::apply
  matrix products (MFCC's DCT, chroma)	general_matrix_matrix_product
  dB (MFCC)	mer::dsp::power_to_db
STAGES
awk -F'\t' -v node="$node_seconds" '
  FNR == NR { label[++n] = $1; symbol[n] = $2; next }
  /%/ && !total && index($0, "HandcraftedFeatures::song_vector") { total = $1 + 0 }
  /%/ { for (s = 1; s <= n; ++s) if (!(s in share) && index($0, symbol[s])) share[s] = $1 + 0 }
  END {
    printf "| stage | share of the node | s/song |\n|---|---:|---:|\n"
    for (s = 1; s <= n; ++s) {
      label_md = label[s]; depth = 0
      while (substr(label_md, 1, 2) == "  ") { label_md = substr(label_md, 3); ++depth }
      for (d = 0; d < depth; ++d) label_md = "· " label_md
      if (s in share) printf "| %s | %.0f %% | %.4f |\n", label_md, 100 * share[s] / total, node * share[s] / total
    }
    printf "| the node (song_vector), 1 thread | 100 %% | %.4f |\n", node
  }' "$work/stages.txt" "$work/report.txt"
echo "load average: $(cut -d' ' -f1 /proc/loadavg)"
