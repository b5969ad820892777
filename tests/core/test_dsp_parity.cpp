// librosa parity of the DSP primitives on the fixtures in tests/fixtures: the four WAVs
// and librosa 0.10.1's frame matrices (tests/fixtures/librosa/README.md).
// Bounds per group as the handcrafted-features issue sets them.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/dsp/chroma.hpp"
#include "core/dsp/contrast.hpp"
#include "core/dsp/cqt.hpp"
#include "core/dsp/mel.hpp"
#include "core/dsp/stft.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    std::string name;
    json reference;
    std::vector<float> y;
};

const std::vector<Fixture>& all_fixtures_dir() {
    static const std::vector<Fixture> list = [] {
        std::vector<Fixture> out;
        for (const char* name : {"c_major_triad", "a_minor_triad", "chirp_noise", "clicks_bass"}) {
            Fixture f;
            f.name = name;
            f.reference = json::parse(read_file(fixtures_dir() / "librosa" / (std::string(name) + ".json")));
            f.y = mer::load_audio(fixtures_dir() / "audio" / (std::string(name) + ".wav"), 22050).samples;
            out.push_back(std::move(f));
        }
        return out;
    }();
    return list;
}

Eigen::MatrixXd matrix(const json& rows) {
    Eigen::MatrixXd m(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows[0].size()));
    for (Eigen::Index r = 0; r < m.rows(); ++r)
        for (Eigen::Index c = 0; c < m.cols(); ++c)
            m(r, c) = rows[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)];
    return m;
}

double worst_abs(const Eigen::MatrixXd& ours, const Eigen::MatrixXd& ref) {
    REQUIRE(ours.rows() == ref.rows());
    REQUIRE(ours.cols() == ref.cols());
    return (ours - ref).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("fixtures decode exactly as librosa.load", "[dsp][parity]") {
    for (const auto& f : all_fixtures_dir()) {
        CHECK(f.y.size() == f.reference["audio"]["n_samples"].get<std::size_t>());
        CHECK(mer::sha256_file(fixtures_dir() / "audio" / (f.name + ".wav")) == f.reference["audio"]["sha256"]);
    }
}

TEST_CASE("mel power, dB and MFCC frames match librosa", "[dsp][parity]") {
    const Eigen::MatrixXf W = mer::dsp::mel_filterbank(22050, 2048, 128, 0.0, 11025.0);
    const Eigen::MatrixXd dct = mer::dsp::dct_ortho(40, 128);
    for (const auto& f : all_fixtures_dir()) {
        INFO(f.name);
        const auto S = mer::dsp::spectrogram(f.y.data(), f.y.size(), 2048, 512);
        REQUIRE(S.power.cols() == 259);
        const Eigen::MatrixXf mel = W * S.power;
        const Eigen::MatrixXd ref = matrix(f.reference["frames"]["mel_power_first8"]);
        const Eigen::MatrixXd ours = mel.leftCols(8).cast<double>();
        const double floor = mel.maxCoeff() * 1e-8;  // −80 dB below the peak
        double worst = 0;
        for (Eigen::Index i = 0; i < ref.size(); ++i)
            if (ref(i) > floor) worst = std::max(worst, std::abs(ours(i) - ref(i)) / ref(i));
        CHECK(worst <= 1e-3);

        const Eigen::MatrixXf db = mer::dsp::power_to_db(mel);
        CHECK(worst_abs(db.leftCols(8).cast<double>(), matrix(f.reference["frames"]["mel_db_first8"])) <= 1e-3);

        const Eigen::MatrixXd mfcc = dct * db.cast<double>();
        const Eigen::MatrixXd mfcc_ref = matrix(f.reference["frames"]["mfcc"]);
        double mfcc_worst = 0;
        for (Eigen::Index i = 0; i < mfcc_ref.size(); ++i)
            mfcc_worst = std::max(mfcc_worst, std::abs(mfcc(i) - mfcc_ref(i)) / std::max(1.0, std::abs(mfcc_ref(i))));
        CHECK(mfcc_worst <= 1e-3);
    }
}

TEST_CASE("tuning, chroma_stft and spectral contrast match librosa", "[dsp][parity]") {
    for (const auto& f : all_fixtures_dir()) {
        INFO(f.name);
        const auto S = mer::dsp::spectrogram(f.y.data(), f.y.size(), 2048, 512);
        const double tuning = mer::dsp::estimate_tuning(S.power, 22050, 2048, 12);
        CHECK(tuning == Approx(f.reference["derived"]["tuning_chroma_stft"].get<double>()).margin(1e-9));
        Eigen::MatrixXf chroma = mer::dsp::chroma_filterbank(22050, 2048, tuning) * S.power;
        mer::dsp::normalize_columns_max(chroma);
        CHECK(worst_abs(chroma.cast<double>(), matrix(f.reference["frames"]["chroma_stft"])) <= 1e-3);

        const Eigen::MatrixXd contrast = mer::dsp::spectral_contrast(S.magnitude, 22050, 2048);
        CHECK(worst_abs(contrast, matrix(f.reference["frames"]["spectral_contrast"])) <= 1e-3);
    }
}

TEST_CASE("CQT tuning, chroma_cqt and tonnetz match librosa", "[dsp][parity]") {
    for (const auto& f : all_fixtures_dir()) {
        INFO(f.name);
        const auto S = mer::dsp::spectrogram(f.y.data(), f.y.size(), 2048, 512);
        const double tuning = mer::dsp::estimate_tuning(S.magnitude, 22050, 2048, 36);
        CHECK(tuning == Approx(f.reference["derived"]["tuning_cqt"].get<double>()).margin(1e-9));
        const Eigen::MatrixXf cq = mer::dsp::cqt_magnitude(f.y, 22050, tuning);
        REQUIRE(cq.rows() == 252);
        REQUIRE(cq.cols() == 259);
        const Eigen::MatrixXf chroma = mer::dsp::chroma_from_cqt(cq);
        CHECK(worst_abs(chroma.cast<double>(), matrix(f.reference["frames"]["chroma_cqt"])) <= 5e-3);
        const Eigen::MatrixXd tonnetz = mer::dsp::tonnetz_from_chroma(chroma);
        CHECK(worst_abs(tonnetz, matrix(f.reference["frames"]["tonnetz"])) <= 5e-3);
    }
}
