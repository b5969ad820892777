// Mel scale, filterbank, dB and DCT (formulas in docs/features.md).
#include "core/dsp/mel.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

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

BandedFilterbank::BandedFilterbank(const Eigen::MatrixXf& dense) : bins_(dense.cols()) {
    for (Eigen::Index i = 0; i < dense.rows(); ++i) {
        Row row;
        for (Eigen::Index k = 0; k < dense.cols(); ++k)
            if (dense(i, k) != 0.0f) row.bins.push_back(k), row.weights.push_back(dense(i, k));
        rows_.push_back(std::move(row));
    }
}

Eigen::MatrixXf BandedFilterbank::apply(const Eigen::MatrixXf& S) const {
    if (S.rows() != bins_)
        throw Error("the spectrogram has " + std::to_string(S.rows()) + " bins, the filterbank " +
                    std::to_string(bins_));
    const auto rows = static_cast<Eigen::Index>(rows_.size());
    Eigen::MatrixXf out(rows, S.cols());
    constexpr Eigen::Index kFrames = 4;
    Eigen::Index t = 0;
    for (; t + kFrames <= S.cols(); t += kFrames) {
        const float* c0 = S.col(t).data();
        const float* c1 = S.col(t + 1).data();
        const float* c2 = S.col(t + 2).data();
        const float* c3 = S.col(t + 3).data();
        for (Eigen::Index i = 0; i < rows; ++i) {
            const Row& row = rows_[static_cast<std::size_t>(i)];
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (std::size_t j = 0; j < row.bins.size(); ++j) {
                const Eigen::Index k = row.bins[j];
                const float w = row.weights[j];
                s0 += w * c0[k], s1 += w * c1[k], s2 += w * c2[k], s3 += w * c3[k];
            }
            out(i, t) = 0.0f + s0, out(i, t + 1) = 0.0f + s1, out(i, t + 2) = 0.0f + s2, out(i, t + 3) = 0.0f + s3;
        }
    }
    for (; t < S.cols(); ++t)
        for (Eigen::Index i = 0; i < rows; ++i) {
            const Row& row = rows_[static_cast<std::size_t>(i)];
            float s = 0;
            for (std::size_t j = 0; j < row.bins.size(); ++j) s += row.weights[j] * S(row.bins[j], t);
            out(i, t) = 0.0f + s;
        }
    return out;
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
