// regressor.ridge: closed-form ridge regression, all targets at once. Inputs
// are standardised with the training songs' mean and standard deviation and
// targets centred, so alpha means the same whatever the features' units
// (as scikit-learn's Ridge after a StandardScaler).
#include "core/ml/linear_model.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::plugins {

class RidgeRegressor : public RegressorPlugin {
public:
    // All targets in one solve, yet each target's weights are their own column.
    static constexpr const char* kCapabilities = R"({"independent_targets": true})";

    explicit RidgeRegressor(const nlohmann::json& params) : alpha_(params.at("alpha").get<double>()) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext&) override {
        model_ = fit_ridge(train.features, train.targets, alpha_);
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override { return model_.predict(songs.features); }
    void save(const std::string& dir) const override { model_.save(dir); }
    void load(const std::string& dir) override { model_.load(dir); }

private:
    double alpha_;
    LinearModel model_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::RidgeRegressor, "regressor.ridge", "1.0.0",
           "Ridge regression (closed form, standardised inputs), every target at once")
