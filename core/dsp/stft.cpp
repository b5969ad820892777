// Hann-windowed power and magnitude spectrograms, in double precision (the
// frames' transforms are vector_kernels' power_and_magnitude).
#include "core/dsp/stft.hpp"

#include <cmath>

namespace mer::dsp {

std::vector<double> hann_periodic(int length) {
    std::vector<double> w(static_cast<std::size_t>(length));
    for (int n = 0; n < length; ++n) w[static_cast<std::size_t>(n)] = 0.5 - 0.5 * std::cos(2.0 * M_PI * n / length);
    return w;
}

int frame_count(std::size_t samples, int hop) {
    return 1 + static_cast<int>(samples / static_cast<std::size_t>(hop));
}

Eigen::VectorXd fft_frequencies(int sample_rate_hz, int n_fft) {
    Eigen::VectorXd f(n_fft / 2 + 1);
    for (int k = 0; k <= n_fft / 2; ++k) f(k) = static_cast<double>(k) * sample_rate_hz / n_fft;
    return f;
}

// The spectrogram's FFT runs in double precision: spectral contrast reads the
// quietest 2% of each band, far below the peak, where single precision's
// rounding noise would show (by up to 0.4 dB on the fixtures).
Spectrogram spectrogram(const float* y, std::size_t n, int n_fft, int hop, VectorUnit unit) {
    const VectorKernels& kernels = vector_kernels(unit);
    check_fft_length(n_fft);
    const int bins = n_fft / 2 + 1, frames = frame_count(n, hop);
    Spectrogram s;
    s.power.resize(bins, frames);
    s.magnitude.resize(bins, frames);
    const std::vector<double> window = hann_periodic(n_fft);
    kernels.power_and_magnitude(y, n, n_fft, hop, frames, window.data(), s.power.data(), s.magnitude.data());
    return s;
}

}  // namespace mer::dsp
