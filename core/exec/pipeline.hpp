// The pipeline runner: the one path from a data node's song table through
// fitted transforms to a regressor's predictions. `mer-run run` fits it in
// every fold (and in every grid-search candidate), saves each fold's fitted
// pipeline into the model bundle, and `mer-run predict` loads the same
// bundle into the same class, so rating new music cannot drift from
// training.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/data/song_table.hpp"
#include "core/data/splits.hpp"
#include "core/plugin/plugin.hpp"
#include "core/plugin/regressor.hpp"

namespace mer {

class PluginRegistry;
class TransformPlugin;
struct Experiment;
struct NodeSpec;

// One plugin node of the pipeline.
struct PipelineStep {
    std::string id;
    std::string uses;
    std::string version;
    std::string kind;
    std::vector<std::string> inputs;
    nlohmann::json params;
    // Files whose content the step's output depends on (NodeSpec::files);
    // predict refuses a file whose content changed since training.
    nlohmann::json files = nlohmann::json::object();
};

struct PipelineSpec {
    std::vector<PipelineStep> data;        // dataset → features …: the source and what feeds it
    std::vector<PipelineStep> transforms;  // in fitting order (each after its inputs)
    PipelineStep regressor;

    const std::string& source() const { return data.back().id; }  // the node whose table enters
    // The chain starts at a dataset stacking others (dataset.union): each
    // song's id carries its source (core/data/sources.hpp).
    bool has_sources() const { return data.front().kind == "dataset" && !data.front().inputs.empty(); }

    // The chain a regressor node of an experiment learns from.
    static PipelineSpec of(const Experiment& experiment, const NodeSpec& regressor);
    // The chain a model bundle's model.json records (the same fields as above).
    static PipelineSpec from_json(const nlohmann::json& manifest);
    void to_json(nlohmann::ordered_json& manifest) const;  // data, transforms, regressor
};

// The training side and the validation side of one split.
using Sides = std::pair<SongTable, SongTable>;

class Pipeline {
public:
    // The context for a plugin of the pipeline (its seed, threads, log…).
    using ContextFor = std::function<PluginContext(const PipelineStep& step)>;

    Pipeline(PipelineSpec spec, const PluginRegistry& registry);

    // Fits every transform on the training side (fresh instances) and applies
    // it to both sides; checks that each transform keeps every song in order.
    Sides fit_transforms(const Sides& rows, const ContextFor& context);
    // Applies the fitted (or loaded) transforms.
    SongTable apply_transforms(const SongTable& songs) const;

    // A fresh regressor with `params` (a grid candidate, or the node's own), fitted.
    void fit_regressor(const nlohmann::json& params, const SongTable& train, const SongTable* validation,
                       const EpochCallback& on_epoch, const PluginContext& ctx);
    // songs × targets from transformed songs; and per chunk for chunk models.
    Eigen::MatrixXd predict(const SongTable& transformed) const;
    std::vector<Eigen::MatrixXd> predict_chunks(const SongTable& transformed) const;
    // predict() from the regressor's first `stages` stages (capability staged).
    Eigen::MatrixXd predict_stages(const SongTable& transformed, int stages) const;

    // A fold of a model bundle: transforms/<id>/, regressor/, params.json.
    void save(const std::filesystem::path& fold_dir) const;
    void load(const std::filesystem::path& fold_dir);

    const PipelineSpec& spec() const { return spec_; }

private:
    PipelineSpec spec_;
    const PluginRegistry& registry_;
    std::map<std::string, std::shared_ptr<TransformPlugin>> transforms_;
    std::shared_ptr<RegressorPlugin> regressor_;
    nlohmann::json regressor_params_;
};

// What a regressor fits on and which songs it watches. A model that keeps
// the epoch best on its validation songs (capability early_stopping) watches,
// under evaluation.early_stopping.on: inner, a held-out share of its
// (transformed) training songs, grouped like the evaluation, and fits on the
// rest: the songs it is scored on stay unseen until scoring. Otherwise it
// fits on every training song and is given the scored songs.
struct WatchedFit {
    SongTable fit;
    std::optional<SongTable> inner;  // the held-out training songs it watches (on: inner)

    const SongTable& watch(const SongTable& scored) const { return inner ? *inner : scored; }
};
// `picks_epoch`: the regressor declares early_stopping; `group_by` ("song" or
// "group") what stays on one side; `seed` draws the held-out songs.
WatchedFit watched_fit(const SongTable& train, const EarlyStoppingSpec& early_stopping, const std::string& group_by,
                       bool picks_epoch, std::uint64_t seed);

// A model bundle's parameters for plugin `uses`, checked against the
// plugin's schema and with its defaults: an edited or damaged bundle is
// refused naming `file` before any plugin reads them.
nlohmann::json checked_bundle_params(const PluginRegistry& registry, const std::string& uses,
                                     const nlohmann::json& params, const std::filesystem::path& file);

}  // namespace mer
