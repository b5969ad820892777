// regressor.gradient_boosting: scikit-learn-style gradient boosting on
// XGBoost's gbtree booster — squared error, exact greedy splits, no L2 leaf
// penalty, scikit-learn's defaults (100 rounds, rate 0.1, depth 3).
#include "core/ml/xgboost.hpp"

namespace mer::plugins {

class GradientBoostingRegressor : public xgb::TreeEnsembleRegressor {
public:
    explicit GradientBoostingRegressor(const nlohmann::json& p) : TreeEnsembleRegressor(settings(p)) {}

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
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::GradientBoostingRegressor, "regressor.gradient_boosting", "1.0.0",
           "Gradient boosting with scikit-learn's defaults (XGBoost gbtree, exact splits), one model per target")
