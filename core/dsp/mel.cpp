// Mel scale, filterbank, dB and DCT (formulas in docs/features.md).
#include "core/dsp/mel.hpp"

#include <cmath>

namespace mer::dsp {

namespace {
constexpr double kLinearStep = 200.0 / 3.0;  // Hz per mel below 1 kHz
constexpr double kBreakHz = 1000.0;
constexpr double kBreakMel = kBreakHz / kLinearStep;  // 15
const double kLogStep = std::log(6.4) / 27.0;
}  // namespace

double hz_to_mel_slaney(double hz) {
    return hz >= kBreakHz ? kBreakMel + std::log(hz / kBreakHz) / kLogStep : hz / kLinearStep;
}

double mel_to_hz_slaney(double mel) {
    return mel >= kBreakMel ? kBreakHz * std::exp(kLogStep * (mel - kBreakMel)) : kLinearStep * mel;
}

Eigen::MatrixXf mel_filterbank(int sr, int n_fft, int n_mels, double fmin, double fmax) {
    const int bins = n_fft / 2 + 1;
    Eigen::VectorXd edges(n_mels + 2);
    const double lo = hz_to_mel_slaney(fmin), hi = hz_to_mel_slaney(fmax);
    for (int i = 0; i < n_mels + 2; ++i) edges(i) = mel_to_hz_slaney(lo + (hi - lo) * i / (n_mels + 1));
    Eigen::MatrixXf w = Eigen::MatrixXf::Zero(n_mels, bins);
    for (int i = 0; i < n_mels; ++i) {
        const double left = edges(i), centre = edges(i + 1), right = edges(i + 2);
        const double area = 2.0 / (right - left);
        for (int k = 0; k < bins; ++k) {
            const double f = static_cast<double>(k) * sr / n_fft;
            const double rise = (f - left) / (centre - left), fall = (right - f) / (right - centre);
            const double v = std::max(0.0, std::min(rise, fall));
            // Rounded twice, as librosa stores the triangle then scales it in float32.
            w(i, k) = static_cast<float>(static_cast<double>(static_cast<float>(v)) * area);
        }
    }
    return w;
}

template <class Matrix>
static Matrix to_db(const Matrix& power, double ref, double amin, double top_db) {
    using Scalar = typename Matrix::Scalar;
    const Scalar offset = static_cast<Scalar>(10.0 * std::log10(std::max(amin, std::abs(ref))));
    const Scalar floor = static_cast<Scalar>(amin);
    Matrix db = power.unaryExpr([&](Scalar v) { return Scalar(10) * std::log10(std::max(floor, v)) - offset; });
    if (top_db > 0 && db.size() > 0) db = db.cwiseMax(db.maxCoeff() - static_cast<Scalar>(top_db));
    return db;
}

Eigen::MatrixXf power_to_db(const Eigen::MatrixXf& power, double ref, double amin, double top_db) {
    return to_db(power, ref, amin, top_db);
}

Eigen::MatrixXd power_to_db(const Eigen::MatrixXd& power, double ref, double amin, double top_db) {
    return to_db(power, ref, amin, top_db);
}

Eigen::MatrixXd dct_ortho(int n_out, int n_in) {
    Eigen::MatrixXd d(n_out, n_in);
    for (int k = 0; k < n_out; ++k) {
        const double scale = std::sqrt((k == 0 ? 1.0 : 2.0) / n_in);
        for (int n = 0; n < n_in; ++n) d(k, n) = scale * std::cos(M_PI * k * (2 * n + 1) / (2.0 * n_in));
    }
    return d;
}

}  // namespace mer::dsp
