// regressor.ridge: closed-form ridge regression, all targets at once. Inputs
// are standardised with the training songs' mean and standard deviation and
// targets centred, so alpha means the same whatever the features' units
// (as scikit-learn's Ridge after a StandardScaler).
#include <Eigen/Cholesky>

#include "core/ml/linear_model.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::plugins {

class RidgeRegressor : public RegressorPlugin {
public:
    // All targets in one solve, yet each target's weights are their own column.
    static constexpr const char* kCapabilities = R"({"independent_targets": true})";

    explicit RidgeRegressor(const nlohmann::json& params) : alpha_(params.at("alpha").get<double>()) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext&) override {
        model_.scaler.fit(train.features);  // a constant column keeps scale 1 and gets weight 0
        const Eigen::MatrixXd z = model_.scaler.apply(train.features);
        model_.intercept = train.targets.colwise().mean();
        const Eigen::MatrixXd centred = train.targets.rowwise() - model_.intercept;
        Eigen::MatrixXd gram = z.transpose() * z;
        gram.diagonal().array() += alpha_;
        // A tiny jitter keeps alpha = 0 solvable when columns are collinear.
        if (alpha_ == 0.0) gram.diagonal().array() += 1e-10 * std::max(1.0, gram.diagonal().maxCoeff());
        model_.weights = gram.ldlt().solve(z.transpose() * centred);
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
