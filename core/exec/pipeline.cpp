// PipelineSpec from an experiment or a bundle; fitting, applying, saving and
// loading the chain.
#include "core/exec/pipeline.hpp"

#include <fmt/format.h>

#include <set>

#include "core/base/files.hpp"
#include "core/data/splits.hpp"
#include "core/error.hpp"
#include "core/graph/experiment.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/transform.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

PipelineStep step_of(const NodeSpec& n) {
    return {n.id, n.uses, n.plugin->version, n.kind, n.inputs, n.params, n.files};
}

nlohmann::ordered_json step_json(const PipelineStep& s) {
    nlohmann::ordered_json j{{"id", s.id},     {"uses", s.uses},     {"version", s.version},
                             {"kind", s.kind}, {"inputs", s.inputs}, {"params", s.params}};
    if (!s.files.empty()) j["files"] = s.files;
    return j;
}

PipelineStep step_from(const json& j) {
    return {j.at("id"),     j.at("uses"),   j.at("version"),
            j.at("kind"),   j.at("inputs"), j.at("params"),
            j.value("files", json::object())};
}

// The dataset or features node a regressor learns from: every path back
// through its transforms must end at the same one.
const NodeSpec& data_source(const Experiment& exp, const NodeSpec& node) {
    std::set<std::string> sources;
    std::function<void(const NodeSpec&)> walk = [&](const NodeSpec& n) {
        for (const auto& input : n.inputs) {
            const NodeSpec& up = exp.node(input);
            if (up.kind == "transform")
                walk(up);
            else
                sources.insert(up.id);
        }
    };
    walk(node);
    if (sources.size() != 1)
        throw Error(
            fmt::format("the transforms feeding this regressor start from {} data nodes ({}); they must share one",
                        sources.size(), fmt::join(sources, ", ")),
            Location::of_node(node.id));
    return exp.node(*sources.begin());
}

}  // namespace

PipelineSpec PipelineSpec::of(const Experiment& exp, const NodeSpec& regressor) {
    PipelineSpec spec;
    for (const NodeSpec* n = &data_source(exp, regressor);;) {
        spec.data.insert(spec.data.begin(), step_of(*n));
        if (n->inputs.empty() || n->kind == "dataset") break;  // a union's inputs are not on the chain
        n = &exp.node(n->inputs.at(0));
    }
    // Each transform after its inputs, in the order the regressor reaches them.
    std::function<void(const std::string&)> collect = [&](const std::string& id) {
        const NodeSpec& n = exp.node(id);
        if (n.kind != "transform") return;
        for (const auto& input : n.inputs) collect(input);
        for (const auto& t : spec.transforms)
            if (t.id == id) return;
        spec.transforms.push_back(step_of(n));
    };
    collect(regressor.inputs.at(0));
    spec.regressor = step_of(regressor);
    return spec;
}

PipelineSpec PipelineSpec::from_json(const json& manifest) {
    PipelineSpec spec;
    for (const auto& s : manifest.at("data")) spec.data.push_back(step_from(s));
    for (const auto& s : manifest.at("transforms")) spec.transforms.push_back(step_from(s));
    spec.regressor = step_from(manifest.at("regressor"));
    if (spec.data.empty()) throw Error("the bundle names no data node");
    return spec;
}

void PipelineSpec::to_json(nlohmann::ordered_json& manifest) const {
    manifest["data"] = nlohmann::ordered_json::array();
    for (const auto& s : data) manifest["data"].push_back(step_json(s));
    manifest["transforms"] = nlohmann::ordered_json::array();
    for (const auto& s : transforms) manifest["transforms"].push_back(step_json(s));
    manifest["regressor"] = step_json(regressor);
}

Pipeline::Pipeline(PipelineSpec spec, const PluginRegistry& registry) : spec_(std::move(spec)), registry_(registry) {}

Sides Pipeline::fit_transforms(const Sides& rows, const ContextFor& context) {
    std::map<std::string, Sides> outputs{{spec_.source(), rows}};
    transforms_.clear();
    for (const auto& step : spec_.transforms) {
        std::vector<const SongTable*> train, validation;
        for (const auto& input : step.inputs) {
            train.push_back(&outputs.at(input).first);
            validation.push_back(&outputs.at(input).second);
        }
        auto transform = registry_.create<TransformPlugin>(step.uses, step.params);
        transform->fit(train, context(step));
        Sides out{transform->apply(train), transform->apply(validation)};
        const std::string who = "node '" + step.id + "' (" + step.uses + ")";
        out.first.check_shapes(who);
        out.second.check_shapes(who);
        if (out.first.size() != rows.first.size() || out.second.size() != rows.second.size())
            throw Error("a transform must keep every song in order; it returned a different number of rows",
                        Location::of_node(step.id));
        transforms_[step.id] = transform;
        outputs[step.id] = std::move(out);
    }
    return outputs.at(spec_.regressor.inputs.at(0));
}

SongTable Pipeline::apply_transforms(const SongTable& songs) const {
    std::map<std::string, SongTable> outputs{{spec_.source(), songs}};
    for (const auto& step : spec_.transforms) {
        std::vector<const SongTable*> in;
        for (const auto& input : step.inputs) in.push_back(&outputs.at(input));
        outputs[step.id] = transforms_.at(step.id)->apply(in);
    }
    return outputs.at(spec_.regressor.inputs.at(0));
}

void Pipeline::fit_regressor(const json& params, const SongTable& train, const SongTable* validation,
                             const EpochCallback& on_epoch, const PluginContext& ctx) {
    regressor_ = registry_.create<RegressorPlugin>(spec_.regressor.uses, params);
    regressor_params_ = params;
    regressor_->fit(train, validation, on_epoch, ctx);
}

Eigen::MatrixXd Pipeline::predict(const SongTable& transformed) const {
    return regressor_->predict(transformed);
}

std::vector<Eigen::MatrixXd> Pipeline::predict_chunks(const SongTable& transformed) const {
    const auto* chunks = extension<ChunkPredictions>(*regressor_);
    return chunks ? chunks->predict_chunks(transformed) : std::vector<Eigen::MatrixXd>{};
}

Eigen::MatrixXd Pipeline::predict_stages(const SongTable& transformed, int stages) const {
    if (!regressor_) throw Error("the pipeline's regressor is not fitted");
    const auto* staged = extension<StagedPredictions>(*regressor_);
    if (!staged)
        throw Error(spec_.regressor.uses + " does not predict by stages (it implements no mer::StagedPredictions)");
    return staged->predict_stages(transformed, stages);
}

void Pipeline::save(const fs::path& dir) const {
    for (const auto& [id, transform] : transforms_) transform->save((dir / "transforms" / id).string());
    regressor_->save((dir / "regressor").string());
    fs::create_directories(dir);
    write_file_atomic(dir / "params.json", nlohmann::ordered_json{{"regressor", regressor_params_}}.dump(2) + "\n");
}

void Pipeline::load(const fs::path& dir) {
    transforms_.clear();
    for (const auto& step : spec_.transforms) {
        auto transform = registry_.create<TransformPlugin>(step.uses, step.params);
        transform->load((dir / "transforms" / step.id).string());
        transforms_[step.id] = transform;
    }
    const json saved = read_json_file(dir / "params.json");
    if (!saved.contains("regressor")) throw Error("no regressor parameters", Location((dir / "params.json").string()));
    regressor_params_ = checked_bundle_params(registry_, spec_.regressor.uses, saved.at("regressor"),
                                              dir / "params.json");
    regressor_ = registry_.create<RegressorPlugin>(spec_.regressor.uses, regressor_params_);
    regressor_->load((dir / "regressor").string());
}

WatchedFit watched_fit(const SongTable& train, const EarlyStoppingSpec& early_stopping, const std::string& group_by,
                       bool picks_epoch, std::uint64_t seed) {
    if (!picks_epoch || early_stopping.on != "inner") return {train, std::nullopt};
    const std::vector<std::string>& groups = group_by == "group" ? train.groups : train.song_ids;
    const SplitSpec holdout{"holdout", early_stopping.fraction};
    try {
        const Fold fold = make_folds(groups, holdout, seed).at(0);
        return {train.rows(fold.train), train.rows(fold.validation)};
    } catch (const Error& e) {
        throw Error("evaluation.early_stopping.on: inner holds training songs out to watch, and " + e.message() +
                    "; use more songs or on: scored");
    }
}

nlohmann::json checked_bundle_params(const PluginRegistry& registry, const std::string& uses,
                                     const nlohmann::json& params, const fs::path& file) {
    const SchemaValidator validator(registry.get(uses).schema);
    const Diagnostics problems = validator.validate(params, SourceMap(file.string()));
    if (!problems.empty())
        throw Error("damaged model bundle: the parameters of " + uses + " do not match its schema: " +
                        problems.front().message,
                    Location(file.string()));
    return validator.with_defaults(params);
}

}  // namespace mer
