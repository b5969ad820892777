// STFTs on KissFFT: double precision (C++ template) for spectrograms,
// single precision (kiss_fftr) for the CQT's octave transforms; one plan and
// one frame buffer per call.
#include "core/dsp/stft.hpp"


#include <cmath>
#include <algorithm>
#include <complex>

#include <kissfft/kissfft.hh>

#include "core/dsp/fft.hpp"
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

// Fills `frame` with the centred frame t of y (zero padding), windowed.
template <class Scalar>
void centred_frame(const float* y, std::size_t n, int n_fft, int hop, int t, const std::vector<Scalar>& window,
                   std::vector<Scalar>& frame) {
    const long start = static_cast<long>(t) * hop - n_fft / 2;  // in original samples
    const long lo = std::max(0L, -start), hi = std::min<long>(n_fft, static_cast<long>(n) - start);
    std::fill(frame.begin(), frame.end(), Scalar(0));
    for (long i = lo; i < hi; ++i)
        frame[static_cast<std::size_t>(i)] = static_cast<Scalar>(y[start + i]) * window[static_cast<std::size_t>(i)];
}

}  // namespace

// The spectrogram's FFT runs in double precision: spectral contrast reads the
// quietest 2% of each band, far below the peak, where single precision's
// rounding noise would show (by up to 0.4 dB on the fixtures).
Spectrogram spectrogram(const float* y, std::size_t n, int n_fft, int hop) {
    if (n_fft % 2 != 0) throw Error("n_fft must be even, got " + std::to_string(n_fft));
    const int bins = n_fft / 2 + 1, frames = frame_count(n, hop);
    Spectrogram s;
    s.power.resize(bins, frames);
    s.magnitude.resize(bins, frames);
    const kissfft<double> fft(static_cast<std::size_t>(n_fft / 2), false);  // real transform of n_fft points
    const std::vector<double> window = hann_periodic(n_fft);
    std::vector<double> frame(static_cast<std::size_t>(n_fft));
    std::vector<std::complex<double>> half(static_cast<std::size_t>(n_fft / 2));
    for (int t = 0; t < frames; ++t) {
        centred_frame(y, n, n_fft, hop, t, window, frame);
        fft.transform_real(frame.data(), half.data());
        float* power = s.power.col(t).data();
        float* magnitude = s.magnitude.col(t).data();
        for (int k = 0; k < bins; ++k) {
            // Bin n_fft/2 (Nyquist) comes packed into bin 0's imaginary part.
            const std::complex<double> X = k == 0 ? half[0].real() : k == n_fft / 2 ? half[0].imag() : half[static_cast<std::size_t>(k)];
            const std::complex<float> x(X);  // complex64, as librosa stores the STFT
            power[k] = x.real() * x.real() + x.imag() * x.imag();
            magnitude[k] = std::sqrt(power[k]);
        }
    }
    return s;
}

void for_each_rectangular_frame(const std::vector<float>& y, int n_fft, int hop,
                                const std::function<void(int, const std::complex<float>*)>& on_frame) {
    const RealFft fft(n_fft);
    const std::vector<float> ones(static_cast<std::size_t>(n_fft), 1.0f);
    std::vector<float> frame(static_cast<std::size_t>(n_fft));
    std::vector<std::complex<float>> spectrum(static_cast<std::size_t>(n_fft / 2 + 1));
    const int frames = frame_count(y.size(), hop);
    for (int t = 0; t < frames; ++t) {
        centred_frame(y.data(), y.size(), n_fft, hop, t, ones, frame);
        fft.forward(frame.data(), spectrum.data());
        on_frame(t, spectrum.data());
    }
}

Eigen::MatrixXcf stft_rectangular(const std::vector<float>& y, int n_fft, int hop) {
    Eigen::MatrixXcf out(n_fft / 2 + 1, frame_count(y.size(), hop));
    for_each_rectangular_frame(y, n_fft, hop, [&](int t, const std::complex<float>* X) {
        std::copy(X, X + n_fft / 2 + 1, out.col(t).data());
    });
    return out;
}

}  // namespace mer::dsp
