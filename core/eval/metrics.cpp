// Metric definitions; see metrics.hpp for the conventions.
#include "core/eval/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace mer {

const std::vector<std::string>& metric_names() {
    static const std::vector<std::string> names{"r2", "rmse", "mae", "mse", "pearson", "ccc"};
    return names;
}

bool higher_is_better(const std::string& metric) {
    return metric == "r2" || metric == "pearson" || metric == "ccc";
}

double RegressionMetrics::get(const std::string& name) const {
    if (name == "r2") return r2;
    if (name == "rmse") return rmse;
    if (name == "mae") return mae;
    if (name == "mse") return mse;
    if (name == "pearson") return pearson;
    if (name == "ccc") return ccc;
    throw Error("unknown metric '" + name + "' (known: r2, rmse, mae, mse, pearson, ccc)");
}

static void check_sizes(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
    if (a.size() != b.size() || a.size() == 0)
        throw Error("metrics need two non-empty vectors of one length, got " + std::to_string(a.size()) + " and " +
                    std::to_string(b.size()));
}

double mean_squared_error(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted) {
    check_sizes(truth, predicted);
    return (truth - predicted).squaredNorm() / static_cast<double>(truth.size());
}

double mean_absolute_error(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted) {
    check_sizes(truth, predicted);
    return (truth - predicted).cwiseAbs().mean();
}

double r2_score(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted) {
    check_sizes(truth, predicted);
    const double ss_res = (truth - predicted).squaredNorm();
    const double ss_tot = (truth.array() - truth.mean()).matrix().squaredNorm();
    if (ss_tot == 0.0) return ss_res == 0.0 ? 1.0 : 0.0;
    return 1.0 - ss_res / ss_tot;
}

double pearson_r(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
    check_sizes(a, b);
    // Tested on the values, not on the variance: the mean of n equal numbers
    // need not equal them in floating point, which would leave a tiny r.
    if (a.maxCoeff() == a.minCoeff() || b.maxCoeff() == b.minCoeff()) return std::numeric_limits<double>::quiet_NaN();
    const Eigen::ArrayXd da = a.array() - a.mean(), db = b.array() - b.mean();
    const double denominator = std::sqrt((da * da).sum() * (db * db).sum());
    return (da * db).sum() / denominator;
}

double concordance_cc(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted) {
    check_sizes(truth, predicted);
    const double n = static_cast<double>(truth.size());
    const double mt = truth.mean(), mp = predicted.mean();
    const Eigen::ArrayXd dt = truth.array() - mt, dp = predicted.array() - mp;
    const double covariance = (dt * dp).sum() / n;
    const double denominator = (dt * dt).sum() / n + (dp * dp).sum() / n + (mt - mp) * (mt - mp);
    if (denominator == 0.0) return 1.0;  // both constant and equal
    return 2.0 * covariance / denominator;
}

RegressionMetrics regression_metrics(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted) {
    RegressionMetrics m;
    m.mse = mean_squared_error(truth, predicted);
    m.rmse = std::sqrt(m.mse);
    m.mae = mean_absolute_error(truth, predicted);
    m.r2 = r2_score(truth, predicted);
    m.pearson = pearson_r(truth, predicted);
    m.ccc = concordance_cc(truth, predicted);
    return m;
}

std::pair<double, double> mean_and_std(const std::vector<double>& values) {
    double mean = 0, var = 0;
    for (double v : values) mean += v;
    mean /= static_cast<double>(std::max<std::size_t>(1, values.size()));
    for (double v : values) var += (v - mean) * (v - mean);
    return {mean, values.size() > 1 ? std::sqrt(var / static_cast<double>(values.size() - 1)) : 0.0};
}

}  // namespace mer
