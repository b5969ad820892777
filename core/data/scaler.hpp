// Per-feature standardisation with the statistics of the songs it was fitted
// on (mean and population standard deviation; a constant column keeps scale
// 1), shared by every model and transform that standardises its inputs.
#pragma once

#include <Eigen/Core>
#include <string>

namespace mer {

struct FeatureScaler {
    Eigen::RowVectorXd mean, scale;

    // with_std false: only centre (scale stays 1).
    void fit(const Eigen::MatrixXd& x, bool with_std = true);
    Eigen::MatrixXd apply(const Eigen::MatrixXd& x) const;
    // mean.npy and scale.npy in `dir` (a model bundle folder).
    void save(const std::string& dir) const;
    void load(const std::string& dir);
};

}  // namespace mer
