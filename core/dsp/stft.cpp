// STFT on KissFFT's C++ template in double precision: one plan per call,
// one frame buffer reused for every frame.
#include "core/dsp/stft.hpp"

#include <kissfft/kissfft.hh>

#include <cmath>
#include <complex>

#include "core/error.hpp"

namespace mer::dsp {

std::vector<double> hann_periodic(int length) {
    std::vector<double> w(static_cast<std::size_t>(length));
    for (int n = 0; n < length; ++n) w[static_cast<std::size_t>(n)] = 0.5 - 0.5 * std::cos(2.0 * M_PI * n / length);
    return w;
}

int frame_count(std::size_t samples, int hop) { return 1 + static_cast<int>(samples / static_cast<std::size_t>(hop)); }

Eigen::VectorXd fft_frequencies(int sample_rate_hz, int n_fft) {
    Eigen::VectorXd f(n_fft / 2 + 1);
    for (int k = 0; k <= n_fft / 2; ++k) f(k) = static_cast<double>(k) * sample_rate_hz / n_fft;
    return f;
}

namespace {

// Calls `on_frame(t, spectrum)` for each centred, windowed frame; spectrum
// holds bins 0 … n_fft/2.
template <class OnFrame>
void for_each_frame(const float* y, std::size_t n, int n_fft, int hop, const std::vector<double>& window,
                    OnFrame on_frame) {
    if (n_fft % 2 != 0) throw Error("n_fft must be even, got " + std::to_string(n_fft));
    const kissfft<double> fft(static_cast<std::size_t>(n_fft / 2), false);  // real transform of n_fft points
    std::vector<double> frame(static_cast<std::size_t>(n_fft));
    std::vector<std::complex<double>> half(static_cast<std::size_t>(n_fft / 2));
    std::vector<std::complex<double>> spectrum(static_cast<std::size_t>(n_fft / 2 + 1));
    const int frames = frame_count(n, hop);
    const long pad = n_fft / 2;
    for (int t = 0; t < frames; ++t) {
        const long start = static_cast<long>(t) * hop - pad;  // in original samples
        for (int i = 0; i < n_fft; ++i) {
            const long s = start + i;
            const double v = s >= 0 && s < static_cast<long>(n) ? static_cast<double>(y[s]) : 0.0;
            frame[static_cast<std::size_t>(i)] = v * window[static_cast<std::size_t>(i)];
        }
        fft.transform_real(frame.data(), half.data());
        spectrum[0] = half[0].real();
        spectrum[static_cast<std::size_t>(n_fft / 2)] = half[0].imag();  // Nyquist packed into bin 0
        for (int k = 1; k < n_fft / 2; ++k) spectrum[static_cast<std::size_t>(k)] = half[static_cast<std::size_t>(k)];
        on_frame(t, spectrum);
    }
}

}  // namespace

Spectrogram spectrogram(const float* y, std::size_t n, int n_fft, int hop) {
    const int bins = n_fft / 2 + 1, frames = frame_count(n, hop);
    Spectrogram s;
    s.power.resize(bins, frames);
    s.magnitude.resize(bins, frames);
    for_each_frame(y, n, n_fft, hop, hann_periodic(n_fft), [&](int t, const std::vector<std::complex<double>>& X) {
        float* power = s.power.col(t).data();
        float* magnitude = s.magnitude.col(t).data();
        for (int k = 0; k < bins; ++k) {
            // Rounded to complex64 first, as librosa stores the STFT.
            const std::complex<float> x(X[static_cast<std::size_t>(k)]);
            const float re = x.real(), im = x.imag();
            power[k] = re * re + im * im;
            magnitude[k] = std::sqrt(power[k]);
        }
    });
    return s;
}

Eigen::MatrixXcf stft_rectangular(const std::vector<float>& y, int n_fft, int hop) {
    Eigen::MatrixXcf out(n_fft / 2 + 1, frame_count(y.size(), hop));
    const std::vector<double> ones(static_cast<std::size_t>(n_fft), 1.0);
    for_each_frame(y.data(), y.size(), n_fft, hop, ones, [&](int t, const std::vector<std::complex<double>>& X) {
        for (int k = 0; k <= n_fft / 2; ++k) out(k, t) = std::complex<float>(X[static_cast<std::size_t>(k)]);
    });
    return out;
}

}  // namespace mer::dsp
