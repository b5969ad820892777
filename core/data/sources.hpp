// Where each song of a stacked table comes from. dataset.union names the song
// with id I of its input node N `N/I`: ids stay unique across corpora, and the
// part before the first '/' — a node id, which holds no '/' — is the song's
// source. The source thus travels with the id through every features node,
// transform and file (predictions.csv), and the node cache and the plugin
// interfaces need no column of their own for it.
#pragma once

#include <string>
#include <vector>

#include "core/data/song_table.hpp"

namespace mer {

// "N/I": song I of input node N of a union.
std::string union_song_id(const std::string& source, const std::string& id);

// The source of each song (in order) when the table comes from a union; empty
// when `has_sources` is false (a table from one dataset has none).
std::vector<std::string> song_sources(const SongTable& table, bool has_sources);

// The distinct sources in order of first appearance.
std::vector<std::string> distinct_sources(const std::vector<std::string>& sources);

}  // namespace mer
