// Per-song work spread over the plugin's threads, for feature extractors:
// each song's input error (and any other exception, an out-of-memory one
// included) becomes its skip reason, progress is reported as songs finish,
// and the songs that failed are reported to the host. An environment error
// (a cache write that failed, a folder where a file should be) stops the
// remaining songs and fails the node: no song is blamed for the machine.
#pragma once

#include <functional>
#include <vector>

#include "core/data/song_table.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

// Calls work(i) for every song on up to ctx.threads threads; returns the rows
// that succeeded, in order, after telling ctx.skip_song about the others.
std::vector<std::size_t> for_each_song(const SongTable& songs, const PluginContext& ctx,
                                       const std::function<void(std::size_t)>& work);

}  // namespace mer
