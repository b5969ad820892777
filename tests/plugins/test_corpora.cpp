// dataset.pmemo and dataset.emomusic on corpora `mer-run synth --layout`
// writes in their releases' layouts: every song, id and label comes back as
// the synthetic design says, on each corpus's own scale, with its 2 Hz
// annotations and (EmoMusic) its development / evaluation split; a damaged
// annotation row is refused naming its file and line.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "core/synth/synthetic_corpus.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kSongs = 7, kSeed = 3;
constexpr double kSeconds = 17;  // 2 Hz frames at 15.0, 15.5, 16.0, 16.5 s

// The design of every song of the corpus `synth` writes with these settings.
std::vector<mer::SynthSong> design() {
    mer::SynthCorpusSpec spec;
    spec.songs = kSongs;
    spec.seconds = kSeconds;
    spec.seed = kSeed;
    std::vector<mer::SynthSong> songs;
    for (int i = 0; i < kSongs; ++i) songs.push_back(mer::design_song(i, spec));
    return songs;
}

void synth(const fs::path& cwd, const std::string& layout) {
    const auto r = run_mer({"synth", "--out", "corpus", "--layout", layout, "--songs", std::to_string(kSongs),
                            "--seconds", "17", "--seed", std::to_string(kSeed), "--threads", "1"},
                           cwd);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
}

// A number as the corpus writes it, read back: what the loader must give.
double written(const char* format, double x) {
    return std::stod(fmt::format(format, x));
}

mer::SongTable load(const std::string& plugin, json params) {
    mer::PluginContext ctx;
    ctx.skip = [](const std::string& song, const std::string&, const std::string& reason) {
        FAIL("song " << song << " skipped: " << reason);
    };
    ctx.log = [](const std::string&) {};
    mer::SongTable table = registry().create<mer::DatasetPlugin>(plugin, with_defaults(plugin, params))->load(ctx);
    table.check_shapes(plugin);
    return table;
}

json label_range(const std::string& plugin, const json& params) {
    return registry()
        .create<mer::DatasetPlugin>(plugin, with_defaults(plugin, params))
        ->query(mer::capability::kLabelRange);
}

std::vector<std::string> ids() {
    std::vector<std::string> out;
    for (int id = 1; id <= kSongs; ++id) out.push_back(std::to_string(id));
    return out;
}

// Replaces line `line` (1-based) of a file.
void replace_line(const fs::path& file, int line, const std::string& text) {
    std::istringstream in(read_file(file));
    std::string out, current;
    for (int n = 1; std::getline(in, current); ++n) out += (n == line ? text : current) + "\n";
    write_file(file, out);
}

}  // namespace

TEST_CASE("dataset.pmemo loads a synthetic PMEmo 2019 corpus on its 0-1 scale", "[dataset.pmemo][synth]") {
    TempDir dir;
    synth(dir.path(), "pmemo");
    const fs::path root = dir / "corpus";
    CHECK(fs::is_regular_file(root / "metadata.csv"));
    CHECK(fs::is_regular_file(root / "chorus" / "1.mp3"));
    CHECK_THAT(read_file(root / "annotations" / "static_annotations.csv"),
               Catch::StartsWith("musicId,Arousal(mean),Valence(mean)\n"));
    CHECK_THAT(read_file(root / "annotations" / "dynamic_annotations.csv"),
               Catch::StartsWith("musicId,frameTime,Arousal(mean),Valence(mean)\n1,15.0,"));

    const mer::SongTable t = load("dataset.pmemo", {{"root", root.string()}, {"dynamic", true}});
    REQUIRE(t.song_ids == ids());
    CHECK(t.target_names == std::vector<std::string>{"valence", "arousal"});
    const auto songs = design();
    for (std::size_t i = 0; i < songs.size(); ++i) {
        const auto r = static_cast<Eigen::Index>(i);
        INFO("song " << songs[i].id);
        // The design's 1-9 means on PMEmo's 0-1 scale; its [-1, 1] frames likewise.
        CHECK(t.targets(r, 0) == written("{:.4f}", (songs[i].valence_mean - 1) / 8));
        CHECK(t.targets(r, 1) == written("{:.4f}", (songs[i].arousal_mean - 1) / 8));
        const mer::DynamicLabels& d = t.dynamic[i];
        CHECK(d.start_seconds == 15.0);
        CHECK(d.step_seconds == 0.5);  // 2 Hz
        REQUIRE(d.values.rows() == 4);
        for (Eigen::Index k = 0; k < 4; ++k) {
            CHECK(d.values(k, 0) == written("{:.4f}", (songs[i].dynamic_valence[k] + 1) / 2));
            CHECK(d.values(k, 1) == written("{:.4f}", (songs[i].dynamic_arousal[k] + 1) / 2));
        }
    }
    CHECK(label_range("dataset.pmemo", {{"root", root.string()}}) == json{{"valence", {0, 1}}, {"arousal", {0, 1}}});

    // signed: 2x - 1, and the declared scale with it; one target alone.
    const json signed_params{{"root", root.string()}, {"label_scale", "signed"}, {"targets", {"arousal"}}};
    const mer::SongTable s = load("dataset.pmemo", signed_params);
    CHECK(s.targets(0, 0) == Approx(2 * t.targets(0, 1) - 1));
    CHECK(label_range("dataset.pmemo", signed_params) == json{{"arousal", {-1, 1}}});
    // dynamic_mean: each song's mean 2 Hz rating.
    const mer::SongTable m = load("dataset.pmemo", {{"root", root.string()}, {"labels", "dynamic_mean"}});
    CHECK(m.dynamic.empty());
    CHECK(m.targets(2, 0) == Approx(t.dynamic[2].values.col(0).mean()));
}

TEST_CASE("dataset.emomusic loads a synthetic EmoMusic corpus: 1-9, 2 Hz on -1..1, its split",
          "[dataset.emomusic][synth]") {
    TempDir dir;
    synth(dir.path(), "emomusic");
    const fs::path root = dir / "corpus";
    CHECK(fs::is_regular_file(root / "clips_45seconds" / "7.mp3"));
    CHECK_THAT(read_file(root / "annotations" / "static_annotations.csv"),
               Catch::StartsWith("song_id,mean_arousal,std_arousal,mean_valence,std_valence\n"));
    CHECK_THAT(read_file(root / "annotations" / "valence_cont_average.csv"),
               Catch::StartsWith("song_id,sample_15000ms,sample_15500ms,"));

    const mer::SongTable t = load("dataset.emomusic", {{"root", root.string()}, {"dynamic", true}});
    REQUIRE(t.song_ids == ids());
    const auto songs = design();
    for (std::size_t i = 0; i < songs.size(); ++i) {
        const auto r = static_cast<Eigen::Index>(i);
        INFO("song " << songs[i].id);
        CHECK(t.targets(r, 0) == written("{:.1f}", songs[i].valence_mean));
        CHECK(t.targets(r, 1) == written("{:.1f}", songs[i].arousal_mean));
        // The [-1, 1] frames on the static 1-9 scale: 5 + 4x.
        const mer::DynamicLabels& d = t.dynamic[i];
        CHECK(d.start_seconds == 15.0);
        CHECK(d.step_seconds == 0.5);
        REQUIRE(d.values.rows() == 4);
        for (Eigen::Index k = 0; k < 4; ++k) {
            CHECK(d.values(k, 0) == Approx(5 + 4 * written("{:.4f}", songs[i].dynamic_valence[k])));
            CHECK(d.values(k, 1) == Approx(5 + 4 * written("{:.4f}", songs[i].dynamic_arousal[k])));
        }
    }
    // 125 of every 744 songs are evaluation songs: here song 6.
    CHECK(t.assigned_split == std::vector<std::string>{"train", "train", "train", "train", "train", "test", "train"});
    CHECK(label_range("dataset.emomusic", {{"root", root.string()}}) == json{{"valence", {1, 9}}, {"arousal", {1, 9}}});

    // unit: static (x - 1) / 8, the 2 Hz frames (x + 1) / 2.
    const json unit{{"root", root.string()}, {"label_scale", "unit"}, {"dynamic", true}};
    const mer::SongTable u = load("dataset.emomusic", unit);
    CHECK(u.targets(3, 1) == Approx((t.targets(3, 1) - 1) / 8));
    CHECK(u.dynamic[3].values(2, 0) == Approx((written("{:.4f}", songs[3].dynamic_valence[2]) + 1) / 2));
    CHECK(label_range("dataset.emomusic", unit) == json{{"valence", {0, 1}}, {"arousal", {0, 1}}});
}

TEST_CASE("synth writes the DEAM layout by default, and the same corpus with --layout deam", "[dataset.deam][synth]") {
    TempDir dir;
    for (const std::string& out : {"plain", "named"}) {
        std::vector<std::string> args{"synth", "--out", out, "--songs", "2", "--seconds", "16", "--seed", "5"};
        if (out == "named") args.insert(args.end(), {"--layout", "deam"});
        REQUIRE(run_mer(args, dir.path()).exit_code == 0);
    }
    for (const auto& entry : fs::recursive_directory_iterator(dir / "plain")) {
        if (!entry.is_regular_file()) continue;
        const fs::path relative = fs::relative(entry.path(), dir / "plain");
        INFO(relative);
        CHECK(read_file(entry.path()) == read_file(dir / "named" / relative));
    }
    CHECK(fs::is_regular_file(dir / "plain" / "MEMD_audio" / "2.mp3"));
}

TEST_CASE("a damaged PMEmo or EmoMusic annotation row is refused with its file and line",
          "[dataset.pmemo][dataset.emomusic][synth]") {
    TempDir dir;
    fs::create_directories(dir / "pmemo");
    fs::create_directories(dir / "emomusic");
    synth(dir / "pmemo", "pmemo");
    synth(dir / "emomusic", "emomusic");
    const fs::path pmemo = dir / "pmemo" / "corpus", emomusic = dir / "emomusic" / "corpus";

    const fs::path pmemo_static = pmemo / "annotations" / "static_annotations.csv";
    const std::string pmemo_static_text = read_file(pmemo_static);
    replace_line(pmemo_static, 3, "2,0.5,high");
    CHECK_THROWS_WITH(load("dataset.pmemo", {{"root", pmemo.string()}}),
                      Catch::Contains("static_annotations.csv:3") && Catch::Contains("Valence(mean)"));
    replace_line(pmemo_static, 4, "3,4.5,0.5");  // a 1-9 rating in a 0-1 file
    replace_line(pmemo_static, 3, "2,0.5,0.5");
    CHECK_THROWS_WITH(load("dataset.pmemo", {{"root", pmemo.string()}}),
                      Catch::Contains("static_annotations.csv:4") &&
                          Catch::Contains("column 'Arousal(mean)': 4.5 lies outside label_range [0, 1]"));
    write_file(pmemo_static, pmemo_static_text);

    const fs::path pmemo_dynamic = pmemo / "annotations" / "dynamic_annotations.csv";
    replace_line(pmemo_dynamic, 3, "1,15.7,0.5,0.5");
    CHECK_THROWS_WITH(load("dataset.pmemo", {{"root", pmemo.string()}, {"dynamic", true}}),
                      Catch::Contains("dynamic_annotations.csv:3") && Catch::Contains("off the 2 Hz grid"));
    replace_line(pmemo_dynamic, 3, "1,15.5,0.5,n/a");
    CHECK_THROWS_WITH(load("dataset.pmemo", {{"root", pmemo.string()}, {"dynamic", true}}),
                      Catch::Contains("dynamic_annotations.csv:3") && Catch::Contains("Valence(mean)"));

    const fs::path em_dynamic = emomusic / "annotations" / "arousal_cont_average.csv";
    replace_line(em_dynamic, 5, "4,0.1,0.2,x,0.3");
    CHECK_THROWS_WITH(load("dataset.emomusic", {{"root", emomusic.string()}, {"dynamic", true}}),
                      Catch::Contains("arousal_cont_average.csv:5") && Catch::Contains("sample_16000ms"));
    const fs::path info = emomusic / "annotations" / "songs_info.csv";
    replace_line(info, 2, "1,1.mp3,A,T,0.00,0.17,G,holdout");
    CHECK_THROWS_WITH(load("dataset.emomusic", {{"root", emomusic.string()}}),
                      Catch::Contains("songs_info.csv:2") && Catch::Contains("must be development or evaluation"));
}
