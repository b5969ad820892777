// transform.select_pearson: the paper's "Top 15 Pearson" selection — per
// target, the k features with the largest |r| on the training songs, kept in
// the original column order. Per target by default: the host fits it once
// per target for a model that learns each target on its own (capability
// per_target), so each target's model reads its own k; on a table with
// several targets (across_targets: union, or a model that learns them
// jointly) the union over them is kept.
#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/data/state.hpp"
#include "core/eval/metrics.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/transform.hpp"

namespace mer::plugins {

class SelectPearson : public SingleInputTransform {
public:
    static constexpr const char* kCapabilities = R"({"per_target": true})";

    explicit SelectPearson(const nlohmann::json& p)
        : k_(p.at("k").get<int>()),
          targets_(p.at("targets").get<std::vector<std::string>>()),
          per_target_(p.at("across_targets").get<std::string>() == "per_target") {}

    // Named targets are ranked against for every model, whatever it learns.
    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kPerTarget) return nullptr;
        return per_target_ && targets_.empty();
    }

    void save(const std::string& dir) const override { save_json(dir, "kept_columns", kept_); }
    void load(const std::string& dir) override {
        kept_ = load_json(dir, "kept_columns").get<std::vector<Eigen::Index>>();
    }

protected:
    void fit(const SongTable& train, const PluginContext& ctx) override {
        const std::vector<std::string> targets = targets_.empty() ? train.target_names : targets_;
        std::set<Eigen::Index> keep;
        for (const auto& target : targets) {
            const int t = train.target_index(target);
            if (t < 0)
                throw Error("select_pearson: no target '" + target + "' in its input", Location::of_node(ctx.node));
            Eigen::VectorXd score(train.features.cols());
            for (Eigen::Index c = 0; c < train.features.cols(); ++c) {
                const double r = pearson_r(train.features.col(c), train.targets.col(t));
                score(c) = std::isnan(r) ? -1 : std::abs(r);
            }
            for (Eigen::Index c : largest_scores(score, static_cast<std::size_t>(k_))) keep.insert(c);
        }
        kept_.assign(keep.begin(), keep.end());
        ctx.info(fmt::format("fold {}: kept {} features (top {} by |r| with {}{})", ctx.fold, kept_.size(), k_,
                             fmt::join(targets, ", "), targets.size() > 1 ? ", union" : ""));
    }

    SongTable apply(const SongTable& songs) const override { return songs.feature_columns(kept_); }

private:
    int k_;
    std::vector<std::string> targets_;
    bool per_target_;
    std::vector<Eigen::Index> kept_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::SelectPearson, "transform.select_pearson", "1.1.0",
           "Keep the top k features by |Pearson r| with each target: per target, or the union over targets")
