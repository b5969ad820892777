// Spectral contrast with librosa's band edges, bin selection and rounding.
#include "core/dsp/contrast.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dsp/mel.hpp"
#include "core/dsp/vector_kernels.hpp"

namespace mer::dsp {

Eigen::MatrixXd spectral_contrast(const Eigen::MatrixXf& S, int sr, int n_fft, double fmin, int n_bands,
                                  double quantile, VectorUnit unit) {
    const int bins = static_cast<int>(S.rows());
    const auto frames = S.cols();
    std::vector<double> edges(static_cast<std::size_t>(n_bands + 2), 0.0);
    for (int i = 1; i < n_bands + 2; ++i) edges[static_cast<std::size_t>(i)] = fmin * std::pow(2.0, i - 1);

    const VectorKernels& kernels = vector_kernels(unit);
    Eigen::MatrixXd peak(n_bands + 1, frames), valley(n_bands + 1, frames);
    std::vector<float> lowest(static_cast<std::size_t>(frames)), highest(static_cast<std::size_t>(frames));
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
        // numpy's float32 mean over the sorted band's ends.
        kernels.band_extremes(S.data(), static_cast<std::size_t>(bins), static_cast<int>(frames), first, n, q,
                              lowest.data(), highest.data());
        for (Eigen::Index t = 0; t < frames; ++t) {
            valley(k, t) = lowest[static_cast<std::size_t>(t)];
            peak(k, t) = highest[static_cast<std::size_t>(t)];
        }
    }
    return power_to_db(peak) - power_to_db(valley);
}

}  // namespace mer::dsp
