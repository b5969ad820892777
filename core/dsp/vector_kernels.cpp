// One copy of vector_kernels.inc per vector unit, each in its own namespace
// and compiled for its own target (a pragma, not a flag: the rest of the
// library, and every inline function the copies share with it, stays
// baseline x86-64). CMake compiles this file with -ffp-contract=off, so no
// unit fuses a multiply and an add the others round twice.
#include "core/dsp/vector_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace mer::dsp {

void check_fft_length(int n_fft) {
    if (n_fft < 4 || (n_fft & (n_fft - 1)) != 0)
        throw Error("the frame FFT needs a power-of-two length of at least 4, got " + std::to_string(n_fft));
}

namespace baseline_kernels {
#define MER_VECTOR_BYTES 16
#include "core/dsp/vector_kernels.inc"
#undef MER_VECTOR_BYTES
}  // namespace baseline_kernels

#if defined(__x86_64__)
#define MER_HAS_AVX2_KERNELS 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
namespace avx2_kernels {
#define MER_VECTOR_BYTES 32
#include "core/dsp/vector_kernels.inc"
#undef MER_VECTOR_BYTES
}  // namespace avx2_kernels
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

namespace {

bool runs(VectorUnit unit) {
    switch (unit) {
        case VectorUnit::baseline:
            return true;
        case VectorUnit::avx2:
#ifdef MER_HAS_AVX2_KERNELS
            __builtin_cpu_init();
            return __builtin_cpu_supports("avx2");
#else
            return false;
#endif
    }
    return false;
}

}  // namespace

std::vector<VectorUnit> vector_units() {
    std::vector<VectorUnit> units;
    for (VectorUnit unit : {VectorUnit::baseline, VectorUnit::avx2})
        if (runs(unit)) units.push_back(unit);
    return units;
}

VectorUnit vector_unit() {
    static const VectorUnit widest = vector_units().back();
    return widest;
}

const char* vector_unit_name(VectorUnit unit) {
#if defined(__x86_64__)
    return unit == VectorUnit::avx2 ? "avx2" : "sse2";
#else
    return unit == VectorUnit::avx2 ? "avx2" : "baseline";
#endif
}

const VectorKernels& vector_kernels(VectorUnit unit) {
    static const VectorKernels baseline{VectorUnit::baseline,
                                        baseline_kernels::frame_spectra_float,
                                        baseline_kernels::frame_spectra_double,
                                        baseline_kernels::power_and_magnitude,
                                        baseline_kernels::filter_responses,
                                        baseline_kernels::band_extremes};
#ifdef MER_HAS_AVX2_KERNELS
    static const VectorKernels avx2{VectorUnit::avx2,
                                    avx2_kernels::frame_spectra_float,
                                    avx2_kernels::frame_spectra_double,
                                    avx2_kernels::power_and_magnitude,
                                    avx2_kernels::filter_responses,
                                    avx2_kernels::band_extremes};
#endif
    if (!runs(unit))
        throw Error(std::string("this CPU has no ") + vector_unit_name(unit) + " unit (the DSP kernels run on " +
                    vector_unit_name(vector_unit()) + ")");
#ifdef MER_HAS_AVX2_KERNELS
    if (unit == VectorUnit::avx2) return avx2;
#endif
    return baseline;
}

}  // namespace mer::dsp
