// A synthetic corpus in exactly the DEAM layout (MP3 audio at 44.1 kHz,
// static and 2 Hz dynamic annotation CSVs with DEAM's quirks), whose music
// carries the emotion it is labelled with: arousal follows tempo, onset
// density, loudness and brightness; valence follows mode, consonance,
// register and tempo. docs/synthetic-data.md gives the equations.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mer {

struct SynthCorpusSpec {
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

// Writes the corpus into `out`; `progress(done, total)` after each song.
SynthReport write_synthetic_deam(const std::filesystem::path& out, const SynthCorpusSpec& spec,
                                 const std::function<void(int, int)>& progress = {});

}  // namespace mer
