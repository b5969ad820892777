// The synthetic corpus: song design (latents → musical parameters →
// labels), additive rendering with wavetables, and the file layouts of DEAM,
// PMEmo and EmoMusic. Every random draw comes from mt19937_64 seeded per song, so a
// corpus depends only on its seed, whatever the thread count.
#include "core/synth/synthetic_corpus.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/data/splits.hpp"
#include "core/error.hpp"

namespace mer {

namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDynamicStart = 15.0;  // DEAM's dynamic annotations start at 15 s
constexpr double kDynamicStep = 0.5;    // 2 Hz

class Random {
public:
    explicit Random(std::uint64_t seed) : rng_(seed) {}
    double uniform() { return static_cast<double>(rng_() >> 11) / 9007199254740992.0; }  // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    double normal() {  // Box–Muller: the same numbers with any standard library
        const double u1 = 1.0 - uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
    }

private:
    std::mt19937_64 rng_;
};

double sigmoid(double x) {
    return 1.0 / (1.0 + std::exp(-x));
}

}  // namespace

double SynthSong::energy_at(double t) const {
    return energy + 0.4 * std::sin(2 * kPi * t / period_energy_s + phase_energy);
}
double SynthSong::mood_at(double t) const {
    return mood + 0.4 * std::sin(2 * kPi * t / period_mood_s + phase_mood);
}
double SynthSong::tempo_bpm_at(double t) const {
    return std::clamp(110.0 + 25.0 * energy_at(t), 60.0, 180.0);
}
int SynthSong::subdivisions_at(double t) const {
    return static_cast<int>(std::clamp(std::lround(2.0 + energy_at(t)), 1L, 4L));
}
double SynthSong::loudness_dbfs_at(double t) const {
    return std::clamp(-20.0 + 4.5 * energy_at(t), -32.0, -8.0);
}
double SynthSong::tilt_at(double t) const {
    return std::clamp(1.8 - 0.5 * energy_at(t), 0.6, 3.0);
}
double SynthSong::consonance_at(double t) const {
    return sigmoid(2.0 * mood_at(t));
}
double SynthSong::percussion_at(double t) const {
    return sigmoid(1.5 * energy_at(t));
}
double SynthSong::arousal_at(double t) const {
    return std::tanh(0.5 * energy_at(t));
}
double SynthSong::valence_at(double t) const {
    // Mode, consonance and register follow the mood latent; tempo the energy.
    return std::tanh(0.4 * (mood_at(t) + 0.4 * (major ? 1.0 : -1.0) + 0.15 * energy_at(t)));
}

SynthSong design_song(int index, const SynthCorpusSpec& spec) {
    SynthSong s;
    s.id = index + 1;
    s.seconds = spec.seconds;
    s.seed = derive_seed(spec.seed, "synth/song/" + std::to_string(s.id));
    Random r(s.seed);
    s.energy = r.normal();
    s.mood = 0.42 * s.energy + std::sqrt(1 - 0.42 * 0.42) * r.normal();
    s.major = s.mood + 0.5 * r.normal() > 0;
    s.root_midi = static_cast<int>(std::clamp(std::lround(50 + 4 * s.mood), 40L, 62L));
    s.period_energy_s = r.uniform(20, 60);
    s.period_mood_s = r.uniform(20, 60);
    s.phase_energy = r.uniform(0, 2 * kPi);
    s.phase_mood = r.uniform(0, 2 * kPi);

    // Annotators: a little noise per 2 Hz frame, more on the song means.
    double sum_v = 0, sum_a = 0;
    int frames = 0;
    for (double t = kDynamicStart; t < s.seconds - 1e-9; t += kDynamicStep, ++frames) {
        s.dynamic_valence.push_back(std::clamp(s.valence_at(t) + 0.06 * r.normal(), -1.0, 1.0));
        s.dynamic_arousal.push_back(std::clamp(s.arousal_at(t) + 0.06 * r.normal(), -1.0, 1.0));
        sum_v += s.valence_at(t);
        sum_a += s.arousal_at(t);
    }
    if (frames == 0) {  // songs shorter than 15 s: use their midpoint
        sum_v = s.valence_at(s.seconds / 2);
        sum_a = s.arousal_at(s.seconds / 2);
        frames = 1;
    }
    s.valence_mean = std::clamp(5 + 4 * sum_v / frames + 0.3 * r.normal(), 1.0, 9.0);
    s.arousal_mean = std::clamp(5 + 4 * sum_a / frames + 0.3 * r.normal(), 1.0, 9.0);
    s.valence_std = 0.9 + 0.3 * std::abs(r.normal());
    s.arousal_std = 0.9 + 0.3 * std::abs(r.normal());
    return s;
}

namespace {

// One period of a harmonic tone with 12 partials of amplitude h^-tilt, for
// tilts from 0.6 (bright) to 3.0 (dull).
class Wavetables {
public:
    static constexpr int kSize = 2048, kTables = 13;
    Wavetables() {
        for (int k = 0; k < kTables; ++k) {
            const double tilt = 0.6 + 0.2 * k;
            auto& table = tables_[static_cast<std::size_t>(k)];
            double peak = 0;
            for (int i = 0; i <= kSize; ++i) {
                double v = 0;
                for (int h = 1; h <= 12; ++h) v += std::pow(h, -tilt) * std::sin(2 * kPi * h * i / kSize);
                table[static_cast<std::size_t>(i)] = static_cast<float>(v);
                peak = std::max(peak, std::abs(v));
            }
            for (auto& v : table) v = static_cast<float>(v / peak);
        }
    }
    const std::array<float, kSize + 1>& for_tilt(double tilt) const {
        const int k = static_cast<int>(std::clamp(std::lround((tilt - 0.6) / 0.2), 0L, long(kTables - 1)));
        return tables_[static_cast<std::size_t>(k)];
    }

private:
    std::array<std::array<float, kSize + 1>, kTables> tables_;
};

double midi_hz(double note) {
    return 440.0 * std::pow(2.0, (note - 69.0) / 12.0);
}

void add_tone(std::vector<float>& out, int rate, double start_s, double duration_s, double hz, double amplitude,
              const std::array<float, Wavetables::kSize + 1>& table) {
    const auto begin = static_cast<std::size_t>(start_s * rate);
    const auto length = static_cast<std::size_t>(duration_s * rate);
    const double step = hz * Wavetables::kSize / rate;
    const double attack = 0.005 * rate, decay = std::max(1.0, 0.35 * duration_s * rate);
    double phase = 0;
    for (std::size_t i = 0; i < length && begin + i < out.size(); ++i) {
        const auto index = static_cast<std::size_t>(phase);
        const double frac = phase - static_cast<double>(index);
        const double wave = table[index] + frac * (table[index + 1] - table[index]);
        const double envelope =
            std::min(1.0, static_cast<double>(i) / attack) * std::exp(-static_cast<double>(i) / decay);
        out[begin + i] += static_cast<float>(amplitude * envelope * wave);
        phase += step;
        if (phase >= Wavetables::kSize) phase -= Wavetables::kSize;
    }
}

void add_kick(std::vector<float>& out, int rate, double start_s, double amplitude) {
    const auto begin = static_cast<std::size_t>(start_s * rate);
    double phase = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(0.12 * rate) && begin + i < out.size(); ++i) {
        const double t = static_cast<double>(i) / rate;
        phase += 2 * kPi * (50.0 + 60.0 * std::exp(-t / 0.02)) / rate;
        out[begin + i] += static_cast<float>(amplitude * std::exp(-t / 0.04) * std::sin(phase));
    }
}

void add_hat(std::vector<float>& out, int rate, double start_s, double amplitude, Random& r) {
    const auto begin = static_cast<std::size_t>(start_s * rate);
    double previous = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(0.04 * rate) && begin + i < out.size(); ++i) {
        const double noise = r.uniform(-1, 1);
        const double t = static_cast<double>(i) / rate;
        out[begin + i] += static_cast<float>(amplitude * std::exp(-t / 0.01) * (noise - previous));  // high-passed
        previous = noise;
    }
}

}  // namespace

std::vector<float> render_song(const SynthSong& s, int rate) {
    static const Wavetables tables;
    Random r(derive_seed(s.seed, "render"));
    std::vector<float> out(static_cast<std::size_t>(s.seconds * rate), 0.0f);

    // Chord progressions (semitones above the root): I IV V vi or i iv v VI.
    static const int major_chords[4][3] = {{0, 4, 7}, {5, 9, 12}, {7, 11, 14}, {9, 12, 16}};
    static const int minor_chords[4][3] = {{0, 3, 7}, {5, 8, 12}, {7, 10, 14}, {8, 12, 15}};
    const auto& chords = s.major ? major_chords : minor_chords;

    double t = 0.05;
    int beat = 0;
    std::vector<int> chord(3);
    while (t < s.seconds) {
        const double beat_s = 60.0 / s.tempo_bpm_at(t);
        const int bar = beat / 4;
        if (beat % 4 == 0) {  // new chord each bar, maybe with a dissonant tone
            const auto& base = chords[bar % 4];
            chord.assign(base, base + 3);
            if (r.uniform() > s.consonance_at(t)) chord.push_back(chord[0] + (r.uniform() < 0.5 ? 1 : 6));
            const double pad = 0.35 * std::pow(10.0, s.loudness_dbfs_at(t) / 20.0);
            for (int n : chord)
                add_tone(out, rate, t, 4 * beat_s, midi_hz(s.root_midi - 12 + n), pad / chord.size(),
                         tables.for_tilt(s.tilt_at(t) + 0.6));
        }
        const double level = std::pow(10.0, s.loudness_dbfs_at(t) / 20.0);
        add_kick(out, rate, t, 1.4 * level * s.percussion_at(t));
        const int subdivisions = s.subdivisions_at(t);
        for (int k = 0; k < subdivisions; ++k) {
            const double onset = t + k * beat_s / subdivisions;
            if (onset >= s.seconds) break;
            const int note = chord[static_cast<std::size_t>((beat * subdivisions + k) % chord.size())] + 12 * (k % 2);
            add_tone(out, rate, onset, 1.5 * beat_s / subdivisions, midi_hz(s.root_midi + note), level,
                     tables.for_tilt(s.tilt_at(onset)));
            add_hat(out, rate, onset, 0.5 * level * s.percussion_at(onset), r);
        }
        t += beat_s;
        ++beat;
    }

    // Room: one feedback comb (37 ms, gain 0.3), a noise floor at about −60 dBFS,
    // and a soft clip so loud songs stay loud but never wrap.
    const auto delay = static_cast<std::size_t>(0.037 * rate);
    for (std::size_t i = delay; i < out.size(); ++i) out[i] += 0.3f * out[i - delay];
    for (auto& v : out) v = static_cast<float>(std::tanh(v + 0.001 * r.uniform(-1, 1)));
    const std::size_t fade = std::min<std::size_t>(out.size() / 2, static_cast<std::size_t>(0.01 * rate));
    for (std::size_t i = 0; i < fade; ++i) {
        const float g = static_cast<float>(i) / static_cast<float>(fade);
        out[i] *= g;
        out[out.size() - 1 - i] *= g;
    }
    return out;
}

const char* layout_name(SynthLayout layout) {
    switch (layout) {
        case SynthLayout::pmemo:
            return "pmemo";
        case SynthLayout::emomusic:
            return "emomusic";
        default:
            return "deam";
    }
}

bool emomusic_evaluation_song(int id) {
    const long long k = id;
    return k * 125 / 744 > (k - 1) * 125 / 744;
}

namespace {

// Where each release keeps its audio: DEAM MEMD_audio/, PMEmo chorus/,
// EmoMusic clips_45seconds/ — MP3 files named <id>.mp3 in all three.
fs::path audio_folder(const fs::path& out, SynthLayout layout) {
    switch (layout) {
        case SynthLayout::pmemo:
            return out / "chorus";
        case SynthLayout::emomusic:
            return out / "clips_45seconds";
        default:
            return out / "MEMD_audio";
    }
}

// Renders every song to <audio>/<id>.mp3 on `threads` threads.
void render_all(const std::vector<SynthSong>& songs, const fs::path& audio, const SynthCorpusSpec& spec, int threads,
                const std::function<void(int, int)>& progress) {
    const int count = static_cast<int>(songs.size());
    std::atomic<int> next{0}, done{0};
    std::mutex mutex;
    std::exception_ptr failure;
    auto worker = [&] {
        for (int i = next++; i < count; i = next++) {
            try {
                const fs::path file = audio / (std::to_string(songs[i].id) + ".mp3");
                const fs::path partial = audio / (std::to_string(songs[i].id) + ".partial.mp3");
                write_audio(partial, render_song(songs[i], spec.sample_rate_hz), spec.sample_rate_hz);
                fs::rename(partial, file);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex);
                if (!failure) failure = std::current_exception();
                return;
            }
            const int d = ++done;
            if (progress) {
                std::lock_guard<std::mutex> lock(mutex);
                progress(d, count);
            }
        }
    };
    std::vector<std::thread> pool;
    for (int k = 0; k < threads; ++k) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
    if (failure) std::rethrow_exception(failure);
}

// One row per song, one sample_<N>ms column per 500 ms from 15 s (DEAM's
// per-second files, EmoMusic's *_cont_*.csv); `value(song, k)` gives a cell,
// and songs shorter than the longest leave their trailing cells empty.
std::string wide_dynamic_csv(const std::vector<SynthSong>& songs,
                             const std::function<std::string(const SynthSong&, std::size_t)>& value) {
    std::size_t frames = 0;
    for (const auto& s : songs) frames = std::max(frames, s.dynamic_valence.size());
    std::string csv = "song_id";
    for (std::size_t k = 0; k < frames; ++k) csv += fmt::format(",sample_{}ms", 15000 + 500 * k);
    csv += "\n";
    for (const auto& s : songs) {
        csv += std::to_string(s.id);
        for (std::size_t k = 0; k < frames; ++k) csv += k < s.dynamic_valence.size() ? "," + value(s, k) : ",";
        csv += "\n";
    }
    return csv;
}

// DEAM: static ratings on 1–9 split like its two files (ids up to 2000, then
// 2000–2058 and beyond), with the header's spaces after the commas; 2 Hz
// ratings on [−1, 1] in dynamic (per second annotations)/valence.csv, arousal.csv.
void write_deam_annotations(const fs::path& out, const std::vector<SynthSong>& songs) {
    const fs::path song_level = out / "annotations" / "annotations averaged per song" / "song_level";
    const fs::path dynamic = out / "annotations" / "annotations averaged per song" / "dynamic (per second annotations)";
    for (const auto& dir : {song_level, dynamic}) fs::create_directories(dir);
    std::string first = "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n", second = first;
    for (const auto& s : songs) {
        const std::string row = fmt::format("{},{:.1f},{:.2f},{:.1f},{:.2f}\n", s.id, s.valence_mean, s.valence_std,
                                            s.arousal_mean, s.arousal_std);
        (s.id <= 2000 ? first : second) += row;
    }
    write_file_atomic(song_level / "static_annotations_averaged_songs_1_2000.csv", first);
    write_file_atomic(song_level / "static_annotations_averaged_songs_2000_2058.csv", second);
    write_file_atomic(dynamic / "valence.csv", wide_dynamic_csv(songs, [](const SynthSong& s, std::size_t k) {
                          return fmt::format("{:.4f}", s.dynamic_valence[k]);
                      }));
    write_file_atomic(dynamic / "arousal.csv", wide_dynamic_csv(songs, [](const SynthSong& s, std::size_t k) {
                          return fmt::format("{:.4f}", s.dynamic_arousal[k]);
                      }));
}

std::string minutes_seconds(double seconds, const char* format) {
    const long total = std::lround(seconds);
    return fmt::format(format, total / 60, total % 60);
}

// PMEmo 2019: every rating on 0–1, arousal before valence; static means and
// spreads in two files, the 2 Hz ratings from 15 s one row per song and frame
// (musicId, frameTime); metadata.csv names each song's chorus file.
void write_pmemo_annotations(const fs::path& out, const std::vector<SynthSong>& songs, double seconds) {
    const auto unit = [](double rating_1_9) { return (rating_1_9 - 1) / 8; };
    const auto from_signed = [](double x) { return (x + 1) / 2; };
    std::string means = "musicId,Arousal(mean),Valence(mean)\n", spreads = "musicId,Arousal(std),Valence(std)\n";
    std::string dynamic = "musicId,frameTime,Arousal(mean),Valence(mean)\n";
    std::string dynamic_spread = "musicId,frameTime,Arousal(std),Valence(std)\n";
    std::string metadata = "musicId,fileName,title,artist,album,duration,chorus_start_time,chorus_end_time\n";
    for (const auto& s : songs) {
        means += fmt::format("{},{:.4f},{:.4f}\n", s.id, unit(s.arousal_mean), unit(s.valence_mean));
        spreads += fmt::format("{},{:.4f},{:.4f}\n", s.id, s.arousal_std / 8, s.valence_std / 8);
        for (std::size_t k = 0; k < s.dynamic_valence.size(); ++k) {
            const double time = kDynamicStart + kDynamicStep * static_cast<double>(k);
            dynamic += fmt::format("{},{:.1f},{:.4f},{:.4f}\n", s.id, time, from_signed(s.dynamic_arousal[k]),
                                   from_signed(s.dynamic_valence[k]));
            dynamic_spread += fmt::format("{},{:.1f},0.0300,0.0300\n", s.id, time);
        }
        metadata += fmt::format("{0},{0}.mp3,Synthetic song {0},Synthetic artist,Synthetic album,{1:.1f},00:00,{2}\n",
                                s.id, seconds, minutes_seconds(seconds, "{:02d}:{:02d}"));
    }
    const fs::path annotations = out / "annotations";
    fs::create_directories(annotations);
    write_file_atomic(annotations / "static_annotations.csv", means);
    write_file_atomic(annotations / "static_annotations_std.csv", spreads);
    write_file_atomic(annotations / "dynamic_annotations.csv", dynamic);
    write_file_atomic(annotations / "dynamic_annotations_std.csv", dynamic_spread);
    write_file_atomic(out / "metadata.csv", metadata);
}

// EmoMusic ("1000 songs"): static means and spreads on 1–9 (mean_arousal,
// std_arousal, mean_valence, std_valence), the 2 Hz ratings on [−1, 1] in
// {arousal,valence}_cont_{average,std}.csv, and songs_info.csv with the
// development / evaluation split and tab-padded text fields, as released.
void write_emomusic_annotations(const fs::path& out, const std::vector<SynthSong>& songs, double seconds) {
    const fs::path annotations = out / "annotations";
    fs::create_directories(annotations);
    std::string means = "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n";
    std::string info =
        "song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),Genre,"
        "Mediaeval 2013 set\n";
    for (const auto& s : songs) {
        means += fmt::format("{},{:.1f},{:.2f},{:.1f},{:.2f}\n", s.id, s.arousal_mean, s.arousal_std, s.valence_mean,
                             s.valence_std);
        info += fmt::format("{0},{0}.mp3,Synthetic artist\t,Synthetic song {0}\t,0.00,{1},Synthetic\t,{2}\n", s.id,
                            minutes_seconds(seconds, "{}.{:02d}"),
                            emomusic_evaluation_song(s.id) ? "evaluation" : "development");
    }
    write_file_atomic(annotations / "static_annotations.csv", means);
    write_file_atomic(annotations / "songs_info.csv", info);
    write_file_atomic(annotations / "valence_cont_average.csv",
                      wide_dynamic_csv(songs, [](const SynthSong& s, std::size_t k) {
                          return fmt::format("{:.4f}", s.dynamic_valence[k]);
                      }));
    write_file_atomic(annotations / "arousal_cont_average.csv",
                      wide_dynamic_csv(songs, [](const SynthSong& s, std::size_t k) {
                          return fmt::format("{:.4f}", s.dynamic_arousal[k]);
                      }));
    const auto spread = [](const SynthSong&, std::size_t) { return std::string("0.0600"); };
    write_file_atomic(annotations / "valence_cont_std.csv", wide_dynamic_csv(songs, spread));
    write_file_atomic(annotations / "arousal_cont_std.csv", wide_dynamic_csv(songs, spread));
}

}  // namespace

SynthReport write_synthetic_corpus(const fs::path& out, const SynthCorpusSpec& spec,
                                   const std::function<void(int, int)>& progress) {
    if (spec.songs < 1) throw Error("a synthetic corpus needs at least one song");
    if (spec.seconds < 1) throw Error("synthetic songs must last at least 1 s");
    const auto start = std::chrono::steady_clock::now();
    const fs::path audio = audio_folder(out, spec.layout);
    fs::create_directories(audio);

    std::vector<SynthSong> songs;
    for (int i = 0; i < spec.songs; ++i) songs.push_back(design_song(i, spec));
    const int threads = std::max(
        1,
        std::min(spec.songs, spec.threads > 0 ? spec.threads : static_cast<int>(std::thread::hardware_concurrency())));
    render_all(songs, audio, spec, threads, progress);

    switch (spec.layout) {
        case SynthLayout::pmemo:
            write_pmemo_annotations(out, songs, spec.seconds);
            break;
        case SynthLayout::emomusic:
            write_emomusic_annotations(out, songs, spec.seconds);
            break;
        default:
            write_deam_annotations(out, songs);
    }

    // What generated each song, for anyone who wants to look behind the labels.
    std::string design = "song_id,energy,mood,major,root_midi,mean_tempo_bpm,valence_mean,arousal_mean\n";
    for (const auto& s : songs) {
        double tempo = 0;
        for (int k = 0; k < 90; ++k) tempo += s.tempo_bpm_at(s.seconds * k / 90.0) / 90.0;
        design += fmt::format("{},{:.4f},{:.4f},{},{},{:.1f},{:.1f},{:.1f}\n", s.id, s.energy, s.mood, s.major ? 1 : 0,
                              s.root_midi, tempo, s.valence_mean, s.arousal_mean);
    }
    write_file_atomic(out / "synthetic_design.csv", design);

    SynthReport report;
    report.songs = spec.songs;
    report.audio_seconds = spec.songs * spec.seconds;
    report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.threads = threads;
    return report;
}

}  // namespace mer
