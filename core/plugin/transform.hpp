// Transform plugins: table to table (select, scale, project). The host fits a
// fresh transform inside every training fold and applies it to both sides,
// so nothing learnt from validation songs leaks into training.
#pragma once

#include "core/data/song_table.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

class TransformPlugin : public PluginBase {
public:
    static constexpr const char* kKind = "transform";
    ~TransformPlugin() override;

    virtual void fit(const SongTable& train, const PluginContext& ctx) = 0;
    virtual SongTable apply(const SongTable& songs) const = 0;
};

}  // namespace mer
