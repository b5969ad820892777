// Spectral contrast with librosa's band edges, bin selection and rounding.
#include "core/dsp/contrast.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dsp/mel.hpp"

namespace mer::dsp {

Eigen::MatrixXd spectral_contrast(const Eigen::MatrixXf& S, int sr, int n_fft, double fmin, int n_bands,
                                  double quantile) {
    const int bins = static_cast<int>(S.rows());
    const auto frames = S.cols();
    std::vector<double> edges(static_cast<std::size_t>(n_bands + 2), 0.0);
    for (int i = 1; i < n_bands + 2; ++i) edges[static_cast<std::size_t>(i)] = fmin * std::pow(2.0, i - 1);

    Eigen::MatrixXd peak(n_bands + 1, frames), valley(n_bands + 1, frames);
    std::vector<float> band;
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
        const int q = std::max(1, static_cast<int>(std::nearbyint(quantile * selected)));  // rint: half to even
        const int n = used_last - first + 1;
        band.resize(static_cast<std::size_t>(n));
        for (Eigen::Index t = 0; t < frames; ++t) {
            const float* s = S.col(t).data();
            std::copy(s + first, s + used_last + 1, band.begin());
            // Only the q smallest and q largest matter: select them, then
            // order each group so the sums run as over a full sort.
            if (n >= 2 * q) {
                std::nth_element(band.begin(), band.begin() + (q - 1), band.end());
                std::sort(band.begin(), band.begin() + q);
                std::nth_element(band.begin() + q, band.begin() + (n - q), band.end());
                std::sort(band.begin() + (n - q), band.end());
            } else {
                std::sort(band.begin(), band.end());
            }
            // numpy's float32 mean (pairwise summation is exact enough for q ≤ 9 terms).
            float low = 0, high = 0;
            for (int i = 0; i < q; ++i) low += band[static_cast<std::size_t>(i)];
            for (int i = n - q; i < n; ++i) high += band[static_cast<std::size_t>(i)];
            valley(k, t) = low / static_cast<float>(q);
            peak(k, t) = high / static_cast<float>(q);
        }
    }
    return power_to_db(peak) - power_to_db(valley);
}

}  // namespace mer::dsp
