// A fitted linear model on standardised features — what ridge and lasso
// both learn: the scaler, one intercept and one weight column per target.
#pragma once

#include <Eigen/Core>
#include <string>

#include "core/data/scaler.hpp"

namespace mer {

struct LinearModel {
    FeatureScaler scaler;
    Eigen::RowVectorXd intercept;  // per target
    Eigen::MatrixXd weights;       // standardised features × targets

    Eigen::MatrixXd predict(const Eigen::MatrixXd& features) const {
        return (scaler.apply(features) * weights).rowwise() + intercept;
    }
    // mean.npy, scale.npy, intercept.npy, weights.npy
    void save(const std::string& dir) const;
    void load(const std::string& dir);
};

// Ridge regression in closed form: inputs standardised over `x`'s rows,
// targets centred, so alpha means the same whatever the features' units (as
// scikit-learn's Ridge after a StandardScaler); every target at once, each
// with its own weight column.
LinearModel fit_ridge(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double alpha);

}  // namespace mer
