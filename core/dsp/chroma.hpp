// Pitch-class features from an STFT: librosa's tuning estimate (piptrack +
// pitch_tuning), its chroma filterbank, and per-frame normalisation.
#pragma once

#include <Eigen/Core>

namespace mer::dsp {

// Tuning offset in fractions of a bin (bins_per_octave per octave), a
// multiple of 0.01 in [−0.5, 0.5), from a power or magnitude spectrogram.
// 0 when no pitch peak is found (librosa warns then).
double estimate_tuning(const Eigen::MatrixXf& spectrum, int sample_rate_hz, int n_fft, int bins_per_octave);

// n_chroma × (n_fft/2 + 1), float32 as librosa's filters.chroma(ctroct=5,
// octwidth=2, norm=2, base_c=True); row 0 is C.
Eigen::MatrixXf chroma_filterbank(int sample_rate_hz, int n_fft, double tuning, int n_chroma = 12);

// Divides each column by its largest absolute value (left as is when that is
// below float32's smallest normal number), as librosa's normalize(norm=inf).
void normalize_columns_max(Eigen::MatrixXf& m);

}  // namespace mer::dsp
