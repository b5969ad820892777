// The node cache: the SongTable a dataset or features node produced, stored
// under a key made of the plugin name and version, the resolved parameters,
// the data's fingerprint and the inputs' keys, with the songs it skipped and
// the table's SHA-256. An unchanged node is loaded
// instead of recomputed; anything that changes makes a new key.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/data/song_table.hpp"

namespace mer {

struct CachedNode {
    SongTable table;
    std::vector<SkippedSong> skipped;  // songs the node could not use, replayed into skipped.csv
};

class NodeCache {
public:
    explicit NodeCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

    static std::string key(const nlohmann::json& description);  // SHA-256 of the canonical JSON

    // nullopt when absent, or damaged: then `damage` says which file and how
    // (unreadable, its checksum does not match, malformed), and the caller
    // recomputes the node and says so.
    std::optional<CachedNode> load(const std::string& key, std::string& damage) const;
    void store(const std::string& key, const CachedNode& node, const nlohmann::json& description) const;

    std::filesystem::path path_of(const std::string& key) const;
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
};

// Binary form of a SongTable (little-endian doubles, length-prefixed strings).
std::string serialize_song_table(const SongTable& table);
SongTable deserialize_song_table(const std::string& bytes);  // throws mer::Error when corrupt

}  // namespace mer
