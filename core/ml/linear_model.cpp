// LinearModel's bundle files.
#include "core/ml/linear_model.hpp"

#include <Eigen/Cholesky>
#include <algorithm>

#include "core/data/state.hpp"

namespace mer {

void LinearModel::save(const std::string& dir) const {
    scaler.save(dir);
    save_matrix(dir, "intercept", intercept);
    save_matrix(dir, "weights", weights);
}

void LinearModel::load(const std::string& dir) {
    scaler.load(dir);
    weights = load_matrix(dir, "weights", scaler.mean.cols(), kAnySize);
    intercept = load_matrix(dir, "intercept", 1, weights.cols());
}

LinearModel fit_ridge(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double alpha) {
    LinearModel model;
    model.scaler.fit(x);  // a constant column keeps scale 1 and gets weight 0
    const Eigen::MatrixXd z = model.scaler.apply(x);
    model.intercept = y.colwise().mean();
    Eigen::MatrixXd gram = z.transpose() * z;
    gram.diagonal().array() += alpha;
    // A tiny jitter keeps alpha = 0 solvable when columns are collinear.
    if (alpha == 0.0) gram.diagonal().array() += 1e-10 * std::max(1.0, gram.diagonal().maxCoeff());
    model.weights = gram.ldlt().solve(z.transpose() * (y.rowwise() - model.intercept));
    return model;
}

}  // namespace mer
