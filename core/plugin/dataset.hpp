// Dataset plugins: where songs, labels and audio come from.
#pragma once

#include "core/data/song_table.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

class DatasetPlugin : public PluginBase {
public:
    static constexpr const char* kKind = "dataset";
    static constexpr int kInputs = 0;
    ~DatasetPlugin() override;

    // Every song with its group, audio path (if any), features (if the
    // dataset carries them) and targets.
    virtual SongTable load(const PluginContext& ctx) = 0;

    // A string that changes whenever the data on disk changes (sizes, mtimes,
    // hashes). It joins the node's cache key, so edited files are re-read.
    virtual std::string content_fingerprint() const = 0;
};

}  // namespace mer
