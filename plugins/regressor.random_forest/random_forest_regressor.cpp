// regressor.random_forest: a random forest in XGBoost's documented
// random-forest mode — one boosting round of num_parallel_tree trees with
// eta 1, row subsampling and per-split feature sampling, no leaf penalty.
// docs/plugin-reference.md lists how this differs from scikit-learn's forest.
#include "core/ml/xgboost.hpp"

namespace mer::plugins {

class RandomForestRegressor : public xgb::TreeEnsembleRegressor {
public:
    // One boosting round of n_estimators parallel trees: nothing to stage.
    static constexpr const char* kCapabilities = R"({"independent_targets": true})";

    explicit RandomForestRegressor(const nlohmann::json& p) : TreeEnsembleRegressor(settings(p)) {}
    nlohmann::json query(const std::string& capability) const override {
        return capability == "staged" ? nlohmann::json() : TreeEnsembleRegressor::query(capability);
    }

private:
    static xgb::BoostedTreesSettings settings(const nlohmann::json& p) {
        xgb::BoostedTreesSettings s;
        s.rounds = 1;
        s.params = {{"objective", "reg:squarederror"},
                    {"booster", "gbtree"},
                    {"num_parallel_tree", p.at("n_estimators").dump()},
                    {"eta", "1"},
                    {"max_depth", p.at("max_depth").dump()},
                    {"subsample", p.at("subsample").dump()},
                    {"colsample_bynode", p.at("colsample_bynode").dump()},
                    {"min_child_weight", p.at("min_child_weight").dump()},
                    {"lambda", "0"},
                    {"tree_method", "exact"},  // hist spends ~20x longer on corpora of a few hundred songs
                    {"nthread", p.at("nthread").dump()}};
        if (p.at("seed").get<long long>() >= 0) s.params["seed"] = p.at("seed").dump();
        return s;
    }
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::RandomForestRegressor, "regressor.random_forest", "1.0.0",
           "Random forest (XGBoost random-forest mode), one forest per target")
