// Regression metrics by their textbook definitions: R² as scikit-learn's
// r2_score (1 − SS_res/SS_tot; a constant truth scores 1 when predicted
// exactly, else 0), Pearson's r, and Lin's concordance correlation (with
// population variances). Inputs are one target's truth and prediction.
#pragma once

#include <Eigen/Core>
#include <string>
#include <utility>
#include <vector>

namespace mer {

struct RegressionMetrics {
    double r2 = 0, rmse = 0, mae = 0, mse = 0, pearson = 0, ccc = 0;

    double get(const std::string& name) const;  // throws for an unknown name
};

// The names accepted by get() and by `evaluation.metrics`, in log order.
const std::vector<std::string>& metric_names();
// True when a larger value is better (r2, pearson, ccc).
bool higher_is_better(const std::string& metric);

double mean_squared_error(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted);
double mean_absolute_error(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted);
double r2_score(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted);
double pearson_r(const Eigen::VectorXd& a, const Eigen::VectorXd& b);  // NaN when either is constant
double concordance_cc(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted);

RegressionMetrics regression_metrics(const Eigen::VectorXd& truth, const Eigen::VectorXd& predicted);

// Mean and sample standard deviation (0 for fewer than two values): how a
// metric over folds or grid-search folds is summarised.
std::pair<double, double> mean_and_std(const std::vector<double>& values);

}  // namespace mer
