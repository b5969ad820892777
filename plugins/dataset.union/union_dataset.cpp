// dataset.union: the songs of several dataset nodes (its inputs) in one
// table, every label mapped linearly from the scale its input declares
// (capability label_range) onto one common scale, static and 2 Hz labels
// alike. A song of input node N with id I becomes N/I (its group N/G), so ids
// stay unique and the part before the first '/' — a node id, which holds no
// '/' — is the song's source (core/data/sources.hpp): splits by source,
// results.csv's source column and the report's source × model table read it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/data/sources.hpp"
#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"

namespace mer::plugins {

namespace {

// A named scale or [low, high].
std::vector<double> common_scale(const nlohmann::json& scale) {
    if (scale.is_string()) {
        const std::string name = scale.get<std::string>();
        if (name == "unit") return {0, 1};
        if (name == "nine_point") return {1, 9};
        return {-1, 1};  // signed; the schema admits nothing else
    }
    return scale.get<std::vector<double>>();
}

// x on [from_low, from_high] to the same place on [to_low, to_high]; each
// end lands exactly on its end.
double rescale(double x, double from_low, double from_high, double to_low, double to_high) {
    if (!std::isfinite(x)) return x;
    if (x == from_low) return to_low;
    if (x == from_high) return to_high;
    return to_low + (x - from_low) / (from_high - from_low) * (to_high - to_low);
}

}  // namespace

class UnionDataset : public CombiningDataset {
public:
    static constexpr const char* kCapabilities = R"({"label_range": true})";

    explicit UnionDataset(const nlohmann::json& p)
        : scale_(common_scale(p.at("scale"))), targets_(p.at("targets").get<std::vector<std::string>>()) {
        if (!(scale_[0] < scale_[1]))
            throw Error(fmt::format("scale [{}, {}]: low must be below high, e.g. [-1, 1]", scale_[0], scale_[1]));
    }

    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kLabelRange) return nullptr;
        nlohmann::json out = nlohmann::json::object();
        for (const auto& t : targets_) out[t] = scale_;
        return out;
    }

    SongTable combine(const std::vector<DatasetInput>& inputs, const PluginContext& ctx) override {
        if (inputs.size() < 2)
            throw Error(fmt::format("stacks two or more dataset nodes, got {}", inputs.size()),
                        Location::of_node(ctx.node));
        SongTable out;
        out.target_names = targets_;
        bool audio = false, tensors = false, dynamic = false, split = true;
        for (const auto& in : inputs) {
            audio = audio || !in.table->audio_paths.empty();
            tensors = tensors || !in.table->tensor_paths.empty();
            dynamic = dynamic || !in.table->dynamic.empty();
            split = split && !in.table->assigned_split.empty();
        }
        const SongTable& first = *inputs.front().table;
        out.feature_names = first.feature_names;
        out.chunk_timing = first.chunk_timing;
        std::size_t songs = 0;
        for (const auto& in : inputs) songs += in.table->size();
        out.features.resize(static_cast<Eigen::Index>(songs), static_cast<Eigen::Index>(out.feature_names.size()));
        out.targets.resize(static_cast<Eigen::Index>(songs), static_cast<Eigen::Index>(targets_.size()));

        std::set<std::string> seen;
        Eigen::Index row = 0;
        for (const auto& in : inputs) {
            const SongTable& t = *in.table;
            if (t.feature_names != out.feature_names)
                throw Error(fmt::format("input '{}' has other feature columns than input '{}' ({} against {}); "
                                        "stack datasets, and extract features after the union",
                                        in.node, inputs.front().node, t.feature_names.size(), out.feature_names.size()),
                            Location::of_node(ctx.node));
            // Per target: the input's column and the scale it declares.
            std::vector<Eigen::Index> columns;
            std::vector<std::vector<double>> from;
            std::vector<std::string> mapped;
            for (const auto& target : targets_) {
                const int c = t.target_index(target);
                if (c < 0)
                    throw Error(fmt::format("input '{}' has no target '{}' (its targets: {}); set this node's "
                                            "targets to those every input has",
                                            in.node, target, fmt::join(t.target_names, ", ")),
                                Location::of_node(ctx.node));
                if (!in.label_range.is_object() || !in.label_range.contains(target))
                    throw Error(fmt::format("input '{}' declares no scale for '{}' (capability label_range), so its "
                                            "labels cannot be mapped onto [{}, {}]; set its label_range",
                                            in.node, target, scale_[0], scale_[1]),
                                Location::of_node(ctx.node));
                from.push_back(in.label_range.at(target).get<std::vector<double>>());
                if (from.back().size() != 2 || !(from.back()[0] < from.back()[1]))
                    throw Error(fmt::format("input '{}' declares the scale {} for '{}'; expected [low, high]", in.node,
                                            in.label_range.at(target).dump(), target),
                                Location::of_node(ctx.node));
                columns.push_back(c);
                mapped.push_back(fmt::format("{} [{}, {}]", target, from.back()[0], from.back()[1]));
            }
            for (std::size_t s = 0; s < t.size(); ++s, ++row) {
                const std::string id = union_song_id(in.node, t.song_ids[s]);
                if (!seen.insert(id).second)
                    throw Error(fmt::format("input '{}' gives song '{}' twice", in.node, t.song_ids[s]),
                                Location({}, 0, 0, ctx.node, id));
                out.song_ids.push_back(id);
                out.groups.push_back(union_song_id(in.node, t.groups[s]));
                if (audio) out.audio_paths.push_back(t.audio_paths.empty() ? "" : t.audio_paths[s]);
                if (tensors) out.tensor_paths.push_back(t.tensor_paths.empty() ? "" : t.tensor_paths[s]);
                if (split) out.assigned_split.push_back(t.assigned_split[s]);
                const auto r = static_cast<Eigen::Index>(s);
                if (out.features.cols() > 0) out.features.row(row) = t.features.row(r);
                for (std::size_t j = 0; j < columns.size(); ++j)
                    out.targets(row, static_cast<Eigen::Index>(j)) =
                        rescale(t.targets(r, columns[j]), from[j][0], from[j][1], scale_[0], scale_[1]);
                if (!dynamic) continue;
                DynamicLabels labels;
                if (!t.dynamic.empty() && t.dynamic[s].values.size() > 0) {
                    const DynamicLabels& d = t.dynamic[s];
                    labels.start_seconds = d.start_seconds;
                    labels.step_seconds = d.step_seconds;
                    labels.values.resize(d.values.rows(), static_cast<Eigen::Index>(columns.size()));
                    for (std::size_t j = 0; j < columns.size(); ++j)
                        for (Eigen::Index f = 0; f < d.values.rows(); ++f)
                            labels.values(f, static_cast<Eigen::Index>(j)) =
                                rescale(d.values(f, columns[j]), from[j][0], from[j][1], scale_[0], scale_[1]);
                }
                out.dynamic.push_back(std::move(labels));
            }
            ctx.info(fmt::format("{} songs from '{}' ({}) onto [{}, {}]", t.size(), in.node, fmt::join(mapped, ", "),
                                 scale_[0], scale_[1]));
        }
        std::vector<std::string> with_split;
        for (const auto& in : inputs)
            if (!in.table->assigned_split.empty()) with_split.push_back(in.node);
        if (!split && !with_split.empty())
            ctx.info(
                fmt::format("only {} of the inputs ({}) have a split of their own, so the union has none: "
                            "evaluation.split.kind predefined cannot apply to it (by_source splits by input)",
                            with_split.size(), fmt::join(with_split, ", ")));
        return out;
    }

private:
    std::vector<double> scale_;  // [low, high]
    std::vector<std::string> targets_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::UnionDataset, "dataset.union", "1.0.0",
           "The songs of several dataset nodes on one label scale, each song's source its input node")
