// "Model A beats model B" with a p-value: the corrected resampled t-test of
// Nadeau & Bengio (Machine Learning 52, 2003) over the paired scores of two
// models on the same folds (and seeds). Folds share training songs, so their
// scores are not independent and the plain paired t-test is too confident;
// the correction inflates the variance of the mean difference by the test
// share: var = (1/J + n_test/n_train) · s², with J paired scores and s² their
// differences' sample variance (n − 1), t = mean / sqrt(var), J − 1 degrees
// of freedom, two-sided p from Student's t. Over r repetitions of k-fold,
// each drawing its own folds, J = k · r: the corrected repeated k-fold
// t-test of Bouckaert & Frank (PAKDD 2004).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

namespace mer {

struct PairedComparison {
    std::size_t runs = 0;  // J: paired scores
    double mean_a = 0, mean_b = 0;
    double mean_diff = 0;  // mean of a − b
    double diff_std = 0;   // sample std (n − 1) of a − b
    double t = 0;          // NaN when J < 2 or the differences are all equal
    double p = 0;          // two-sided; NaN where t is
};

// `test_train_ratio`: n_test / n_train of one fold (k-fold: 1 / (k − 1)).
PairedComparison corrected_paired_t(const std::vector<double>& a, const std::vector<double>& b,
                                    double test_train_ratio);

// Whether a summary.json node entry's per-fold scores are resamples the
// test may count: k-fold folds (more than one), and with `seeds`, each
// repetition on folds of its own (`resampled`). Repetitions of one holdout
// or predefined split, and repeated runs written before repetitions drew
// their own folds, measure initialisation alone: no p-value.
bool scores_are_resamples(const nlohmann::ordered_json& node_entry);

// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom.
double student_t_two_sided_p(double t, double df);

}  // namespace mer
