// Constant-Q transform, chroma from it, and tonnetz — librosa 0.10's cqt()
// with its defaults: 7 octaves of 36 bins from C1 (tuned), hop 512, Hann
// wavelets with L1 norm and 1% sparsity, one FFT response per octave with
// libsoxr HQ 2:1 decimation between octaves.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "core/base/built_once.hpp"
#include "core/dsp/vector_kernels.hpp"

namespace mer::dsp {

struct CqtSettings {
    int hop = 512;
    double fmin_hz = 32.70319566257483;  // C1
    int n_bins = 252;
    int bins_per_octave = 36;
    double filter_scale = 1.0;
    double sparsity = 0.01;
};

// Keeps the octave filters between songs: they depend on the rate, the
// settings and the tuning only (estimate_tuning gives one of 100 values), and
// building them costs about as much as the transform itself. Thread-safe:
// one per extractor, shared by its threads. Keyed by the octave's
// frequencies, rate and settings.
struct CqtFilters;  // one octave's, defined in cqt.cpp
using CqtFilterCache = BuiltOnce<std::vector<double>, CqtFilters>;

// |CQT|, n_bins × frames, float32. `tuning` in fractions of a bin. Without a
// cache the filters are built for this call only. Every vector unit gives
// the same bits.
Eigen::MatrixXf cqt_magnitude(const std::vector<float>& y, int sample_rate_hz, double tuning,
                              const CqtSettings& settings = {}, CqtFilterCache* cache = nullptr,
                              VectorUnit unit = vector_unit());

// 12 × frames: CQ bins folded onto pitch classes (row 0 = C), max-normalised.
Eigen::MatrixXf chroma_from_cqt(const Eigen::MatrixXf& cq, int bins_per_octave = 36);

// 6 × frames: fifths (x, y), minor thirds (x, y), major thirds (x, y) of the
// L1-normalised chroma (Harte et al., as librosa.feature.tonnetz).
Eigen::MatrixXd tonnetz_from_chroma(const Eigen::MatrixXf& chroma);

// The 2:1 decimation librosa uses between octaves: soxr HQ, length
// ceil(n/2), scaled by √2, float32.
std::vector<float> decimate_by_two(const std::vector<float>& y);

}  // namespace mer::dsp
