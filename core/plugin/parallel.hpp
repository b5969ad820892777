// Per-song work spread over the plugin's threads, for feature extractors:
// each song's input error (and running out of memory on it) becomes its skip
// reason (song_failure), progress is reported as songs finish,
// and the songs that failed are reported to the host. An environment error
// (a cache write that failed, a folder where a file should be) stops the
// remaining songs and fails the node: no song is blamed for the machine.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/data/song_table.hpp"
#include "core/error.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

// Calls work(i) for every song on up to ctx.threads threads; returns the rows
// that succeeded, in order, after telling ctx.skip_song about the others.
std::vector<std::size_t> for_each_song(const SongTable& songs, const PluginContext& ctx,
                                       const std::function<void(std::size_t)>& work);

// The one out-of-memory policy, and what a failure means for work on one song
// among many (for_each_song, the chunk embedders' decoding): running out of
// memory on a song, or the song's own trouble (an input error: a damaged
// file), skips that song with `skip` as its reason; the machine's trouble
// (disk full, no permission, a file-system error) is `fatal` and stops the
// node. Out of memory anywhere else is an environment error (as_error: exit 3).
struct SongFailure {
    std::string skip;            // the reason the song is skipped; empty when fatal
    std::optional<Error> fatal;  // set when the node must stop
};
SongFailure song_failure(const std::exception& e, const std::string& doing);  // doing: "decode", "process"

}  // namespace mer
