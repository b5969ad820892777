// Tiny corpora of chunk and window tensors for the LibTorch models' tests.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/data/song_table.hpp"

namespace mer::test {

// Songs of 2 chunks (1 × 128 × 128 each, one .npy per song in `dir`) whose
// loudness pattern carries the two targets: a bright band whose level is
// valence, a time ramp arousal (both 1–9).
mer::SongTable tiny_corpus(const std::filesystem::path& dir, int songs, std::uint64_t seed);

// Songs of 10–17 windows of 6 values every 0.5 s (one windows × 6 .npy per
// song in `dir`), each window annotated (2 Hz, SongTable::dynamic) with a
// valence and arousal linear in its values plus a little noise: for the
// sequence models.
mer::SongTable window_corpus(const std::filesystem::path& dir, int songs, unsigned seed);

}  // namespace mer::test
