// FeatureScaler: fit, apply, and its two .npy files.
#include "core/data/scaler.hpp"

#include <algorithm>

#include "core/data/state.hpp"
#include "core/error.hpp"

namespace mer {

void FeatureScaler::fit(const Eigen::MatrixXd& x, bool with_std) {
    const auto n = static_cast<double>(std::max<Eigen::Index>(1, x.rows()));
    mean = x.colwise().mean();
    scale = Eigen::RowVectorXd::Ones(x.cols());
    if (!with_std) return;
    scale = ((x.rowwise() - mean).array().square().colwise().sum() / n).sqrt();
    scale = (scale.array() > 0).select(scale, 1.0);
}

Eigen::MatrixXd FeatureScaler::apply(const Eigen::MatrixXd& x) const {
    if (x.cols() != mean.cols())
        throw Error("the model was fitted on " + std::to_string(mean.cols()) + " feature columns, the input has " +
                    std::to_string(x.cols()));
    return (x.rowwise() - mean).array().rowwise() / scale.array();
}

void FeatureScaler::save(const std::string& dir) const {
    save_matrix(dir, "mean", mean);
    save_matrix(dir, "scale", scale);
}

void FeatureScaler::load(const std::string& dir) {
    mean = load_matrix(dir, "mean", 1, kAnySize);
    scale = load_matrix(dir, "scale", 1, mean.cols());
}

}  // namespace mer
