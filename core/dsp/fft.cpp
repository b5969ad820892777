// kiss_fftr plan lifetime and the forward transform.
#include "core/dsp/fft.hpp"

#include <kissfft/kiss_fftr.h>

#include "core/error.hpp"

namespace mer::dsp {

static_assert(sizeof(kiss_fft_cpx) == sizeof(std::complex<float>), "kiss_fft_cpx must be two floats");

RealFft::RealFft(int n) : n_(n), plan_(nullptr) {
    if (n <= 0 || n % 2 != 0) throw Error("a real FFT needs an even length, got " + std::to_string(n));
    plan_ = kiss_fftr_alloc(n, 0, nullptr, nullptr);
    if (!plan_) throw Error("KissFFT could not allocate a plan of length " + std::to_string(n));
}

RealFft::~RealFft() { kiss_fftr_free(plan_); }

void RealFft::forward(const float* in, std::complex<float>* out) const {
    kiss_fftr(static_cast<kiss_fftr_cfg>(plan_), in, reinterpret_cast<kiss_fft_cpx*>(out));
}

}  // namespace mer::dsp
