// What a rating of a file cannot mean: audio that is silent, or constant (a
// DC offset, a pure tone, steady noise: sound whose spectrum never changes).
// A model trained on music still returns numbers for them, and those numbers
// look like any other rating; `mer-run predict` flags such files instead of
// giving them a quadrant. The check reads the decoded samples only, so it is
// the same whatever features plugin the model uses.
#pragma once

#include <string>
#include <vector>

namespace mer {

// Below this RMS level (dB relative to full scale, a full-scale square wave
// being 0 dBFS) a file is silent: digital silence, dither, a hiss far under
// any recorded music (quiet classical passages average −40 to −30 dBFS).
constexpr double kSilentRmsDbfs = -60.0;

// At or below this spectral variation (dB, see SignalCheck::variation_db) a
// file is constant. A steady sine (WAV or MP3) and white noise fall under it
// (tests/core/test_predict.cpp); the synthetic corpus's music measures 10 dB
// and more, the librosa fixture triads 3.7 and 6.4 dB. A loud steady drone
// with faint clicks over it (tests/fixtures/audio/clicks_bass.wav: 0.26 dB)
// counts as constant: the weighting follows the energy.
constexpr double kConstantVariationDb = 0.75;

struct SignalCheck {
    std::string flag;          // "silent", "constant" or "" (neither)
    std::string detail;        // the measurement behind the flag, for a person
    double rms_dbfs = 0;       // level of the whole excerpt (−inf for digital silence)
    double ac_rms_dbfs = 0;    // the same without its DC offset
    // How much the spectrum moves: over frames of about 0.1 s, each of 24
    // log-spaced bands from 40 Hz to 16 kHz has a level in dB; its standard
    // deviation over the frames, weighted by the band's share of the energy,
    // summed over the bands. NaN when the excerpt is too short to tell (under
    // four frames).
    double variation_db = 0;
};

// Measures mono samples at sample_rate_hz (as load_audio returns them).
SignalCheck check_signal(const std::vector<float>& samples, int sample_rate_hz);

}  // namespace mer
