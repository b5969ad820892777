// features.handcrafted through the real plugin: the 386- and 346-column song
// vectors of the fixtures (tests/fixtures) at librosa parity, the per-song .npy cache,
// skipped files and the optional statistics.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "core/audio/audio.hpp"
#include "core/data/npy.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json params(int n_mfcc = 40, std::vector<std::string> stats = {"mean", "std"}) {
    return {{"groups", {"mfcc", "chroma", "mel", "contrast", "tonnetz"}},
            {"stats", stats},
            {"n_mfcc", n_mfcc},
            {"n_mels", 128},
            {"sample_rate_hz", 22050},
            {"n_fft", 2048},
            {"hop", 512},
            {"min_seconds", 1.0},
            {"cache", true},
            {"cache_frames", false},
            {"window_seconds", 0.0},
            {"window_hop_seconds", 0.5}};
}

const std::vector<std::string> kFixtures{"c_major_triad", "a_minor_triad", "chirp_noise", "clicks_bass"};

mer::SongTable songs_from(const std::vector<fs::path>& files) {
    mer::SongTable t;
    for (const auto& f : files) {
        t.song_ids.push_back(f.stem().string());
        t.groups.push_back(f.stem().string());
        t.audio_paths.push_back(f.string());
    }
    t.features.resize(static_cast<Eigen::Index>(files.size()), 0);
    t.targets.resize(static_cast<Eigen::Index>(files.size()), 0);
    return t;
}

struct Run {
    mer::SongTable table;
    std::vector<mer::SkippedSong> skipped;
    std::string log;
};

Run extract(const json& p, const mer::SongTable& songs, const fs::path& cache_dir) {
    Run run;
    mer::PluginContext ctx;
    ctx.threads = 2;
    ctx.cache_dir = cache_dir.string();
    ctx.log = [&run](const std::string& line) { run.log += line + "\n"; };
    ctx.skip = [&run](const std::string& s, const std::string& path, const std::string& why) {
        run.skipped.push_back({s, path, why});
    };
    run.table = registry().create<mer::FeaturesPlugin>("features.handcrafted", p)->extract(songs, ctx);
    run.table.check_shapes("features.handcrafted");
    return run;
}

}  // namespace

TEST_CASE("the 386- and 346-column vectors match librosa on every fixture", "[features.handcrafted][parity]") {
    TempDir cache;
    std::vector<fs::path> files;
    for (const auto& f : kFixtures) files.push_back(fixtures_dir() / "audio" / (f + ".wav"));
    for (int n_mfcc : {40, 20}) {
        const Run run = extract(params(n_mfcc), songs_from(files), cache.path());
        const std::string key = n_mfcc == 40 ? "summary_386" : "summary_346";
        for (std::size_t s = 0; s < kFixtures.size(); ++s) {
            const json ref = json::parse(read_file(fixtures_dir() / "librosa" / (kFixtures[s] + ".json")))[key];
            REQUIRE(run.table.feature_names == ref["names"].get<std::vector<std::string>>());
            std::map<std::string, double> worst;
            for (std::size_t c = 0; c < run.table.feature_names.size(); ++c) {
                const std::string& name = run.table.feature_names[c];
                const std::string group = name.substr(0, name.find('_'));
                const double ours = run.table.features(static_cast<Eigen::Index>(s), static_cast<Eigen::Index>(c));
                const double theirs = ref["values"][c];
                const double error = group == "mel" || group == "mfcc"
                                         ? std::abs(ours - theirs) / std::max(std::abs(theirs), 1e-12)
                                         : std::abs(ours - theirs);
                worst[group] = std::max(worst[group], error);
            }
            INFO(kFixtures[s] << " n_mfcc " << n_mfcc << ": mel " << worst["mel"] << ", mfcc " << worst["mfcc"]
                              << ", chroma " << worst["chroma"] << ", contrast " << worst["contrast"] << ", tonnetz "
                              << worst["tonnetz"]);
            CHECK(worst["mel"] <= 1e-4);
            CHECK(worst["mfcc"] <= 1e-4);
            CHECK(worst["chroma"] <= 1e-3);
            CHECK(worst["contrast"] <= 1e-3);
            CHECK(worst["tonnetz"] <= 5e-3);
        }
    }
}

TEST_CASE("song vectors are cached as .npy and reused, frames only on request", "[features.handcrafted][cache]") {
    TempDir dir;
    fs::copy(fixtures_dir() / "audio" / "clicks_bass.wav", dir / "song.wav");
    const mer::SongTable songs = songs_from({dir / "song.wav"});
    const Run first = extract(params(), songs, dir / "cache");
    CHECK_THAT(first.log, Catch::Contains("0 from the feature cache, 1 extracted"));
    const Run second = extract(params(), songs, dir / "cache");
    CHECK_THAT(second.log, Catch::Contains("1 from the feature cache, 0 extracted"));
    CHECK(first.table.features == second.table.features);

    // The entry holds the song's vector, numpy-readable, and by default nothing else big.
    fs::path entry;
    for (const auto& e : fs::recursive_directory_iterator(dir / "cache"))
        if (e.path().filename() == "summary.npy") entry = e.path().parent_path();
    REQUIRE(!entry.empty());
    const Eigen::MatrixXd summary = mer::read_npy(entry / "summary.npy");
    CHECK(summary.rows() == 386);
    CHECK(summary.col(0) == first.table.features.row(0).transpose());
    CHECK_FALSE(fs::exists(entry / "mel.npy"));
    // cache_frames: the same entry (same values) gains each group's frames, extracted once more for them.
    json with_frames = params();
    with_frames["cache_frames"] = true;
    CHECK_THAT(extract(with_frames, songs, dir / "cache").log, Catch::Contains("0 from the feature cache"));
    CHECK_THAT(extract(with_frames, songs, dir / "cache").log, Catch::Contains("1 from the feature cache"));
    CHECK_THAT(extract(params(), songs, dir / "cache").log, Catch::Contains("1 from the feature cache"));
    CHECK(mer::read_npy(entry / "mfcc.npy").rows() == 40);
    CHECK(mer::read_npy(entry / "mel.npy").cols() == 259);
    CHECK(mer::read_npy(entry / "tonnetz.npy").rows() == 6);
    CHECK(json::parse(read_file(entry / "meta.json"))["columns"].size() == 386);

    // Every file of the entry is checked against its sidecar: a flipped bit
    // in the vector, or a file copied over from another song's entry, is
    // recomputed with a note in the log, and the values come back unchanged.
    {
        std::string bytes = read_file(entry / "summary.npy");
        bytes[bytes.size() - 3] ^= 0x10;
        write_file(entry / "summary.npy", bytes);
        const Run flipped = extract(params(), songs, dir / "cache");
        CHECK_THAT(flipped.log, Catch::Contains("summary.npy is damaged (its checksum does not match); recomputing"));
        CHECK(flipped.table.features == first.table.features);
        fs::copy(fixtures_dir() / "audio" / "c_major_triad.wav", dir / "other.wav");
        extract(params(), songs_from({dir / "other.wav"}), dir / "cache");
        fs::path other;
        for (const auto& e : fs::recursive_directory_iterator(dir / "cache"))
            if (e.path().filename() == "summary.npy" && e.path().parent_path() != entry) other = e.path().parent_path();
        REQUIRE(!other.empty());
        for (const std::string f : {"summary.npy", "summary.json"})
            fs::copy_file(other / f, entry / f, fs::copy_options::overwrite_existing);
        const Run copied = extract(params(), songs, dir / "cache");
        CHECK_THAT(copied.log, Catch::Contains("summary.npy is damaged (it belongs to another song's entry)"));
        CHECK(copied.table.features == first.table.features);
    }

    // Other parameters or an edited file make a new entry.
    const Run other = extract(params(20), songs, dir / "cache");
    CHECK_THAT(other.log, Catch::Contains("0 from the feature cache"));
    mer::write_audio(dir / "song.wav", mer::load_audio(dir / "song.wav", 0).samples, 22050);
    fs::last_write_time(dir / "song.wav", fs::last_write_time(dir / "song.wav") + std::chrono::seconds(5));
    CHECK_THAT(extract(params(), songs, dir / "cache").log, Catch::Contains("0 from the feature cache"));
}

TEST_CASE("unreadable or too short songs are skipped with their reason", "[features.handcrafted]") {
    TempDir dir;
    fs::copy(fixtures_dir() / "audio" / "c_major_triad.wav", dir / "good.wav");
    mer::write_audio(dir / "short.wav", std::vector<float>(4410, 0.1f), 22050);  // 0.2 s
    write_file(dir / "broken.mp3", "not audio at all");
    const Run run =
        extract(params(), songs_from({dir / "good.wav", dir / "short.wav", dir / "broken.mp3"}), dir / "cache");
    CHECK(run.table.song_ids == std::vector<std::string>{"good"});
    REQUIRE(run.skipped.size() == 2);
    CHECK_THAT(run.skipped[0].reason, Catch::StartsWith("too short: 0.20 s"));
    CHECK_THAT(run.skipped[1].reason, Catch::StartsWith("not an audio file libsndfile can read"));
}

TEST_CASE("optional statistics and groups shape the columns", "[features.handcrafted]") {
    TempDir dir;
    json p = params(20, {"mean", "std", "min", "max", "median", "skew"});
    p["groups"] = {"tonnetz", "contrast"};  // any order in; canonical order out
    const Run run = extract(p, songs_from({fixtures_dir() / "audio" / "a_minor_triad.wav"}), dir.path());
    REQUIRE(run.table.size() == 1);
    REQUIRE(run.table.feature_names.size() == (7 + 6) * 6);
    CHECK(run.table.feature_names.front() == "contrast_1_mean");
    CHECK(run.table.feature_names[7] == "contrast_1_std");
    CHECK(run.table.feature_names[7 * 6] == "tonnetz_1_mean");
    const auto& f = run.table.features;
    for (Eigen::Index row = 0; row < 7; ++row) {
        CHECK(f(0, 14 + row) <= f(0, row));       // min ≤ mean
        CHECK(f(0, 21 + row) >= f(0, row));       // max ≥ mean
        CHECK(f(0, 28 + row) >= f(0, 14 + row));  // median ≥ min
    }
}
