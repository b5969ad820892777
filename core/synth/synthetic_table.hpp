// A small song × feature table whose targets really depend on some of its
// columns, for the quickstart and the tests until audio-based synthetic data
// exists: valence follows mode and brightness, arousal follows tempo and
// loudness, both on DEAM's 1–9 scale with annotator-like noise, plus columns
// of pure noise that a model must learn to ignore.
#pragma once

#include <cstdint>
#include <string>

namespace mer {

struct SyntheticTableSpec {
    int songs = 200;
    int noise_features = 8;
    std::uint64_t seed = 7;
};

// CSV text: song_id, feature columns, valence, arousal.
std::string synthetic_table_csv(const SyntheticTableSpec& spec);

}  // namespace mer
