// Spectral contrast with librosa's band edges, bin selection and rounding.
#include "core/dsp/contrast.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/dsp/mel.hpp"

namespace mer::dsp {

namespace {

// The q smallest and the q largest of s[0 … n), each in ascending order, as
// the ends of a full sort. One pass with two small sorted buffers: almost
// every value fails the first comparison.
void smallest_and_largest(const float* s, int n, int q, float* low, float* high) {
    std::fill(low, low + q, std::numeric_limits<float>::infinity());
    std::fill(high, high + q, -std::numeric_limits<float>::infinity());
    for (int i = 0; i < n; ++i) {
        const float v = s[i];
        if (v < low[q - 1]) {
            int j = q - 1;
            for (; j > 0 && low[j - 1] > v; --j) low[j] = low[j - 1];
            low[j] = v;
        }
        if (v > high[0]) {
            int j = 0;
            for (; j + 1 < q && high[j + 1] < v; ++j) high[j] = high[j + 1];
            high[j] = v;
        }
    }
}

}  // namespace

Eigen::MatrixXd spectral_contrast(const Eigen::MatrixXf& S, int sr, int n_fft, double fmin, int n_bands,
                                  double quantile) {
    const int bins = static_cast<int>(S.rows());
    const auto frames = S.cols();
    std::vector<double> edges(static_cast<std::size_t>(n_bands + 2), 0.0);
    for (int i = 1; i < n_bands + 2; ++i) edges[static_cast<std::size_t>(i)] = fmin * std::pow(2.0, i - 1);

    Eigen::MatrixXd peak(n_bands + 1, frames), valley(n_bands + 1, frames);
    for (int k = 0; k <= n_bands; ++k) {
        // Bins with lo ≤ f ≤ hi; later bands also take the bin just below;
        // the last band runs to Nyquist; all but the last drop their top bin.
        int first = -1, last = -1;
        for (int b = 0; b < bins; ++b) {
            const double f = static_cast<double>(b) * sr / n_fft;
            if (f >= edges[static_cast<std::size_t>(k)] && f <= edges[static_cast<std::size_t>(k + 1)]) {
                if (first < 0) first = b;
                last = b;
            }
        }
        if (first < 0) continue;
        if (k > 0) first = std::max(0, first - 1);
        if (k == n_bands) last = bins - 1;
        const int selected = last - first + 1;
        const int used_last = k < n_bands ? last - 1 : last;
        const int n = used_last - first + 1;
        if (n < 1) continue;
        // rint (half to even), at least 1, at most the band (numpy's slice [:q]).
        const int q = std::min(n, std::max(1, static_cast<int>(std::nearbyint(quantile * selected))));
        std::vector<float> lowest(static_cast<std::size_t>(q)), highest(static_cast<std::size_t>(q));
        for (Eigen::Index t = 0; t < frames; ++t) {
            smallest_and_largest(S.col(t).data() + first, n, q, lowest.data(), highest.data());
            // numpy's float32 mean over the sorted band's ends (pairwise
            // summation is exact enough for q ≤ 9 terms).
            float low = 0, high = 0;
            for (std::size_t i = 0; i < lowest.size(); ++i) low += lowest[i], high += highest[i];
            valley(k, t) = low / static_cast<float>(q);
            peak(k, t) = high / static_cast<float>(q);
        }
    }
    return power_to_db(peak) - power_to_db(valley);
}

}  // namespace mer::dsp
