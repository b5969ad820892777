// Audio in: decoding (WAV, FLAC, OGG/Vorbis, MP3 — whatever libsndfile
// reads), downmixing to mono as the mean of the channels, and high-quality
// resampling with libsoxr to the rate an extractor asks for. Every problem
// with a file becomes a mer::Error whose message is the reason a dataset
// writes to skipped.csv: missing, empty, not audio, truncated, too short.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mer {

struct PluginContext;

struct AudioInfo {
    int sample_rate_hz = 0;  // of the file
    int channels = 0;
    std::int64_t frames = 0;  // per channel, as the file's header says
    double duration_seconds = 0;
    std::string format;  // "WAV", "FLAC", "OGG", "MP3", ...
};

struct DecodedAudio {
    std::vector<float> samples;  // mono, at sample_rate_hz
    int sample_rate_hz = 0;
    AudioInfo source;  // what the file was
    double duration_seconds() const { return sample_rate_hz ? double(samples.size()) / sample_rate_hz : 0.0; }
};

// Opens the file's header only. Throws mer::Error (file in the location).
AudioInfo probe_audio(const std::filesystem::path& path);

// Why a song's audio file cannot be used — "audio file missing", or (when
// `open_header`) what probe_audio() found — or "" when it looks usable.
// Datasets pass the reason to PluginContext::skip_song.
std::string audio_problem(const std::filesystem::path& path, bool open_header);

// What a dataset's loader does per song: `path` as a string when the audio
// looks usable (audio_problem), else "" after telling `ctx` why
// (PluginContext::skip_song, the song skipped and counted).
std::string usable_audio(const std::filesystem::path& path, const std::string& song, bool open_header,
                         const PluginContext& ctx);

// An excerpt: `duration_seconds` (0: to the end) from `offset_seconds` on —
// the offset_seconds and duration_seconds parameters every audio features
// plugin takes (core/audio/crop.schema.json).
struct AudioCrop {
    double offset_seconds = 0;
    double duration_seconds = 0;
    bool whole() const { return offset_seconds == 0 && duration_seconds == 0; }
    static AudioCrop of(const nlohmann::json& params);  // from a plugin's parameters
};

// A plugin's parameters as its cache key should see them: without the crop
// keys when they ask for the whole song, so caches made before the keys
// existed stay valid.
nlohmann::json without_whole_crop(nlohmann::json params);

// Decodes, downmixes, crops and resamples to `sample_rate_hz` (0 keeps the
// file's rate). Throws mer::Error when the file (its excerpt) is shorter than
// `min_seconds`, or the offset lies beyond its end.
DecodedAudio load_audio(const std::filesystem::path& path, int sample_rate_hz, double min_seconds = 0.0,
                        const AudioCrop& crop = {});

// libsoxr, high quality (SOXR_HQ), float32 mono.
std::vector<float> resample(const std::vector<float>& samples, int from_hz, int to_hz);

// Writes mono float samples with libsndfile; the format follows the
// extension (.wav 16-bit PCM, .flac, .ogg Vorbis, .mp3). For tests and the
// synthetic corpus.
void write_audio(const std::filesystem::path& path, const std::vector<float>& samples, int sample_rate_hz);

// The versions of the decoding and resampling libraries (for environment.json).
std::string sndfile_version();
std::string soxr_library_version();

}  // namespace mer
