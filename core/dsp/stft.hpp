// Short-time Fourier transforms as librosa 0.10 computes them: centred frames
// with zero padding, a periodic Hann window for spectrograms (rectangular
// for the CQT's octave transforms), transforms in double precision, results
// stored in float32.
// The CQT's octave transforms run in single precision (tonnetz stays within
// 1e-5 of librosa); spectrograms in double. Matrices are bins × frames (one column per frame).
#pragma once

#include <Eigen/Core>
#include <complex>
#include <functional>
#include <vector>

namespace mer::dsp {

// Periodic Hann window: w[n] = 0.5 − 0.5·cos(2πn/N).
std::vector<double> hann_periodic(int length);

// Number of centred frames for n samples: 1 + n / hop.
int frame_count(std::size_t samples, int hop);

struct Spectrogram {
    Eigen::MatrixXf power;      // |X|², (n_fft/2 + 1) × frames
    Eigen::MatrixXf magnitude;  // |X|
};

// Hann-windowed STFT of y (centred, zero padding).
Spectrogram spectrogram(const float* y, std::size_t n, int n_fft, int hop);

// Complex STFT with a rectangular window (centred, zero padding), complex64
// as librosa stores it.
Eigen::MatrixXcf stft_rectangular(const std::vector<float>& y, int n_fft, int hop);

// Calls on_frame(t, X) with bins 0 … n_fft/2 of each rectangular-window
// frame, without keeping the whole transform (the CQT applies its filters
// frame by frame).
void for_each_rectangular_frame(const std::vector<float>& y, int n_fft, int hop,
                                const std::function<void(int, const std::complex<float>*)>& on_frame);

// Frequency of each real-FFT bin: k·sr/n_fft.
Eigen::VectorXd fft_frequencies(int sample_rate_hz, int n_fft);

}  // namespace mer::dsp
