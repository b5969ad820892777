// Decoding real files the test writes (WAV, FLAC, OGG, MP3) through
// libsndfile, downmixing, resampling with libsoxr, and the reason given for
// every kind of bad file.
#include <sndfile.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <sys/stat.h>

#include "core/audio/audio.hpp"
#include "core/error.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> tone(double hz, double seconds, int rate, double amplitude = 0.5) {
    std::vector<float> out(static_cast<std::size_t>(seconds * rate));
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<float>(amplitude * std::sin(2 * kPi * hz * static_cast<double>(i) / rate));
    return out;
}

// RMS of the middle of a signal (edges hold filter transients and fades).
double rms_middle(const std::vector<float>& x) {
    const std::size_t a = x.size() / 5, b = x.size() - x.size() / 5;
    double sum = 0;
    for (std::size_t i = a; i < b; ++i) sum += double(x[i]) * x[i];
    return std::sqrt(sum / static_cast<double>(b - a));
}

double db(double ratio) {
    return 20 * std::log10(ratio);
}

// Amplitude of the `hz` component over the middle of the signal (Goertzel-like
// projection on sine and cosine).
double amplitude_at(const std::vector<float>& x, int rate, double hz) {
    const std::size_t a = x.size() / 5, b = x.size() - x.size() / 5;
    double s = 0, c = 0;
    for (std::size_t i = a; i < b; ++i) {
        const double phase = 2 * kPi * hz * static_cast<double>(i) / rate;
        s += x[i] * std::sin(phase);
        c += x[i] * std::cos(phase);
    }
    return 2 * std::sqrt(s * s + c * c) / static_cast<double>(b - a);
}

std::string reason_for(const fs::path& path, double min_seconds = 0) {
    try {
        mer::load_audio(path, 22050, min_seconds);
    } catch (const mer::Error& e) {
        CHECK(e.where().file == path.string());
        return e.message();
    }
    return "(decoded)";
}

}  // namespace

TEST_CASE("WAV, FLAC, OGG and MP3 written by libsndfile decode to the same tone", "[audio]") {
    TempDir dir;
    const int rate = 44100;
    const auto original = tone(440, 2.0, rate);
    for (const char* ext : {".wav", ".flac", ".ogg", ".mp3"}) {
        INFO("format " << ext);
        const fs::path file = dir / (std::string("tone") + ext);
        mer::write_audio(file, original, rate);
        const mer::AudioInfo info = mer::probe_audio(file);
        CHECK(info.sample_rate_hz == rate);
        CHECK(info.channels == 1);
        const mer::DecodedAudio decoded = mer::load_audio(file, 0);
        CHECK(decoded.sample_rate_hz == rate);
        CHECK(decoded.duration_seconds() == Approx(2.0).margin(0.06));
        CHECK(db(amplitude_at(decoded.samples, rate, 440) / 0.5) == Approx(0.0).margin(0.5));
        if (std::string(ext) == ".wav" || std::string(ext) == ".flac") {
            REQUIRE(decoded.samples.size() == original.size());
            double worst = 0;
            for (std::size_t i = 0; i < original.size(); ++i)
                worst = std::max(worst, std::abs(double(decoded.samples[i]) - original[i]));
            CHECK(worst <= 1.0 / 32768 + 1e-7);  // 16-bit quantisation only
        }
    }
    CHECK(mer::probe_audio(dir / "tone.mp3").format == "MP3");
    CHECK(mer::probe_audio(dir / "tone.flac").format == "FLAC");
}

TEST_CASE("stereo is downmixed as the mean of the channels", "[audio]") {
    TempDir dir;
    const int rate = 22050;
    const auto left = tone(300, 1.0, rate, 0.6);
    std::vector<float> interleaved;
    for (float v : left) {
        interleaved.push_back(v);
        interleaved.push_back(-0.5f * v);
    }
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    const fs::path file = dir / "stereo.wav";
    SNDFILE* f = sf_open(file.c_str(), SFM_WRITE, &info);
    REQUIRE(f != nullptr);
    sf_writef_float(f, interleaved.data(), static_cast<sf_count_t>(left.size()));
    sf_close(f);
    const mer::DecodedAudio decoded = mer::load_audio(file, 0);
    CHECK(decoded.source.channels == 2);
    REQUIRE(decoded.samples.size() == left.size());
    for (std::size_t i = 0; i < left.size(); i += 97) CHECK(decoded.samples[i] == Approx(0.25 * left[i]).margin(1e-6));
}

TEST_CASE("resampling keeps a 1 kHz tone and removes what the new rate cannot hold", "[audio][resample]") {
    const int rate = 44100;
    const auto one_khz = tone(1000, 2.0, rate);
    for (int target : {22050, 32000}) {
        INFO("to " << target << " Hz");
        const auto out = mer::resample(one_khz, rate, target);
        CHECK(static_cast<double>(out.size()) == Approx(2.0 * target).margin(2));
        CHECK(std::abs(db(rms_middle(out) / rms_middle(one_khz))) < 0.1);
        CHECK(std::abs(db(amplitude_at(out, target, 1000) / 0.5)) < 0.1);
        CHECK(amplitude_at(out, target, 1100) < 1e-3);  // no energy moved off the tone
        // A tone above the new Nyquist frequency is removed, not aliased.
        const double above = target == 22050 ? 15000 : 19000;
        const auto high = mer::resample(tone(above, 2.0, rate), rate, target);
        CHECK(db(rms_middle(high) / rms_middle(one_khz)) < -60);
    }
}

TEST_CASE("every kind of bad audio file gets its own reason", "[audio][errors]") {
    TempDir dir;
    CHECK(reason_for(dir / "missing.mp3") == "file does not exist");

    write_file(dir / "empty.mp3", "");
    CHECK(reason_for(dir / "empty.mp3") == "file is empty (0 bytes)");

    write_file(dir / "notes.mp3", "These are my notes about the song, not audio.\n");
    CHECK_THAT(reason_for(dir / "notes.mp3"), Catch::StartsWith("not an audio file libsndfile can read"));

    write_file(dir / "noise.wav", std::string(4096, '\x5a'));
    CHECK_THAT(reason_for(dir / "noise.wav"), Catch::StartsWith("not an audio file libsndfile can read"));

    mer::write_audio(dir / "cut.wav", tone(440, 2.0, 22050), 22050);
    const auto size = fs::file_size(dir / "cut.wav");
    fs::resize_file(dir / "cut.wav", size / 2);
    CHECK_THAT(reason_for(dir / "cut.wav"),
               Catch::StartsWith("truncated: the header promises 88200 bytes of audio data"));

    // An MP3 cut to 60 % with its Xing/LAME header still promising 10 s: a skip reason, not a 6-s song.
    mer::write_audio(dir / "cut.mp3", tone(440, 10.0, 22050), 22050);
    CHECK(reason_for(dir / "cut.mp3") == "(decoded)");  // whole, it decodes
    fs::resize_file(dir / "cut.mp3", fs::file_size(dir / "cut.mp3") * 6 / 10);
    CHECK_THAT(reason_for(dir / "cut.mp3"),
               Catch::StartsWith("truncated: the header promises 220500 frames (10.00 s), only") &&
                   Catch::EndsWith("could be decoded"));

    mer::write_audio(dir / "short.flac", tone(440, 0.5, 22050), 22050);
    CHECK_THAT(reason_for(dir / "short.flac", 3.0),
               Catch::StartsWith("too short: 0.5") && Catch::Contains("at least 3"));

    fs::create_directory(dir / "folder.mp3");
    CHECK(reason_for(dir / "folder.mp3") == "is a folder, not an audio file");

    CHECK(mer::audio_problem(dir / "missing.mp3", false) == "audio file missing");
    CHECK(mer::audio_problem(dir / "notes.mp3", false).empty());  // header not opened
    CHECK_THAT(mer::audio_problem(dir / "notes.mp3", true), Catch::StartsWith("not an audio file libsndfile can read"));
}

TEST_CASE("hostile audio files are refused before they block or exhaust memory", "[audio][errors][hardening]") {
    TempDir dir;
    // A FIFO blocked the read forever; a symlink loop is not a file either.
    REQUIRE(::mkfifo((dir / "pipe.wav").c_str(), 0600) == 0);
    CHECK_THAT(reason_for(dir / "pipe.wav"), Catch::StartsWith("is not a regular file"));
    fs::create_symlink(dir / "loop.wav", dir / "loop.wav");
    CHECK_THAT(reason_for(dir / "loop.wav"), Catch::StartsWith("cannot read: ") && Catch::Contains("symbolic links"));

    // A real WAV whose header claims 1 Hz asked the resampler for gigabytes.
    mer::write_audio(dir / "slow.wav", tone(440, 1.0, 8000), 8000);
    {
        std::fstream f(dir / "slow.wav", std::ios::in | std::ios::out | std::ios::binary);
        const std::uint32_t rate = 1, bytes_per_second = 2;
        f.seekp(24);
        f.write(reinterpret_cast<const char*>(&rate), 4);
        f.write(reinterpret_cast<const char*>(&bytes_per_second), 4);
    }
    CHECK_THAT(reason_for(dir / "slow.wav"),
               Catch::StartsWith("the header's sample rate, 1 Hz, is outside what mer decodes (1000–768000 Hz)"));

    // Resampling is bounded too: 2^20 samples at 1 kHz would be 805 million at 768 kHz.
    CHECK_THROWS_WITH(mer::resample(std::vector<float>(1 << 20), 1000, 768000),
                      Catch::Contains("more than mer's limit of 268 million"));
}
