// Spectral contrast (librosa.feature.spectral_contrast): per octave band,
// the dB difference between the mean of the loudest and the quietest 2% of
// the band's bins, from the magnitude spectrogram.
#pragma once

#include <Eigen/Core>

#include "core/dsp/vector_kernels.hpp"

namespace mer::dsp {

// (n_bands + 1) × frames; the same bits on every vector unit.
Eigen::MatrixXd spectral_contrast(const Eigen::MatrixXf& magnitude, int sample_rate_hz, int n_fft,
                                  double fmin_hz = 200.0, int n_bands = 6, double quantile = 0.02,
                                  VectorUnit unit = vector_unit());

}  // namespace mer::dsp
