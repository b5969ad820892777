// Transform plugins: table to table (select, scale, project, combine). The
// host fits a fresh transform inside every training fold and applies it to
// both sides, so nothing learnt from validation songs leaks into training.
// Most transforms read one input: derive from SingleInputTransform.
#pragma once

#include <vector>

#include "core/data/song_table.hpp"
#include "core/error.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

class TransformPlugin : public PluginBase {
public:
    static constexpr const char* kKind = "transform";
    static constexpr int kInputs = 1;  // a class taking more declares its own kInputs
    ~TransformPlugin() override;

    // The inputs' training-side tables, in the order of the node's inputs.
    virtual void fit(const std::vector<const SongTable*>& train, const PluginContext& ctx) = 0;
    virtual SongTable apply(const std::vector<const SongTable*>& inputs) const = 0;

    // The fitted state into / out of a folder of its own (see RegressorPlugin).
    virtual void save(const std::string& dir) const = 0;
    virtual void load(const std::string& dir) = 0;
};

class SingleInputTransform : public TransformPlugin {
public:
    void fit(const std::vector<const SongTable*>& train, const PluginContext& ctx) final { fit(*only(train), ctx); }
    SongTable apply(const std::vector<const SongTable*>& inputs) const final { return apply(*only(inputs)); }

protected:
    virtual void fit(const SongTable& train, const PluginContext& ctx) = 0;
    virtual SongTable apply(const SongTable& songs) const = 0;

private:
    static const SongTable* only(const std::vector<const SongTable*>& inputs) {
        if (inputs.size() != 1) throw Error("this transform takes one input, got " + std::to_string(inputs.size()));
        return inputs[0];
    }
};

}  // namespace mer
