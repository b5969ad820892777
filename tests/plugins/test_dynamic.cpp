// The dynamic task (docs/dynamic.md): 2 Hz annotations aligned to windows,
// the curve metrics, handcrafted window features, and the sequence models
// trained end to end through mer-run on a synthetic corpus whose annotations
// follow its music, rated over time by predict --dynamic.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <sstream>

#include "core/audio/audio.hpp"
#include "core/data/dynamic.hpp"
#include "core/data/npy.hpp"
#include "core/eval/metrics.hpp"
#include "core/eval/run_reader.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "tests/support/chunk_corpus.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) out.push_back(cell);
    if (!line.empty() && line.back() == ',') out.emplace_back();
    return out;
}

// A CSV file's rows as column name → value.
std::vector<std::map<std::string, std::string>> read_rows(const fs::path& file) {
    std::istringstream lines(read_file(file));
    std::string line;
    std::getline(lines, line);
    const std::vector<std::string> header = fields(line);
    std::vector<std::map<std::string, std::string>> rows;
    while (std::getline(lines, line)) {
        const std::vector<std::string> f = fields(line);
        std::map<std::string, std::string> row;
        for (std::size_t i = 0; i < header.size() && i < f.size(); ++i) row[header[i]] = f[i];
        rows.push_back(row);
    }
    return rows;
}

}  // namespace

TEST_CASE("2 Hz annotations meet the windows centred on them", "[dynamic]") {
    mer::DynamicLabels labels{15.0, 0.5, Eigen::MatrixXd(10, 2)};
    for (Eigen::Index k = 0; k < 10; ++k) labels.values.row(k) << 0.1 * static_cast<double>(k), -0.1 * static_cast<double>(k);
    const mer::ChunkTiming windows{1.0, 0.5, 512.0 / 22050};  // 1-s windows every 0.5 s: centres 0.5, 1.0, …

    std::size_t unreached = 0;
    const Eigen::MatrixXd aligned = mer::window_labels(labels, windows, 40, &unreached);
    CHECK(unreached == 0);
    for (Eigen::Index w = 0; w < 40; ++w) {
        INFO(w);
        if (w < 29 || w > 38) {  // centre before 15.0 s or after 19.5 s
            CHECK(std::isnan(aligned(w, 0)));
            continue;
        }
        CHECK(aligned(w, 0) == labels.values(w - 29, 0));
        CHECK(aligned(w, 1) == labels.values(w - 29, 1));
    }
    // Audio a few frames shorter than its annotations: the rest is counted, not scored.
    unreached = 0;
    const Eigen::MatrixXd shorter = mer::window_labels(labels, windows, 35, &unreached);
    CHECK(unreached == 4);
    CHECK(shorter(34, 0) == labels.values(5, 0));
    // A finer hop: only the windows centred on a frame get its label.
    const Eigen::MatrixXd finer = mer::window_labels(labels, {1.0, 0.25, 0}, 80);
    CHECK(finer(58, 0) == labels.values(0, 0));  // centre 15.0 s
    CHECK(std::isnan(finer(59, 0)));             // 15.25 s lies between two frames
    CHECK(finer(60, 0) == labels.values(1, 0));
    // Windows without times cannot be aligned.
    CHECK_THROWS_WITH(mer::window_labels(labels, {}, 5), Catch::Contains("window_seconds"));
}

TEST_CASE("curve metrics average each song's own scores and pool every frame", "[dynamic][metrics]") {
    std::vector<Eigen::VectorXd> truth{Eigen::Vector3d(1, 2, 3), Eigen::Vector4d(0, 0, 0, 0), Eigen::Vector2d(0.5, -0.5)};
    std::vector<Eigen::VectorXd> predicted{Eigen::Vector3d(1, 2, 4), Eigen::Vector4d(1, 1, 1, 1), Eigen::Vector2d(0, 0.5)};
    const mer::CurveMetrics m = mer::curve_metrics(truth, predicted);
    CHECK(m.songs == 3);
    CHECK(m.frames == 9);
    // Song 2's annotation does not move: no Pearson's r, RMSE and CCC still count.
    CHECK(m.constant_songs == 1);
    const double rmse_a = std::sqrt(1.0 / 3), rmse_b = 1.0, rmse_c = std::sqrt((0.25 + 1.0) / 2);
    CHECK(m.rmse_mean == Approx((rmse_a + rmse_b + rmse_c) / 3));
    // r of song 1 by hand: deviations (-1, 0, 1) and (-4/3, -1/3, 5/3).
    const double r_a = 3 / std::sqrt(2 * 42.0 / 9);
    CHECK(m.pearson_mean == Approx((r_a + -1.0) / 2));
    CHECK(m.pearson_std == Approx(std::sqrt((std::pow(r_a - (r_a - 1) / 2, 2) + std::pow(-1 - (r_a - 1) / 2, 2)) / 1)));
    CHECK(m.ccc_mean ==
          Approx((mer::concordance_cc(truth[0], predicted[0]) + 0.0 + mer::concordance_cc(truth[2], predicted[2])) / 3));
    Eigen::VectorXd all_truth(9), all_predicted(9);
    all_truth << 1, 2, 3, 0, 0, 0, 0, 0.5, -0.5;
    all_predicted << 1, 2, 4, 1, 1, 1, 1, 0, 0.5;
    CHECK(m.global_pearson == Approx(mer::pearson_r(all_truth, all_predicted)));
    CHECK(m.global_rmse == Approx(std::sqrt(mer::mean_squared_error(all_truth, all_predicted))));
}

TEST_CASE("handcrafted window features follow the music in time", "[dynamic][features.handcrafted]") {
    TempDir dir;
    // 6 s: quiet for 3 s, then 30 dB louder.
    const int rate = 22050;
    std::vector<float> samples(6 * rate);
    for (std::size_t i = 0; i < samples.size(); ++i)
        samples[i] = static_cast<float>((i < samples.size() / 2 ? 0.01 : 0.3) * std::sin(2 * M_PI * 440.0 * i / rate));
    mer::write_audio(dir / "song.wav", samples, rate);
    mer::SongTable songs;
    songs.song_ids = {"song"};
    songs.groups = {"song"};
    songs.audio_paths = {(dir / "song.wav").string()};
    songs.features.resize(1, 0);
    songs.targets.resize(1, 0);
    mer::PluginContext ctx;
    ctx.threads = 1;
    ctx.cache_dir = (dir / "cache").string();
    std::string log;
    ctx.log = [&log](const std::string& line) { log += line + "\n"; };
    auto plugin = registry().create<mer::FeaturesPlugin>(
        "features.handcrafted", with_defaults("features.handcrafted", {{"window_seconds", 1.0}, {"window_hop_seconds", 0.5}}));
    const mer::SongTable out = plugin->extract(songs, ctx);
    REQUIRE(out.tensor_paths.size() == 1);
    CHECK(out.chunk_timing.chunk_seconds == 1.0);
    CHECK(out.chunk_timing.chunk_hop_seconds == 0.5);
    const Eigen::MatrixXd windows = mer::read_npy(out.tensor_paths[0]);
    CHECK(windows.rows() == 11);  // starts 0, 0.5, …, 5.0 s
    CHECK(windows.cols() == 386);
    // Mel power summed over the bands: windows wholly before the change are quiet, wholly after it
    // loud (30 dB: 1000 times the power); the song vector's lies between.
    auto power = [&](const Eigen::MatrixXd& rows, Eigen::Index row) {
        double sum = 0;
        for (int band = 1; band <= 128; ++band) sum += rows(row, out.feature_index("mel_" + std::to_string(band) + "_mean"));
        return sum;
    };
    for (int w : {0, 1, 2, 3})
        for (int v : {6, 7, 8, 9, 10}) CHECK(power(windows, w) * 100 < power(windows, v));
    CHECK(power(out.features, 0) > power(windows, 0) * 10);
    CHECK(power(out.features, 0) < power(windows, 10));
    // The song vector is the same with or without windows: one cache entry serves both.
    auto plain = registry().create<mer::FeaturesPlugin>("features.handcrafted", with_defaults("features.handcrafted"));
    log.clear();
    const mer::SongTable again = plain->extract(songs, ctx);
    CHECK_THAT(log, Catch::Contains("1 from the feature cache"));
    CHECK(again.features == out.features);
    CHECK(again.tensor_paths.empty());
    // Windows keep the song's times: an offset would shift them.
    CHECK_THROWS_WITH(registry().create<mer::FeaturesPlugin>(
                          "features.handcrafted",
                          with_defaults("features.handcrafted", {{"window_seconds", 1.0}, {"offset_seconds", 5.0}})),
                      Catch::Contains("offset_seconds"));
}

TEST_CASE("sequence models train on the shared loop: resumed exactly after a kill, bf16 on the CPU", "[dynamic][resume][precision]") {
    TempDir dir;
    const mer::SongTable train = window_corpus(dir / "train", 12, 1), watch = window_corpus(dir / "watch", 4, 2);
    for (const std::string plugin : {"regressor.seq_gru", "regressor.frame_mlp"}) {
        INFO(plugin);
        auto fit = [&](json params, const fs::path& work, bool resume, std::vector<int>* epochs) {
            params["batch_size"] = 4;
            params["patience"] = 10;
            auto m = registry().create<mer::RegressorPlugin>(plugin, with_defaults(plugin, params));
            mer::PluginContext ctx;
            ctx.threads = 2;
            ctx.seed = 99;
            ctx.node = "seq";
            ctx.fold = 0;
            ctx.work_dir = work.string();
            ctx.resume = resume;
            m->fit(train, &watch, [&](const mer::EpochReport& r) { if (epochs) epochs->push_back(r.epoch); }, ctx);
            return m;
        };
        const auto straight = fit({{"epochs", 4}}, dir / (plugin + "-straight"), false, nullptr);
        CHECK(fs::exists(dir / (plugin + "-straight") / "checkpoints" / "seq" / "fold0" / "state.json"));
        fit({{"epochs", 2}}, dir / (plugin + "-killed"), false, nullptr);  // "killed" after epoch 2
        std::vector<int> epochs;
        const auto resumed = fit({{"epochs", 4}}, dir / (plugin + "-killed"), true, &epochs);
        CHECK((epochs == std::vector<int>{3, 4}));
        const Eigen::MatrixXd expected = straight->predict(watch);
        CHECK(resumed->predict(watch) == expected);

        std::vector<double> losses;
        auto bf16 = registry().create<mer::RegressorPlugin>(
            plugin, with_defaults(plugin, {{"epochs", 4}, {"batch_size", 4}, {"precision", "bf16"}}));
        mer::PluginContext ctx;
        ctx.threads = 2;
        ctx.seed = 99;
        bf16->fit(train, &watch, [&](const mer::EpochReport& r) { losses.push_back(*r.train_loss); }, ctx);
        REQUIRE(losses.size() == 4);
        CHECK(losses.back() < losses.front());
        const Eigen::MatrixXd b = bf16->predict(watch);
        CHECK(b.allFinite());
        CHECK(b != expected);  // the arithmetic differs, visibly but not by much
        CHECK((b - expected).cwiseAbs().maxCoeff() < 0.5 * (expected.maxCoeff() - expected.minCoeff() + 1));
        auto fp16 = registry().create<mer::RegressorPlugin>(plugin, with_defaults(plugin, {{"epochs", 1}, {"precision", "fp16"}}));
        CHECK_THROWS_WITH(fp16->fit(train, nullptr, {}, ctx), Catch::Contains("fp16 needs a CUDA device"));
    }
}

TEST_CASE("a sequence model without windows, or with shifted ones, is refused before anything runs", "[dynamic][cli]") {
    TempDir dir;
    fs::create_directories(dir / "corpus");
    write_file(dir / "exp.yaml", R"(name: dynamic
nodes:
  data: {uses: dataset.deam, params: {root: corpus, dynamic: true}}
  features: {uses: features.handcrafted, inputs: [data]}
  windows: {uses: features.logmel_chunks, inputs: [data], params: {chunk_seconds: 1.0, hop_seconds: 0.5, frames: 44, offset_seconds: 30}}
  gru: {uses: regressor.seq_gru, inputs: [features]}
  cnn: {uses: regressor.cnn_gru_seq, inputs: [windows]}
)");
    const auto r = run_mer({"validate", "exp.yaml"}, dir.path());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("exp.yaml:6:") &&
                          Catch::Contains("its input 'features' cuts none; set nodes.features.params.window_seconds "
                                          "(1.0 with window_hop_seconds 0.5: one window per 2 Hz annotation frame)"));
    CHECK_THAT(r.err, Catch::Contains("exp.yaml:7:") &&
                          Catch::Contains("nodes.windows.params.offset_seconds 30 would shift every window"));
}

TEST_CASE("sequence models track the synthetic corpus's emotion over time", "[dynamic][torch][cli]") {
    TempDir dir;
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "40", "--seconds", "45", "--seed", "3"}, dir.path())
                .exit_code == 0);
    write_file(dir / "exp.yaml", R"(name: dynamic
seed: 5
nodes:
  data: {uses: dataset.deam, params: {root: corpus, dynamic: true, labels: dynamic_mean, label_scale: signed}}
  features: {uses: features.handcrafted, inputs: [data], params: {window_seconds: 1.0}}
  static: {uses: regressor.ridge, inputs: [features], params: {alpha: 10}}
  ridge: {uses: regressor.frame_ridge, inputs: [features], params: {alpha: 10}}
  gru: {uses: regressor.seq_gru, inputs: [features], params: {hidden: 32, layers: 1, epochs: 25, patience: 25, batch_size: 8, learning_rate: 0.003}}
evaluation: {split: {kind: kfold, k: 4}}
)");
    const auto trained = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(trained.err);
    REQUIRE(trained.exit_code == 0);
    const fs::path run = dir / run_folder_of(trained);

    // curves.csv: the task's metrics per sequence node and target.
    std::map<std::string, std::map<std::string, std::string>> curves;  // node/target → column → value
    for (const auto& row : read_rows(run / "curves.csv")) curves[row.at("node") + "/" + row.at("target")] = row;
    REQUIRE(curves.size() == 4);  // gru and ridge, valence and arousal; not the static model
    CHECK(curves.at("gru/arousal").at("songs") == "40");
    // 45-s songs, annotated from 15 s to 44.5 s: windows centred at 15.0 … 44.5.
    CHECK(curves.at("gru/arousal").at("frames") == std::to_string(40 * 60));
    auto value = [&](const std::string& key, const char* column) { return std::stod(curves.at(key).at(column)); };
    // Each song's arousal curve (tempo, loudness, brightness) is followed: per-song r well above
    // zero. Valence (consonance) barely moves within a synthetic song: only reported.
    CHECK(value("gru/arousal", "pearson_mean") > 0.6);
    CHECK(value("ridge/arousal", "pearson_mean") > 0.6);
    CHECK(std::isfinite(value("gru/valence", "pearson_mean")));

    // The static model's per-song constant, repeated over each song's frames,
    // against the same annotations: the sequence model must do better over all frames.
    std::map<std::string, double> static_of;  // song/target → the static model's rating
    for (const auto& row : read_rows(run / "predictions.csv"))
        if (row.at("node") == "static") static_of[row.at("song_id") + "/" + row.at("target")] = std::stod(row.at("predicted"));
    REQUIRE(static_of.size() == 80);
    std::vector<double> truth, repeated, tracked;
    for (const auto& row : read_rows(run / "frame_predictions.csv")) {
        if (row.at("node") != "gru" || row.at("target") != "arousal" || row.at("true").empty()) continue;
        truth.push_back(std::stod(row.at("true")));
        tracked.push_back(std::stod(row.at("predicted")));
        repeated.push_back(static_of.at(row.at("song_id") + "/arousal"));
    }
    REQUIRE(truth.size() == 40 * 60);
    auto vec = [](const std::vector<double>& v) { return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size())); };
    const double r_static = mer::pearson_r(vec(truth), vec(repeated)), r_gru = mer::pearson_r(vec(truth), vec(tracked));
    CHECK(r_gru == Approx(value("gru/arousal", "global_pearson")).margin(1e-9));
    INFO("frame-level Pearson: static repeated " << r_static << ", seq_gru " << r_gru);
    CHECK(r_gru > r_static + 0.03);

    // The per-epoch log has frame-level rows; results.csv and summary.json a frame level.
    const std::string metrics = read_file(run / "metrics.csv");
    CHECK_THAT(metrics, Catch::Contains("\ngru,regressor.seq_gru,0,25,train_frames,"));
    CHECK_THAT(metrics, Catch::Contains("inner_validation_frames"));
    CHECK_THAT(metrics, Catch::Contains("\nridge,regressor.frame_ridge,0,1,validation_frames,"));
    CHECK_THAT(read_file(run / "results.csv"), Catch::Contains(",gru,arousal,frame,"));
    const json summary = json::parse(read_file(run / "summary.json"));
    CHECK(summary["nodes"]["gru"]["curves"]["arousal"]["per_song"]["pearson"]["mean"].get<double>() ==
          Approx(value("gru/arousal", "pearson_mean")));
    CHECK(summary["nodes"]["gru"].contains("validation_frames"));
    CHECK_FALSE(summary["nodes"]["static"].contains("curves"));
    // One kept epoch: the loop's (by frame-level R²), in summary.json, metrics.csv's best column and the report.
    const json& kept = summary["nodes"]["gru"]["best_epoch"]["epoch"];
    REQUIRE(kept.size() == 4);
    const mer::BestEpochs best = mer::best_epochs(mer::read_epochs(run));
    for (int k = 0; k < 4; ++k) CHECK(best.at("gru").at("5/" + std::to_string(k)) == kept[k].get<int>());
    // The report draws predicted against annotated curves of a sample of validation songs.
    const std::string drawn = read_file(run / "report_data" / "over_time_gru.csv");
    CHECK_THAT(drawn, Catch::Contains(",annotated,") && Catch::Contains(",predicted,"));
    CHECK_THAT(read_file(run / "report.html"), Catch::Contains("Emotion over time"));

    // predict --dynamic: every 500 ms of every file; a broken file gets its reason.
    write_file(dir / "broken.mp3", "not audio");
    const auto rated = run_mer({"predict", "--model", run.string(), "--node", "gru", "--dynamic",
                                "corpus/MEMD_audio/2.mp3", "broken.mp3"},
                               dir.path());
    INFO(rated.err);
    REQUIRE(rated.exit_code == 0);
    std::istringstream lines(rated.out);
    std::string line;
    std::getline(lines, line);
    CHECK(line == "path,time_s,valence,arousal,outside_range,audio_flag,error");
    std::vector<double> times;
    std::string broken;
    while (std::getline(lines, line)) {
        const auto f = fields(line);
        REQUIRE(f.size() == 7);
        if (f[0] == "broken.mp3") broken = f[6];
        else times.push_back(std::stod(f[1]));
    }
    REQUIRE(times.size() == 89);  // 1-s windows every 0.5 s of a 45-s song
    CHECK(times.front() == 0.5);
    CHECK(times.back() == 44.5);
    CHECK_FALSE(broken.empty());
    // A model of whole songs has no curve to give.
    const auto refused = run_mer({"predict", "--model", run.string(), "--node", "static", "--dynamic",
                                  "corpus/MEMD_audio/2.mp3"},
                                 dir.path());
    CHECK(refused.exit_code != 0);
    CHECK_THAT(refused.err, Catch::Contains("regressor.ridge rates whole songs"));
}

TEST_CASE("predict --dynamic names the targets each window rates outside their range", "[dynamic][predict][cli]") {
    TempDir dir;
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "8", "--seconds", "20", "--seed", "4"}, dir.path())
                .exit_code == 0);
    write_file(dir / "exp.yaml", R"(name: windows
nodes:
  data: {uses: dataset.deam, params: {root: corpus, dynamic: true}}
  features: {uses: features.handcrafted, inputs: [data], params: {window_seconds: 1.0, groups: [mfcc]}}
  ridge: {uses: regressor.frame_ridge, inputs: [features], params: {alpha: 10}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const auto trained = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(trained.err);
    REQUIRE(trained.exit_code == 0);
    const fs::path bundle = dir / run_folder_of(trained) / "model" / "ridge";
    auto windows = [&](const fs::path& model) {
        const auto r = run_mer({"predict", "--model", model.string(), "--dynamic", "corpus/MEMD_audio/1.mp3"}, dir.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        std::istringstream lines(r.out);
        std::string line;
        std::getline(lines, line);
        CHECK(line == "path,time_s,valence,arousal,outside_range,audio_flag,error");
        std::vector<std::vector<std::string>> rows;
        while (std::getline(lines, line)) rows.push_back(fields(line));
        return std::make_pair(rows, r.err);
    };
    // On DEAM's scale (1-9, what the bundle records) the ratings of the corpus's own music lie inside.
    const auto inside = windows(bundle);
    REQUIRE(inside.first.size() == 39);  // 1-s windows every 0.5 s of a 20-s song
    for (const auto& f : inside.first) CHECK(f[4].empty());
    // A scale the ratings cannot reach: every window names both targets, and stderr counts the file.
    fs::copy(bundle, dir / "moved", fs::copy_options::recursive);
    json manifest = json::parse(read_file(dir / "moved" / "model.json"));
    for (auto& target : manifest["targets"]) {
        REQUIRE(target["label_range"] == json::array({1, 9}));
        target["label_range"] = {50, 60};
    }
    write_file(dir / "moved" / "model.json", manifest.dump(2));
    const auto outside = windows(dir / "moved");
    REQUIRE(outside.first.size() == 39);
    for (const auto& f : outside.first) CHECK(f[4] == "valence;arousal");
    CHECK_THAT(outside.second, Catch::Contains("warning: 1 of 1 files rated outside their target's range"));
}
