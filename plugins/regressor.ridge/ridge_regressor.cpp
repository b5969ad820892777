// regressor.ridge: closed-form ridge regression, all targets at once. Inputs
// are standardised with the training songs' mean and standard deviation and
// targets centred, so alpha means the same whatever the features' units
// (as scikit-learn's Ridge after a StandardScaler).
#include <Eigen/Cholesky>

#include "core/data/scaler.hpp"
#include "core/plugin/regressor.hpp"
#include "core/plugin/state.hpp"

namespace mer::plugins {

class RidgeRegressor : public RegressorPlugin {
public:
    explicit RidgeRegressor(const nlohmann::json& params) : alpha_(params.at("alpha").get<double>()) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext&) override {
        scaler_.fit(train.features);  // a constant column keeps scale 1 and gets weight 0
        const Eigen::MatrixXd z = scaler_.apply(train.features);
        intercept_ = train.targets.colwise().mean();
        const Eigen::MatrixXd centred = train.targets.rowwise() - intercept_;
        Eigen::MatrixXd gram = z.transpose() * z;
        gram.diagonal().array() += alpha_;
        // A tiny jitter keeps alpha = 0 solvable when columns are collinear.
        if (alpha_ == 0.0) gram.diagonal().array() += 1e-10 * std::max(1.0, gram.diagonal().maxCoeff());
        weights_ = gram.ldlt().solve(z.transpose() * centred);
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return (scaler_.apply(songs.features) * weights_).rowwise() + intercept_;
    }

    void save(const std::string& dir) const override {
        scaler_.save(dir);
        save_matrix(dir, "intercept", intercept_);
        save_matrix(dir, "weights", weights_);
    }
    void load(const std::string& dir) override {
        scaler_.load(dir);
        intercept_ = load_matrix(dir, "intercept");
        weights_ = load_matrix(dir, "weights");
    }

private:
    double alpha_;
    FeatureScaler scaler_;
    Eigen::RowVectorXd intercept_;
    Eigen::MatrixXd weights_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::RidgeRegressor, "regressor.ridge", "1.0.0",
           "Ridge regression (closed form, standardised inputs), every target at once")
