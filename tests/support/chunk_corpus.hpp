// A tiny corpus of log-mel chunk tensors for the LibTorch models' tests.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/data/song_table.hpp"

namespace mer::test {

// Songs of 2 chunks (1 × 128 × 128 each, one .npy per song in `dir`) whose
// loudness pattern carries the two targets: a bright band whose level is
// valence, a time ramp arousal (both 1–9).
mer::SongTable tiny_corpus(const std::filesystem::path& dir, int songs, std::uint64_t seed);

}  // namespace mer::test
