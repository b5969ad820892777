// DSP primitives against independent references: the batched FFT against
// KissFFT, frame by frame, at the lengths and hops the features use; the CQT
// with and without its filter cache.
#include <catch2/catch.hpp>

#include <kissfft/kissfft.hh>

#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "core/dsp/cqt.hpp"
#include "core/dsp/frame_fft.hpp"
#include "core/dsp/stft.hpp"
#include "core/error.hpp"

namespace {

// Bins 0 … n/2 of the centred frame t (zeros outside y), windowed, by KissFFT in double.
std::vector<std::complex<double>> kiss_frame(const std::vector<float>& y, int n, int hop, int t,
                                             const std::vector<double>& window) {
    std::vector<std::complex<double>> in(static_cast<std::size_t>(n)), out(static_cast<std::size_t>(n));
    const long start = static_cast<long>(t) * hop - n / 2;
    for (long i = 0; i < n; ++i) {
        const long at = start + i;
        const double v = at >= 0 && at < static_cast<long>(y.size()) ? y[static_cast<std::size_t>(at)] : 0.0;
        in[static_cast<std::size_t>(i)] = v * (window.empty() ? 1.0 : window[static_cast<std::size_t>(i)]);
    }
    kissfft<double>(static_cast<std::size_t>(n), false).transform(in.data(), out.data());
    out.resize(static_cast<std::size_t>(n / 2 + 1));
    return out;
}

template <class S>
double worst_relative_error(int n, int hop, bool windowed) {
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0.0f, 0.3f);
    std::vector<float> y(static_cast<std::size_t>(20 * n + 37));
    for (std::size_t i = 0; i < y.size(); ++i)
        y[i] = noise(rng) + 0.5f * static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
    const std::vector<double> window_d = windowed ? mer::dsp::hann_periodic(n) : std::vector<double>{};
    const std::vector<S> window(window_d.begin(), window_d.end());
    mer::dsp::FrameFft<S> fft(n);
    const int frames = mer::dsp::frame_count(y.size(), hop);
    double worst = 0, peak = 0;
    for (int first = 0; first < frames; first += fft.lanes) {
        fft.transform_frames(y.data(), y.size(), hop, first, window);
        for (int l = 0; l < fft.lanes && first + l < frames; ++l) {
            const auto expected = kiss_frame(y, n, hop, first + l, window_d);
            for (int k = 0; k <= n / 2; ++k) {
                const std::complex<double> got(fft.real()[k][l], fft.imag()[k][l]);
                worst = std::max(worst, std::abs(got - expected[static_cast<std::size_t>(k)]));
                peak = std::max(peak, std::abs(expected[static_cast<std::size_t>(k)]));
            }
        }
    }
    return worst / peak;
}

}  // namespace

TEST_CASE("batched frame FFTs equal KissFFT frame by frame", "[dsp]") {
    for (int n : {4, 8, 256, 1024, 2048}) {
        for (bool windowed : {false, true}) {
            INFO("n_fft " << n << (windowed ? ", Hann window" : ", rectangular"));
            CHECK(worst_relative_error<double>(n, n / 4, windowed) < 1e-13);
            CHECK(worst_relative_error<float>(n, n / 4 + 3, windowed) < 2e-6);
        }
    }
}

TEST_CASE("frame FFT lengths must be powers of two", "[dsp]") {
    CHECK_THROWS_WITH(mer::dsp::FrameFft<float>(1000), Catch::Contains("power-of-two length of at least 4, got 1000"));
    CHECK_THROWS_AS(mer::dsp::FrameFft<double>(2), mer::Error);
}

TEST_CASE("a CQT filter cache gives each tuning its own filters", "[dsp]") {
    std::vector<float> y(22050 * 3);
    for (std::size_t i = 0; i < y.size(); ++i)
        y[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 440.0 * static_cast<double>(i) / 22050));
    mer::dsp::CqtFilterCache cache;
    for (double tuning : {0.0, 0.23, 0.0}) {
        INFO("tuning " << tuning);
        const Eigen::MatrixXf fresh = mer::dsp::cqt_magnitude(y, 22050, tuning);
        const Eigen::MatrixXf cached = mer::dsp::cqt_magnitude(y, 22050, tuning, {}, &cache);
        CHECK(cached == fresh);
    }
    // The tuning moves the filters: A4 lands in different bins.
    CHECK(mer::dsp::cqt_magnitude(y, 22050, 0.0, {}, &cache) != mer::dsp::cqt_magnitude(y, 22050, 0.23, {}, &cache));
}
