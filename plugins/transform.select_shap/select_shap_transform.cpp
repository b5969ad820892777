// transform.select_shap: the paper's SHAP selection — an XGBoost model per
// target on the training songs, features ranked by mean |SHAP| (XGBoost's
// own TreeSHAP contributions), the top k per target kept. Per target by
// default, as transform.select_pearson: fitted once per target for a model
// that learns each target on its own (capability per_target); on a table
// with several targets the union over them is kept.
#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/base/files.hpp"
#include "core/data/state.hpp"
#include "core/ml/xgboost.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/transform.hpp"

namespace mer::plugins {

class SelectShap : public SingleInputTransform {
public:
    static constexpr const char* kCapabilities = R"({"per_target": true})";

    explicit SelectShap(const nlohmann::json& p)
        : k_(p.at("k").get<int>()),
          per_target_(p.at("across_targets").get<std::string>() == "per_target"),
          write_values_(p.at("write_values").get<bool>()),
          trees_(settings(p)) {}

    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kPerTarget) return nullptr;
        return per_target_;
    }

    void save(const std::string& dir) const override { save_json(dir, "kept_columns", kept_); }
    void load(const std::string& dir) override {
        kept_ = load_json(dir, "kept_columns").get<std::vector<Eigen::Index>>();
    }

protected:
    void fit(const SongTable& train, const PluginContext& ctx) override {
        trees_.fit(train, nullptr, {}, ctx);
        std::set<Eigen::Index> keep;
        for (Eigen::Index t = 0; t < train.targets.cols(); ++t) {
            const Eigen::MatrixXd shap = trees_.contributions(train, static_cast<std::size_t>(t));
            const Eigen::VectorXd importance = shap.leftCols(train.features.cols()).cwiseAbs().colwise().mean();
            for (Eigen::Index c : largest_scores(importance, static_cast<std::size_t>(k_))) keep.insert(c);
            const std::string& target = train.target_names[static_cast<std::size_t>(t)];
            if (write_values_ && ctx.fold == 0)
                write_matrix(ctx, target,
                             "SHAP value of every feature for every training song of fold 0, model of " + target, train,
                             shap.leftCols(train.features.cols()));
        }
        if (write_values_ && ctx.fold == 0)
            write_matrix(ctx, "values", "the feature values behind the SHAP values (fold 0's training songs)", train,
                         train.features);
        kept_.assign(keep.begin(), keep.end());
        ctx.info(fmt::format("fold {}: kept {} features (top {} by mean |SHAP| for {}{})", ctx.fold, kept_.size(), k_,
                             fmt::join(train.target_names, ", "), train.target_names.size() > 1 ? ", union" : ""));
    }

    SongTable apply(const SongTable& songs) const override { return songs.feature_columns(kept_); }

private:
    static xgb::BoostedTreesSettings settings(const nlohmann::json& p) {
        xgb::BoostedTreesSettings s;
        s.rounds = p.at("n_estimators").get<int>();
        s.params = {{"objective", "reg:squarederror"},
                    {"max_depth", p.at("max_depth").dump()},
                    {"eta", p.at("eta").dump()},
                    {"subsample", p.at("subsample").dump()},
                    {"colsample_bytree", p.at("colsample_bytree").dump()},
                    {"tree_method", "exact"}};
        return s;
    }

    // song_id, then one column per feature.
    static void write_matrix(const PluginContext& ctx, const std::string& part, const std::string& meaning,
                             const SongTable& songs, const Eigen::MatrixXd& values) {
        if (!ctx.keeps_artifacts()) return;
        std::vector<std::string> columns{"song_id"};
        columns.insert(columns.end(), songs.feature_names.begin(), songs.feature_names.end());
        std::string csv = csv_row(columns) + "\n";
        for (Eigen::Index r = 0; r < values.rows(); ++r) {
            csv += csv_field(songs.song_ids[static_cast<std::size_t>(r)]);
            for (Eigen::Index c = 0; c < values.cols(); ++c) csv += "," + format_number(values(r, c));
            csv += "\n";
        }
        ctx.write_artifact({"shap", part, columns, meaning}, csv);
    }

    int k_;
    bool per_target_;
    bool write_values_;
    xgb::BoostedTrees trees_;
    std::vector<Eigen::Index> kept_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::SelectShap, "transform.select_shap", "1.1.0",
           "Keep the top k features by mean |SHAP| of an XGBoost model per target: per target, or the union")
