// Silent and constant audio, measured on the decoded samples (see the header
// for the definitions and thresholds, docs/predict.md for the user's view).
#include "core/audio/signal_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/dsp/stft.hpp"

namespace mer {

namespace {

constexpr int kBands = 24;
constexpr double kLowestHz = 40.0, kHighestHz = 16000.0;

double dbfs(double rms) {
    return rms > 0 ? 20.0 * std::log10(rms) : -std::numeric_limits<double>::infinity();
}

std::string level(double db) {
    return std::isfinite(db) ? fmt::format("{:.1f} dBFS", db) : std::string("-inf dBFS (digital silence)");
}

// The weighted spread of the band levels over the frames (SignalCheck::variation_db).
double spectral_variation(const std::vector<float>& samples, int sample_rate_hz) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (sample_rate_hz <= 0) return nan;
    // Frames of about 0.1 s, not overlapping: long enough that steady noise
    // averages out in each band, short enough to see notes and beats.
    const int n_fft = 1 << std::max(8, static_cast<int>(std::lround(std::log2(0.1 * sample_rate_hz))));
    const dsp::Spectrogram s = dsp::spectrogram(samples.data(), samples.size(), n_fft, n_fft);
    // The first and last frames are centred on the ends and half zero padding: left out.
    const Eigen::Index first = 1, frames = s.power.cols() - 2;
    if (frames < 4) return nan;
    const double top = std::min(kHighestHz, sample_rate_hz / 2.0);
    Eigen::MatrixXd band = Eigen::MatrixXd::Zero(kBands, frames);
    for (Eigen::Index k = 1; k < s.power.rows(); ++k) {
        const double hz = static_cast<double>(k) * sample_rate_hz / n_fft;
        if (hz < kLowestHz || hz >= top) continue;
        const auto b = static_cast<Eigen::Index>(kBands * std::log(hz / kLowestHz) / std::log(top / kLowestHz));
        for (Eigen::Index t = 0; t < frames; ++t) band(b, t) += s.power(k, first + t);
    }
    const double total = band.sum();
    if (!(total > 0)) return 0.0;  // nothing between 40 Hz and 16 kHz moves
    const double floor = 1e-10 * band.maxCoeff();  // 100 dB under the loudest band: inaudible
    double variation = 0;
    for (Eigen::Index b = 0; b < kBands; ++b) {
        const double weight = band.row(b).sum() / total;
        if (weight <= 0) continue;
        const Eigen::ArrayXd db = 10.0 * (band.row(b).transpose().array() + floor).log10();
        variation += weight * std::sqrt((db - db.mean()).square().mean());
    }
    return variation;
}

}  // namespace

SignalCheck check_signal(const std::vector<float>& samples, int sample_rate_hz) {
    SignalCheck c;
    double sum = 0, squares = 0;
    for (float x : samples) sum += x, squares += static_cast<double>(x) * x;
    const double n = static_cast<double>(std::max<std::size_t>(1, samples.size()));
    const double mean = sum / n;
    c.rms_dbfs = dbfs(std::sqrt(squares / n));
    c.ac_rms_dbfs = dbfs(std::sqrt(std::max(0.0, squares / n - mean * mean)));
    c.variation_db = spectral_variation(samples, sample_rate_hz);
    if (!(c.rms_dbfs >= kSilentRmsDbfs)) {
        c.flag = "silent";
        c.detail = fmt::format("silent: RMS level {}, under {} dBFS", level(c.rms_dbfs), kSilentRmsDbfs);
    } else if (!(c.ac_rms_dbfs >= kSilentRmsDbfs)) {
        c.flag = "constant";
        c.detail = fmt::format("constant: a DC offset only (RMS {}, {} without the offset)", level(c.rms_dbfs),
                               level(c.ac_rms_dbfs));
    } else if (c.variation_db <= kConstantVariationDb) {
        c.flag = "constant";
        c.detail = fmt::format("constant: its spectrum varies by {:.2f} dB over time, at most {} dB counts as "
                               "constant (a steady tone or noise, not music)",
                               c.variation_db, kConstantVariationDb);
    }
    return c;
}

}  // namespace mer
