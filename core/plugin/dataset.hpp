// Dataset plugins: where songs, labels and audio come from — read from
// files (DatasetPlugin), or stacked from other dataset nodes
// (CombiningDataset: dataset.union).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// One input of a combining dataset: the node's id, its songs, and the scale
// of its labels as it declares it (capability label_range: target → [low,
// high]; null when it declares none).
struct DatasetInput {
    std::string node;
    const SongTable* table = nullptr;
    nlohmann::json label_range;
};

// A dataset made of other dataset nodes (its `inputs`, two or more): the host
// runs them first and hands their tables to combine(). Nothing is read from
// disk, so the inputs' cache keys stand for the data. A new interface beside
// DatasetPlugin, which is unchanged: plugins built before it still load.
class CombiningDataset : public DatasetPlugin {
public:
    static constexpr int kInputs = -1;  // two or more dataset nodes
    ~CombiningDataset() override;

    virtual SongTable combine(const std::vector<DatasetInput>& inputs, const PluginContext& ctx) = 0;

    SongTable load(const PluginContext&) final;
    std::string content_fingerprint() const final { return ""; }
};

}  // namespace mer
