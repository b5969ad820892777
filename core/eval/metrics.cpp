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

CurveMetrics curve_metrics(const std::vector<Eigen::VectorXd>& truth, const std::vector<Eigen::VectorXd>& predicted) {
    if (truth.size() != predicted.size()) throw Error("curve_metrics: truth and predictions differ in songs");
    CurveMetrics m;
    std::vector<double> rmse, pearson, ccc;
    Eigen::Index total = 0;
    for (const auto& t : truth) total += t.size();
    Eigen::VectorXd all_truth(total), all_predicted(total);
    Eigen::Index at = 0;
    for (std::size_t s = 0; s < truth.size(); ++s) {
        const Eigen::VectorXd& t = truth[s];
        const Eigen::VectorXd& p = predicted[s];
        if (t.size() != p.size()) throw Error("curve_metrics: a song's truth and prediction differ in frames");
        if (t.size() == 0) continue;
        ++m.songs;
        all_truth.segment(at, t.size()) = t;
        all_predicted.segment(at, t.size()) = p;
        at += t.size();
        rmse.push_back(std::sqrt(mean_squared_error(t, p)));
        ccc.push_back(concordance_cc(t, p));
        const double r = pearson_r(t, p);
        if (std::isfinite(r))
            pearson.push_back(r);
        else
            ++m.constant_songs;
    }
    m.frames = static_cast<std::size_t>(total);
    const auto nan = std::numeric_limits<double>::quiet_NaN();
    auto summarise = [&](const std::vector<double>& v, double& mean, double& sd) {
        if (v.empty()) {
            mean = sd = nan;
            return;
        }
        std::tie(mean, sd) = mean_and_std(v);
    };
    summarise(rmse, m.rmse_mean, m.rmse_std);
    summarise(pearson, m.pearson_mean, m.pearson_std);
    summarise(ccc, m.ccc_mean, m.ccc_std);
    if (total > 1) {
        const RegressionMetrics g = regression_metrics(all_truth, all_predicted);
        m.global_rmse = g.rmse, m.global_pearson = g.pearson, m.global_ccc = g.ccc, m.global_r2 = g.r2;
    } else {
        m.global_rmse = m.global_pearson = m.global_ccc = m.global_r2 = nan;
    }
    return m;
}

}  // namespace mer
