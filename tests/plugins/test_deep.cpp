// The log-mel chunk features and the four LibTorch models: librosa parity of
// the chunks, output shapes, loss going down on a tiny real batch, identical
// weights for identical seeds on CPU, and song-level predictions that are the
// mean of their chunks'.
#include <catch2/catch.hpp>
#include <set>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/data/npy.hpp"
#include "core/exec/run_writer.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/torch/chunk_regressor.hpp"
#include "tests/support/chunk_corpus.hpp"
#include "tests/support/test_support.hpp"

// LibTorch's headers define glog's CHECK (which aborts on failure) over
// Catch's; the tests mean Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Every chunk model in the build and the test-only ones that trains from
// scratch on log-mel chunks: asked of the registry. Models that start from a
// weights file (capability fingerprint, regressor.panns_finetune) have their
// own tests (test_panns.cpp).
std::vector<std::string> chunk_models() {
    std::vector<std::string> names;
    for (const auto* p : registry().with_capability("chunks"))
        if (!p->has("fingerprint") && !p->has("sequence")) names.push_back(p->name);  // sequence models: test_dynamic
    return names;
}

std::shared_ptr<mer::torchx::ChunkRegressor> model(const std::string& plugin, json params) {
    auto base = registry().create<mer::RegressorPlugin>(plugin, with_defaults(plugin, std::move(params)));
    auto chunked = std::dynamic_pointer_cast<mer::torchx::ChunkRegressor>(base);
    REQUIRE(chunked);
    return chunked;
}

mer::PluginContext context() {
    mer::PluginContext ctx;
    ctx.threads = 2;
    ctx.seed = 1234;
    return ctx;
}

}  // namespace

TEST_CASE("log-mel chunks match librosa's chunk 0 of the fixtures", "[features.logmel_chunks][parity]") {
    const fs::path fixtures = fixtures_dir();
    for (const char* ref : {"max", "one"}) {
        TempDir cache;
        mer::SongTable songs;
        songs.song_ids = {"chirp"};
        songs.groups = songs.song_ids;
        songs.audio_paths = {(fixtures / "audio" / "chirp_noise.wav").string()};
        songs.features.resize(1, 0);
        songs.targets.resize(1, 0);
        mer::PluginContext ctx;
        ctx.cache_dir = cache.path().string();
        ctx.threads = 1;
        const auto out = registry()
                             .create<mer::FeaturesPlugin>("features.logmel_chunks",
                                                          with_defaults("features.logmel_chunks", {{"db_ref", ref}}))
                             ->extract(songs, ctx);
        REQUIRE(out.tensor_paths.size() == 1);
        std::vector<std::size_t> shape;
        const std::vector<float> x = mer::read_npy_float32(out.tensor_paths[0], shape);
        REQUIRE(shape == std::vector<std::size_t>{2, 1, 128, 128});  // 6 s → two 3-s chunks
        const json reference = json::parse(read_file(fixtures / "librosa" / "chirp_noise.json"))["logmel_chunks"];
        const json& chunk0 = reference[std::string(ref) == "max" ? "chunk0_db_ref_max" : "chunk0_db_ref_1"];
        double worst = 0;
        for (int m = 0; m < 128; ++m)
            for (int f = 0; f < 128; ++f)  // librosa's 130 frames, cropped to 128
                worst =
                    std::max(worst, std::abs(x[static_cast<std::size_t>(m * 128 + f)] - chunk0[m][f].get<double>()));
        INFO("db_ref " << ref << ": worst " << worst << " dB");
        CHECK(worst <= 1e-3);
    }
}

TEST_CASE("every chunk model trains: shapes, falling loss, song = mean of chunks", "[deep]") {
    TempDir dir;
    const mer::SongTable train = tiny_corpus(dir.path(), 8, 1), validation = tiny_corpus(dir / "v", 4, 2);
    const std::vector<std::string> models = chunk_models();
    REQUIRE(models.size() >= 5);  // the paper's four and regressor.tiny_chunk
    for (const auto& plugin : models) {
        INFO(plugin);
        auto m = model(plugin, {{"epochs", 4}, {"batch_size", 8}, {"learning_rate", 0.003}, {"patience", 10}});
        std::vector<double> losses;
        m->fit(
            train, &validation,
            [&](const mer::EpochReport& r) {
                losses.push_back(*r.train_loss);
                REQUIRE(r.validation_chunk_predictions.rows() == 8);  // 4 songs × 2 chunks
                REQUIRE(r.validation_predictions.rows() == 4);
                REQUIRE(r.validation_predictions.cols() == 2);
                // A song's prediction is the mean of its two chunks'.
                for (Eigen::Index s = 0; s < 4; ++s)
                    CHECK((r.validation_predictions.row(s) -
                           (r.validation_chunk_predictions.row(2 * s) + r.validation_chunk_predictions.row(2 * s + 1)) /
                               2)
                              .cwiseAbs()
                              .maxCoeff() < 1e-9);
            },
            context());
        REQUIRE(losses.size() == 4);
        CHECK(losses.back() < losses.front());
        const auto out = m->network()->forward(torch::zeros({3, 1, 128, 128}));
        CHECK(out.sizes() == torch::IntArrayRef({3, 2}));
        CHECK(m->predict(validation).rows() == 4);
    }
}

TEST_CASE("bf16 autocast trains every chunk model on the CPU, fp16 asks for a GPU", "[deep][precision]") {
    TempDir dir;
    const mer::SongTable train = tiny_corpus(dir.path(), 8, 1), validation = tiny_corpus(dir / "v", 4, 2);
    for (const auto& plugin : chunk_models()) {
        INFO(plugin);
        const json params{{"epochs", 4}, {"batch_size", 8}, {"learning_rate", 0.003}, {"patience", 10}};
        auto fp32 = model(plugin, params);
        fp32->fit(train, &validation, {}, context());
        json bf16_params = params;
        bf16_params["precision"] = "bf16";
        auto bf16 = model(plugin, bf16_params);
        std::vector<double> losses;
        bf16->fit(train, &validation, [&](const mer::EpochReport& r) { losses.push_back(*r.train_loss); }, context());
        REQUIRE(losses.size() == 4);
        CHECK(std::isfinite(losses.back()));
        CHECK(losses.back() < losses.front());
        const Eigen::MatrixXd a = fp32->predict(validation), b = bf16->predict(validation);
        CHECK(b.allFinite());
        // The same seed and batches: only the arithmetic differs, visibly
        // (bf16 keeps 8 bits of mantissa) but not by much.
        CHECK(a != b);
        CHECK((a - b).cwiseAbs().maxCoeff() < 0.5 * (a.maxCoeff() - a.minCoeff() + 1));
    }
    json fp16 = {{"epochs", 1}, {"precision", "fp16"}};
    auto m = model("regressor.cnn", fp16);
    CHECK_THROWS_WITH(m->fit(train, nullptr, {}, context()), Catch::Contains("fp16 needs a CUDA device"));
    // A model set up for fp16 (trained on a GPU) rates music on the CPU, in fp32.
    auto trained = model("regressor.cnn", {{"epochs", 1}});
    trained->fit(train, nullptr, {}, context());
    trained->save((dir / "fp32").string());
    m->load((dir / "fp32").string());
    CHECK(m->predict(validation) == trained->predict(validation));
}

TEST_CASE("the same seed gives identical weights on CPU", "[deep][determinism]") {
    TempDir dir;
    const mer::SongTable train = tiny_corpus(dir.path(), 8, 3);
    Eigen::MatrixXd first;
    for (int run = 0; run < 2; ++run) {
        auto m = model("regressor.cnn_gru_attention", {{"epochs", 2}, {"batch_size", 4}});
        m->fit(train, nullptr, {}, context());
        const Eigen::MatrixXd p = m->predict(train);
        if (run == 0)
            first = p;
        else
            CHECK(p == first);
        if (run == 1) {  // the saved model predicts exactly what the fitted one does
            m->save((dir / "saved").string());
            auto loaded = model("regressor.cnn_gru_attention", {{"epochs", 2}, {"batch_size", 4}});
            loaded->load((dir / "saved").string());
            CHECK(loaded->predict(train) == p);
        }
    }
}

TEST_CASE("training resumes after the last finished epoch exactly", "[deep][resume]") {
    TempDir dir;
    const mer::SongTable train = tiny_corpus(dir / "songs", 8, 5), validation = tiny_corpus(dir / "v", 4, 6);
    auto run = [&](int epochs, const fs::path& work, bool resume, std::vector<int>* reported) {
        auto m = model("regressor.cnn", {{"epochs", epochs}, {"batch_size", 4}, {"patience", 10}});
        mer::PluginContext ctx = context();
        ctx.node = "cnn";
        ctx.fold = 0;
        ctx.work_dir = work.string();
        ctx.resume = resume;
        m->fit(
            train, &validation,
            [&](const mer::EpochReport& r) {
                if (reported) reported->push_back(r.epoch);
            },
            ctx);
        return m->predict(validation);
    };
    const Eigen::MatrixXd straight = run(4, dir / "straight", false, nullptr);
    run(2, dir / "interrupted", false, nullptr);  // "killed" after epoch 2
    std::vector<int> epochs;
    const Eigen::MatrixXd resumed = run(4, dir / "interrupted", true, &epochs);
    CHECK((epochs == std::vector<int>{3, 4}));
    CHECK(resumed == straight);
}

TEST_CASE("attention weights are placed in time by the chunks' own timing", "[regressor.cnn_gru_attention]") {
    TempDir dir;
    const int sr = 22050;
    mer::SongTable songs;
    for (int s = 0; s < 3; ++s) {
        std::vector<float> y(static_cast<std::size_t>(5 * sr));
        for (std::size_t i = 0; i < y.size(); ++i)
            y[i] = 0.3f * static_cast<float>(std::sin(2 * M_PI * (220.0 * (s + 1)) * static_cast<double>(i) / sr));
        const fs::path file = dir / ("song" + std::to_string(s) + ".wav");
        mer::write_audio(file, y, sr);
        songs.song_ids.push_back("s" + std::to_string(s));
        songs.audio_paths.push_back(file.string());
    }
    songs.groups = songs.song_ids;
    songs.features.resize(3, 0);
    songs.targets.resize(3, 1);
    songs.targets << 2, 5, 8;
    songs.target_names = {"arousal"};

    // 1.5-s chunks every second: 4 chunks per 5-s song, not the default 3-s grid.
    auto features = registry().create<mer::FeaturesPlugin>(
        "features.logmel_chunks",
        with_defaults("features.logmel_chunks", {{"chunk_seconds", 1.5}, {"hop_seconds", 1.0}}));
    mer::PluginContext ctx = context();
    ctx.cache_dir = (dir / "cache").string();
    const mer::SongTable chunked = features->extract(songs, ctx);
    REQUIRE(chunked.tensor_paths.size() == 3);
    const json timing = json::parse(mer::read_text_file(fs::path(chunked.tensor_paths[0]).replace_extension(".json")));
    CHECK(timing.at("chunk_hop_seconds").get<double>() == Approx(1.0));
    CHECK(timing.at("frame_hop_seconds").get<double>() == Approx(512.0 / sr));
    // The same timing travels with the table, which is where the model reads it.
    CHECK(chunked.chunk_timing.chunk_hop_seconds == Approx(1.0));
    CHECK(chunked.chunk_timing.frame_hop_seconds == Approx(512.0 / sr));

    auto m = model("regressor.cnn_gru_attention", {{"epochs", 1}, {"batch_size", 4}});
    mer::RunFolder folder = mer::RunFolder::create(dir.path(), "att");
    mer::RunWriter writer(folder, "att", false);
    ctx.node = "att";
    ctx.fold = 0;
    ctx.artifact = [&writer](const mer::Artifact& a, const std::string& content) {
        writer.write_plugin_artifact("att", a, content);
    };
    m->fit(chunked, &chunked, {}, ctx);
    REQUIRE(writer.artifacts().size() == 1);
    CHECK(writer.artifacts()[0].kind == "attention");

    const mer::CsvTable csv = mer::read_csv(folder.path() / "attention_att_fold0.csv");
    const std::vector<std::string> header{"song_id", "chunk", "step", "seconds", "weight"};
    CHECK(csv.header == header);
    int steps = 0;
    for (const auto& row : csv.rows)
        if (row[0] == "s0" && row[1] == "0") ++steps;
    REQUIRE(steps > 0);
    int checked = 0;
    for (const auto& row : csv.rows) {
        const int chunk = std::stoi(row[1]), step = std::stoi(row[2]);
        const double expected = chunk * 1.0 + (step + 0.5) * (128.0 / steps) * 512.0 / sr;
        CHECK(std::stod(row[3]) == Approx(expected).margin(1e-3));
        ++checked;
    }
    CHECK(checked == 3 * 4 * steps);
}

TEST_CASE("a deep model's grid search gives the same metrics every run", "[grid][deep][cli]") {
    TempDir dir;
    const auto corpus =
        run_mer({"synth", "--out", "corpus", "--songs", "12", "--seconds", "3.5", "--seed", "5"}, dir.path());
    REQUIRE(corpus.exit_code == 0);
    write_file(dir / "exp.yaml", R"(name: deep-grid
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  chunks: {uses: features.logmel_chunks, inputs: [data]}
  se:
    uses: regressor.se_temporal_cnn
    inputs: [chunks]
    params: {epochs: 2, batch_size: 4}
    grid: {dropout: [0.1, 0.6]}
    grid_search: {folds: 2}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    std::string metrics[2], grid[2];
    fs::path folder;
    for (int run = 0; run < 2; ++run) {
        const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        folder = dir.path() / r.out.substr(0, r.out.find('\n'));
        metrics[run] = read_file(folder / "metrics.csv");
        grid[run] = read_file(folder / "grid.csv");
    }
    CHECK(grid[0] == grid[1]);
    CHECK(metrics[0] == metrics[1]);

    // Both levels, named; the epoch kept on training songs held out, not on the scored ones.
    const mer::CsvTable results = mer::read_csv(folder / "results.csv");
    std::set<std::string> levels;
    for (const auto& row : results.rows) {
        levels.insert(row[4]);
        CHECK(row[static_cast<std::size_t>(results.require_column("selected_on"))] == "inner");
    }
    CHECK(levels == std::set<std::string>{"song", "chunk"});
    // The loss is the model's own, on chunks: song-level rows leave it empty.
    for (const auto& row : mer::read_csv(folder / "metrics.csv").rows) {
        INFO(row[4]);
        if (row[4] == "train" || row[4] == "validation" || row[4] == "inner_validation") CHECK(row[6].empty());
        if (row[4] == "train_chunks" || row[4] == "inner_validation_chunks") CHECK(!row[6].empty());
    }
}

TEST_CASE("a model set up for a GPU rates music on a machine without one", "[deep][predict]") {
    TempDir dir;
    const mer::SongTable songs = tiny_corpus(dir / "chunks", 6, 11);
    auto trained = model("regressor.cnn", {{"epochs", 1}, {"batch_size", 4}});
    trained->fit(songs, nullptr, {}, context());
    trained->save((dir / "model").string());
    auto gpu = model("regressor.cnn", {{"epochs", 1}, {"batch_size", 4}, {"device", "cuda:0"}});
    gpu->load((dir / "model").string());  // on the GPU where there is one, else on the CPU
    const Eigen::MatrixXd expected = trained->predict(songs), got = gpu->predict(songs);
    REQUIRE(got.rows() == expected.rows());
    CHECK((got - expected).cwiseAbs().maxCoeff() < 1e-4);
}

TEST_CASE("a damaged model.pt in a bundle or a damaged checkpoint file is named in the error", "[deep][hardening]") {
    TempDir dir;
    const mer::SongTable songs = tiny_corpus(dir / "chunks", 6, 11);
    const json params{{"epochs", 1}, {"batch_size", 4}, {"patience", 10}};
    auto fit = [&](bool resume) {
        auto m = model("regressor.cnn", params);
        mer::PluginContext ctx = context();
        ctx.node = "cnn";
        ctx.fold = 0;
        ctx.work_dir = (dir / "work").string();
        ctx.resume = resume;
        m->fit(songs, nullptr, {}, ctx);
        return m;
    };
    fit(false)->save((dir / "bundle").string());
    auto cut_in_half = [](const fs::path& file) { fs::resize_file(file, fs::file_size(file) / 2); };

    cut_in_half(dir / "bundle" / "model.pt");
    try {
        model("regressor.cnn", params)->load((dir / "bundle").string());
        FAIL("a cut model.pt was loaded");
    } catch (const mer::Error& e) {
        CHECK(e.where().file == (dir / "bundle" / "model.pt").string());
        CHECK_THAT(e.message(), Catch::Contains("LibTorch cannot read model.pt"));
    }

    const fs::path checkpoint = dir / "work" / "checkpoints" / "cnn" / "fold0";
    REQUIRE(fs::exists(checkpoint / "weights.pt"));
    cut_in_half(checkpoint / "weights.pt");
    try {
        fit(true);
        FAIL("a cut weights.pt was resumed from");
    } catch (const mer::Error& e) {
        CHECK(e.where().file == (checkpoint / "weights.pt").string());
        CHECK_THAT(e.message(), Catch::Contains("LibTorch cannot read weights.pt"));
    }
}

TEST_CASE("SE-Temporal has the paper's head: Conv1D output flattened into FC 128", "[regressor.se_temporal_cnn]") {
    TempDir dir;
    const mer::SongTable train = tiny_corpus(dir.path(), 4, 5);
    auto shapes = [&](const std::string& head) {
        auto m = model("regressor.se_temporal_cnn", {{"epochs", 1}, {"batch_size", 4}, {"head", head}});
        m->fit(train, nullptr, {}, context());
        std::map<std::string, std::vector<int64_t>> out;
        for (const auto& p : m->network()->named_parameters())
            out[p.key()] = p.value().sizes().vec();
        return out;
    };
    const auto report = shapes("flatten");  // the default
    CHECK(report.at("temporal.weight") == std::vector<int64_t>{64, 64, 3});
    CHECK(report.at("fc.weight") == std::vector<int64_t>{128, 64 * 16 * 16});
    CHECK(report.at("out.weight") == std::vector<int64_t>{2, 128});  // valence and arousal
    CHECK(with_defaults("regressor.se_temporal_cnn")["head"] == "flatten");
    const auto mean = shapes("mean");
    CHECK(mean.at("fc.weight") == std::vector<int64_t>{128, 64});
}
