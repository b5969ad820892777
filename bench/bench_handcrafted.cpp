// Throughput of the handcrafted-feature pipeline on 45-s MP3 excerpts: decode
// (libsndfile) + resample (libsoxr) + all 386 features, per stage for one
// song, then the real plugin over a corpus on 1 thread and on every core.
// Prints seconds per song, songs per second, × real time per core and peak RSS.
// A ctest case runs it on two songs, so that it cannot rot unnoticed.
//
//   build/bin/mer-bench-handcrafted [--songs 24] [--corpus DIR]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "core/audio/audio.hpp"
#include "core/dsp/chroma.hpp"
#include "core/dsp/contrast.hpp"
#include "core/dsp/cqt.hpp"
#include "core/dsp/mel.hpp"
#include "core/dsp/stft.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/synth/synthetic_corpus.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

static double time_it(const std::function<void()>& f, int repeats = 3) {
    double best = 1e9;
    for (int i = 0; i < repeats; ++i) {
        const auto start = Clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
    }
    return best;
}

static double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;
}

static int bench(int argc, char** argv) {
    int songs = 24;
    fs::path corpus;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--songs")) songs = std::stoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--corpus")) corpus = argv[i + 1];
    }
    if (corpus.empty()) corpus = fs::temp_directory_path() / ("mer-bench-corpus-" + std::to_string(songs));
    if (!fs::exists(corpus / "MEMD_audio")) {
        mer::SynthCorpusSpec spec;
        spec.songs = songs;
        const auto report = mer::write_synthetic_corpus(corpus, spec);
        std::printf("generated %d 45-s MP3s in %s (%.1f s)\n", songs, corpus.c_str(), report.wall_seconds);
    }
    std::vector<std::string> files;
    for (int id = 1; id <= songs; ++id)
        files.push_back((corpus / "MEMD_audio" / (std::to_string(id) + ".mp3")).string());

    // Stages on one song, best of three.
    std::vector<float> y44, y;
    const double t_decode = time_it([&] { y44 = mer::load_audio(files[0], 0).samples; });
    const double t_resample = time_it([&] { y = mer::resample(y44, 44100, 22050); });
    mer::dsp::Spectrogram S;
    const double t_stft = time_it([&] { S = mer::dsp::spectrogram(y.data(), y.size(), 2048, 512); });
    const Eigen::SparseMatrix<float, Eigen::RowMajor> mel_fb =
        mer::dsp::mel_filterbank(22050, 2048, 128, 0, 11025).sparseView();
    const Eigen::MatrixXf dct = mer::dsp::dct_ortho(40, 128).cast<float>();
    Eigen::MatrixXf mel;
    const double t_mel = time_it([&] { mel = mel_fb * S.power; });
    const double t_mfcc = time_it([&] { Eigen::MatrixXf m = dct * mer::dsp::power_to_db(mel); });
    const double t_chroma = time_it([&] {
        const double tuning = mer::dsp::estimate_tuning(S.power, 22050, 2048, 12);
        Eigen::MatrixXf c = mer::dsp::chroma_filterbank(22050, 2048, tuning) * S.power;
        mer::dsp::normalize_columns_max(c);
    });
    const double t_contrast = time_it([&] { mer::dsp::spectral_contrast(S.magnitude, 22050, 2048); });
    mer::dsp::CqtFilterCache cqt_filters;  // as the plugin: built on the first song, reused after
    const double t_tonnetz = time_it([&] {
        const double tuning = mer::dsp::estimate_tuning(S.magnitude, 22050, 2048, 36);
        mer::dsp::tonnetz_from_chroma(
            mer::dsp::chroma_from_cqt(mer::dsp::cqt_magnitude(y, 22050, tuning, {}, &cqt_filters)));
    });
    std::printf(
        "one 45-s song, best of 3 (s): decode %.4f  resample %.4f  stft %.4f  mel %.4f  mfcc %.4f  "
        "chroma %.4f  contrast %.4f  tonnetz(cqt) %.4f\n",
        t_decode, t_resample, t_stft, t_mel, t_mfcc, t_chroma, t_contrast, t_tonnetz);

    // The real plugin over the corpus with a run's parameters (its schema's
    // defaults, as a run fills them in: a parameter added later cannot break
    // the benchmark), cache off.
    mer::PluginRegistry registry;
    registry.scan(mer::PluginRegistry::default_folders());
    const nlohmann::json params = mer::SchemaValidator(registry.get("features.handcrafted").schema)
                                      .with_defaults({{"cache", false}});
    auto plugin = registry.create<mer::FeaturesPlugin>("features.handcrafted", params);
    mer::SongTable table;
    for (int i = 0; i < songs; ++i) {
        table.song_ids.push_back(std::to_string(i + 1));
        table.groups.push_back(table.song_ids.back());
        table.audio_paths.push_back(files[static_cast<std::size_t>(i)]);
    }
    table.features.resize(songs, 0);
    table.targets.resize(songs, 0);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int threads : {1, cores}) {
        mer::PluginContext ctx;
        ctx.threads = threads;
        const auto start = Clock::now();
        const mer::SongTable out = plugin->extract(table, ctx);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        const double audio = 45.0 * static_cast<double>(out.size());
        std::printf(
            "full pipeline, %d thread%s: %d songs × %zu features in %.2f s: %.3f s/song/thread, %.2f songs/s, "
            "%.0fx real time per core\n",
            threads, threads == 1 ? "" : "s", static_cast<int>(out.size()), out.feature_names.size(), seconds,
            seconds * threads / out.size(), out.size() / seconds, audio / seconds / threads);
        if (threads == cores) break;
    }
    std::printf("peak RSS %.0f MiB\n", peak_rss_mib());
    return 0;
}

int main(int argc, char** argv) {
    try {
        return bench(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mer-bench-handcrafted: %s\n", e.what());
        return 1;
    }
}
