// Mel filterbank (Slaney scale and area normalisation, librosa's default),
// dB conversion with a global top_db floor, and the orthonormal DCT-II that
// turns dB mel bands into MFCCs.
#pragma once

#include <Eigen/Core>
#include <vector>

namespace mer::dsp {

double hz_to_mel_slaney(double hz);
double mel_to_hz_slaney(double mel);

// n_mels × (n_fft/2 + 1), float32 as librosa's filters.mel(htk=False, norm="slaney").
Eigen::MatrixXf mel_filterbank(int sample_rate_hz, int n_fft, int n_mels, double fmin_hz, double fmax_hz);

// A filterbank kept as its non-zero band per row, applied to a spectrogram
// (bins × frames): entry (i, t) is the sum over row i's non-zeros, in bin
// order from zero — Eigen's sparse × dense product, bit for bit — computed
// for four frames at once so that the sums do not wait on one another.
class BandedFilterbank {
public:
    BandedFilterbank() = default;
    explicit BandedFilterbank(const Eigen::MatrixXf& dense);
    Eigen::MatrixXf apply(const Eigen::MatrixXf& spectrogram) const;

private:
    struct Row {  // the row's non-zeros, in bin order
        std::vector<Eigen::Index> bins;
        std::vector<float> weights;
    };
    Eigen::Index bins_ = 0;
    std::vector<Row> rows_;
};

// 10·log10(max(amin, S)) − 10·log10(max(amin, ref)), floored at max − top_db
// where the max is over the whole matrix (top_db ≤ 0 disables the floor).
Eigen::MatrixXf power_to_db(const Eigen::MatrixXf& power, double ref = 1.0, double amin = 1e-10, double top_db = 80.0);
Eigen::MatrixXd power_to_db(const Eigen::MatrixXd& power, double ref = 1.0, double amin = 1e-10, double top_db = 80.0);

// Orthonormal DCT-II rows k = 0 … n_out−1 over n_in inputs.
Eigen::MatrixXd dct_ortho(int n_out, int n_in);

}  // namespace mer::dsp
