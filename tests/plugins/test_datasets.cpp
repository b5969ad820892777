// dataset.deam on a hand-written miniature DEAM tree with the quirks of the
// real release, and on a generated synthetic corpus; dataset.manifest on a
// small corpus of its own. Audio files are real MP3/WAV files the test writes.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<float> short_tone(double hz) {
    std::vector<float> out(22050);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * hz * i / 22050.0));
    return out;
}

// DEAM as the zips unpack: DEAM_Annotations/annotations/... and
// DEAM_audio/MEMD_audio/, with spaces after commas, CRLF, trailing commas,
// ids written as 2.0, song 2000 in both static files, dynamic rows of
// different lengths with empty cells, one missing and one fake MP3.
void write_mini_deam(const fs::path& root) {
    const fs::path ann = root / "DEAM_Annotations" / "annotations" / "annotations averaged per song";
    write_file(ann / "song_level" / "static_annotations_averaged_songs_1_2000.csv",
               "song_id, valence_mean, valence_std, arousal_mean, arousal_std\r\n"
               "2, 3.1, 0.94, 3, 0.63,\r\n"
               "3.0, 6.5, 1.2, 7.3, 1.1,\r\n"
               "5, 5, 1, 5, 1,\r\n"
               "7, 4.2, 1, 2.2, 1,\r\n"
               "2000, 8.6, 1, 8.2, 1,\r\n");
    write_file(ann / "song_level" / "static_annotations_averaged_songs_2000_2058.csv",
               "song_id,valence_mean, valence_std, arousal_mean, arousal_std\n"
               "2000, 8.6, 1, 8.2, 1\n"
               "2011, 1.5, 0.5, 1.9, 0.7\n");
    const fs::path dyn = ann / "dynamic (per second annotations)";
    write_file(dyn / "valence.csv",
               "song_id,sample_15000ms,sample_15500ms,sample_16000ms,sample_16500ms\r\n"
               "2,-0.5,-0.4,-0.3,\r\n"
               "3,0.25,,0.5,0.75\r\n"
               "2011,-1,-1\r\n");
    write_file(dyn / "arousal.csv",
               "song_id,sample_15000ms,sample_15500ms,sample_16000ms,sample_16500ms\r\n"
               "2,0,0,0,\r\n"
               "3,0.5,0.5,0.5,0.5\r\n"
               "2011,-0.5,-0.5\r\n");
    const fs::path audio = root / "DEAM_audio" / "MEMD_audio";
    fs::create_directories(audio);
    for (int id : {2, 3, 2000, 2011})
        mer::write_audio(audio / (std::to_string(id) + ".mp3"), short_tone(200.0 + id), 22050);
    write_file(audio / "7.mp3", "<html>403 Forbidden</html>");  // a failed download saved as .mp3
    // song 5 has no audio file at all
}

json deam_params(const fs::path& root, const std::string& songs = "all", const std::string& scale = "raw",
                 bool dynamic = false, const std::string& labels = "static") {
    return {{"root", root.string()},
            {"annotations_dir", ""},
            {"audio_dir", ""},
            {"songs", songs},
            {"targets", {"valence", "arousal"}},
            {"label_scale", scale},
            {"labels", labels},
            {"dynamic", dynamic},
            {"check_audio", true},
            {"label_range", {1, 9}}};
}

struct Loaded {
    mer::SongTable table;
    std::vector<mer::SkippedSong> skipped;
    std::string log;
};

Loaded load(const std::string& plugin, const json& params) {
    Loaded out;
    mer::PluginContext ctx;
    ctx.skip = [&out](const std::string& song, const std::string& path, const std::string& reason) {
        out.skipped.push_back({song, path, reason});
    };
    ctx.log = [&out](const std::string& line) { out.log += line + "\n"; };
    out.table = registry().create<mer::DatasetPlugin>(plugin, params)->load(ctx);
    out.table.check_shapes(plugin);
    return out;
}

std::size_t row(const mer::SongTable& t, const std::string& song) {
    for (std::size_t i = 0; i < t.size(); ++i)
        if (t.song_ids[i] == song) return i;
    FAIL("no song " << song);
    return 0;
}

}  // namespace

TEST_CASE("dataset.deam reads a miniature DEAM with every quirk", "[dataset.deam]") {
    TempDir dir;
    write_mini_deam(dir.path());
    const Loaded all = load("dataset.deam", deam_params(dir.path(), "all", "raw", true));
    CHECK(all.table.song_ids == std::vector<std::string>{"2", "3", "2000", "2011"});
    CHECK(all.table.target_names == std::vector<std::string>{"valence", "arousal"});
    CHECK(all.table.targets(row(all.table, "3"), 0) == 6.5);
    CHECK(all.table.targets(row(all.table, "2011"), 1) == 1.9);
    CHECK(fs::path(all.table.audio_paths[0]).filename() == "2.mp3");

    REQUIRE(all.skipped.size() == 2);
    std::map<std::string, std::string> reasons;
    for (const auto& s : all.skipped) reasons[s.song_id] = s.reason;
    CHECK(reasons["5"] == "audio file missing");
    CHECK_THAT(reasons["7"], Catch::StartsWith("not an audio file libsndfile can read"));

    // Dynamic labels: 2 Hz from 15 s, empty cells NaN, short rows shorter.
    REQUIRE(all.table.dynamic.size() == 4);
    const auto& d3 = all.table.dynamic[row(all.table, "3")];
    CHECK(d3.start_seconds == 15.0);
    CHECK(d3.step_seconds == 0.5);
    REQUIRE(d3.values.rows() == 4);
    CHECK(d3.values(0, 0) == Approx(5 + 4 * 0.25));  // raw scale: 5 + 4x
    CHECK(std::isnan(d3.values(1, 0)));
    CHECK(d3.values(1, 1) == Approx(7.0));
    CHECK(all.table.dynamic[row(all.table, "2011")].values.rows() == 2);
    CHECK(all.table.dynamic[row(all.table, "2")].values.rows() == 3);

    const Loaded first = load("dataset.deam", deam_params(dir.path(), "1-2000", "unit"));
    CHECK(first.table.size() == 3);  // 2, 3, 2000
    CHECK(first.table.targets(row(first.table, "2"), 0) == Approx((3.1 - 1) / 8));
    CHECK(first.table.dynamic.empty());
    const Loaded signed_scale = load("dataset.deam", deam_params(dir.path(), "2000-2058", "signed"));
    CHECK(signed_scale.table.song_ids == std::vector<std::string>{"2000", "2011"});
    CHECK(signed_scale.table.targets(1, 0) == Approx((1.5 - 5) / 4));
}

TEST_CASE("dataset.deam accepts the flat layout and explicit folders, and explains a wrong root", "[dataset.deam]") {
    TempDir dir;
    write_mini_deam(dir / "zips");
    fs::create_directories(dir / "flat");
    fs::rename(dir / "zips" / "DEAM_Annotations" / "annotations", dir / "flat" / "annotations");
    fs::rename(dir / "zips" / "DEAM_audio" / "MEMD_audio", dir / "flat" / "MEMD_audio");
    CHECK(load("dataset.deam", deam_params(dir / "flat")).table.size() == 4);

    json explicit_dirs = deam_params(dir / "nowhere");
    explicit_dirs["annotations_dir"] = (dir / "flat" / "annotations").string();
    explicit_dirs["audio_dir"] = (dir / "flat" / "MEMD_audio").string();
    CHECK(load("dataset.deam", explicit_dirs).table.size() == 4);

    CHECK_THROWS_WITH(load("dataset.deam", deam_params(dir / "nowhere")),
                      Catch::Contains("no annotations folder found") && Catch::Contains("expected the DEAM layout"));
}

TEST_CASE("dataset.deam loads a generated synthetic corpus", "[dataset.deam][synth]") {
    TempDir dir;
    const auto r = run_mer({"synth", "--out", "corpus", "--songs", "5", "--seconds", "17", "--seed", "3"}, dir.path());
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("x real time"));
    const Loaded corpus = load("dataset.deam", deam_params(dir / "corpus", "1-2000", "raw", true));
    CHECK(corpus.table.size() == 5);
    CHECK(corpus.skipped.empty());
    // Labels match the static CSV the generator wrote (and its design table).
    const std::string design = read_file(dir / "corpus" / "synthetic_design.csv");
    CHECK(count_lines(design) == 6);
    for (std::size_t i = 0; i < corpus.table.size(); ++i) {
        CHECK(corpus.table.targets(static_cast<Eigen::Index>(i), 0) >= 1.0);
        CHECK(corpus.table.targets(static_cast<Eigen::Index>(i), 0) <= 9.0);
        CHECK(corpus.table.dynamic[i].values.rows() == 4);  // 15.0, 15.5, 16.0, 16.5 s
    }
    const mer::DecodedAudio audio = mer::load_audio(corpus.table.audio_paths[0], 22050);
    CHECK(audio.source.sample_rate_hz == 44100);
    CHECK(audio.source.format == "MP3");
    CHECK(audio.duration_seconds() == Approx(17.0).margin(0.1));
}

TEST_CASE("dataset.deam labels: dynamic_mean is each song's mean dynamic rating", "[dataset.deam][synth]") {
    TempDir dir;
    const auto r = run_mer({"synth", "--out", "corpus", "--songs", "6", "--seconds", "18", "--seed", "5"}, dir.path());
    REQUIRE(r.exit_code == 0);
    const Loaded corpus = load("dataset.deam", deam_params(dir / "corpus", "1-2000", "unit", false, "dynamic_mean"));
    REQUIRE(corpus.table.size() == 6);
    CHECK(corpus.table.dynamic.empty());  // dynamic: false still keeps the 2 Hz series out
    CHECK_THAT(corpus.log, Catch::Contains("0 of 6 songs have none"));

    // The mean of each song's row in the generator's dynamic CSVs, read here
    // cell by cell and mapped to [0, 1] as (x + 1) / 2.
    const fs::path dynamic =
        dir / "corpus" / "annotations" / "annotations averaged per song" / "dynamic (per second annotations)";
    for (int t = 0; t < 2; ++t) {
        std::istringstream csv(read_file(dynamic / (t == 0 ? "valence.csv" : "arousal.csv")));
        std::string line;
        std::getline(csv, line);  // header
        int rows = 0;
        while (std::getline(csv, line)) {
            std::istringstream cells(line);
            std::string song, cell;
            std::getline(cells, song, ',');
            double sum = 0;
            int count = 0;
            while (std::getline(cells, cell, ','))
                if (!cell.empty()) sum += std::stod(cell), ++count;
            REQUIRE(count >= 3);
            INFO("song " << song << ", target " << t);
            CHECK(corpus.table.targets(static_cast<Eigen::Index>(row(corpus.table, song)), t) ==
                  Approx((sum / count + 1) / 2).epsilon(1e-12));
            ++rows;
        }
        CHECK(rows == 6);
    }

    // The static labels differ (they are the rounded song-level ratings).
    const Loaded static_labels = load("dataset.deam", deam_params(dir / "corpus", "1-2000", "unit"));
    CHECK(static_labels.table.song_ids == corpus.table.song_ids);
    CHECK(static_labels.table.targets != corpus.table.targets);
    CHECK_THAT(static_labels.log, !Catch::Contains("dynamic"));
}

TEST_CASE("Phase 3 end to end: dynamic_mean labels, a stratified holdout, the cache keyed on labels",
          "[dataset.deam][synth][run][cli]") {
    TempDir dir;
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "10", "--seconds", "17", "--seed", "2"}, dir.path())
                .exit_code == 0);
    write_file(dir / "exp.yaml", R"(name: phase3
nodes:
  data: {uses: dataset.deam, params: {root: corpus, labels: dynamic_mean, label_scale: unit}}
  features: {uses: features.handcrafted, inputs: [data], params: {groups: [mfcc]}}
  ridge: {uses: regressor.ridge, inputs: [features], params: {alpha: 10}}
evaluation: {split: {kind: holdout, fraction: 0.2, stratify: quadrant}}
)");
    auto log_of = [&](const std::vector<std::string>& args) {
        const auto r = run_mer(args, dir.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const fs::path folder = dir.path() / r.out.substr(0, r.out.find('\n'));
        CHECK_THAT(read_file(folder / "config.yaml"), Catch::Contains("stratify: quadrant"));
        return read_file(folder / "log.txt");
    };
    const std::string first = log_of({"run", "exp.yaml", "--quiet"});
    CHECK_THAT(first, Catch::Contains("node 'data' (dataset.deam): computed") &&
                          Catch::Contains("0 of 10 songs have none") && Catch::Contains("8 train, 2 validation songs"));
    CHECK_THAT(log_of({"run", "exp.yaml", "--quiet"}), Catch::Contains("node 'data' (dataset.deam): cached"));
    CHECK_THAT(log_of({"run", "exp.yaml", "--quiet", "--set", "nodes.data.params.labels=static"}),
               Catch::Contains("node 'data' (dataset.deam): computed") &&
                   Catch::Contains("node 'features' (features.handcrafted): computed"));
}

TEST_CASE("dataset.deam labels: dynamic_mean leaves empty cells out and songs without a row unlabelled",
          "[dataset.deam]") {
    TempDir dir;
    write_mini_deam(dir.path());
    const Loaded mean = load("dataset.deam", deam_params(dir.path(), "all", "raw", true, "dynamic_mean"));
    CHECK(mean.table.song_ids == std::vector<std::string>{"2", "3", "2000", "2011"});
    CHECK(mean.table.targets(row(mean.table, "2"), 0) == Approx(5 + 4 * (-0.5 - 0.4 - 0.3) / 3));
    CHECK(mean.table.targets(row(mean.table, "3"), 0) == Approx(5 + 4 * (0.25 + 0.5 + 0.75) / 3));
    CHECK(mean.table.targets(row(mean.table, "3"), 1) == Approx(5 + 4 * 0.5));
    CHECK(mean.table.targets(row(mean.table, "2011"), 1) == Approx(5 + 4 * -0.5));
    CHECK(std::isnan(mean.table.targets(row(mean.table, "2000"), 0)));  // no dynamic row
    CHECK(std::isnan(mean.table.targets(row(mean.table, "2000"), 1)));
    CHECK(mean.table.dynamic.size() == 4);  // dynamic: true keeps the series too
    CHECK_THAT(mean.log, Catch::Contains("1 of 4 songs have none"));

    fs::remove(dir / "DEAM_Annotations" / "annotations" / "annotations averaged per song" /
               "dynamic (per second annotations)" / "arousal.csv");
    CHECK_THROWS_WITH(load("dataset.deam", deam_params(dir.path(), "all", "raw", false, "dynamic_mean")),
                      Catch::Contains("labels: dynamic_mean, but no dynamic (per second annotations)/arousal.csv"));
}

TEST_CASE("dataset.manifest reads paths relative to the CSV, groups and splits", "[dataset.manifest]") {
    TempDir dir;
    fs::create_directories(dir / "corpus" / "audio");
    mer::write_audio(dir / "corpus" / "audio" / "a.wav", short_tone(220), 22050);
    mer::write_audio(dir / "corpus" / "audio" / "b.flac", short_tone(330), 22050);
    mer::write_audio(dir / "corpus" / "audio" / "c.ogg", short_tone(440), 22050);
    write_file(dir / "corpus" / "manifest.csv",
               "path, valence, arousal, song_id, split, group\n"
               "audio/a.wav, 0.2, 0.8, , train, artist1\n"
               "audio/b.flac, -0.5, 0.1, song_b, test, artist1\n"
               "audio/c.ogg, 0.9, , , train, artist2\n"
               "audio/gone.mp3, 0, 0, , train, artist3\n");
    const json params{{"path", (dir / "corpus" / "manifest.csv").string()},
                      {"targets", {"valence", "arousal"}},
                      {"check_audio", true},
                      {"label_range", json::array()}};
    const Loaded m = load("dataset.manifest", params);
    CHECK(m.table.song_ids == std::vector<std::string>{"audio/a", "song_b", "audio/c"});
    CHECK(m.table.groups == std::vector<std::string>{"artist1", "artist1", "artist2"});
    CHECK(m.table.assigned_split == std::vector<std::string>{"train", "test", "train"});
    CHECK(m.table.targets(1, 0) == -0.5);
    CHECK(std::isnan(m.table.targets(2, 1)));
    REQUIRE(m.skipped.size() == 1);
    CHECK(m.skipped[0].reason == "audio file missing");
    CHECK_THAT(m.skipped[0].path, Catch::EndsWith("corpus/audio/gone.mp3"));

    write_file(dir / "corpus" / "manifest.csv", "path, valence, arousal, split\naudio/a.wav, 1, 1, holdout\n");
    CHECK_THROWS_WITH(load("dataset.manifest", params),
                      Catch::Contains("manifest.csv:2") && Catch::Contains("split 'holdout' must be train"));
}

TEST_CASE("a symlink loop or a dangling symlink as a song's audio is skipped as what it is, not as missing",
          "[dataset.manifest][hardening]") {
    TempDir dir;
    mer::write_audio(dir / "a.wav", short_tone(220), 22050);
    fs::create_symlink(dir / "loop.wav", dir / "loop.wav");
    fs::create_symlink(dir / "moved" / "b.wav", dir / "b.wav");
    write_file(dir / "manifest.csv", "path,valence,arousal\na.wav,0.1,0.2\nloop.wav,0.3,0.4\nb.wav,0.5,0.6\n");
    const Loaded m = load("dataset.manifest", {{"path", (dir / "manifest.csv").string()},
                                               {"targets", {"valence", "arousal"}},
                                               {"check_audio", true},
                                               {"label_range", json::array()}});
    CHECK(m.table.song_ids == std::vector<std::string>{"a"});
    REQUIRE(m.skipped.size() == 2);
    std::map<std::string, std::string> reasons;
    for (const auto& s : m.skipped) reasons[fs::path(s.path).filename().string()] = s.reason;
    CHECK_THAT(reasons["loop.wav"], Catch::Contains("symbolic link loop"));
    CHECK_THAT(reasons["b.wav"], Catch::Contains("dangling symbolic link") &&
                                     Catch::Contains((dir / "moved" / "b.wav").string() + "' does not exist"));
}

TEST_CASE("skipped songs reach skipped.csv, too many fail the node", "[dataset.deam][run][cli]") {
    TempDir dir;
    write_mini_deam(dir / "DEAM");
    const std::string experiment =
        "name: skips\nnodes:\n  data: {uses: dataset.deam, params: {root: DEAM, songs: all}}\n";
    write_file(dir / "ok.yaml", experiment + "max_skipped_fraction: 0.5\n");
    const auto ok = run_mer({"run", "ok.yaml", "--quiet"}, dir.path());
    INFO(ok.err);
    REQUIRE(ok.exit_code == 0);
    std::string folder = ok.out.substr(0, ok.out.find('\n'));
    const std::string skipped = read_file(dir.path() / folder / "skipped.csv");
    CHECK(skipped.rfind("song_id,path,reason,node\n", 0) == 0);
    CHECK_THAT(skipped, Catch::Contains("5,") && Catch::Contains("audio file missing,data"));
    CHECK(count_lines(skipped) == 3);
    CHECK_THAT(read_file(dir.path() / folder / "log.txt"), Catch::Contains("skipped 2 of 6 songs (33.3%)"));

    // A rerun comes from the cache and still lists the skipped songs.
    const auto again = run_mer({"run", "ok.yaml", "--quiet"}, dir.path());
    folder = again.out.substr(0, again.out.find('\n'));
    CHECK_THAT(read_file(dir.path() / folder / "log.txt"), Catch::Contains("cached"));
    CHECK(read_file(dir.path() / folder / "skipped.csv") == skipped);

    write_file(dir / "strict.yaml", experiment);  // default: at most 5% may be lost
    const auto strict = run_mer({"run", "strict.yaml"}, dir.path());
    CHECK(strict.exit_code == 1);
    CHECK_THAT(strict.err,
               Catch::Contains("2 of 6 songs (33.3%) could not be used, more than max_skipped_fraction (5.0%)"));
    // The error says why, commonest reason first, and how to accept more.
    CHECK_THAT(strict.err, Catch::Contains("Commonest reasons: 1 × audio file missing") &&
                               Catch::Contains("--set max_skipped_fraction="));
}

TEST_CASE("datasets declare the scale their labels are on, and refuse labels beyond it",
          "[dataset.deam][dataset.manifest][label_range]") {
    TempDir dir;
    write_mini_deam(dir.path());
    auto scale_of = [&](const std::string& plugin, const json& params) {
        return registry().create<mer::DatasetPlugin>(plugin, params)->query(mer::capability::kLabelRange);
    };
    // DEAM's files are on 1-9; label_scale maps the scale as it maps the labels.
    CHECK(scale_of("dataset.deam", deam_params(dir.path())) == json{{"valence", {1, 9}}, {"arousal", {1, 9}}});
    CHECK(scale_of("dataset.deam", deam_params(dir.path(), "all", "unit"))["valence"] == json::array({0, 1}));
    CHECK(scale_of("dataset.deam", deam_params(dir.path(), "all", "signed"))["arousal"] == json::array({-1, 1}));
    // A static label outside the declared scale is refused where it is.
    json narrow = deam_params(dir.path());
    narrow["label_range"] = {3, 9};
    CHECK_THROWS_WITH(load("dataset.deam", narrow),
                      Catch::Contains("static_annotations_averaged_songs_1_2000.csv:") &&
                          Catch::Contains("lies outside label_range [3, 9]"));
    narrow["label_range"] = {9, 1};
    CHECK_THROWS_WITH(load("dataset.deam", narrow), Catch::Contains("label_range must be [low, high] with low < high"));

    // A manifest on [-10, 10], as the issue's corpus.
    fs::create_directories(dir / "corpus");
    mer::write_audio(dir / "corpus" / "a.wav", short_tone(220), 22050);
    mer::write_audio(dir / "corpus" / "b.wav", short_tone(330), 22050);
    write_file(dir / "corpus" / "manifest.csv", "path,valence,arousal\na.wav,-9.5,3\nb.wav,10,-10\n");
    json manifest{{"path", (dir / "corpus" / "manifest.csv").string()},
                  {"targets", {"valence", "arousal"}},
                  {"check_audio", true},
                  {"label_range", {-10, 10}}};
    CHECK(scale_of("dataset.manifest", manifest) == json{{"valence", {-10, 10}}, {"arousal", {-10, 10}}});
    CHECK(load("dataset.manifest", manifest).table.size() == 2);
    manifest["label_range"] = {-5, 5};
    CHECK_THROWS_WITH(load("dataset.manifest", manifest),
                      Catch::Contains("manifest.csv:2") &&
                          Catch::Contains("column 'valence': -9.5 lies outside label_range [-5, 5]"));
    manifest["label_range"] = json::array();  // not declared: no scale, any label
    CHECK(scale_of("dataset.manifest", manifest).is_null());
    CHECK(load("dataset.manifest", manifest).table.size() == 2);
}

TEST_CASE("dataset.manifest reports every broken row before a run, with its line and column",
          "[dataset.manifest][validate]") {
    TempDir dir;
    fs::create_directories(dir / "corpus");
    mer::write_audio(dir / "corpus" / "a.wav", short_tone(220), 22050);
    mer::write_audio(dir / "corpus" / "b.wav", short_tone(330), 22050);
    write_file(dir / "corpus" / "manifest.csv",
               "path,valence,arousal,split\n"
               "a.wav,5,5,train\n"
               "gone.wav,5,5,train\n"
               "a.wav,five,5,train\n"
               ",5,5,train\n"
               "b.wav,5,12,holdout\n");
    const json params{{"path", (dir / "corpus" / "manifest.csv").string()},
                      {"targets", {"valence", "arousal"}},
                      {"check_audio", true},
                      {"label_range", {1, 9}}};
    const json problems =
        registry().create<mer::DatasetPlugin>("dataset.manifest", params)->query(mer::capability::kCheckData);
    REQUIRE(problems.is_array());
    std::vector<std::string> found;
    for (const auto& p : problems)
        found.push_back(std::to_string(p["line"].get<int>()) + " " + p["column"].get<std::string>() + ": " +
                        p["message"].get<std::string>());
    INFO(problems.dump(2));
    REQUIRE(found.size() == 6);
    CHECK_THAT(found[0], Catch::StartsWith("3 path: column 'path': the audio file") && Catch::Contains("does not exist"));
    CHECK_THAT(found[1], Catch::StartsWith("4 path: song id 'a' appears twice"));
    CHECK_THAT(found[2], Catch::StartsWith("4 valence: column 'valence': 'five' is not a number"));
    CHECK_THAT(found[3], Catch::StartsWith("5 path: column 'path' is empty"));
    CHECK_THAT(found[4], Catch::StartsWith("6 split: split 'holdout' must be train, validation, test or empty"));
    CHECK_THAT(found[5], Catch::StartsWith("6 arousal: column 'arousal': 12 lies outside label_range [1, 9]"));
    for (const auto& p : problems) CHECK(p["file"] == (dir / "corpus" / "manifest.csv").string());

    // A header without a label column: one problem on line 1, naming the column and the header.
    write_file(dir / "corpus" / "manifest.csv", "path,valence\na.wav,5\n");
    const json header =
        registry().create<mer::DatasetPlugin>("dataset.manifest", params)->query(mer::capability::kCheckData);
    REQUIRE(header.size() == 1);
    CHECK(header[0]["line"] == 1);
    CHECK(header[0]["column"] == "arousal");
    CHECK_THAT(header[0]["message"].get<std::string>(), Catch::Contains("no column 'arousal' (the header has: path, valence)"));
}
