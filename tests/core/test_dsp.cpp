// DSP primitives against independent references: the batched frame FFT of
// every vector unit this CPU runs against KissFFT, frame by frame, at the
// lengths and hops the features use; the spectrogram and the CQT the same
// bit for bit on every unit; the CQT with and without its filter cache.
#include <Eigen/SparseCore>
#include <catch2/catch.hpp>

#include <kissfft/kissfft.hh>

#include <cmath>
#include <complex>
#include <random>
#include <type_traits>
#include <vector>

#include "core/dsp/contrast.hpp"
#include "core/dsp/cqt.hpp"
#include "core/dsp/mel.hpp"
#include "core/dsp/stft.hpp"
#include "core/dsp/vector_kernels.hpp"
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

std::vector<float> test_signal(std::size_t n) {
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0.0f, 0.3f);
    std::vector<float> y(n);
    for (std::size_t i = 0; i < y.size(); ++i)
        y[i] = noise(rng) + 0.5f * static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
    return y;
}

template <class S>
double worst_relative_error(mer::dsp::VectorUnit unit, int n, int hop, bool windowed) {
    const std::vector<float> y = test_signal(static_cast<std::size_t>(20 * n + 37));
    const std::vector<double> window_d = windowed ? mer::dsp::hann_periodic(n) : std::vector<double>{};
    const std::vector<S> window(window_d.begin(), window_d.end());
    const int frames = mer::dsp::frame_count(y.size(), hop), bins = n / 2 + 1;
    std::vector<std::complex<S>> got(static_cast<std::size_t>(frames * bins));
    const auto& kernels = mer::dsp::vector_kernels(unit);
    const S* w = windowed ? window.data() : nullptr;
    if constexpr (std::is_same_v<S, float>)
        kernels.frame_spectra_float(y.data(), y.size(), n, hop, 0, frames, w, got.data());
    else
        kernels.frame_spectra_double(y.data(), y.size(), n, hop, 0, frames, w, got.data());
    double worst = 0, peak = 0;
    for (int t = 0; t < frames; ++t) {
        const auto expected = kiss_frame(y, n, hop, t, window_d);
        for (int k = 0; k < bins; ++k) {
            const std::complex<double> value(got[static_cast<std::size_t>(t * bins + k)]);
            worst = std::max(worst, std::abs(value - expected[static_cast<std::size_t>(k)]));
            peak = std::max(peak, std::abs(expected[static_cast<std::size_t>(k)]));
        }
    }
    return worst / peak;
}

}  // namespace

TEST_CASE("batched frame FFTs equal KissFFT frame by frame on every vector unit", "[dsp]") {
    for (const auto unit : mer::dsp::vector_units()) {
        for (int n : {4, 8, 256, 1024, 2048}) {
            for (bool windowed : {false, true}) {
                INFO(mer::dsp::vector_unit_name(unit)
                     << ": n_fft " << n << (windowed ? ", Hann window" : ", rectangular"));
                CHECK(worst_relative_error<double>(unit, n, n / 4, windowed) < 1e-13);
                CHECK(worst_relative_error<float>(unit, n, n / 4 + 3, windowed) < 2e-6);
            }
        }
    }
}

TEST_CASE("frame FFT lengths must be powers of two", "[dsp]") {
    const std::vector<float> y(4096, 0.1f);
    CHECK_THROWS_WITH(mer::dsp::spectrogram(y.data(), y.size(), 1000, 256),
                      Catch::Contains("power-of-two length of at least 4, got 1000"));
    CHECK_THROWS_AS(mer::dsp::spectrogram(y.data(), y.size(), 2, 1), mer::Error);
}

// The units differ only in how many frames share an instruction: the same
// operations in the same order, so the same bits — a cluster of mixed CPUs
// gives the same features. 7.3 s of signal: the frame counts are not
// multiples of any unit's lanes, and the edge frames are partly outside.
TEST_CASE("every vector unit gives the same spectrogram and CQT and contrast bit for bit", "[dsp]") {
    const std::vector<float> y = test_signal(static_cast<std::size_t>(22050 * 7.3));
    const auto units = mer::dsp::vector_units();
    INFO("this CPU runs " << units.size() << " unit(s), the widest " << mer::dsp::vector_unit_name(units.back()));
    const auto reference = mer::dsp::spectrogram(y.data(), y.size(), 2048, 512, units.front());
    const Eigen::MatrixXf reference_cq = mer::dsp::cqt_magnitude(y, 22050, 0.1, {}, nullptr, units.front());
    for (const auto unit : units) {
        INFO(mer::dsp::vector_unit_name(unit));
        const auto s = mer::dsp::spectrogram(y.data(), y.size(), 2048, 512, unit);
        CHECK(s.power == reference.power);
        CHECK(s.magnitude == reference.magnitude);
        CHECK(mer::dsp::cqt_magnitude(y, 22050, 0.1, {}, nullptr, unit) == reference_cq);
        CHECK(mer::dsp::spectral_contrast(s.magnitude, 22050, 2048, 200.0, 6, 0.02, unit) ==
              mer::dsp::spectral_contrast(reference.magnitude, 22050, 2048, 200.0, 6, 0.02, units.front()));
    }
    CHECK(mer::dsp::vector_unit() == units.back());
}

// The banded product keeps Eigen's order of operations per entry, so the
// mel bands (and every feature after them) keep their bits. 303 frames: the
// last three are left over from the blocks of four.
TEST_CASE("the banded mel product equals Eigen's sparse product bit for bit", "[dsp]") {
    const std::vector<float> y = test_signal(static_cast<std::size_t>(512 * 302));
    const auto S = mer::dsp::spectrogram(y.data(), y.size(), 2048, 512);
    REQUIRE(S.power.cols() == 303);
    const Eigen::MatrixXf dense = mer::dsp::mel_filterbank(22050, 2048, 128, 0.0, 11025.0);
    const Eigen::SparseMatrix<float, Eigen::RowMajor> sparse = dense.sparseView();
    const Eigen::MatrixXf expected = sparse * S.power;
    const Eigen::MatrixXf got = mer::dsp::BandedFilterbank(dense).apply(S.power);
    CHECK(got == expected);
    CHECK(got.cwiseAbs().maxCoeff() > 0);
    CHECK_THROWS_WITH(mer::dsp::BandedFilterbank(dense).apply(S.power.topRows(1024)),
                      Catch::Contains("has 1024 bins, the filterbank 1025"));
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
