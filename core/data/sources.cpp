// Song sources of stacked tables, read from their ids.
#include "core/data/sources.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace mer {

std::string union_song_id(const std::string& source, const std::string& id) {
    return source + "/" + id;
}

std::vector<std::string> song_sources(const SongTable& table, bool has_sources) {
    std::vector<std::string> out;
    if (!has_sources) return out;
    for (const auto& id : table.song_ids) {
        const auto slash = id.find('/');
        if (slash == std::string::npos || slash == 0)
            throw Error("song id '" + id + "' names no source (a dataset.union names its songs SOURCE/ID)");
        out.push_back(id.substr(0, slash));
    }
    return out;
}

std::vector<std::string> distinct_sources(const std::vector<std::string>& sources) {
    std::vector<std::string> out;
    for (const auto& s : sources)
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    return out;
}

}  // namespace mer
