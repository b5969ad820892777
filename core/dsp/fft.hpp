// Real-input FFT on KissFFT (single precision, kiss_fftr), wrapped once:
// one plan per object, not shared between threads (kiss_fftr keeps scratch
// space in its plan).
#pragma once

#include <complex>
#include <memory>

namespace mer::dsp {

class RealFft {
public:
    explicit RealFft(int n);
    ~RealFft();
    RealFft(const RealFft&) = delete;
    RealFft& operator=(const RealFft&) = delete;

    int size() const { return n_; }
    // `in` holds n samples; `out` receives bins 0 … n/2.
    void forward(const float* in, std::complex<float>* out) const;

private:
    int n_;
    void* plan_;
};

}  // namespace mer::dsp
