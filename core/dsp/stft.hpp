// Spectrograms as librosa 0.10 computes them: centred frames with zero
// padding, a periodic Hann window, transforms in double precision, results
// stored in float32. Matrices are bins × frames (one column per frame).
#pragma once

#include <Eigen/Core>
#include <vector>

#include "core/dsp/vector_kernels.hpp"

namespace mer::dsp {

// Periodic Hann window: w[n] = 0.5 − 0.5·cos(2πn/N).
std::vector<double> hann_periodic(int length);

// Number of centred frames for n samples: 1 + n / hop.
int frame_count(std::size_t samples, int hop);

struct Spectrogram {
    Eigen::MatrixXf power;      // |X|², (n_fft/2 + 1) × frames
    Eigen::MatrixXf magnitude;  // |X|
};

// Hann-windowed STFT of y (centred, zero padding). Every vector unit gives
// the same bits; `unit` is there for the tests and benchmarks that compare them.
Spectrogram spectrogram(const float* y, std::size_t n, int n_fft, int hop, VectorUnit unit = vector_unit());

// Frequency of each real-FFT bin: k·sr/n_fft.
Eigen::VectorXd fft_frequencies(int sample_rate_hz, int n_fft);

}  // namespace mer::dsp
