// Regression metrics by their textbook definitions: R² as scikit-learn's
// r2_score (1 − SS_res/SS_tot; a constant truth scores 1 when predicted
// exactly, else 0), Pearson's r, and Lin's concordance correlation (with
// population variances). Inputs are one target's truth and prediction; the
// dynamic task's figures over many songs' curves are curve_metrics.
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

// The task's figures for one target over a set of songs: each song's curve
// scored on its own (RMSE, Pearson's r, Lin's CCC), their mean and std over
// songs, and every frame of every song pooled. A song whose annotation or
// prediction does not move has no Pearson's r: it is left out of the
// Pearson mean and counted in `constant_songs` (RMSE and CCC keep it).
struct CurveMetrics {
    std::size_t songs = 0, frames = 0, constant_songs = 0;
    double rmse_mean = 0, rmse_std = 0;
    double pearson_mean = 0, pearson_std = 0;
    double ccc_mean = 0, ccc_std = 0;
    double global_rmse = 0, global_pearson = 0, global_ccc = 0, global_r2 = 0;
};

// `truth[s]` and `predicted[s]`: song s's labelled frames, in time order
// (NaN labels already left out). Songs without frames are skipped.
CurveMetrics curve_metrics(const std::vector<Eigen::VectorXd>& truth, const std::vector<Eigen::VectorXd>& predicted);

}  // namespace mer
