// The synthetic corpus carries the emotion it is labelled with: DEAM-like
// label statistics, determinism, and audio statistics that follow arousal.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/eval/metrics.hpp"
#include "core/synth/synthetic_corpus.hpp"

namespace {

Eigen::VectorXd column(const std::vector<mer::SynthSong>& songs, double mer::SynthSong::*field) {
    Eigen::VectorXd v(static_cast<Eigen::Index>(songs.size()));
    for (std::size_t i = 0; i < songs.size(); ++i) v(static_cast<Eigen::Index>(i)) = songs[i].*field;
    return v;
}

}  // namespace

TEST_CASE("200 synthetic songs have DEAM-like labels", "[synth]") {
    mer::SynthCorpusSpec spec;  // 200 songs of 45 s, seed 1
    std::vector<mer::SynthSong> songs;
    for (int i = 0; i < spec.songs; ++i) songs.push_back(mer::design_song(i, spec));
    const Eigen::VectorXd v = column(songs, &mer::SynthSong::valence_mean);
    const Eigen::VectorXd a = column(songs, &mer::SynthSong::arousal_mean);
    const double r = mer::pearson_r(v, a);
    INFO("valence-arousal correlation " << r);
    CHECK(r >= 0.4);
    CHECK(r <= 0.6);
    // Both spread over most of the 1–9 scale.
    CHECK(v.minCoeff() < 2.5);
    CHECK(v.maxCoeff() > 7.5);
    CHECK(a.minCoeff() < 2.5);
    CHECK(a.maxCoeff() > 7.5);
    // 2 Hz dynamic labels from 15 s to 45 s, consistent with the static mean.
    REQUIRE(songs[0].dynamic_arousal.size() == 60);
    Eigen::VectorXd dynamic_mean(static_cast<Eigen::Index>(songs.size()));
    for (std::size_t i = 0; i < songs.size(); ++i) {
        double sum = 0;
        for (double x : songs[i].dynamic_arousal) sum += x;
        dynamic_mean(static_cast<Eigen::Index>(i)) = 5 + 4 * sum / 60;
    }
    CHECK(mer::pearson_r(dynamic_mean, a) > 0.9);
}

TEST_CASE("the corpus depends only on its seed", "[synth]") {
    mer::SynthCorpusSpec spec;
    spec.seconds = 3;
    const mer::SynthSong a = mer::design_song(4, spec), b = mer::design_song(4, spec);
    CHECK(a.valence_mean == b.valence_mean);
    CHECK(mer::render_song(a, 8000) == mer::render_song(b, 8000));
    spec.seed = 2;
    CHECK(mer::design_song(4, spec).valence_mean != a.valence_mean);
}

TEST_CASE("loudness and onset rate of the audio follow arousal", "[synth]") {
    mer::SynthCorpusSpec spec;
    spec.seconds = 6;
    const int rate = 16000, songs = 30;
    Eigen::VectorXd arousal(songs), loudness_db(songs), onsets_per_second(songs);
    for (int i = 0; i < songs; ++i) {
        const mer::SynthSong song = mer::design_song(i, spec);
        const std::vector<float> audio = mer::render_song(song, rate);
        arousal(i) = song.arousal_mean;
        double sum = 0;
        for (float x : audio) sum += double(x) * x;
        loudness_db(i) = 10 * std::log10(sum / static_cast<double>(audio.size()));
        // Onsets: 10 ms frames whose energy jumps by 3 dB over the previous 30 ms.
        const int hop = rate / 100;
        std::vector<double> energy;
        for (std::size_t f = 0; f + hop <= audio.size(); f += hop) {
            double e = 1e-9;
            for (int k = 0; k < hop; ++k) e += double(audio[f + k]) * audio[f + k];
            energy.push_back(10 * std::log10(e));
        }
        int count = 0;
        for (std::size_t f = 3; f < energy.size(); ++f)
            if (energy[f] - std::max({energy[f - 1], energy[f - 2], energy[f - 3]}) > 3) ++count;
        onsets_per_second(i) = count / spec.seconds;
    }
    INFO("loudness r " << mer::pearson_r(loudness_db, arousal) << ", onset rate r "
                       << mer::pearson_r(onsets_per_second, arousal));
    CHECK(mer::pearson_r(loudness_db, arousal) > 0.6);
    CHECK(mer::pearson_r(onsets_per_second, arousal) > 0.4);
}
