// libsndfile and libsoxr, each wrapped once: their error codes become
// mer::Error with the file named.
#include "core/audio/audio.hpp"

#include <fmt/format.h>
#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <regex>

#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/plugin/plugin.hpp"

namespace mer {

namespace fs = std::filesystem;

namespace {

// What a file may hold: beyond these, it is refused before memory is spent
// on it (a crafted header of 1 Hz asks the resampler for gigabytes). 2^28
// mono float samples are 1 GiB: 101 minutes at 44.1 kHz, 93 at 48 kHz.
constexpr int kMinSampleRate = 1000;
constexpr int kMaxSampleRate = 768000;
constexpr int kMaxChannels = 64;
constexpr std::int64_t kMaxSamples = std::int64_t{1} << 28;

std::string too_long(int rate) {
    return fmt::format("too long: mer decodes up to {:.0f} minutes at {} Hz ({} million samples); cut long "
                       "recordings first",
                       static_cast<double>(kMaxSamples) / rate / 60, rate, kMaxSamples / 1000000);
}

struct SndfileCloser {
    void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfileHandle = std::unique_ptr<SNDFILE, SndfileCloser>;

std::string format_name(int format) {
    switch (format & SF_FORMAT_TYPEMASK) {
        case SF_FORMAT_WAV:
            return "WAV";
        case SF_FORMAT_FLAC:
            return "FLAC";
        case SF_FORMAT_OGG:
            return "OGG";
        case SF_FORMAT_MPEG:
            return "MP3";
        case SF_FORMAT_AIFF:
            return "AIFF";
        default:
            return "audio";
    }
}

// libsndfile opens a cut WAV/AIFF and quietly shortens it; its log keeps
// the evidence ("data : 88200 (should be 44078)").
std::string truncation_in_log(SNDFILE* file) {
    char log[8192] = {0};
    sf_command(file, SFC_GET_LOG_INFO, log, sizeof log);
    static const std::regex data_line(R"(data\s*:\s*(\d+)\s*\(should be (\d+)\))");
    std::cmatch m;
    if (std::regex_search(log, m, data_line) && std::stoll(m[2]) < std::stoll(m[1]))
        return "truncated: the header promises " + m[1].str() + " bytes of audio data, the file holds " + m[2].str();
    return "";
}

// Only regular files are opened: a FIFO would block the read forever.
void check_regular_file(const fs::path& path) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found) throw Error("file does not exist", Location(path.string()));
    if (ec) throw Error("cannot read: " + ec.message(), Location(path.string()));
    if (status.type() == fs::file_type::directory) throw Error("is a folder, not an audio file", Location(path.string()));
    if (status.type() != fs::file_type::regular)
        throw Error("is not a regular file (a pipe, socket or device?), so not an audio file mer reads",
                    Location(path.string()));
    if (fs::file_size(path, ec) == 0) throw Error("file is empty (0 bytes)", Location(path.string()));
}

SndfileHandle open_for_reading(const fs::path& path, SF_INFO& info) {
    check_regular_file(path);
    info = SF_INFO{};
    SndfileHandle file(sf_open(path.c_str(), SFM_READ, &info));
    if (!file) {
        // sf_strerror(nullptr) is libsndfile's last error in any thread: not
        // necessarily this file's, so it is not quoted.
        throw Error("not an audio file libsndfile can read", Location(path.string()));
    }
    if (info.channels <= 0 || info.samplerate <= 0)
        throw Error("audio header has no channels or no sample rate", Location(path.string()));
    if (info.samplerate < kMinSampleRate || info.samplerate > kMaxSampleRate)
        throw Error(fmt::format("the header's sample rate, {} Hz, is outside what mer decodes ({}–{} Hz)",
                                info.samplerate, kMinSampleRate, kMaxSampleRate),
                    Location(path.string()));
    if (info.channels > kMaxChannels)
        throw Error(fmt::format("the header claims {} channels; mer decodes up to {}", info.channels, kMaxChannels),
                    Location(path.string()));
    if (const std::string cut = truncation_in_log(file.get()); !cut.empty()) throw Error(cut, Location(path.string()));
    return file;
}

}  // namespace

AudioInfo probe_audio(const fs::path& path) {
    SF_INFO info;
    SndfileHandle file = open_for_reading(path, info);
    AudioInfo out;
    out.sample_rate_hz = info.samplerate;
    out.channels = info.channels;
    out.frames = info.frames;
    out.duration_seconds = static_cast<double>(info.frames) / info.samplerate;
    out.format = format_name(info.format);
    return out;
}

std::string audio_problem(const fs::path& path, bool open_header) {
    std::error_code ec, link_error;
    const fs::file_status status = fs::status(path, ec);
    const bool link = fs::is_symlink(fs::symlink_status(path, link_error));
    if (link && ec == std::errc::too_many_symbolic_link_levels)
        return "the audio file is a symbolic link loop (it leads back to itself), not a file";
    if (link && status.type() == fs::file_type::not_found)
        return "the audio file is a dangling symbolic link: its target '" + fs::read_symlink(path, link_error).string() +
               "' does not exist";
    if (!fs::exists(status)) return "audio file missing";
    if (!open_header) return "";
    try {
        probe_audio(path);
        return "";
    } catch (const Error& e) {
        return e.message();
    }
}

std::string usable_audio(const fs::path& path, const std::string& song, bool open_header, const PluginContext& ctx) {
    if (const std::string why = audio_problem(path, open_header); !why.empty()) {
        ctx.skip_song(song, path.string(), why);
        return "";
    }
    return path.string();
}

AudioCrop AudioCrop::of(const nlohmann::json& params) {
    return {params.value("offset_seconds", 0.0), params.value("duration_seconds", 0.0)};
}

nlohmann::json without_whole_crop(nlohmann::json params) {
    if (AudioCrop::of(params).whole()) {
        params.erase("offset_seconds");
        params.erase("duration_seconds");
    }
    return params;
}

DecodedAudio load_audio(const fs::path& path, int sample_rate_hz, double min_seconds, const AudioCrop& crop) {
    SF_INFO info;
    SndfileHandle file = open_for_reading(path, info);
    DecodedAudio out;
    out.source.sample_rate_hz = info.samplerate;
    out.source.channels = info.channels;
    out.source.frames = info.frames;
    out.source.duration_seconds = static_cast<double>(info.frames) / info.samplerate;
    out.source.format = format_name(info.format);

    // Read in blocks: MP3 frame counts are estimates, so read until the end.
    const int channels = info.channels;
    if (info.frames > kMaxSamples) throw Error(too_long(info.samplerate), Location(path.string()));
    std::vector<float> block(static_cast<std::size_t>(65536) * channels);
    std::vector<float> mono;
    mono.reserve(info.frames > 0 ? static_cast<std::size_t>(info.frames) : 0);
    while (true) {
        const sf_count_t got = sf_readf_float(file.get(), block.data(), 65536);
        if (got <= 0) break;
        if (static_cast<sf_count_t>(mono.size()) + got > kMaxSamples)
            throw Error(too_long(info.samplerate), Location(path.string()));
        const std::size_t done = mono.size();
        mono.resize(done + static_cast<std::size_t>(got));
        float* dst = mono.data() + done;
        const float* src = block.data();
        for (sf_count_t i = 0; i < got; ++i, src += channels) {
            float sum = 0;
            for (int c = 0; c < channels; ++c) sum += src[c];
            dst[i] = sum / static_cast<float>(channels);
        }
    }
    if (sf_error(file.get()) != SF_ERR_NO_ERROR)
        throw Error(std::string("decoding failed: ") + sf_strerror(file.get()), Location(path.string()));
    if (mono.empty()) throw Error("no audio samples could be decoded", Location(path.string()));
    // A WAV/FLAC/OGG header states the length exactly; fewer samples mean the
    // file was cut. An MP3's length comes from its Xing/LAME header's frame
    // count, or is estimated from the file size and the first frame's bit
    // rate: it is held to it only loosely (a tenth, and at least half a
    // second, may be missing), so an estimate that is off passes and a file
    // cut with its header still promising the whole song does not.
    const auto decoded = static_cast<sf_count_t>(mono.size());
    const sf_count_t tolerance =
        out.source.format != "MP3" ? 0 : std::max<sf_count_t>(info.frames / 10, info.samplerate / 2);
    if (info.frames > 0 && decoded < info.frames - tolerance)
        throw Error(fmt::format("truncated: the header promises {} frames ({:.2f} s), only {} ({:.2f} s) could be "
                                "decoded",
                                info.frames, static_cast<double>(info.frames) / info.samplerate, decoded,
                                static_cast<double>(decoded) / info.samplerate),
                    Location(path.string()));
    for (float v : mono)
        if (!std::isfinite(v)) throw Error("decoded samples contain NaN or infinity", Location(path.string()));
    out.source.duration_seconds = static_cast<double>(mono.size()) / info.samplerate;
    if (!crop.whole()) {
        const auto first = static_cast<std::size_t>(std::llround(crop.offset_seconds * info.samplerate));
        if (first >= mono.size())
            throw Error(fmt::format("the excerpt starts at {} s, past the end ({:.2f} s)",
                                    crop.offset_seconds < 1e9 ? fmt::format("{:.2f}", crop.offset_seconds)
                                                              : format_number(crop.offset_seconds),
                                    out.source.duration_seconds),
                        Location(path.string()));
        std::size_t last = mono.size();
        if (crop.duration_seconds > 0)
            last = std::min(last, first + static_cast<std::size_t>(std::llround(crop.duration_seconds * info.samplerate)));
        mono = std::vector<float>(mono.begin() + static_cast<std::ptrdiff_t>(first),
                                  mono.begin() + static_cast<std::ptrdiff_t>(last));
    }
    if (static_cast<double>(mono.size()) / info.samplerate < min_seconds)
        throw Error(
            fmt::format("too short: {:.2f} s{}, at least {:.2f} s needed", static_cast<double>(mono.size()) / info.samplerate,
                        crop.whole() ? "" : " from the excerpt's start", min_seconds),
            Location(path.string()));

    const int rate = sample_rate_hz > 0 ? sample_rate_hz : info.samplerate;
    out.samples = rate == info.samplerate ? std::move(mono) : resample(mono, info.samplerate, rate);
    out.sample_rate_hz = rate;
    return out;
}

std::vector<float> resample(const std::vector<float>& samples, int from_hz, int to_hz) {
    if (from_hz <= 0 || to_hz <= 0) throw Error("resampling needs positive rates");
    if (from_hz == to_hz) return samples;
    const double wanted = static_cast<double>(samples.size()) * to_hz / from_hz;
    if (wanted > static_cast<double>(kMaxSamples))
        throw Error(fmt::format("resampling {} samples from {} Hz to {} Hz would make {:.0f} million, more than mer's "
                                "limit of {} million",
                                samples.size(), from_hz, to_hz, wanted / 1e6, kMaxSamples / 1000000));
    const auto out_length = static_cast<std::size_t>(std::llround(wanted));
    std::vector<float> out(out_length);
    std::size_t done = 0;
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    const soxr_error_t error = soxr_oneshot(from_hz, to_hz, 1, samples.data(), samples.size(), nullptr, out.data(),
                                            out.size(), &done, &io, &quality, nullptr);
    if (error) throw Error(std::string("resampling failed (libsoxr: ") + error + ")");
    out.resize(done);
    return out;
}

void write_audio(const fs::path& path, const std::vector<float>& samples, int sample_rate_hz) {
    const std::string ext = path.extension().string();
    SF_INFO info{};
    info.samplerate = sample_rate_hz;
    info.channels = 1;
    if (ext == ".wav")
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    else if (ext == ".flac")
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    else if (ext == ".ogg")
        info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    else if (ext == ".mp3")
        info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    else
        throw Error("cannot write audio with extension '" + ext + "' (use .wav, .flac, .ogg or .mp3)",
                    Location(path.string()));
    SndfileHandle file(sf_open(path.c_str(), SFM_WRITE, &info));
    if (!file) throw Error(std::string("cannot write audio: ") + sf_strerror(nullptr), Location(path.string()));
    if (ext == ".mp3") {
        // Constant 128 kbit/s: DEAM's excerpts are 128–320 kbit/s MP3.
        int mode = SF_BITRATE_MODE_CONSTANT;
        sf_command(file.get(), SFC_SET_BITRATE_MODE, &mode, sizeof mode);
        double level = 0.6;  // libsndfile maps this to a bit rate; lower is larger and slower
        sf_command(file.get(), SFC_SET_COMPRESSION_LEVEL, &level, sizeof level);
    }
    const sf_count_t written = sf_writef_float(file.get(), samples.data(), static_cast<sf_count_t>(samples.size()));
    if (written != static_cast<sf_count_t>(samples.size()))
        throw Error(std::string("writing audio failed: ") + sf_strerror(file.get()), Location(path.string()));
}

std::string sndfile_version() {
    return sf_version_string();
}
std::string soxr_library_version() {
    return soxr_version();
}

}  // namespace mer
