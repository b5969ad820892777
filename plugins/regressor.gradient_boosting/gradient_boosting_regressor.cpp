// regressor.gradient_boosting: scikit-learn-style gradient boosting on
// XGBoost's gbtree booster — squared error, exact greedy splits, no L2 leaf
// penalty, scikit-learn's defaults (100 rounds, rate 0.1, depth 3).
#include "core/ml/xgboost.hpp"

namespace mer::plugins {

class GradientBoostingRegressor : public RegressorPlugin {
public:
    explicit GradientBoostingRegressor(const nlohmann::json& p) : trees_(settings(p)) {}

    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override {
        trees_.fit(train, validation, on_epoch, ctx);
    }
    Eigen::MatrixXd predict(const SongTable& songs) const override { return trees_.predict(songs); }
    void save(const std::string& dir) const override { trees_.save(dir); }
    void load(const std::string& dir) override { trees_.load(dir); }

private:
    static xgb::BoostedTreesSettings settings(const nlohmann::json& p) {
        xgb::BoostedTreesSettings s;
        s.rounds = p.at("n_estimators").get<int>();
        s.params = {{"objective", "reg:squarederror"},
                    {"booster", "gbtree"},
                    {"eta", p.at("learning_rate").dump()},
                    {"max_depth", p.at("max_depth").dump()},
                    {"subsample", p.at("subsample").dump()},
                    {"min_child_weight", p.at("min_child_weight").dump()},
                    {"lambda", "0"},
                    {"tree_method", "exact"},
                    {"nthread", p.at("nthread").dump()}};
        if (p.at("seed").get<long long>() >= 0) s.params["seed"] = p.at("seed").dump();
        return s;
    }

    xgb::BoostedTrees trees_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::GradientBoostingRegressor, "regressor.gradient_boosting", "1.0.0",
           "Gradient boosting with scikit-learn's defaults (XGBoost gbtree, exact splits), one model per target")
