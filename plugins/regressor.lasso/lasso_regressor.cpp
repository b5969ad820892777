// regressor.lasso: L1-penalised linear regression by cyclic coordinate
// descent (scikit-learn's objective), one model per target, on features
// standardised with the training songs and centred targets.
#include <cmath>

#include "core/ml/linear_model.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::plugins {

class LassoRegressor : public RegressorPlugin {
public:
    static constexpr const char* kCapabilities = R"({"independent_targets": true})";

    explicit LassoRegressor(const nlohmann::json& p)
        : alpha_(p.at("alpha").get<double>()),
          max_iter_(p.at("max_iter").get<int>()),
          tol_(p.at("tol").get<double>()) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext&) override {
        const auto n = static_cast<double>(train.features.rows());
        model_.scaler.fit(train.features);
        const Eigen::MatrixXd z = model_.scaler.apply(train.features);
        const Eigen::VectorXd column_norms = z.colwise().squaredNorm();
        model_.intercept = train.targets.colwise().mean();
        model_.weights = Eigen::MatrixXd::Zero(z.cols(), train.targets.cols());
        for (Eigen::Index t = 0; t < train.targets.cols(); ++t) {
            Eigen::VectorXd residual = train.targets.col(t).array() - model_.intercept(t);
            Eigen::VectorXd w = Eigen::VectorXd::Zero(z.cols());
            for (int sweep = 0; sweep < max_iter_; ++sweep) {
                double max_change = 0, max_weight = 0;
                for (Eigen::Index j = 0; j < z.cols(); ++j) {
                    if (column_norms(j) == 0) continue;
                    const double old = w(j);
                    // rho = x_jᵀ(r + x_j w_j); soft-threshold at n·alpha.
                    const double rho = z.col(j).dot(residual) + column_norms(j) * old;
                    const double shrunk = std::copysign(std::max(std::abs(rho) - n * alpha_, 0.0), rho);
                    w(j) = shrunk / column_norms(j);
                    if (w(j) != old) residual -= z.col(j) * (w(j) - old);
                    max_change = std::max(max_change, std::abs(w(j) - old));
                    max_weight = std::max(max_weight, std::abs(w(j)));
                }
                if (max_weight == 0 || max_change <= tol_ * max_weight) break;
            }
            model_.weights.col(t) = w;
        }
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override { return model_.predict(songs.features); }
    void save(const std::string& dir) const override { model_.save(dir); }
    void load(const std::string& dir) override { model_.load(dir); }

private:
    double alpha_;
    int max_iter_;
    double tol_;
    LinearModel model_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::LassoRegressor, "regressor.lasso", "1.0.0",
           "Lasso (L1) regression by coordinate descent on standardised inputs, one model per target")
