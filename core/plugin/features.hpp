// Feature plugins: songs (with audio) in, the same songs with feature columns
// out. They do not see labels' splits: what they compute must not depend on
// which songs are used for training.
#pragma once

#include "core/data/song_table.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

class FeaturesPlugin : public PluginBase {
public:
    static constexpr const char* kKind = "features";
    static constexpr int kInputs = 1;
    ~FeaturesPlugin() override;

    virtual SongTable extract(const SongTable& songs, const PluginContext& ctx) = 0;
};

}  // namespace mer
