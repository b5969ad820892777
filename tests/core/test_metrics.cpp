// Metrics against values worked out by hand (see the comments).
#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.hpp"
#include "core/eval/metrics.hpp"

namespace {
Eigen::VectorXd vec(std::initializer_list<double> values) {
    Eigen::VectorXd v(static_cast<Eigen::Index>(values.size()));
    Eigen::Index i = 0;
    for (double x : values) v(i++) = x;
    return v;
}
}  // namespace

TEST_CASE("metrics match hand-computed values", "[metrics]") {
    // truth 1 2 3 4, prediction 1.5 2 2.5 5: errors −.5 0 .5 −1.
    const Eigen::VectorXd truth = vec({1, 2, 3, 4}), predicted = vec({1.5, 2, 2.5, 5});
    const mer::RegressionMetrics m = mer::regression_metrics(truth, predicted);
    CHECK(m.mse == Approx(0.375));  // (.25 + 0 + .25 + 1) / 4
    CHECK(m.rmse == Approx(std::sqrt(0.375)));
    CHECK(m.mae == Approx(0.5));  // (.5 + 0 + .5 + 1) / 4
    CHECK(m.r2 == Approx(0.7));   // 1 − 1.5 / 5
    CHECK(m.pearson == Approx(5.5 / std::sqrt(5 * 7.25)));
    CHECK(m.ccc == Approx(0.88));  // 2·1.375 / (1.25 + 1.8125 + 0.0625)
}

TEST_CASE("R² follows scikit-learn's conventions", "[metrics]") {
    const Eigen::VectorXd truth = vec({3, -0.5, 2, 7}), predicted = vec({2.5, 0.0, 2, 8});
    CHECK(mer::r2_score(truth, predicted) == Approx(0.9486081370449679));  // sklearn docs example
    const Eigen::VectorXd mean_prediction = Eigen::VectorXd::Constant(4, truth.mean());
    CHECK(mer::r2_score(truth, mean_prediction) == Approx(0.0).margin(1e-12));
    CHECK(mer::r2_score(truth, -truth) < 0.0);
    // Constant truth: 1 when predicted exactly, else 0 (force_finite).
    CHECK(mer::r2_score(vec({2, 2, 2}), vec({2, 2, 2})) == 1.0);
    CHECK(mer::r2_score(vec({2, 2, 2}), vec({1, 2, 3})) == 0.0);
}

TEST_CASE("Pearson is undefined for a constant prediction, CCC is not", "[metrics]") {
    const Eigen::VectorXd truth = vec({1, 2, 3, 4, 5});
    const Eigen::VectorXd constant = Eigen::VectorXd::Constant(5, 1.0 / 3.0);
    CHECK(std::isnan(mer::pearson_r(truth, constant)));
    CHECK(mer::concordance_cc(truth, constant) == Approx(0.0).margin(1e-12));
    CHECK(mer::concordance_cc(truth, truth) == Approx(1.0));
    // A perfectly correlated but shifted prediction: Pearson 1, CCC below 1.
    const Eigen::VectorXd shifted = (truth.array() + 1.0).matrix();
    CHECK(mer::pearson_r(truth, shifted) == Approx(1.0));
    CHECK(mer::concordance_cc(truth, shifted) == Approx(2.0 * 2.0 / (2.0 + 2.0 + 1.0)));
}

TEST_CASE("metrics refuse vectors of different lengths", "[metrics]") {
    CHECK_THROWS_AS(mer::regression_metrics(vec({1, 2}), vec({1, 2, 3})), mer::Error);
    CHECK_THROWS_WITH(mer::RegressionMetrics{}.get("accuracy"), Catch::Contains("unknown metric 'accuracy'"));
}
