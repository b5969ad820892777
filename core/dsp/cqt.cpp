// CQT by octaves, following librosa 0.10's vqt() step by step (see the
// fixture README): filters built per octave at that octave's rate, FFT'd,
// sparsified, applied to a rectangular-window STFT of the decimated signal.
#include "core/dsp/cqt.hpp"

#include <kissfft/kissfft.hh>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>

#include "core/audio/audio.hpp"
#include "core/dsp/stft.hpp"

namespace mer::dsp {

using cf = std::complex<float>;

// One octave's filters in the frequency domain (bins 0 … n_fft/2). Each
// sparsified filter is kept as the dense band between its first and last
// non-zero bin (zeros inside the band add nothing).
struct CqtFilters {
    int n_fft = 0;
    std::vector<BandFilter> rows;
};

namespace {

// Non-negative doubles in ascending order (their bit patterns sort as
// unsigned integers): a least-significant-byte-first radix sort, which on a
// filter's few hundred magnitudes beats std::sort's mispredicted branches.
// The order of non-negative doubles is unique, so the result is std::sort's.
void sort_magnitudes(std::vector<double>& values) {
    std::vector<std::uint64_t> keys(values.size()), spare(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(&keys[i], &values[i], sizeof(double));
    for (int shift = 0; shift < 64; shift += 8) {
        std::size_t count[257] = {};
        for (const std::uint64_t k : keys) ++count[((k >> shift) & 0xff) + 1];
        if (count[((keys.front() >> shift) & 0xff) + 1] == keys.size()) continue;  // one digit for all
        for (int d = 0; d < 256; ++d) count[d + 1] += count[d];
        for (const std::uint64_t k : keys) spare[count[(k >> shift) & 0xff]++] = k;
        keys.swap(spare);
    }
    for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(&values[i], &keys[i], sizeof(double));
}

// Periodic Hann windows by length: an octave's filters have the lengths of
// the octave above, so each is computed once per transform.
class Windows {
public:
    const std::vector<double>& of(int length) {
        auto [at, added] = windows_.try_emplace(length);
        if (added) at->second = hann_periodic(length);
        return at->second;
    }

private:
    std::map<int, std::vector<double>> windows_;
};

CqtFilters octave_filters(const std::vector<double>& freqs, double sr, double alpha, double filter_scale,
                          double sparsity, double rescale, Windows& windows) {
    std::vector<double> lengths;
    for (double f : freqs) lengths.push_back(filter_scale / alpha * sr / f);
    const double max_length = *std::max_element(lengths.begin(), lengths.end());
    const int n_fft = static_cast<int>(std::pow(2.0, std::ceil(std::log2(max_length))));
    const kissfft<double> fft(static_cast<std::size_t>(n_fft), false);

    std::vector<BandFilter> rows;
    std::vector<std::complex<double>> basis(static_cast<std::size_t>(n_fft)), spectrum(static_cast<std::size_t>(n_fft));
    for (std::size_t j = 0; j < freqs.size(); ++j) {
        const double L = lengths[j];
        const long start = static_cast<long>(std::floor(-L / 2)), stop = static_cast<long>(std::floor(L / 2));
        const int M = static_cast<int>(stop - start);
        std::vector<std::complex<double>> sig(static_cast<std::size_t>(M));
        const std::vector<double>& window = windows.of(M);
        double l1 = 0;
        for (int m = 0; m < M; ++m) {
            const double phase = static_cast<double>(start + m) * 2 * M_PI * freqs[j] / sr;
            sig[static_cast<std::size_t>(m)] =
                std::complex<double>(std::cos(phase), std::sin(phase)) * window[static_cast<std::size_t>(m)];
            l1 += std::abs(sig[static_cast<std::size_t>(m)]);
        }
        std::fill(basis.begin(), basis.end(), 0.0);
        const int pad = (n_fft - M) / 2;
        for (int m = 0; m < M; ++m) {
            // complex64 storage, then the in-place complex64 scaling by L/n_fft.
            const cf stored(sig[static_cast<std::size_t>(m)] / l1);
            const cf scaled(std::complex<double>(stored) * (L / n_fft));
            basis[static_cast<std::size_t>(pad + m)] = std::complex<double>(scaled);
        }
        fft.transform(basis.data(), spectrum.data());

        // Sparsify: drop the smallest magnitudes that together hold `sparsity` of the row's L1 mass.
        const int bins = n_fft / 2 + 1;
        std::vector<double> mags(static_cast<std::size_t>(bins));
        double total = 0;
        for (int k = 0; k < bins; ++k)
            total += mags[static_cast<std::size_t>(k)] = std::abs(spectrum[static_cast<std::size_t>(k)]);
        std::vector<double> sorted = mags;
        sort_magnitudes(sorted);
        double cumulative = 0;
        std::size_t cut = 0;
        for (; cut < sorted.size(); ++cut) {
            cumulative += sorted[cut] / total;
            if (!(cumulative < sparsity)) break;
        }
        const double threshold = sorted[std::min(cut, sorted.size() - 1)];
        int first = bins, last = -1;
        for (int k = 0; k < bins; ++k)
            if (mags[static_cast<std::size_t>(k)] >= threshold) first = std::min(first, k), last = k;
        BandFilter row;
        row.first = first;
        for (int k = first; k <= last; ++k) {
            const bool kept = mags[static_cast<std::size_t>(k)] >= threshold;
            const cf v = kept ? cf(std::complex<double>(cf(spectrum[static_cast<std::size_t>(k)])) * rescale) : cf(0);
            row.re.push_back(v.real());
            row.im.push_back(v.imag());
        }
        rows.push_back(std::move(row));
    }
    return {n_fft, std::move(rows)};
}

}  // namespace

std::vector<float> decimate_by_two(const std::vector<float>& y) {
    std::vector<float> out = resample(y, 2, 1);
    out.resize((y.size() + 1) / 2, 0.0f);
    for (auto& v : out) v = static_cast<float>(v / std::sqrt(0.5));  // librosa: y_hat /= sqrt(ratio)
    return out;
}

Eigen::MatrixXf cqt_magnitude(const std::vector<float>& y, int sr, double tuning, const CqtSettings& s,
                              CqtFilterCache* cache, VectorUnit unit) {
    const VectorKernels& kernels = vector_kernels(unit);
    const int bpo = s.bins_per_octave;
    std::vector<double> freqs(static_cast<std::size_t>(s.n_bins));
    const double correction = std::pow(2.0, tuning / bpo);
    for (int j = 0; j < s.n_bins; ++j)
        freqs[static_cast<std::size_t>(j)] = correction * s.fmin_hz * std::pow(2.0, static_cast<double>(j) / bpo);
    const double r = std::pow(2.0, 1.0 / bpo);
    const double alpha = (r * r - 1) / (r * r + 1);
    const int n_octaves = (s.n_bins + bpo - 1) / bpo;

    std::vector<Eigen::MatrixXcf> responses;  // top octave first
    Windows windows;
    std::vector<float> decimated;
    const std::vector<float>* signal = &y;
    double octave_sr = sr;
    int hop = s.hop;
    for (int i = 0; i < n_octaves; ++i) {
        const int hi = s.n_bins - bpo * i, lo = std::max(0, s.n_bins - bpo * (i + 1));
        std::vector<double> octave_freqs(freqs.begin() + lo, freqs.begin() + hi);
        const double rescale = std::sqrt(sr / octave_sr);
        const auto build = [&] {
            return octave_filters(octave_freqs, octave_sr, alpha, s.filter_scale, s.sparsity, rescale, windows);
        };
        std::vector<double> key = octave_freqs;
        key.insert(key.end(), {octave_sr, alpha, s.filter_scale, s.sparsity, rescale});
        const auto basis = cache ? cache->get(key, build) : std::make_shared<const CqtFilters>(build());
        const auto& filters = basis->rows;
        const int frames = frame_count(signal->size(), hop);
        Eigen::MatrixXcf response(static_cast<Eigen::Index>(filters.size()), frames);
        kernels.filter_responses(signal->data(), signal->size(), basis->n_fft, hop, frames, filters.data(),
                                 filters.size(), response.data());
        responses.push_back(std::move(response));
        if (hop % 2 == 0 && i + 1 < n_octaves) {
            hop /= 2;
            octave_sr /= 2;
            decimated = decimate_by_two(*signal);
            signal = &decimated;
        }
    }

    Eigen::Index frames = std::numeric_limits<Eigen::Index>::max();
    for (const auto& r : responses) frames = std::min(frames, r.cols());
    Eigen::MatrixXf out(s.n_bins, frames);
    int end = s.n_bins;
    for (const auto& resp : responses) {
        const int n = static_cast<int>(resp.rows());
        const int take = std::min(n, end);
        for (int b = 0; b < take; ++b) {
            const int bin = end - take + b;
            const double length = s.filter_scale / alpha * sr / freqs[static_cast<std::size_t>(bin)];
            const auto scale = static_cast<float>(1.0 / std::sqrt(length));
            for (Eigen::Index t = 0; t < frames; ++t) {
                const cf v = resp(n - take + b, t) * scale;
                out(bin, t) = std::sqrt(v.real() * v.real() + v.imag() * v.imag());
            }
        }
        end -= take;
    }
    return out;
}

Eigen::MatrixXf chroma_from_cqt(const Eigen::MatrixXf& cq, int bins_per_octave) {
    const int per_class = bins_per_octave / 12;
    Eigen::MatrixXf chroma = Eigen::MatrixXf::Zero(12, cq.cols());
    for (Eigen::Index b = 0; b < cq.rows(); ++b) {
        const long pitch_class = std::lround(std::nearbyint(static_cast<double>(b) / per_class)) % 12;
        chroma.row(pitch_class) += cq.row(b);
    }
    for (Eigen::Index t = 0; t < chroma.cols(); ++t) {
        const float peak = chroma.col(t).cwiseAbs().maxCoeff();
        if (peak >= std::numeric_limits<float>::min()) chroma.col(t) /= peak;
    }
    return chroma;
}

Eigen::MatrixXd tonnetz_from_chroma(const Eigen::MatrixXf& chroma) {
    Eigen::MatrixXd phi(6, 12);
    for (int k = 0; k < 12; ++k) {
        phi(0, k) = std::sin(7 * M_PI * k / 6);
        phi(1, k) = std::cos(7 * M_PI * k / 6);
        phi(2, k) = std::sin(3 * M_PI * k / 2);
        phi(3, k) = std::cos(3 * M_PI * k / 2);
        phi(4, k) = 0.5 * std::sin(2 * M_PI * k / 3);
        phi(5, k) = 0.5 * std::cos(2 * M_PI * k / 3);
    }
    Eigen::MatrixXf normalised = chroma;
    for (Eigen::Index t = 0; t < normalised.cols(); ++t) {
        const float sum = normalised.col(t).cwiseAbs().sum();
        if (sum >= std::numeric_limits<float>::min()) normalised.col(t) /= sum;
    }
    return phi * normalised.cast<double>();
}

}  // namespace mer::dsp
