// The corrected resampled t-test and the Student t tail it needs.
#include "core/eval/paired.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace mer {

namespace {

// The continued fraction of the regularised incomplete beta function
// (modified Lentz), converging for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
    constexpr double tiny = 1e-300, epsilon = 1e-15;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (std::fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 1000; ++m) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1 / d;
        const double step = d * c;
        h *= step;
        if (std::fabs(step - 1) < epsilon) break;
    }
    return h;
}

// I_x(a, b).
double regularized_beta(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    const double front =
        std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_two_sided_p(double t, double df) {
    if (!std::isfinite(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
    return regularized_beta(df / 2, 0.5, df / (df + t * t));
}

bool scores_are_resamples(const nlohmann::ordered_json& node_entry) {
    if (node_entry.value("folds", 0) < 2) return false;
    const bool repeated = node_entry.contains("seeds") && node_entry["seeds"].size() > 1;
    return !repeated || node_entry.value("resampled", false);
}

PairedComparison corrected_paired_t(const std::vector<double>& a, const std::vector<double>& b,
                                    double test_train_ratio) {
    if (a.size() != b.size()) throw std::invalid_argument("paired scores of unequal length");
    PairedComparison out;
    out.runs = a.size();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (a.empty()) {
        out.mean_a = out.mean_b = out.mean_diff = out.diff_std = out.t = out.p = nan;
        return out;
    }
    const auto n = static_cast<double>(a.size());
    for (std::size_t j = 0; j < a.size(); ++j) {
        out.mean_a += a[j] / n;
        out.mean_b += b[j] / n;
    }
    out.mean_diff = out.mean_a - out.mean_b;
    double ss = 0;
    for (std::size_t j = 0; j < a.size(); ++j) ss += std::pow(a[j] - b[j] - out.mean_diff, 2);
    out.diff_std = a.size() > 1 ? std::sqrt(ss / (n - 1)) : nan;
    const double variance = (1 / n + test_train_ratio) * out.diff_std * out.diff_std;
    out.t = a.size() > 1 && variance > 0 ? out.mean_diff / std::sqrt(variance) : nan;
    out.p = student_t_two_sided_p(out.t, n - 1);
    return out;
}

}  // namespace mer
