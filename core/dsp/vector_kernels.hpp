// The DSP's hot loops — frame FFTs, the spectrogram's power and magnitude,
// the CQT's filter products — compiled once per vector unit and chosen at
// run time, so that one binary runs on every x86-64 node of a cluster and
// still uses AVX2 where the CPU has it. Every unit does the same arithmetic
// in the same order (frames side by side in the lanes, no fused
// multiply-add), so the results are bit for bit the same whichever runs:
// only the number of frames per instruction changes.
#pragma once

#include <complex>
#include <cstddef>
#include <vector>

namespace mer::dsp {

// The units the kernels are compiled for, narrowest first. `baseline` is
// what every x86-64 CPU has (SSE2); elsewhere, the compiler's default.
enum class VectorUnit { baseline, avx2 };

// The widest unit this CPU runs, found once.
VectorUnit vector_unit();

// Every unit this CPU runs, narrowest first.
std::vector<VectorUnit> vector_units();

// "sse2" or "avx2" (on x86-64).
const char* vector_unit_name(VectorUnit unit);

// mer::Error unless n_fft is a power of two of at least 4.
void check_fft_length(int n_fft);

// One filter in the frequency domain: bins first … first + re.size() − 1.
struct BandFilter {
    int first = 0;
    std::vector<float> re, im;
};

// The kernels of one unit. Frame t of y (n samples) is centred: it starts at
// t·hop − n_fft/2, with zeros outside y. n_fft must be a power of two ≥ 4
// (mer::Error otherwise).
struct VectorKernels {
    VectorUnit unit;

    // Bins 0 … n_fft/2 of frames first … first + count − 1, each times
    // `window` (n_fft values) unless it is null, frame after frame.
    void (*frame_spectra_float)(const float* y, std::size_t n, int n_fft, int hop, int first, int count,
                                const float* window, std::complex<float>* out);
    void (*frame_spectra_double)(const float* y, std::size_t n, int n_fft, int hop, int first, int count,
                                 const double* window, std::complex<double>* out);

    // |X|² and |X| of frames 0 … frames − 1 times `window`, transformed in
    // double precision and rounded to complex64 first (as librosa stores the
    // STFT); frame t's n_fft/2 + 1 bins at power + t·(n_fft/2 + 1).
    void (*power_and_magnitude)(const float* y, std::size_t n, int n_fft, int hop, int frames, const double* window,
                                float* power, float* magnitude);

    // Σ_k X_t[k]·filter[k] over each filter's band, for the rectangular
    // (unwindowed) frames 0 … frames − 1 in float precision: `response` is
    // filters × frames, column-major.
    void (*filter_responses)(const float* y, std::size_t n, int n_fft, int hop, int frames, const BandFilter* filters,
                             std::size_t filter_count, std::complex<float>* response);

    // Spectral contrast's peaks and valleys: for every column t of `columns`
    // (`frames` columns of `rows` values), the mean of the q smallest and
    // of the q largest of rows first … first + n − 1 (1 ≤ q ≤ n), each summed
    // in ascending order in float32, as numpy's mean over a sorted slice.
    void (*band_extremes)(const float* columns, std::size_t rows, int frames, int first, int n, int q, float* low_mean,
                          float* high_mean);
};

// The kernels of `unit`; mer::Error if this CPU does not run it.
const VectorKernels& vector_kernels(VectorUnit unit = vector_unit());

}  // namespace mer::dsp
