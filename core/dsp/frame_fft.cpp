// Iterative radix-2 decimation-in-time FFT of n_fft/2 complex points (even
// samples real, odd samples imaginary), then the split that turns it into
// the n_fft-point real transform — per SIMD lane, one frame per lane.
#include "core/dsp/frame_fft.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace mer::dsp {

template <class S>
FrameFft<S>::FrameFft(int n_fft) : half_(n_fft / 2) {
    if (n_fft < 4 || (n_fft & (n_fft - 1)) != 0)
        throw Error("FrameFft needs a power-of-two length of at least 4, got " + std::to_string(n_fft));
    int bits = 0;
    while ((1 << bits) < half_) ++bits;
    reversed_.resize(static_cast<std::size_t>(half_));
    for (int i = 0; i < half_; ++i) {
        int r = 0;
        for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
        reversed_[static_cast<std::size_t>(i)] = r;
    }
    tw_re_.assign(static_cast<std::size_t>(half_), S(1));
    tw_im_.assign(static_cast<std::size_t>(half_), S(0));
    for (int m = 1; m < half_; m <<= 1)
        for (int j = 0; j < m; ++j) {
            const double phase = -M_PI * j / m;
            tw_re_[static_cast<std::size_t>(m + j)] = static_cast<S>(std::cos(phase));
            tw_im_[static_cast<std::size_t>(m + j)] = static_cast<S>(std::sin(phase));
        }
    for (int k = 0; k <= half_; ++k) {
        const double phase = -2.0 * M_PI * k / n_fft;
        post_re_.push_back(static_cast<S>(std::cos(phase)));
        post_im_.push_back(static_cast<S>(std::sin(phase)));
    }
    z_re_.resize(static_cast<std::size_t>(half_));
    z_im_.resize(static_cast<std::size_t>(half_));
    out_re_.resize(static_cast<std::size_t>(half_ + 1));
    out_im_.resize(static_cast<std::size_t>(half_ + 1));
}

template <class S>
void FrameFft<S>::transform_frames(const float* y, std::size_t n, int hop, int first, const std::vector<S>& window) {
    const long length = 2L * half_;
    const bool windowed = !window.empty();
    if (windowed && static_cast<long>(window.size()) != length)
        throw Error("FrameFft: window of " + std::to_string(window.size()) + " values for frames of " +
                    std::to_string(length));
    for (int l = 0; l < lanes; ++l) {
        const long start = static_cast<long>(first + l) * hop - length / 2;
        const bool inside = start >= 0 && start + length <= static_cast<long>(n);
        for (int i = 0; i < half_; ++i) {
            const long a = start + 2L * i, b = a + 1;
            S even, odd;
            if (inside) {
                even = static_cast<S>(y[a]), odd = static_cast<S>(y[b]);
            } else {
                even = a >= 0 && a < static_cast<long>(n) ? static_cast<S>(y[a]) : S(0);
                odd = b >= 0 && b < static_cast<long>(n) ? static_cast<S>(y[b]) : S(0);
            }
            if (windowed) {
                even *= window[static_cast<std::size_t>(2 * i)];
                odd *= window[static_cast<std::size_t>(2 * i + 1)];
            }
            const auto r = static_cast<std::size_t>(reversed_[static_cast<std::size_t>(i)]);
            z_re_[r][l] = even;
            z_im_[r][l] = odd;
        }
    }
    butterflies();

    // Split the half-length transform Z into the real transform X:
    // X[k] = (Z[k] + Z*[N−k])/2 − i·e^{−2πik/n}·(Z[k] − Z*[N−k])/2.
    const Vec half_v = Vec{} + S(0.5);
    out_re_[0] = z_re_[0] + z_im_[0];
    out_im_[0] = Vec{};
    out_re_[static_cast<std::size_t>(half_)] = z_re_[0] - z_im_[0];
    out_im_[static_cast<std::size_t>(half_)] = Vec{};
    for (int k = 1; k < half_; ++k) {
        const auto ku = static_cast<std::size_t>(k), mu = static_cast<std::size_t>(half_ - k);
        const Vec ar = z_re_[ku], ai = z_im_[ku], br = z_re_[mu], bi = -z_im_[mu];
        const Vec even_r = (ar + br) * half_v, even_i = (ai + bi) * half_v;
        const Vec odd_r = (ai - bi) * half_v, odd_i = (br - ar) * half_v;
        const S c = post_re_[ku], s = post_im_[ku];
        out_re_[ku] = even_r + (odd_r * c - odd_i * s);
        out_im_[ku] = even_i + (odd_i * c + odd_r * s);
    }
}

template <class S>
void FrameFft<S>::butterflies() {
    Vec* re = z_re_.data();
    Vec* im = z_im_.data();
    for (int base = 0; base < half_; base += 2) {  // first stage: twiddle 1
        const Vec ar = re[base], ai = im[base], br = re[base + 1], bi = im[base + 1];
        re[base] = ar + br, im[base] = ai + bi;
        re[base + 1] = ar - br, im[base + 1] = ai - bi;
    }
    for (int m = 2; m < half_; m <<= 1) {
        const S* wr = tw_re_.data() + m;
        const S* wi = tw_im_.data() + m;
        for (int base = 0; base < half_; base += 2 * m) {
            Vec* xr = re + base;
            Vec* xi = im + base;
            for (int j = 0; j < m; ++j) {
                const Vec br = xr[j + m] * wr[j] - xi[j + m] * wi[j];
                const Vec bi = xr[j + m] * wi[j] + xi[j + m] * wr[j];
                const Vec ar = xr[j], ai = xi[j];
                xr[j] = ar + br, xi[j] = ai + bi;
                xr[j + m] = ar - br, xi[j + m] = ai - bi;
            }
        }
    }
}

template class FrameFft<float>;
template class FrameFft<double>;

}  // namespace mer::dsp
