// A synthetic corpus in exactly the layout of DEAM, PMEmo or EmoMusic (MP3
// audio at 44.1 kHz, static and 2 Hz dynamic annotation CSVs with each
// release's quirks, labels on each release's own scale), whose music carries
// the emotion it is labelled with: arousal follows tempo, onset density,
// loudness and brightness; valence follows mode, consonance, register and
// tempo. docs/synthetic-data.md gives the equations and the layouts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mer {

// Which release's files a synthetic corpus imitates.
enum class SynthLayout { deam, pmemo, emomusic };

// "deam", "pmemo", "emomusic" (the names `mer-run synth --layout` takes).
const char* layout_name(SynthLayout layout);

struct SynthCorpusSpec {
    SynthLayout layout = SynthLayout::deam;
    int songs = 200;
    double seconds = 45.0;
    std::uint64_t seed = 1;
    int threads = 0;  // 0: every core
    int sample_rate_hz = 44100;
};

// One song's generating parameters and labels (no audio).
struct SynthSong {
    int id = 0;
    double energy = 0, mood = 0;  // latents E and M
    bool major = true;
    int root_midi = 50;  // register
    double period_energy_s = 30, period_mood_s = 30, phase_energy = 0, phase_mood = 0;
    double seconds = 45;
    std::uint64_t seed = 0;

    // Slowly moving latents and the musical parameters they drive, at time t.
    double energy_at(double t) const;
    double mood_at(double t) const;
    double tempo_bpm_at(double t) const;
    int subdivisions_at(double t) const;  // onsets per beat
    double loudness_dbfs_at(double t) const;
    double tilt_at(double t) const;        // harmonic h has amplitude h^-tilt (lower = brighter)
    double consonance_at(double t) const;  // probability that a chord has no added dissonance
    double percussion_at(double t) const;  // 0..1

    // Noise-free labels on DEAM's dynamic scale [-1, 1].
    double arousal_at(double t) const;
    double valence_at(double t) const;

    // DEAM-like annotations: 2 Hz from 15 s, and song-level means (1–9) with
    // their spread across annotators.
    std::vector<double> dynamic_valence, dynamic_arousal;
    double valence_mean = 5, valence_std = 1, arousal_mean = 5, arousal_std = 1;
};

// Parameters and labels of song `index` (0-based); id is index + 1.
SynthSong design_song(int index, const SynthCorpusSpec& spec);

// The song's audio, mono, at `sample_rate_hz`.
std::vector<float> render_song(const SynthSong& song, int sample_rate_hz);

struct SynthReport {
    int songs = 0;
    double audio_seconds = 0;
    double wall_seconds = 0;
    int threads = 1;
};

// Whether song `id` (1-based) of an EmoMusic-layout corpus is in its
// evaluation set: 125 of every 744, spread evenly, as the release's
// 619 / 125 development / evaluation split.
bool emomusic_evaluation_song(int id);

// Writes the corpus into `out` in spec.layout; `progress(done, total)` after each song.
SynthReport write_synthetic_corpus(const std::filesystem::path& out, const SynthCorpusSpec& spec,
                                   const std::function<void(int, int)>& progress = {});

}  // namespace mer
