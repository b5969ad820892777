// regressor.ridge: closed-form ridge regression, all targets at once. Inputs
// are standardised with the training songs' mean and standard deviation and
// targets centred, so alpha means the same whatever the features' units
// (as scikit-learn's Ridge after a StandardScaler).
#include <Eigen/Cholesky>

#include "core/plugin/regressor.hpp"
#include "core/plugin/state.hpp"

namespace mer::plugins {

class RidgeRegressor : public RegressorPlugin {
public:
    explicit RidgeRegressor(const nlohmann::json& params) : alpha_(params.at("alpha").get<double>()) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext&) override {
        const Eigen::MatrixXd& x = train.features;
        mean_ = x.colwise().mean();
        scale_ = ((x.rowwise() - mean_).array().square().colwise().sum() / static_cast<double>(x.rows())).sqrt();
        for (Eigen::Index j = 0; j < scale_.size(); ++j)
            if (scale_(j) == 0.0) scale_(j) = 1.0;  // a constant column gets weight 0
        const Eigen::MatrixXd z = standardise(x);
        intercept_ = train.targets.colwise().mean();
        const Eigen::MatrixXd centred = train.targets.rowwise() - intercept_;
        Eigen::MatrixXd gram = z.transpose() * z;
        gram.diagonal().array() += alpha_;
        // A tiny jitter keeps alpha = 0 solvable when columns are collinear.
        if (alpha_ == 0.0) gram.diagonal().array() += 1e-10 * std::max(1.0, gram.diagonal().maxCoeff());
        weights_ = gram.ldlt().solve(z.transpose() * centred);
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return (standardise(songs.features) * weights_).rowwise() + intercept_;
    }

    void save(const std::string& dir) const override {
        save_matrix(dir, "mean", mean_);
        save_matrix(dir, "scale", scale_);
        save_matrix(dir, "intercept", intercept_);
        save_matrix(dir, "weights", weights_);
    }
    void load(const std::string& dir) override {
        mean_ = load_matrix(dir, "mean");
        scale_ = load_matrix(dir, "scale");
        intercept_ = load_matrix(dir, "intercept");
        weights_ = load_matrix(dir, "weights");
    }

private:
    Eigen::MatrixXd standardise(const Eigen::MatrixXd& x) const {
        return (x.rowwise() - mean_).array().rowwise() / scale_.array();
    }

    double alpha_;
    Eigen::RowVectorXd mean_, scale_, intercept_;
    Eigen::MatrixXd weights_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::RidgeRegressor, "regressor.ridge", "1.0.0",
           "Ridge regression (closed form, standardised inputs), every target at once")
