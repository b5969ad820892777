// mer-run predict on a model trained here: the same numbers as the run's own
// predictions.csv for its held-out songs (bit for bit), a bundle that works
// alone after copying, rows with errors for bad files, and refusal of a
// bundle made with another plugin version.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/data/npy.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
// The comma-separated fields of a line (the test files hold no quoted commas).
std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) out.push_back(cell);
    return out;
}
// Trains experiment `yaml` on a synthetic DEAM-format corpus (dir/corpus)
// and returns the run folder.
fs::path trained_run(const fs::path& dir, int songs, const std::string& seconds, const std::string& seed,
                     const std::string& yaml) {
    REQUIRE(
        run_mer({"synth", "--out", "corpus", "--songs", std::to_string(songs), "--seconds", seconds, "--seed", seed},
                dir)
            .exit_code == 0);
    write_file(dir / "exp.yaml", yaml);
    const auto trained = run_mer({"run", "exp.yaml", "--quiet"}, dir);
    INFO(trained.err);
    REQUIRE(trained.exit_code == 0);
    return dir / run_folder_of(trained);
}

}  // namespace

TEST_CASE("predict reproduces the run's predictions and rates a folder", "[predict][cli]") {
    TempDir dir;
    const fs::path run = trained_run(dir.path(), 12, "4", "9", R"(name: rate
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  features: {uses: features.handcrafted, inputs: [data], params: {groups: [mfcc, chroma, contrast]}}
  scaled: {uses: transform.standardize, inputs: [features]}
  ridge: {uses: regressor.ridge, inputs: [scaled], params: {alpha: 10}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");

    // The run's own out-of-fold predictions: song → target → text.
    std::map<std::string, std::map<std::string, std::string>> expected;
    std::istringstream lines(read_file(run / "predictions.csv"));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
        const std::vector<std::string> f = fields(line);
        expected[f[1]][f[3]] = f[5];
    }
    REQUIRE(expected.size() == 3);

    // Copy the bundle alone elsewhere and rate the held-out songs plus two bad files.
    fs::copy(run / "model" / "ridge", dir / "bundle", fs::copy_options::recursive);
    std::vector<std::string> args{"predict", "--model", "bundle", "--cache", "other-cache"};
    for (const auto& [song, _] : expected) args.push_back("corpus/MEMD_audio/" + song + ".mp3");
    write_file(dir / "notes.mp3", "not audio");
    args.push_back("notes.mp3");
    args.push_back("missing.mp3");
    const auto rated = run_mer(args, dir.path());
    INFO(rated.err);
    CHECK(rated.exit_code == 0);
    CHECK_THAT(rated.err, Catch::Contains("missing.mp3: file does not exist"));
    std::istringstream out(rated.out);
    std::getline(out, line);
    CHECK(line == "path,valence,arousal,quadrant,outside_range,audio_flag,error");
    int checked = 0;
    while (std::getline(out, line)) {
        const std::vector<std::string> f = fields(line);
        const std::string song = fs::path(f[0]).stem().string();
        if (expected.count(song)) {
            CHECK(f[1] == expected[song]["valence"]);
            CHECK(f[2] == expected[song]["arousal"]);
            CHECK(!f[3].empty());
            ++checked;
        } else {
            CHECK(f[1].empty());
            CHECK(f.size() == 7);  // an error message in the last column
        }
    }
    CHECK(checked == 3);

    // Ratings beyond the training labels' range are flagged (column and a
    // count on stderr), and --clip clamps them: here a bundle whose training
    // range was narrowed to one value per target.
    fs::copy(dir / "bundle", dir / "narrow", fs::copy_options::recursive);
    nlohmann::json narrowed = nlohmann::json::parse(read_file(dir / "narrow" / "model.json"));
    for (auto& target : narrowed["targets"]) target["label_range"] = {target["mean"], target["mean"].get<double>() + 1e-9};
    write_file(dir / "narrow" / "model.json", narrowed.dump(2));
    std::vector<std::string> songs;
    for (const auto& [song, _] : expected) songs.push_back("corpus/MEMD_audio/" + song + ".mp3");
    for (const bool clip : {false, true}) {
        std::vector<std::string> narrow{"predict", "--model", "narrow"};
        if (clip) narrow.push_back("--clip");
        narrow.insert(narrow.end(), songs.begin(), songs.end());
        const auto r = run_mer(narrow, dir.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK_THAT(r.err, Catch::Contains("warning: 3 of 3 files rated outside their target's range (valence ") &&
                              Catch::Contains(" (label scale)"));
        std::istringstream rows(r.out);
        std::getline(rows, line);
        while (std::getline(rows, line)) {
            const std::vector<std::string> f = fields(line);
            const std::string song = fs::path(f[0]).stem().string();
            CHECK(f[4] == "valence;arousal");
            if (clip) {
                CHECK(std::stod(f[1]) == Approx(narrowed["targets"][0]["mean"].get<double>()).margin(1e-6));
                CHECK(std::stod(f[2]) == Approx(narrowed["targets"][1]["mean"].get<double>()).margin(1e-6));
            } else {
                CHECK(f[1] == expected[song]["valence"]);
            }
        }
    }

    // Audio far beyond full scale gets an error row, never a NaN or 1e29 rating.
    std::vector<float> loud(4 * 22050);
    for (std::size_t i = 0; i < loud.size(); ++i) loud[i] = static_cast<float>(1e30 * std::sin(0.05 * i));
    write_float_wav(dir / "loud.wav", loud, 22050);
    const auto loud_rated = run_mer({"predict", "--model", "bundle", "loud.wav"}, dir.path());
    CHECK(loud_rated.exit_code == 1);  // nothing rated
    CHECK_THAT(loud_rated.out, Catch::Contains("loud.wav,,,,,,") && Catch::Contains("far louder than full scale"));

    // A damaged bundle is refused naming the file, never read out of bounds.
    const fs::path regressor = dir / "bundle" / "fold0" / "regressor";
    const std::string weights = read_file(regressor / "weights.npy");
    auto refusal = [&] {
        const auto r = run_mer({"predict", "--model", "bundle", "corpus/MEMD_audio/1.mp3"}, dir.path());
        CHECK(r.exit_code != 0);
        return r.err;
    };
    mer::write_npy(regressor / "weights.npy", Eigen::MatrixXd(0, 2));
    CHECK_THAT(refusal(), Catch::Contains("weights.npy: damaged model bundle: shape (0, 2)"));
    mer::write_npy(regressor / "weights.npy", Eigen::MatrixXd(Eigen::MatrixXd::Ones(5, 2)));
    CHECK_THAT(refusal(), Catch::Contains("weights.npy: damaged model bundle: shape (5, 2), expected ("));
    write_file(regressor / "weights.npy", weights);
    json zero_folds = json::parse(read_file(dir / "bundle" / "model.json"));
    const json saved = zero_folds;
    zero_folds["folds"] = 0;
    write_file(dir / "bundle" / "model.json", zero_folds.dump());
    CHECK_THAT(refusal(), Catch::Contains("damaged bundle manifest: folds is 0"));
    write_file(dir / "bundle" / "model.json", saved.dump());
    // Parameters a plugin's schema refuses (found by fuzzing: a missing key escaped as a JSON exception).
    const std::string params = read_file(dir / "bundle" / "fold0" / "params.json");
    write_file(dir / "bundle" / "fold0" / "params.json", R"({"regressor": {"alpha": "ten"}})");
    CHECK_THAT(refusal(), Catch::Contains("fold0/params.json: damaged model bundle: the parameters of regressor.ridge "
                                          "do not match its schema"));
    write_file(dir / "bundle" / "fold0" / "params.json", params);
    json no_min = saved;
    no_min["targets"][0].erase("min");
    write_file(dir / "bundle" / "model.json", no_min.dump());
    CHECK_THAT(refusal(), Catch::Contains("model.json: damaged bundle manifest"));
    write_file(dir / "bundle" / "model.json", saved.dump());

    // A folder is searched recursively; JSON output.
    const auto folder =
        run_mer({"predict", "--model", run.string(), "--format", "json", "corpus/MEMD_audio"}, dir.path());
    REQUIRE(folder.exit_code == 0);
    const json rows = json::parse(folder.out);
    CHECK(rows.size() == 12);
    CHECK(rows[0].contains("quadrant"));

    // Nothing rated → non-zero exit; another plugin version → refused before decoding.
    CHECK(run_mer({"predict", "--model", "bundle", "missing.mp3"}, dir.path()).exit_code == 1);
    json manifest = json::parse(read_file(dir / "bundle" / "model.json"));
    manifest["regressor"]["version"] = "0.9.0";
    write_file(dir / "bundle" / "model.json", manifest.dump());
    const auto refused = run_mer({"predict", "--model", "bundle", "corpus/MEMD_audio/1.mp3"}, dir.path());
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("made with regressor.ridge 0.9.0, this mer-run has 1.0.0"));
}

TEST_CASE("separate valence and arousal models combine into one row with its quadrant", "[predict][cli]") {
    TempDir dir;
    const fs::path run = trained_run(dir.path(), 12, "4", "9", R"(name: apart
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  features: {uses: features.handcrafted, inputs: [data], params: {groups: [mfcc, chroma]}}
  valence: {uses: regressor.ridge, inputs: [features], targets: [valence], params: {alpha: 10}}
  arousal: {uses: regressor.ridge, inputs: [features], targets: [arousal], params: {alpha: 100}}
  both: {uses: regressor.ridge, inputs: [features], params: {alpha: 10}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const std::vector<std::string> songs{"corpus/MEMD_audio/1.mp3", "corpus/MEMD_audio/2.mp3"};
    auto rate = [&](std::vector<std::string> nodes) {
        std::vector<std::string> args{"predict", "--model", run.string()};
        for (const auto& n : nodes) args.insert(args.end(), {"--node", n});
        args.insert(args.end(), songs.begin(), songs.end());
        return run_mer(args, dir.path());
    };
    const auto alone_v = rate({"valence"}), alone_a = rate({"arousal"}), combined = rate({"valence", "arousal"});
    INFO(combined.err);
    REQUIRE(combined.exit_code == 0);
    std::istringstream v_lines(alone_v.out), a_lines(alone_a.out), lines(combined.out);
    std::string v_line, a_line, line;
    std::getline(v_lines, v_line), std::getline(a_lines, a_line), std::getline(lines, line);
    CHECK(v_line == "path,valence,quadrant,outside_range,audio_flag,error");
    CHECK(line == "path,valence,arousal,quadrant,outside_range,audio_flag,error");
    int rows = 0;
    while (std::getline(lines, line)) {
        std::getline(v_lines, v_line), std::getline(a_lines, a_line);
        const auto f = fields(line), fv = fields(v_line), fa = fields(a_line);
        CHECK(f[0] == fv[0]);
        CHECK(f[1] == fv[1]);  // each model's own rating, unchanged
        CHECK(f[2] == fa[1]);
        CHECK(fv[2].empty());  // one model alone has no quadrant
        CHECK_FALSE(f[3].empty());
        ++rows;
    }
    CHECK(rows == 2);
    // Two models for one target is a mistake, said before any audio is read.
    const auto twice = rate({"valence", "both"});
    CHECK(twice.exit_code != 0);
    CHECK_THAT(twice.err, Catch::Contains("--node valence and --node both both rate \"valence\""));
}

TEST_CASE("predict rates an excerpt, or the mean and spread of evenly spaced excerpts", "[predict][cli]") {
    TempDir dir;
    const fs::path run = trained_run(dir.path(), 12, "6", "9", R"(name: excerpts
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  features: {uses: features.handcrafted, inputs: [data], params: {groups: [mfcc, chroma]}}
  ridge: {uses: regressor.ridge, inputs: [features], params: {alpha: 10}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const fs::path song = dir / "corpus" / "MEMD_audio" / "3.mp3";
    auto rate = [&](std::vector<std::string> extra, const fs::path& file) {
        std::vector<std::string> args{"predict", "--model", run.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(file.string());
        const auto r = run_mer(args, dir.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        std::istringstream lines(r.out);
        std::string header, row;
        std::getline(lines, header), std::getline(lines, row);
        return std::make_pair(header, fields(row));
    };
    // --offset 1 --duration 2 rates exactly those samples: the same as a file holding only them.
    const mer::DecodedAudio whole = mer::load_audio(song, 0);
    const int rate_hz = whole.sample_rate_hz;
    write_float_wav(dir / "cut.wav",
                    std::vector<float>(whole.samples.begin() + rate_hz, whole.samples.begin() + 3 * rate_hz), rate_hz);
    const auto excerpt = rate({"--offset", "1", "--duration", "2"}, song);
    const auto cut = rate({}, dir / "cut.wav");
    CHECK(excerpt.second[1] == cut.second[1]);
    CHECK(excerpt.second[2] == cut.second[2]);
    CHECK(excerpt.second[1] != rate({}, song).second[1]);  // not the whole song's rating

    // --excerpts 3 --duration 2: the mean of the excerpts at the start, the middle and the end, and their spread.
    const auto three = rate({"--excerpts", "3", "--duration", "2"}, song);
    CHECK(three.first ==
          "path,valence,arousal,valence_std,arousal_std,excerpts,quadrant,outside_range,audio_flag,error");
    CHECK(three.second[5] == "3");
    const double room = mer::probe_audio(song).duration_seconds - 2;
    std::vector<double> valence;
    for (const double offset : {0.0, room / 2, room})
        valence.push_back(std::stod(rate({"--offset", mer::format_number(offset), "--duration", "2"}, song).second[1]));
    const double mean = (valence[0] + valence[1] + valence[2]) / 3;
    CHECK(std::stod(three.second[1]) == Approx(mean).epsilon(1e-12));
    double squares = 0;
    for (const double v : valence) squares += (v - mean) * (v - mean);
    CHECK(std::stod(three.second[3]) == Approx(std::sqrt(squares / 2)).epsilon(1e-9));

    // An offset past the end is that file's error, not a crash.
    const auto past = run_mer({"predict", "--model", run.string(), "--offset", "99", song.string()}, dir.path());
    CHECK_THAT(past.out + past.err, Catch::Contains("the excerpt starts at 99.00 s, past the end"));
}

TEST_CASE("predict --per-chunk rates every chunk of a chunk model", "[predict][deep][cli][torch]") {
    TempDir dir;
    const fs::path run = trained_run(dir.path(), 8, "6.5", "4", R"(name: chunks
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  chunks: {uses: features.logmel_chunks, inputs: [data]}
  cnn: {uses: regressor.cnn, inputs: [chunks], params: {epochs: 1, batch_size: 4}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const auto rated = run_mer(
        {"predict", "--model", run.string(), "--per-chunk", "--format", "json", "corpus/MEMD_audio/1.mp3"}, dir.path());
    INFO(rated.err);
    REQUIRE(rated.exit_code == 0);
    const json rows = json::parse(rated.out);
    REQUIRE(rows.size() == 1);
    const json& chunks = rows[0]["chunks"];
    REQUIRE(chunks.size() == 2);  // 6.5 s: two 3-s chunks
    CHECK(chunks[1]["offset_seconds"] == 3.0);
    for (const char* target : {"valence", "arousal"}) {
        const double mean = (chunks[0][target].get<double>() + chunks[1][target].get<double>()) / 2;
        CHECK(rows[0][target].get<double>() == Approx(mean).epsilon(1e-12));
    }
    const auto csv =
        run_mer({"predict", "--model", run.string(), "--per-chunk", "corpus/MEMD_audio/1.mp3"}, dir.path());
    CHECK(count_lines(csv.out) == 1 + 1 + 2);  // header, the song, its two chunks
    CHECK_THAT(csv.out, Catch::StartsWith("path,chunk,offset_seconds,valence,arousal,quadrant,outside_range,audio_flag,error\n"));
}

TEST_CASE("predict flags silent and constant audio, and judges ratings on the dataset's label scale",
          "[predict][cli]") {
    TempDir dir;
    const fs::path run = trained_run(dir.path(), 12, "4", "9", R"(name: scale
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  features: {uses: features.handcrafted, inputs: [data], params: {groups: [mfcc, chroma, contrast]}}
  ridge: {uses: regressor.ridge, inputs: [features], params: {alpha: 10}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    // Audio that is no music, 4 s at 22.05 kHz: what a new user tries first.
    const int rate = 22050;
    std::vector<float> silence(4 * rate, 0.0f), dc(4 * rate, 0.25f), sine(4 * rate), noise(4 * rate);
    std::mt19937_64 random(1);
    std::uniform_real_distribution<float> uniform(-0.3f, 0.3f);
    for (std::size_t i = 0; i < sine.size(); ++i) {
        sine[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 440.0 * static_cast<double>(i) / rate));
        noise[i] = uniform(random);
    }
    fs::create_directories(dir / "odd");
    mer::write_audio(dir / "odd" / "silence.wav", silence, rate);
    mer::write_audio(dir / "odd" / "dc.wav", dc, rate);
    mer::write_audio(dir / "odd" / "sine.wav", sine, rate);
    mer::write_audio(dir / "odd" / "sine.mp3", sine, rate);
    mer::write_audio(dir / "odd" / "noise.wav", noise, rate);
    const std::map<std::string, std::string> flag_of{
        {"silence.wav", "silent"}, {"dc.wav", "constant"}, {"sine.wav", "constant"},
        {"sine.mp3", "constant"},  {"noise.wav", "constant"}};

    const auto rated = run_mer({"predict", "--model", run.string(), "odd", "corpus/MEMD_audio"}, dir.path());
    INFO(rated.err);
    REQUIRE(rated.exit_code == 0);
    std::istringstream lines(rated.out);
    std::string line;
    std::getline(lines, line);
    CHECK(line == "path,valence,arousal,quadrant,outside_range,audio_flag,error");
    int music = 0, odd = 0;
    while (std::getline(lines, line)) {
        const std::vector<std::string> f = fields(line);
        INFO(line);
        REQUIRE(f.size() >= 6);
        CHECK_FALSE(f[1].empty());  // every file is rated: the flag says what the rating is worth
        const std::string name = fs::path(f[0]).filename().string();
        if (flag_of.count(name)) {
            CHECK(f[5] == flag_of.at(name));
            CHECK(f[3].empty());  // no quadrant for what is not music
            ++odd;
        } else {
            CHECK(f[5].empty());  // the synthetic corpus's music is never flagged
            CHECK_FALSE(f[3].empty());
            ++music;
        }
    }
    CHECK(odd == 5);
    CHECK(music == 12);
    CHECK_THAT(rated.err, Catch::Contains("silence.wav: silent: RMS level -inf dBFS") &&
                              Catch::Contains("sine.wav: constant: its spectrum varies by") &&
                              Catch::Contains("dc.wav: constant: a DC offset only") &&
                              Catch::Contains("warning: 5 of 17 files are silent or constant audio"));

    // The bundle records the dataset's scale (DEAM's 1-9) beside the training labels' range.
    const json manifest = json::parse(read_file(run / "model" / "ridge" / "model.json"));
    for (const auto& target : manifest["targets"]) CHECK(target["label_range"] == json::array({1, 9}));

    // Quadrants split at the scale's midpoint and outside_range uses its bounds, whatever the
    // training labels covered: here the training range is narrowed to a point, the scale moved.
    auto rate_with = [&](const std::function<void(json&)>& edit) {
        json changed = manifest;
        for (auto& target : changed["targets"]) {
            target["min"] = target["max"] = target["mean"];
            edit(target);
        }
        fs::remove_all(dir / "edited");
        fs::copy(run / "model" / "ridge", dir / "edited", fs::copy_options::recursive);
        write_file(dir / "edited" / "model.json", changed.dump(2));
        const auto r = run_mer({"predict", "--model", "edited", "corpus/MEMD_audio"}, dir.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        std::vector<std::vector<std::string>> rows;
        std::istringstream out(r.out);
        std::getline(out, line);
        while (std::getline(out, line)) rows.push_back(fields(line));
        REQUIRE(rows.size() == 12);
        return std::make_pair(rows, r.err);
    };
    const auto wide = rate_with([](json& t) { t["label_range"] = {-100, 100}; });
    for (const auto& f : wide.first) {
        CHECK(f[3] == "happy/excited");  // every rating lies above 0, the middle of [-100, 100]
        CHECK(f[4].empty());
    }
    CHECK_THAT(wide.second, !Catch::Contains("outside") && !Catch::Contains("no label scale"));
    const auto high = rate_with([](json& t) { t["label_range"] = {50, 60}; });
    for (const auto& f : high.first) {
        CHECK(f[3] == "sad/depressed");
        CHECK(f[4] == "valence;arousal");
    }
    CHECK_THAT(high.second, Catch::Contains("valence 50–60 (label scale)"));

    // A bundle from before label_range: the training labels' range as before, and a note saying so, once.
    const auto old = rate_with([](json& t) {
        t.erase("label_range");
        t["min"] = 4.5;
        t["max"] = 5.5;
    });
    const std::string note = "note: the model records no label scale for valence, arousal";
    CHECK(old.second.find(note) != std::string::npos);
    CHECK(old.second.find(note) == old.second.rfind(note));
    for (const auto& f : old.first) {
        const bool pleasant = std::stod(f[1]) >= 5.0, energetic = std::stod(f[2]) >= 5.0;
        CHECK(f[3] == (pleasant ? (energetic ? "happy/excited" : "calm/relaxed")
                                : (energetic ? "angry/tense" : "sad/depressed")));
        const bool outside_v = std::stod(f[1]) < 4.5 || std::stod(f[1]) > 5.5;
        CHECK((f[4].find("valence") != std::string::npos) == outside_v);
    }
}

TEST_CASE("predict refuses an --offset or --duration that is not a finite number of seconds", "[predict][cli][hardening]") {
    TempDir dir;
    for (const auto& [option, value] : std::vector<std::pair<std::string, std::string>>{
             {"--offset", "nan"}, {"--offset", "inf"}, {"--duration", "nan"}, {"--duration", "-inf"}, {"--duration", "-1"}}) {
        const auto r = run_mer({"predict", "--model", "bundle", option, value, "song.wav"}, dir.path());
        INFO(option << " " << value << ": " << r.err);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains(option + ": expected a finite number of seconds, 0 or more, not '" + value + "'"));
        CHECK_THAT(r.err, !Catch::Contains("000000"));  // CLI11's range said DBL_MAX in 309 digits
    }
}
