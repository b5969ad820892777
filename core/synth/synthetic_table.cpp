// Generator of the quickstart feature table.
#include "core/synth/synthetic_table.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/base/files.hpp"

namespace mer {

namespace {
// Box–Muller on mt19937_64, so the table is the same with any standard library.
class Normal {
public:
    explicit Normal(std::uint64_t seed) : rng_(seed) {}
    double operator()() {
        const double u1 = (static_cast<double>(rng_() >> 11) + 1.0) / 9007199254740993.0;
        const double u2 = static_cast<double>(rng_() >> 11) / 9007199254740992.0;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

private:
    std::mt19937_64 rng_;
};
}  // namespace

std::string synthetic_table_csv(const SyntheticTableSpec& spec) {
    Normal normal(spec.seed);
    std::string csv = "song_id,tempo_bpm,loudness_db,mode_major,brightness_hz";
    for (int j = 1; j <= spec.noise_features; ++j) csv += ",noise_" + std::to_string(j);
    csv += ",valence,arousal\n";
    for (int i = 0; i < spec.songs; ++i) {
        const double energy = normal(), mood = normal();
        const double tempo = 110 + 25 * energy + 8 * normal();
        const double loudness = -14 + 4 * energy + 1.5 * normal();
        const double major = mood + 0.6 * normal() > 0 ? 1.0 : 0.0;
        const double brightness = 2200 + 500 * mood + 300 * energy + 250 * normal();
        const double valence = std::clamp(5 + 1.2 * mood + 0.3 * energy + 0.45 * normal(), 1.0, 9.0);
        const double arousal = std::clamp(5 + 1.4 * energy + 0.2 * mood + 0.45 * normal(), 1.0, 9.0);
        csv += "song_" + std::to_string(i + 1) + "," + format_number(std::round(tempo * 100) / 100) + "," +
               format_number(std::round(loudness * 100) / 100) + "," + format_number(major) + "," +
               format_number(std::round(brightness));
        for (int j = 0; j < spec.noise_features; ++j) csv += "," + format_number(std::round(normal() * 1e4) / 1e4);
        csv += "," + format_number(std::round(valence * 1000) / 1000) + "," +
               format_number(std::round(arousal * 1000) / 1000) + "\n";
    }
    return csv;
}

}  // namespace mer
