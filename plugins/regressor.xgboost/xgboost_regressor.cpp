// regressor.xgboost: gradient-boosted trees through XGBoost's C API, one
// booster per target, parameters under XGBoost's own names; every boosting
// round is an epoch in metrics.csv.
#include "core/ml/xgboost.hpp"

namespace mer::plugins {

class XgboostRegressor : public xgb::TreeEnsembleRegressor {
public:
    explicit XgboostRegressor(const nlohmann::json& p) : TreeEnsembleRegressor(settings(p)) {}

private:
    static xgb::BoostedTreesSettings settings(const nlohmann::json& p) {
        xgb::BoostedTreesSettings s;
        s.rounds = p.at("n_estimators").get<int>();
        s.early_stopping_rounds = p.at("early_stopping_rounds").get<int>();
        s.early_stopping_fraction = p.at("early_stopping_fraction").get<double>();
        s.params = {{"objective", "reg:squarederror"},
                    {"max_depth", p.at("max_depth").dump()},
                    {"eta", p.at("eta").dump()},
                    {"subsample", p.at("subsample").dump()},
                    {"colsample_bytree", p.at("colsample_bytree").dump()},
                    {"min_child_weight", p.at("min_child_weight").dump()},
                    {"lambda", p.at("reg_lambda").dump()},
                    {"alpha", p.at("reg_alpha").dump()},
                    {"tree_method", p.at("tree_method").get<std::string>()},
                    {"nthread", p.at("nthread").dump()}};
        if (p.at("seed").get<long long>() >= 0) s.params["seed"] = p.at("seed").dump();
        return s;
    }
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::XgboostRegressor, "regressor.xgboost", "1.0.0",
           "XGBoost gradient-boosted trees (C API), one booster per target, per-round metrics")
