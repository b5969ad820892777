// Speed of the handcrafted-feature pipeline (features.handcrafted, the
// parameters a run uses, cache off) on 45-s 44.1 kHz stereo MP3s, the same
// songs in one run:
// * each stage on one song, on the widest vector unit, and the stages that
//   have vector kernels on every unit this CPU runs;
// * the node against its own decode + resample (1 thread, s/song, the ratio);
// * the node on the same songs as 22.05 kHz WAV files, and on 6-s clips of
//   them, against librosa on those files (bench/python/librosa_features.py,
//   where PYTHON imports librosa: it is not a Debian package);
// * the node on every core: songs/s, × real time per core; peak RSS.
// A ctest case runs it on two songs, so that it cannot rot unnoticed.
//
// With --node-only, only the node on the MP3s on one thread (what
// bench/features/profile.sh records with perf).
//
//   build/bin/mer-bench-handcrafted [--songs 24] [--corpus DIR] [--python /usr/bin/python3] [--node-only]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <thread>

#include "core/audio/audio.hpp"
#include "core/dsp/chroma.hpp"
#include "core/dsp/contrast.hpp"
#include "core/dsp/cqt.hpp"
#include "core/dsp/mel.hpp"
#include "core/dsp/stft.hpp"
#include "core/dsp/vector_kernels.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/synth/synthetic_corpus.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRate = 22050;
constexpr double kSongSeconds = 45.0;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double time_it(const std::function<void()>& f, int repeats = 3) {
    double best = 1e9;
    for (int i = 0; i < repeats; ++i) {
        const auto start = Clock::now();
        f();
        best = std::min(best, seconds_since(start));
    }
    return best;
}

double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;
}

// Each stage on one song, best of three.
void print_stages(const std::string& file) {
    std::vector<float> y44, y;
    const double t_decode = time_it([&] { y44 = mer::load_audio(file, 0).samples; });
    const double t_resample = time_it([&] { y = mer::resample(y44, 44100, kRate); });
    mer::dsp::Spectrogram S;
    const double t_stft = time_it([&] { S = mer::dsp::spectrogram(y.data(), y.size(), 2048, 512); });
    const mer::dsp::BandedFilterbank mel_fb(mer::dsp::mel_filterbank(kRate, 2048, 128, 0, kRate / 2.0));
    const Eigen::MatrixXf dct = mer::dsp::dct_ortho(40, 128).cast<float>();
    Eigen::MatrixXf mel;
    const double t_mel = time_it([&] { mel = mel_fb.apply(S.power); });
    const double t_mfcc = time_it([&] { Eigen::MatrixXf m = dct * mer::dsp::power_to_db(mel); });
    const double t_chroma = time_it([&] {
        const double tuning = mer::dsp::estimate_tuning(S.power, kRate, 2048, 12);
        Eigen::MatrixXf c = mer::dsp::chroma_filterbank(kRate, 2048, tuning) * S.power;
        mer::dsp::normalize_columns_max(c);
    });
    const double t_contrast = time_it([&] { mer::dsp::spectral_contrast(S.magnitude, kRate, 2048); });
    mer::dsp::CqtFilterCache cqt_filters;  // as the plugin: built on the first song, reused after
    double tuning = 0;
    const double t_tonnetz = time_it([&] {
        tuning = mer::dsp::estimate_tuning(S.magnitude, kRate, 2048, 36);
        mer::dsp::tonnetz_from_chroma(
            mer::dsp::chroma_from_cqt(mer::dsp::cqt_magnitude(y, kRate, tuning, {}, &cqt_filters)));
    });
    std::printf(
        "one 45-s song, best of 3 (s), %s: decode %.4f  resample %.4f  stft %.4f  mel %.4f  mfcc %.4f  "
        "chroma %.4f  contrast %.4f  tonnetz(cqt) %.4f\n",
        mer::dsp::vector_unit_name(mer::dsp::vector_unit()), t_decode, t_resample, t_stft, t_mel, t_mfcc, t_chroma,
        t_contrast, t_tonnetz);
    // The stages with vector kernels on each unit (the same bits on each).
    for (const auto unit : mer::dsp::vector_units()) {
        const double stft = time_it([&] { mer::dsp::spectrogram(y.data(), y.size(), 2048, 512, unit); });
        const double cqt = time_it([&] { mer::dsp::cqt_magnitude(y, kRate, tuning, {}, &cqt_filters, unit); });
        const double contrast =
            time_it([&] { mer::dsp::spectral_contrast(S.magnitude, kRate, 2048, 200.0, 6, 0.02, unit); });
        std::printf("vector unit %-5s stft %.4f  cqt %.4f  contrast %.4f\n", mer::dsp::vector_unit_name(unit), stft,
                    cqt, contrast);
    }
}

mer::SongTable song_table(const std::vector<std::string>& files) {
    mer::SongTable table;
    for (std::size_t i = 0; i < files.size(); ++i) {
        table.song_ids.push_back(std::to_string(i + 1));
        table.groups.push_back(table.song_ids.back());
        table.audio_paths.push_back(files[i]);
    }
    table.features.resize(static_cast<Eigen::Index>(files.size()), 0);
    table.targets.resize(static_cast<Eigen::Index>(files.size()), 0);
    return table;
}

// Wall seconds of the node over `files` on `threads` threads.
double node_seconds(mer::FeaturesPlugin& plugin, const std::vector<std::string>& files, int threads,
                    std::size_t* features = nullptr) {
    mer::PluginContext ctx;
    ctx.threads = threads;
    const auto start = Clock::now();
    const mer::SongTable out = plugin.extract(song_table(files), ctx);
    const double seconds = seconds_since(start);
    if (out.size() != files.size())
        throw std::runtime_error("the node kept " + std::to_string(out.size()) + " of " +
                                 std::to_string(files.size()) + " songs");
    if (features) *features = out.feature_names.size();
    return seconds;
}

// librosa's s/file on `files` (bench/python/librosa_features.py), or 0 where
// it cannot run; its own lines are printed as they come.
double librosa_seconds(const std::string& python, const std::vector<std::string>& files) {
    std::string command = python + " " MER_SOURCE_DIR "/bench/python/librosa_features.py";
    for (const auto& f : files) command += " '" + f + "'";
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return 0;
    double seconds = 0;
    char line[4096];
    while (std::fgets(line, sizeof line, pipe)) {
        std::printf("  %s", line);
        if (const char* at = std::strstr(line, ": ");
            at && std::strstr(line, "s/file") && !std::strncmp(line, "librosa", 7))
            seconds = std::atof(at + 2);
    }
    return pclose(pipe) == 0 ? seconds : 0;
}

// Two 6-s clips of each file, from 10 s and from 30 s (different music, so
// mostly a tuning of their own), as 22.05 kHz WAV files in `folder`.
std::vector<std::string> cut_clips(const std::vector<std::string>& wavs, const fs::path& folder) {
    fs::create_directories(folder);
    std::vector<std::string> clips;
    for (std::size_t i = 0; i < wavs.size(); ++i) {
        std::vector<float> y;  // the song, read once for both clips if either is missing
        for (int from : {10, 30}) {
            const fs::path clip = folder / (std::to_string(i + 1) + "-" + std::to_string(from) + ".wav");
            if (!fs::exists(clip)) {
                if (y.empty()) y = mer::load_audio(wavs[i], kRate).samples;
                if (y.size() < static_cast<std::size_t>((from + 6) * kRate)) continue;
                const auto first = y.begin() + from * kRate;
                fs::path part = clip;  // renamed when whole: an interrupted run leaves no half clip
                part += ".part.wav";
                mer::write_audio(part, std::vector<float>(first, first + 6 * kRate), kRate);
                fs::rename(part, clip);
            }
            clips.push_back(clip.string());
        }
    }
    return clips;
}

int bench(int argc, char** argv) {
    int songs = 24;
    fs::path corpus;
    std::string python = "/usr/bin/python3";
    bool node_only = false;
    for (int i = 1; i < argc; ++i)
        if (!std::strcmp(argv[i], "--node-only")) node_only = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--songs")) songs = std::stoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--corpus")) corpus = argv[i + 1];
        if (!std::strcmp(argv[i], "--python")) python = argv[i + 1];
    }
    if (corpus.empty()) corpus = fs::temp_directory_path() / ("mer-bench-corpus-" + std::to_string(songs));
    if (!fs::exists(corpus / "MEMD_audio")) {
        mer::SynthCorpusSpec spec;
        spec.songs = songs;
        const auto report = mer::write_synthetic_corpus(corpus, spec);
        std::printf("generated %d 45-s MP3s in %s (%.1f s)\n", songs, corpus.c_str(), report.wall_seconds);
    }
    std::vector<std::string> mp3s, wavs;
    fs::create_directories(corpus / "wav22");
    for (int id = 1; id <= songs; ++id) {
        mp3s.push_back((corpus / "MEMD_audio" / (std::to_string(id) + ".mp3")).string());
        wavs.push_back((corpus / "wav22" / (std::to_string(id) + ".wav")).string());
    }
    // The real plugin with a run's parameters (its schema's defaults, as a
    // run fills them in: a parameter added later cannot break the benchmark).
    mer::PluginRegistry registry;
    registry.scan(mer::PluginRegistry::default_folders());
    const nlohmann::json params = mer::SchemaValidator(registry.get("features.handcrafted").schema)
                                      .with_defaults({{"cache", false}});
    const auto fresh = [&] { return registry.create<mer::FeaturesPlugin>("features.handcrafted", params); };
    auto plugin = fresh();
    if (node_only) {
        const double seconds = node_seconds(*plugin, mp3s, 1);
        std::printf("features node, 1 thread: %.4f s/song (%d songs)\n", seconds / songs, songs);
        return 0;
    }

    std::string units;
    for (const auto unit : mer::dsp::vector_units()) units += std::string(units.empty() ? "" : ", ") +
                                                               mer::dsp::vector_unit_name(unit);
    std::printf("vector units this CPU runs: %s (the node uses %s)\n", units.c_str(),
                mer::dsp::vector_unit_name(mer::dsp::vector_unit()));
    print_stages(mp3s[0]);

    // The node against its own decode + resample, song by song in turn and
    // best of three each (a slower spell on a shared machine then hits both
    // sides alike), and the WAV copies.
    std::size_t features = 0;
    node_seconds(*plugin, {mp3s[0]}, 1, &features);  // warm: first-touch allocations
    std::vector<double> decode(mp3s.size(), 1e9), node(mp3s.size(), 1e9);
    for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < mp3s.size(); ++i) {
            const auto start = Clock::now();
            const mer::DecodedAudio audio = mer::load_audio(mp3s[i], kRate);
            decode[i] = std::min(decode[i], seconds_since(start));
            if (!fs::exists(wavs[i])) mer::write_audio(wavs[i], audio.samples, kRate);
            node[i] = std::min(node[i], node_seconds(*plugin, {mp3s[i]}, 1));
        }
    const double decode_s = std::accumulate(decode.begin(), decode.end(), 0.0) / songs;
    const double node_s = std::accumulate(node.begin(), node.end(), 0.0) / songs;
    std::printf(
        "MP3 45 s 44.1 kHz stereo, %d songs, 1 thread, best of 3 per song: decode + resample %.4f s/song; features "
        "node %.4f s/song (decoding included): node / decode+resample %.2fx\n",
        songs, decode_s, node_s, node_s / decode_s);

    // WAV at the node's rate (no decoding, no resampling), the whole songs
    // and 6-s clips of them, against librosa on the same files. A new node
    // each time, so its CQT filters are built as a run builds them (librosa
    // builds them on every call); node and librosa in turn, twice, the best
    // of each (a slower spell of a shared machine then hits both alike).
    const auto against_librosa = [&](const std::vector<std::string>& files, const char* what, const char* per) {
        double node_best = 1e9, librosa_best = 1e9;
        for (int round = 0; round < 2; ++round) {
            node_best = std::min(node_best, node_seconds(*fresh(), files, 1) / static_cast<double>(files.size()));
            const double librosa = librosa_seconds(python, files);
            if (librosa > 0) librosa_best = std::min(librosa_best, librosa);
        }
        std::printf("%s (%zu files), 1 thread, new node: features node %.4f s/%s\n", what, files.size(), node_best,
                    per);
        if (librosa_best < 1e9)
            std::printf("librosa / features node on the same %s: %.1fx\n", what, librosa_best / node_best);
    };
    against_librosa(wavs, "22.05 kHz WAV of the same songs", "song");
    if (const std::vector<std::string> clips = cut_clips(wavs, corpus / "clips6"); !clips.empty())
        against_librosa(clips, "6-s clips of those WAV files", "clip");

    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int threads : {1, cores}) {
        const double seconds = node_seconds(*plugin, mp3s, threads);
        std::printf(
            "full pipeline, %d thread%s: %d songs × %zu features in %.2f s: %.3f s/song/thread, %.2f songs/s, "
            "%.0fx real time per core\n",
            threads, threads == 1 ? "" : "s", songs, features, seconds, seconds * threads / songs, songs / seconds,
            kSongSeconds * songs / seconds / threads);
        if (threads == cores) break;
    }
    double load[1] = {0};
    getloadavg(load, 1);
    std::printf("peak RSS %.0f MiB; load average %.2f\n", peak_rss_mib(), load[0]);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return bench(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mer-bench-handcrafted: %s\n", e.what());
        return 1;
    }
}
