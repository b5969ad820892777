// Tuning estimation and the chroma filterbank, step by step as librosa 0.10
// (see shared fixtures' README and docs/features.md).
#include "core/dsp/chroma.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace mer::dsp {

double estimate_tuning(const Eigen::MatrixXf& S, int sr, int n_fft, int bins_per_octave) {
    const int bins = static_cast<int>(S.rows());
    const float threshold = 0.1f;
    // piptrack looks at bins with 150 Hz ≤ f < 4000 Hz only.
    int k_lo = 0;
    while (k_lo < bins && static_cast<double>(k_lo) * sr / n_fft < 150.0) ++k_lo;
    int k_hi = k_lo;
    while (k_hi < bins && static_cast<double>(k_hi) * sr / n_fft < 4000.0) ++k_hi;
    std::vector<float> pitches, mags;
    for (Eigen::Index t = 0; t < S.cols(); ++t) {
        const float* s = S.col(t).data();
        const float ref = threshold * S.col(t).maxCoeff();
        const auto masked = [&](int k) { return s[k] > ref ? s[k] : 0.0f; };
        for (int k = k_lo; k < k_hi; ++k) {
            // Local maximum of the masked spectrum: > the bin below, >= the bin above.
            const float here = masked(k);
            const float below = masked(k > 0 ? k - 1 : 0);
            const float above = masked(k + 1 < bins ? k + 1 : k);
            if (!(here > below && here >= above)) continue;
            // Parabolic interpolation and numpy.gradient, in float32.
            float shift = 0.0f;
            float gradient = 0.0f;
            if (k > 0 && k + 1 < bins) {
                // librosa's numba kernel promotes to float64 where an integer
                // constant meets a float32: a = (s₊ + s₋) − 2s, b = (s₊ − s₋)/2.
                const double a = static_cast<double>(s[k + 1] + s[k - 1]) - 2.0 * s[k];
                const double b = static_cast<double>(s[k + 1] - s[k - 1]) / 2.0;
                shift = std::abs(b) < std::abs(a) ? static_cast<float>(-b / a) : 0.0f;
                gradient = (s[k + 1] - s[k - 1]) / 2.0f;
            } else if (k == 0) {
                gradient = s[1] - s[0];
            } else {
                gradient = s[k] - s[k - 1];
            }
            pitches.push_back(static_cast<float>((k + static_cast<double>(shift)) * sr / n_fft));
            mags.push_back(s[k] + 0.5f * gradient * shift);
        }
    }
    // Keep peaks at or above the median magnitude of all peaks with pitch > 0.
    std::vector<float> positive;
    for (std::size_t i = 0; i < pitches.size(); ++i)
        if (pitches[i] > 0) positive.push_back(mags[i]);
    if (positive.empty()) return 0.0;
    // The median, as numpy's: the middle value, or the mean of the two middle values.
    const std::size_t m = positive.size();
    const auto middle = positive.begin() + static_cast<long>(m / 2);
    std::nth_element(positive.begin(), middle, positive.end());
    const float median = m % 2 ? *middle : (*std::max_element(positive.begin(), middle) + *middle) / 2.0f;

    std::vector<int> counts(100, 0);
    bool any = false;
    for (std::size_t i = 0; i < pitches.size(); ++i) {
        if (!(pitches[i] > 0) || !(mags[i] >= median)) continue;
        // float32 arithmetic, as numpy on librosa's float32 pitch array.
        const float octs = std::log2(pitches[i] / static_cast<float>(440.0 / 16.0));
        float residual = std::fmod(static_cast<float>(bins_per_octave) * octs, 1.0f);
        if (residual < 0) residual += 1.0f;
        if (residual >= 0.5f) residual -= 1.0f;
        // numpy.histogram over edges linspace(−0.5, 0.5, 101).
        int bin = static_cast<int>(std::floor((static_cast<double>(residual) + 0.5) * 100.0));
        bin = std::clamp(bin, 0, 99);
        const double left = -0.5 + bin * 0.01, right = -0.5 + (bin + 1) * 0.01;
        if (residual < left && bin > 0)
            --bin;
        else if (residual >= right && bin < 99)
            ++bin;
        ++counts[static_cast<std::size_t>(bin)];
        any = true;
    }
    if (!any) return 0.0;
    const int best = static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
    return -0.5 + best * (1.0 / 100.0);
}

Eigen::MatrixXf chroma_filterbank(int sr, int n_fft, double tuning, int n_chroma) {
    const double ctroct = 5.0, octwidth = 2.0;
    const int n_bins = n_fft;  // over the full FFT, past Nyquist, then cut
    std::vector<double> b(static_cast<std::size_t>(n_bins));
    const double a440 = 440.0 * std::pow(2.0, tuning / n_chroma);
    for (int k = 1; k < n_bins; ++k) {
        const double f = static_cast<double>(k) * sr / n_fft;
        b[static_cast<std::size_t>(k)] = n_chroma * std::log2(f / (a440 / 16.0));
    }
    b[0] = b[1] - 1.5 * n_chroma;
    std::vector<double> width(static_cast<std::size_t>(n_bins));
    for (int k = 0; k + 1 < n_bins; ++k)
        width[static_cast<std::size_t>(k)] =
            std::max(b[static_cast<std::size_t>(k + 1)] - b[static_cast<std::size_t>(k)], 1.0);
    width[static_cast<std::size_t>(n_bins - 1)] = 1.0;

    Eigen::MatrixXd w(n_chroma, n_bins);
    const double half = std::round(n_chroma / 2.0);
    for (int k = 0; k < n_bins; ++k) {
        for (int c = 0; c < n_chroma; ++c) {
            const double d = std::fmod(b[static_cast<std::size_t>(k)] - c + half + 10 * n_chroma, n_chroma);
            const double dist = (d < 0 ? d + n_chroma : d) - half;
            const double x = 2.0 * dist / width[static_cast<std::size_t>(k)];
            w(c, k) = std::exp(-0.5 * x * x);
        }
        const double norm = w.col(k).norm();
        if (norm > 0) w.col(k) /= norm;
        const double octave = (b[static_cast<std::size_t>(k)] / n_chroma - ctroct) / octwidth;
        w.col(k) *= std::exp(-0.5 * octave * octave);
    }
    // Roll by −3 so that row 0 is C (base_c), keep the non-negative frequencies.
    Eigen::MatrixXf out(n_chroma, n_fft / 2 + 1);
    for (int c = 0; c < n_chroma; ++c) out.row(c) = w.row((c + 3) % n_chroma).head(n_fft / 2 + 1).cast<float>();
    return out;
}

void normalize_columns_max(Eigen::MatrixXf& m) {
    const float tiny = std::numeric_limits<float>::min();
    for (Eigen::Index t = 0; t < m.cols(); ++t) {
        const float peak = m.col(t).cwiseAbs().maxCoeff();
        if (peak >= tiny) m.col(t) /= peak;
    }
}

}  // namespace mer::dsp
