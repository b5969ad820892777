// features.torchscript on TorchScript models the tests write with Debian's
// python3-torch and python3-torchaudio (tests/torchscript/make_models.py):
// the chosen layer of a HuBERT-shaped model equals what Python computes
// from the same file, and every bad model or setting gets a located message.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <regex>

#include "core/audio/audio.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "tests/support/chunk_corpus.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kPython = "/usr/bin/python3";

bool python_torchaudio() {
    static const bool available =
        std::system((kPython + " -c 'import torch, torchaudio, numpy' >/dev/null 2>&1").c_str()) == 0;
    return available;
}

#define REQUIRE_PYTHON_TORCHAUDIO()                                                                              \
    if (!python_torchaudio()) {                                                                                  \
        missing_tool("Debian's python3-torch and python3-torchaudio (/usr/bin/python3) are not installed, so "   \
                     "the test models cannot be written");                                                       \
    }

void python(const std::vector<std::string>& args, const fs::path& log) {
    std::string command = kPython + " '" + (source_dir() / "tests/torchscript/make_models.py").string() + "'";
    for (const auto& a : args) command += " '" + a + "'";
    command += " >'" + log.string() + "' 2>&1";
    INFO(command << "\n" << (fs::exists(log) ? read_file(log) : ""));
    REQUIRE(std::system(command.c_str()) == 0);
}

// The test models, written once per test process.
const fs::path& models() {
    static const fs::path dir = [] {
        const fs::path d = fs::temp_directory_path() / ("mer-torchscript-models-" + std::to_string(::getpid()));
        fs::create_directories(d);
        python({"models", d.string()}, d / "make.log");
        return d;
    }();
    return dir;
}

// Songs of `seconds` at `rate`, 16-bit WAV (what Python's wave module reads).
mer::SongTable songs_at(const fs::path& dir, int rate, const std::vector<double>& seconds) {
    fs::create_directories(dir);
    mer::SongTable songs;
    songs.target_names = {"valence"};
    songs.targets.resize(static_cast<Eigen::Index>(seconds.size()), 1);
    std::mt19937 random(9);
    std::normal_distribution<float> normal;
    for (std::size_t s = 0; s < seconds.size(); ++s) {
        std::vector<float> y(static_cast<std::size_t>(seconds[s] * rate));
        for (std::size_t n = 0; n < y.size(); ++n)
            y[n] = 0.3f * static_cast<float>(std::sin(2 * M_PI * 110.0 * (s + 1) * n / rate)) + 0.05f * normal(random);
        const fs::path wav = dir / ("song" + std::to_string(s) + ".wav");
        mer::write_audio(wav, y, rate);
        songs.song_ids.push_back("song" + std::to_string(s));
        songs.groups.push_back(songs.song_ids.back());
        songs.audio_paths.push_back(wav.string());
        songs.targets(static_cast<Eigen::Index>(s), 0) = static_cast<double>(s);
    }
    songs.features.resize(static_cast<Eigen::Index>(seconds.size()), 0);
    return songs;
}

struct Ran {
    mer::SongTable table;
    std::vector<std::string> log, skipped;
};

Ran extract(const json& params, const mer::SongTable& songs, const fs::path& cache) {
    Ran r;
    mer::PluginContext ctx;
    ctx.node = "emb";
    ctx.cache_dir = cache.string();
    ctx.threads = 2;
    ctx.log = [&](const std::string& line) { r.log.push_back(line); };
    ctx.skip = [&](const std::string& id, const std::string&, const std::string& why) { r.skipped.push_back(id + ": " + why); };
    r.table = registry()
                  .create<mer::FeaturesPlugin>("features.torchscript", with_defaults("features.torchscript", params))
                  ->extract(songs, ctx);
    return r;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// What `f` throws, with its location ("" if nothing).
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a TorchScript backbone's chosen layer equals what Python computes from the same file",
          "[torch][torchscript]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    TempDir tmp;
    // 2.5 s and 0.7 s: two 1-s chunks (the remainder dropped) and one padded chunk.
    const mer::SongTable songs = songs_at(tmp.path(), 16000, {2.5, 0.7});
    const fs::path model = models() / "hubert.pt";
    for (const json layer : {json(1), json(-1), json("mean")}) {
        INFO("layer " << layer.dump());
        // Batches of 2 and 1 chunks: one model runs several times, on batches of other sizes.
        const Ran r = extract({{"model", model.string()}, {"layer", layer}, {"chunk_seconds", 1.0}, {"hop_seconds", 1.0},
                               {"batch_size", 2}},
                              songs, tmp / ("cache-" + layer.dump()));
        REQUIRE(r.table.size() == 2);
        REQUIRE(r.table.features.cols() == 64);
        const std::string stem = layer == "mean" ? "ts_layermean" : layer == 1 ? "ts_layer1" : "ts_layer2";
        CHECK(r.table.feature_names.front() == stem + "_1");
        for (std::size_t s = 0; s < 2; ++s) {
            const fs::path want = tmp / ("want" + std::to_string(s) + ".npy");
            python({"expect", model.string(), songs.audio_paths[s], layer.is_string() ? "mean" : std::to_string(layer == -1 ? 2 : 1),
                    "1.0", want.string()},
                   tmp / "expect.log");
            const Eigen::MatrixXd expected = mer::read_npy(want);
            const Eigen::RowVectorXd got = r.table.features.row(static_cast<Eigen::Index>(s));
            INFO("song " << s);
            REQUIRE(expected.size() == 64);
            const Eigen::RowVectorXd e = Eigen::Map<const Eigen::RowVectorXd>(expected.data(), 64);
            CHECK((got - e).norm() / e.norm() < 1e-5);
            CHECK(e.norm() > 0.1);
            // The chunk file models read holds the chosen layer, chunks × 64.
            std::vector<std::size_t> shape;
            mer::read_npy_float32(r.table.tensor_paths[s], shape);
            CHECK(shape == std::vector<std::size_t>{s == 0 ? 2u : 1u, 64});
        }
    }
    // Another layer asked for, the network does not run: the cache keeps every layer.
    const Ran again = extract({{"model", model.string()}, {"layer", 0}, {"chunk_seconds", 1.0}, {"hop_seconds", 1.0},
                               {"batch_size", 2}},
                              songs, tmp / "cache-1");
    CHECK_THAT(joined(again.log), Catch::Contains("(2 from the feature cache)"));
    CHECK_THAT(joined(again.log), !Catch::Contains("TorchScript model loaded"));
}

TEST_CASE("features.torchscript reads its defaults from the file, and refuses what it cannot use by name",
          "[torch][torchscript]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    TempDir tmp;
    const mer::SongTable songs = songs_at(tmp.path(), 8000, {1.2, 0.9});
    const fs::path m = models();
    auto create = [](const json& params) {
        return registry().create<mer::FeaturesPlugin>("features.torchscript", with_defaults("features.torchscript", params));
    };

    SECTION("mer.json gives the width before anything runs; a file without it needs sample_rate") {
        CHECK(create({{"model", (m / "hubert.pt").string()}})->query("output_shape")["shape"] == json::array({64}));
        CHECK(create({{"model", (m / "hubert.pt").string()}, {"time_pooling", "mean_max"}})->query("output_shape")["shape"] ==
              json::array({128}));
        CHECK(create({{"model", (m / "hubert_plain.pt").string()}, {"sample_rate", 16000}})->query("output_shape").is_null());
        CHECK_THAT(error_of([&] { create({{"model", (m / "hubert_plain.pt").string()}}); }),
                   Catch::Contains("sample_rate: hubert_plain.pt carries no mer.json"));
        CHECK_THAT(error_of([&] { create({{"model", (m / "hubert.pt").string()}, {"layer", 3}}); }),
                   Catch::Contains("layer: 3 is out of range: hubert.pt has 3 layers (0 … 2, or -3 … -1, or mean)"));
        CHECK_THAT(error_of([&] { create({{"model", (m / "hubert.pt").string()}, {"layer", -4}}); }),
                   Catch::Contains("has 3 layers"));
    }
    SECTION("a file that is not TorchScript is refused, naming it") {
        const std::string weights = error_of([&] { create({{"model", (m / "weights.pt").string()}}); });
        CHECK_THAT(weights, Catch::Contains("weights.pt is a torch.save file") && Catch::Contains("not a TorchScript model"));
        const fs::path text = tmp / "model.pt";
        write_file(text, "def forward(x): return x\n");
        CHECK_THAT(error_of([&] { create({{"model", text.string()}, {"sample_rate", 8000}}); }),
                   Catch::Contains("model.pt is not a TorchScript file"));
    }
    SECTION("outputs are picked by index or key; a wrong pick names what the model gives") {
        const Ran dict = extract({{"model", (m / "dict.pt").string()}, {"whole_clip", true}}, songs, tmp / "cache");
        CHECK(dict.table.features.cols() == 12);  // mer.json's output: embedding
        const Ran logits = extract({{"model", (m / "dict.pt").string()}, {"output", "logits"}, {"whole_clip", true}},
                                   songs, tmp / "cache");
        CHECK(logits.table.features.cols() == 5);
        CHECK_THAT(error_of([&] { extract({{"model", (m / "dict.pt").string()}, {"output", "nope"}}, songs, tmp / "c2"); }),
                   Catch::Contains("output: dict.pt gives a dict with keys logits, embedding, with no key \"nope\""));
        const Ran tuple = extract({{"model", (m / "tuple.pt").string()}, {"time_pooling", "mean_max"}}, songs, tmp / "cache");
        CHECK(tuple.table.features.cols() == 32);  // element 0, (batch, frames, 16), mean and max over frames
        CHECK_THAT(error_of([&] { extract({{"model", (m / "tuple.pt").string()}, {"output", 1}}, songs, tmp / "c3"); }),
                   Catch::Contains("tuple.pt gives a tensor (2) of Long (output 1)") &&
                       Catch::Contains("expected floating-point values"));
        CHECK_THAT(error_of([&] { extract({{"model", (m / "tuple.pt").string()}, {"layer", 0}}, songs, tmp / "c4"); }),
                   Catch::Contains("layer: 0 picks one of the model's hidden states, and tuple.pt gives one tensor"));
    }
    SECTION("a forward with other arguments, integer or rank-4 outputs stop the node with a located message") {
        CHECK_THAT(error_of([&] { extract({{"model", (m / "two_args.pt").string()}}, songs, tmp / "c5"); }),
                   Catch::Contains("two_args.pt: its forward is forward(x, y)"));
        CHECK_THAT(error_of([&] { extract({{"model", (m / "integers.pt").string()}}, songs, tmp / "c6"); }),
                   Catch::Contains("integers.pt gives a tensor (2, 4) of Long") && Catch::Contains("floating-point"));
        CHECK_THAT(error_of([&] { extract({{"model", (m / "rank4.pt").string()}}, songs, tmp / "c7"); }),
                   Catch::Contains("rank4.pt gives a tensor (2, 1, 2, 3) of Float") &&
                       Catch::Contains("expected (batch, width) or (batch, frames, width)"));
    }
    SECTION("a song the model rates NaN is skipped with its reason; the others are kept") {
        mer::SongTable mixed = songs;
        std::vector<float> negative(8000, -0.25f);
        negative[0] = -0.5f;
        mer::write_audio(tmp / "negative.wav", negative, 8000);
        mixed.song_ids.push_back("negative");
        mixed.groups.push_back("negative");
        mixed.audio_paths.push_back((tmp / "negative.wav").string());
        mixed.targets.conservativeResize(3, 1);
        mixed.features.resize(3, 0);
        const Ran r = extract({{"model", (m / "nan.pt").string()}, {"whole_clip", true}}, mixed, tmp / "c8");
        REQUIRE(r.table.size() == 1);
        CHECK(r.table.song_ids.front() == "negative");
        CHECK(r.skipped.size() == 2);
        CHECK_THAT(joined(r.skipped), Catch::Contains("song0: the model's output holds NaN or infinite values"));
    }
    SECTION("whole clips: a clip too short for the network is skipped once another has gone through") {
        mer::SongTable mixed = songs_at(tmp.path() / "w", 16000, {1.5, 0.01, 1.2});
        const Ran r = extract({{"model", (m / "hubert.pt").string()}, {"whole_clip", true}}, mixed, tmp / "c10");
        CHECK(r.table.size() == 2);
        REQUIRE(r.skipped.size() == 1);
        CHECK_THAT(r.skipped.front(), Catch::StartsWith("song1: the model cannot take this song: hubert.pt failed on a "
                                                        "batch of 1 chunks of 160 samples"));
    }
    SECTION("mean_max doubles the width of outputs with frames only") {
        const Ran r = extract({{"model", (m / "dict.pt").string()}, {"whole_clip", true}, {"time_pooling", "mean_max"}},
                              songs, tmp / "c11");
        CHECK(r.table.features.cols() == 12);  // (batch, 12): nothing to pool, mer.json's width holds
        CHECK(create({{"model", (m / "dict.pt").string()}, {"time_pooling", "mean_max"}})->query("output_shape").is_null());
        CHECK(create({{"model", (m / "dict.pt").string()}})->query("output_shape")["shape"] == json::array({12}));
    }
    SECTION("a model file changed since the cache was filled is run again") {
        const fs::path copy = tmp / "dict-copy.pt";
        fs::copy_file(m / "dict.pt", copy);
        extract({{"model", copy.string()}, {"whole_clip", true}}, songs, tmp / "c9");
        CHECK_THAT(joined(extract({{"model", copy.string()}, {"whole_clip", true}}, songs, tmp / "c9").log),
                   Catch::Contains("(2 from the feature cache)"));
        fs::copy_file(m / "tuple.pt", copy, fs::copy_options::overwrite_existing);
        const Ran changed = extract({{"model", copy.string()}, {"sample_rate", 8000}}, songs, tmp / "c9");
        CHECK_THAT(joined(changed.log), Catch::Contains("(0 from the feature cache)") &&
                                            Catch::Contains("TorchScript model loaded"));
        CHECK(changed.table.features.cols() == 16);
    }
}

namespace {

std::shared_ptr<mer::RegressorPlugin> regressor(const std::string& plugin, json params) {
    return registry().create<mer::RegressorPlugin>(plugin, with_defaults(plugin, std::move(params)));
}

// Song-level R², the mean over targets.
double r2(const Eigen::MatrixXd& predicted, const Eigen::MatrixXd& truth) {
    double sum = 0;
    for (Eigen::Index t = 0; t < truth.cols(); ++t) {
        const Eigen::VectorXd v = truth.col(t), p = predicted.col(t);
        sum += 1 - (v - p).squaredNorm() / (v.array() - v.mean()).matrix().squaredNorm();
    }
    return sum / static_cast<double>(truth.cols());
}

}  // namespace

TEST_CASE("regressor.torchscript trains a scripted architecture with mer's loop, resumes exactly, predicts from its bundle",
          "[torch][torchscript]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    TempDir dir;
    const mer::SongTable train = tiny_corpus(dir / "train", 24, 1), validation = tiny_corpus(dir / "valid", 8, 2);
    const fs::path cnn = models() / "cnn.pt";
    const json settings{{"epochs", 6}, {"batch_size", 8}, {"learning_rate", 0.001}, {"patience", 10}};
    auto fit = [&](const std::string& plugin, json params, const fs::path& work, bool resume, std::vector<double>* losses) {
        for (const auto& [k, v] : settings.items())
            if (!params.contains(k)) params[k] = v;
        auto m = regressor(plugin, params);
        mer::PluginContext ctx;
        ctx.threads = 2;
        ctx.seed = 1234;
        ctx.node = "net";
        ctx.fold = 0;
        ctx.work_dir = work.string();
        ctx.resume = resume;
        m->fit(train, &validation, [&](const mer::EpochReport& r) { if (losses) losses->push_back(*r.train_loss); }, ctx);
        return m;
    };
    std::vector<double> losses;
    const auto scripted = fit("regressor.torchscript", {{"model", cnn.string()}}, dir / "w1", false, &losses);
    REQUIRE(losses.size() == 6);
    CHECK(losses.back() < 0.5 * losses.front());
    const Eigen::MatrixXd predicted = scripted->predict(validation);
    REQUIRE(predicted.rows() == 8);
    REQUIRE(predicted.cols() == 2);
    // The same architecture, native: the scripted one learns as well, within
    // the noise of two initialisations on 16 songs.
    const auto native = fit("regressor.cnn", json::object(), dir / "w2", false, nullptr);
    const double scripted_r2 = r2(predicted, validation.targets), native_r2 = r2(native->predict(validation), validation.targets);
    INFO("validation R²: scripted " << scripted_r2 << ", native " << native_r2);
    CHECK(scripted_r2 > 0.3);
    CHECK(std::abs(scripted_r2 - native_r2) < 0.3);
    // Killed after epoch 2 and resumed: the same model as the uninterrupted one.
    fit("regressor.torchscript", {{"model", cnn.string()}, {"epochs", 2}}, dir / "w3", false, nullptr);
    const auto resumed = fit("regressor.torchscript", {{"model", cnn.string()}}, dir / "w3", true, nullptr);
    CHECK(resumed->predict(validation) == predicted);
    // The bundle holds the trained module: predict needs neither the file nor Python.
    scripted->save((dir / "bundle").string());
    CHECK(fs::exists(dir / "bundle" / "module.pt"));
    const fs::path moved = dir / "cnn-elsewhere.pt";
    fs::copy_file(cnn, moved);
    auto loaded = regressor("regressor.torchscript", {{"model", moved.string()}});
    fs::remove(moved);
    loaded->load((dir / "bundle").string());
    CHECK(loaded->predict(validation) == predicted);
    REQUIRE(mer::extension<mer::ChunkPredictions>(*loaded) != nullptr);
    CHECK(mer::extension<mer::ChunkPredictions>(*loaded)->predict_chunks(validation).size() == 8);
    // The paper's other architectures, scripted: the loop trains them too.
    for (const std::string net : {"se_temporal.pt", "cnn_gru.pt"}) {
        INFO(net);
        std::vector<double> its;
        fit("regressor.torchscript", {{"model", (models() / net).string()}, {"epochs", 3}}, dir / net, false, &its);
        REQUIRE(its.size() == 3);
        CHECK(its.back() < its.front());
    }
}

TEST_CASE("regressor.torchscript learns feature columns, and refuses a model that returns anything but ratings",
          "[torch][torchscript]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    mer::SongTable table;
    std::mt19937_64 random(11);
    std::normal_distribution<double> normal;
    table.features.resize(60, 6);
    table.targets.resize(60, 2);
    table.target_names = {"valence", "arousal"};
    for (int r = 0; r < 60; ++r) {
        table.song_ids.push_back(std::to_string(r));
        for (int c = 0; c < 6; ++c) table.features(r, c) = normal(random);
        table.targets(r, 0) = 5 + table.features(r, 0) - 0.5 * table.features(r, 1);
        table.targets(r, 1) = 5 + 0.8 * table.features(r, 2);
    }
    table.groups = table.song_ids;
    mer::PluginContext ctx;
    ctx.seed = 3;
    std::vector<double> losses;
    auto mlp = regressor("regressor.torchscript", {{"model", (models() / "mlp.pt").string()}, {"epochs", 30}, {"batch_size", 8},
                                                   {"normalize", "feature"}, {"learning_rate", 0.01}, {"patience", 30}});
    mlp->fit(table, nullptr, [&](const mer::EpochReport& r) { losses.push_back(*r.train_loss); }, ctx);
    REQUIRE(losses.size() == 30);
    CHECK(losses.back() < 0.1 * losses.front());
    const double fitted = r2(mlp->predict(table), table.targets);
    INFO("training R² " << fitted);
    CHECK(fitted > 0.9);

    auto tuple = regressor("regressor.torchscript", {{"model", (models() / "tuple_regressor.pt").string()}});
    CHECK_THAT(error_of([&] { tuple->fit(table, nullptr, {}, ctx); }),
               Catch::Contains("tuple_regressor.pt returns a tuple of 2; a model mer trains returns one tensor"));
    auto cnn_on_columns = regressor("regressor.torchscript", {{"model", (models() / "cnn.pt").string()}});
    CHECK_THAT(error_of([&] { cnn_on_columns->fit(table, nullptr, {}, ctx); }), Catch::Contains("cnn.pt failed on a batch of shape (32, 6), what the input node gives") &&
                   Catch::Contains("Expected 3D (unbatched) or 4D (batched) input to conv2d"));
    CHECK_THAT(error_of([&] { regressor("regressor.torchscript", {{"model", (models() / "weights.pt").string()}}); }),
               Catch::Contains("not a TorchScript model"));
}

TEST_CASE("regressor.torchscript_sequence trains a scripted GRU on every window, resumes exactly, predicts from its bundle",
          "[torch][torchscript][dynamic]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    TempDir dir;
    const mer::SongTable train = window_corpus(dir / "train", 24, 1), watch = window_corpus(dir / "watch", 8, 2);
    const fs::path gru = models() / "seq_gru.pt";
    auto fit = [&](json params, const fs::path& work, bool resume, std::vector<double>* losses) {
        params["model"] = gru.string();
        params["batch_size"] = 4;
        params["patience"] = 20;
        params["learning_rate"] = 0.01;
        if (!params.contains("epochs")) params["epochs"] = 8;
        auto m = regressor("regressor.torchscript_sequence", params);
        mer::PluginContext ctx;
        ctx.threads = 2;
        ctx.seed = 7;
        ctx.node = "gru";
        ctx.fold = 0;
        ctx.work_dir = work.string();
        ctx.resume = resume;
        m->fit(train, &watch, [&](const mer::EpochReport& r) { if (losses) losses->push_back(*r.train_loss); }, ctx);
        return m;
    };
    std::vector<double> losses;
    const auto scripted = fit(json::object(), dir / "w1", false, &losses);
    REQUIRE(losses.size() == 8);
    CHECK(losses.back() < 0.5 * losses.front());
    // One rating per window, and they follow the annotations.
    REQUIRE(mer::extension<mer::ChunkPredictions>(*scripted) != nullptr);
    const std::vector<Eigen::MatrixXd> windows = mer::extension<mer::ChunkPredictions>(*scripted)->predict_chunks(watch);
    REQUIRE(windows.size() == 8);
    Eigen::MatrixXd predicted(0, 2), annotated(0, 2);
    for (std::size_t s = 0; s < windows.size(); ++s) {
        REQUIRE(windows[s].rows() == watch.dynamic[s].values.rows());
        predicted.conservativeResize(predicted.rows() + windows[s].rows(), 2);
        predicted.bottomRows(windows[s].rows()) = windows[s];
        annotated.conservativeResize(annotated.rows() + windows[s].rows(), 2);
        annotated.bottomRows(windows[s].rows()) = watch.dynamic[s].values;
    }
    INFO("frame-level R² on the watched songs " << r2(predicted, annotated));
    CHECK(r2(predicted, annotated) > 0.5);
    // Killed after epoch 3 and resumed: the same model as the uninterrupted one.
    fit({{"epochs", 3}}, dir / "w2", false, nullptr);
    const auto resumed = fit(json::object(), dir / "w2", true, nullptr);
    CHECK(resumed->predict(watch) == scripted->predict(watch));
    // The bundle holds the trained module: predict needs neither the file nor Python.
    scripted->save((dir / "bundle").string());
    CHECK(fs::exists(dir / "bundle" / "module.pt"));
    auto loaded = regressor("regressor.torchscript_sequence", {{"model", gru.string()}});
    loaded->load((dir / "bundle").string());
    CHECK(loaded->predict(watch) == scripted->predict(watch));

    // What it cannot train, said with the file's name.
    mer::PluginContext ctx;
    auto one_argument = regressor("regressor.torchscript_sequence", {{"model", (models() / "mlp.pt").string()}});
    CHECK_THAT(error_of([&] { one_argument->fit(train, nullptr, {}, ctx); }),
               Catch::Contains("mlp.pt: its forward is forward(x)") && Catch::Contains("two tensors"));
    auto per_song = regressor("regressor.torchscript_sequence", {{"model", (models() / "song_mean.pt").string()}});
    CHECK_THAT(error_of([&] { per_song->fit(train, nullptr, {}, ctx); }),
               Catch::Contains("song_mean.pt returns a tensor (16, 2) of Float for a batch of shape (16, ") &&
                   Catch::Contains("one step per window"));
}

TEST_CASE("experiments/probe-layers.yaml sweeps a backbone's layers and runs the backbone once", "[torch][torchscript][sweep][cli]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    TempDir dir;
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "10", "--seconds", "4", "--seed", "3"}, dir.path()).exit_code == 0);
    fs::create_directories(dir / "models");
    fs::copy_file(models() / "hubert.pt", dir / "models" / "backbone.pt");
    const auto r = run_mer({"sweep", (source_dir() / "experiments" / "probe-layers.yaml").string(), "--set",
                            "nodes.data.params.root=corpus", "--set", "nodes.probe.params.epochs=3", "--set",
                            "evaluation.split.k=2", "--grid", "nodes.emb.params.layer=0,2,mean"},
                           dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path sweep = dir / "runs" / "probe-layers";
    REQUIRE(fs::exists(sweep));
    fs::path folder;
    for (const auto& e : fs::directory_iterator(sweep)) folder = e.path();
    const std::string trials = read_file(folder / "trials.csv");
    INFO(trials);
    CHECK(count_lines(trials) == 4);
    CHECK_THAT(trials, Catch::Contains("nodes.emb.params.layer") && Catch::Contains("probe.valence.r2"));
    CHECK(fs::exists(folder / "report.html"));
    // The warm-ups compute each layer's node once for every trial: the first
    // ran the backbone, the other two read their layer from its cache entry.
    int computed = 0, cached = 0;
    const std::regex line("10 songs as 64-d vectors of backbone.pt, layer (0|2|mean) \\(([0-9]+) from the feature cache\\)");
    for (const auto& e : fs::recursive_directory_iterator(folder)) {
        if (e.path().filename() != "log.txt") continue;
        const std::string log = read_file(e.path());
        for (std::sregex_iterator m(log.begin(), log.end(), line), end; m != end; ++m) {
            if ((*m)[2] == "0") ++computed;
            if ((*m)[2] == "10") ++cached;
        }
    }
    CHECK(computed == 1);
    CHECK(cached == 2);
}

TEST_CASE("features.torchscript on a CNN14 exported from PyTorch equals features.panns_cnn14", "[torch][torchscript][panns]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    TempDir tmp;
    // The seeded official-layout checkpoint the PANNs tests use, and CNN14
    // written layer for layer in PyTorch on it, scripted.
    const fs::path checkpoint = tmp / "cnn14.pth", exported = tmp / "cnn14.pt";
    for (const std::string command :
         {kPython + " '" + (source_dir() / "tests/panns/make_checkpoint.py").string() + "' '" + checkpoint.string() + "'",
          kPython + " '" + (source_dir() / "tests/torchscript/cnn14.py").string() + "' '" + checkpoint.string() + "' '" +
              exported.string() + "'"}) {
        INFO(command);
        REQUIRE(std::system((command + " >'" + (tmp / "python.log").string() + "' 2>&1").c_str()) == 0);
    }
    // 6.5 s and 2 s at 32 kHz: two 3-s chunks, and one padded chunk.
    const mer::SongTable songs = songs_at(tmp.path(), 32000, {6.5, 2.0});
    mer::PluginContext ctx;
    ctx.node = "emb";
    ctx.cache_dir = (tmp / "cache").string();
    ctx.threads = 2;
    const mer::SongTable native =
        registry()
            .create<mer::FeaturesPlugin>("features.panns_cnn14",
                                         with_defaults("features.panns_cnn14", {{"checkpoint", checkpoint.string()}}))
            ->extract(songs, ctx);
    const mer::SongTable scripted =
        extract({{"model", exported.string()}, {"chunk_seconds", 3.0}, {"hop_seconds", 3.0}, {"batch_size", 2}}, songs,
                tmp / "cache")
            .table;
    REQUIRE(native.features.rows() == 2);
    REQUIRE(scripted.features.rows() == 2);
    REQUIRE(scripted.features.cols() == 2048);
    for (Eigen::Index s = 0; s < 2; ++s) {
        const double relative = (scripted.features.row(s) - native.features.row(s)).norm() / native.features.row(s).norm();
        INFO("song " << s << ": relative difference " << relative);
        CHECK(relative < 1e-5);
        CHECK(native.features.row(s).norm() > 1.0);
    }
}

TEST_CASE("a run trains a scripted CNN on log-mel chunks, and predict rates music from its bundle alone",
          "[torch][torchscript][predict][cli]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    TempDir dir;
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "12", "--seconds", "4", "--seed", "5"}, dir.path()).exit_code == 0);
    fs::copy_file(models() / "cnn.pt", dir / "mynet.pt");
    write_file(dir / "exp.yaml", R"(name: scripted
seed: 3
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  logmel: {uses: features.logmel_chunks, inputs: [data], params: {chunk_seconds: 3.0, hop_seconds: 1.0}}
  mynet: {uses: regressor.torchscript, inputs: [logmel], params: {model: mynet.pt, epochs: 2, batch_size: 8}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const auto trained = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(trained.err);
    REQUIRE(trained.exit_code == 0);
    const fs::path run = dir / run_folder_of(trained);
    CHECK_THAT(read_file(run / "metrics.csv"), Catch::Contains("mynet,regressor.torchscript,0,2,"));
    // The run's own predictions of the held-out songs, and predict's from the bundle, the model file gone.
    const std::string predictions = read_file(run / "predictions.csv");
    fs::copy(run / "model" / "mynet", dir / "bundle", fs::copy_options::recursive);
    fs::remove(dir / "mynet.pt");
    std::vector<std::string> args{"predict", "--model", "bundle", "--cache", "other-cache", "--out", "rated.csv"};
    std::vector<std::string> held_out;
    for (const auto& e : fs::directory_iterator(dir / "corpus" / "MEMD_audio")) {
        const std::string song = e.path().stem().string();
        if (predictions.find("," + song + ",") != std::string::npos) held_out.push_back(song);
    }
    REQUIRE(held_out.size() == 3);
    for (const auto& song : held_out) args.push_back("corpus/MEMD_audio/" + song + ".mp3");
    const auto rated = run_mer(args, dir.path());
    INFO(rated.err);
    REQUIRE(rated.exit_code == 0);
    const std::string out = read_file(dir / "rated.csv");
    INFO(out);
    CHECK(count_lines(out) == 4);
    // Each held-out song's valence as the run predicted it (to the digits predictions.csv keeps).
    for (const auto& song : held_out) {
        std::smatch run_row, predict_row;
        REQUIRE(std::regex_search(predictions, run_row, std::regex("," + song + ",[^,]*,valence,[^,]*,(-?[0-9.e+-]+)")));
        REQUIRE(std::regex_search(out, predict_row, std::regex(song + "\\.mp3,(-?[0-9.e+-]+),")));
        CHECK(std::abs(std::stod(run_row[1]) - std::stod(predict_row[1])) < 1e-4);
    }
}

TEST_CASE("a TorchScript backbone's windows feed a sequence model over time", "[torch][torchscript][dynamic][cli]") {
    REQUIRE_PYTHON_TORCHAUDIO();
    TempDir dir;
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "6", "--seconds", "20", "--seed", "2"}, dir.path()).exit_code == 0);
    write_file(dir / "dyn.yaml", R"(name: dyn
seed: 1
nodes:
  data: {uses: dataset.deam, params: {root: corpus, dynamic: true, labels: dynamic_mean, label_scale: signed}}
  emb: {uses: features.torchscript, inputs: [data], params: {model: )" +
                                     (models() / "hubert.pt").string() + R"(, layer: mean, chunk_seconds: 2.0, hop_seconds: 0.5}}
  seq: {uses: regressor.seq_gru, inputs: [emb], params: {hidden: 16, layers: 1, epochs: 2, patience: 2}}
evaluation: {split: {kind: kfold, k: 2}}
)");
    const auto r = run_mer({"run", "dyn.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir / run_folder_of(r);
    // 2-s windows every 0.5 s, each rated and scored against the 2 Hz annotation at its centre.
    const std::string frames = read_file(run / "frame_predictions.csv");
    CHECK(count_lines(frames) > 6 * 20);
    CHECK_THAT(read_file(run / "curves.csv"), Catch::Contains("seq"));
}
