// PANNs CNN14: the checkpoint reader (strict unpickler and zip), the port's
// every output against the official PyTorch model's on known signals
// (tests/fixtures/panns, made by the official code: its README says how),
// the refusals (missing, extra, mis-shaped key, legacy format, any other
// Python global), and the feature plugin in a real run. The test checkpoint
// is written at test time by tests/panns/make_checkpoint.py with Debian's
// python3-torch; where that package is absent those cases say so and stop.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <map>
#include <random>
#include <regex>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/checkpoint/state_dict_pickle.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "core/torch/chunk_regressor.hpp"
#include "core/torch/cnn14.hpp"
#include "tests/support/test_support.hpp"

// LibTorch's headers define glog's CHECK (which aborts on failure) over
// Catch's; the tests mean Catch's.
#undef CHECK
#define CHECK(...) INTERNAL_CATCH_TEST("CHECK", Catch::ResultDisposition::ContinueOnFailure, __VA_ARGS__)

using namespace mer::test;
using namespace std::string_literals;
using nlohmann::json;
namespace fs = std::filesystem;
using mer::torchx::Cnn14;

namespace {

const fs::path kPython = "/usr/bin/python3";

bool python_torch() {
    static const bool available =
        std::system((kPython.string() + " -c 'import torch, numpy' >/dev/null 2>&1").c_str()) == 0;
    return available;
}

// Writes the seeded test checkpoint (or one of its variants) into `dir`.
fs::path make_checkpoint(const fs::path& dir, const std::string& variant = "normal") {
    const fs::path out = dir / ("cnn14-" + variant + ".pth");
    const std::string command = kPython.string() + " '" + (source_dir() / "tests/panns/make_checkpoint.py").string() +
                                "' '" + out.string() + "' --variant " + variant + " >'" + (dir / "make.log").string() +
                                "' 2>&1";
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
    return out;
}

#define REQUIRE_PYTHON_TORCH()                                                                                   \
    if (!python_torch()) {                                                                                       \
        missing_tool("Debian's python3-torch (/usr/bin/python3 with torch and numpy) is not installed, so the "  \
                     "test checkpoint cannot be written");                                                       \
    }

// The README's test signals, computed exactly as it says.
std::vector<float> signal(const std::string& name) {
    std::vector<float> y;
    if (name == "chord3") {
        for (int n = 0; n < 96000; ++n) {
            const double t = n / 32000.0;
            y.push_back(static_cast<float>(0.2 * std::sin(2.0 * M_PI * 220.0 * t) + 0.15 * std::sin(2.0 * M_PI * 277.18 * t) +
                                           0.15 * std::sin(2.0 * M_PI * 329.63 * t) +
                                           0.1 * std::sin(2.0 * M_PI * 440.0 * t + 0.3)));
        }
    } else if (name == "clicks1") {
        for (int n = 0; n < 32000; ++n) y.push_back(n % 3200 == 0 ? 0.9f : 0.0f);
    } else {
        const double T = 10.0, L = std::log(240.0);
        std::uint32_t s = 2463534242u;
        for (int n = 0; n < 320000; ++n) {
            const double t = n / 32000.0;
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            const double u = s / 4294967296.0 * 2.0 - 1.0;
            y.push_back(static_cast<float>(0.5 * std::sin(2.0 * M_PI * 50.0 * T / L * (std::exp(t * L / T) - 1.0)) + 0.05 * u));
        }
    }
    return y;
}

torch::Tensor fixture(const std::string& name) {
    std::vector<std::size_t> shape;
    std::vector<float> values = mer::read_npy_float32(fixtures_dir() / "panns" / (name + ".npy"), shape);
    return torch::from_blob(values.data(), {static_cast<int64_t>(values.size())}, torch::kFloat32).clone();
}

double relative_l2(const torch::Tensor& got, const torch::Tensor& want) {
    return (got.flatten().to(torch::kFloat64) - want.flatten().to(torch::kFloat64)).norm().item<double>() /
           want.to(torch::kFloat64).norm().item<double>();
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const mer::Error& e) {
        return e.where().file.empty() ? e.message() : e.where().str() + ": " + e.message();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("the strict unpickler refuses any Python global but torch.save's own", "[panns][pickle]") {
    // GLOBAL 'posix system', ('touch …',), REDUCE: what pickling os.system gives.
    const std::string evil = "\x80\x02" "cposix\nsystem\nq\x00X\x05\x00\x00\x00touchq\x01\x85q\x02Rq\x03."s;
    CHECK_THAT(error_of([&] { mer::read_state_dict_pickle(evil, "evil.pth"); }),
               Catch::Contains("names the Python global 'posix.system'") && Catch::Contains("nothing in it was run"));
    // builtins.eval by STACK_GLOBAL (protocol 4) as well.
    const std::string stack = "\x80\x04\x8c\x08" "builtins" "\x8c\x04" "eval" "\x93" "."s;
    CHECK_THAT(error_of([&] { mer::read_state_dict_pickle(stack, "evil.pth"); }), Catch::Contains("'builtins.eval'"));
    // Truncated, an unknown opcode, and a value where a tensor belongs.
    CHECK_THAT(error_of([&] { mer::read_state_dict_pickle("\x80\x02}q\x00(X\x05"s, "cut.pth"); }),
               Catch::Contains("cut.pth") && Catch::Contains("runs past the end"));
    CHECK_THAT(error_of([&] { mer::read_state_dict_pickle("\x80\x02I1\n.", "text.pth"); }),
               Catch::Contains("opcode 0x49"));
    // {'model': {'w': 3}}
    const std::string not_tensor = "\x80\x02}(X\x05\x00\x00\x00model}X\x01\x00\x00\x00wK\x03su."s;
    CHECK_THAT(error_of([&] { mer::read_state_dict_pickle(not_tensor, "int.pth"); }),
               Catch::Contains("entry 'w' of the 'model' entry") && Catch::Contains("an int, not a tensor"));

    // key: a 4-element tensor over a storage, as torch.save pickles it (protocol 2).
    auto text = [](const std::string& s) {
        std::string size(4, '\0');
        for (std::size_t i = 0; i < 4; ++i) size[i] = static_cast<char>(s.size() >> (8 * i));
        return "X" + size + s;
    };
    auto tensor = [&](const std::string& key, const std::string& storage_type, const std::string& storage = "0") {
        return text(key) + "ctorch._utils\n_rebuild_tensor_v2\n((" + text("storage") + "ctorch\n" + storage_type +
               "\n" + text(storage) + text("cpu") + "K\x04tQK\x00K\x04\x85K\x01\x85tR"s;
    };
    // Two views of storage '0' (the positive control), then the storage as float32 and as int64: the
    // loader would read it once and give the second tensor the first one's type.
    const std::string views = "\x80\x02}("s + tensor("a", "FloatStorage") + tensor("b", "FloatStorage") + "u.";
    CHECK(mer::read_state_dict_pickle(views, "views.pth").tensors.size() == 2);
    const std::string two_types = "\x80\x02}("s + tensor("a", "FloatStorage") + tensor("b", "LongStorage") + "u.";
    CHECK_THAT(error_of([&] { mer::read_state_dict_pickle(two_types, "views.pth"); }),
               Catch::Contains("tensors 'a' and 'b' describe storage '0' differently"));
    // A storage key is copied into every tensor on it: torch.save's are numbers, a long one is refused.
    const std::string long_key = "\x80\x02}("s + tensor("a", "FloatStorage", std::string(300, 'k')) + "u.";
    CHECK_THAT(error_of([&] { mer::read_state_dict_pickle(long_key, "key.pth"); }),
               Catch::Contains("a storage key of 300 bytes"));
    // One parameter twice: Python would keep the last, torch.save never writes it.
    const std::string twice = "\x80\x02}("s + tensor("a", "FloatStorage") + tensor("a", "FloatStorage") + "u.";
    CHECK_THAT(error_of([&] { mer::read_state_dict_pickle(twice, "twice.pth"); }),
               Catch::Contains("the top level of the checkpoint has the key 'a' twice"));
}

TEST_CASE("CNN14's front end on known signals: a bin-centred sine, silence, frame count", "[torch][panns]") {
    Cnn14 model;  // the front end built from its formulas
    model->eval();
    torch::NoGradGuard no_grad;
    // 1000 Hz = FFT bin 32 of 1024 at 32 kHz, amplitude 0.5. A periodic Hann
    // window sums to 512: the bin's |X| is 0.5 · 512 / 2, each neighbour's
    // half that, every other bin ~0. Power → mel → dB by hand.
    std::vector<float> y(32000);
    for (std::size_t n = 0; n < y.size(); ++n) y[n] = static_cast<float>(0.5 * std::sin(2 * M_PI * 1000.0 * n / 32000.0));
    const torch::Tensor x = torch::from_blob(y.data(), {1, 32000}, torch::kFloat32);
    const torch::Tensor logmel = model->logmel(x);
    CHECK(logmel.sizes() == torch::IntArrayRef({1, 1, 101, 64}));  // 1 + 32000 / 320 frames
    const torch::Tensor mel = mer::torchx::cnn14_mel_filterbank().to(torch::kFloat64);
    const double peak = std::pow(0.5 * 512 / 2, 2), side = std::pow(0.5 * 512 / 4, 2);
    const torch::Tensor energy = peak * mel[32] + side * (mel[31] + mel[33]);
    const torch::Tensor expected = 10 * torch::log10(torch::clamp_min(energy, 1e-10));
    const torch::Tensor frame = logmel[0][0][50].to(torch::kFloat64);  // a frame far from both edges
    const torch::Tensor bands = energy > 1e-3;  // the bands the tone reaches
    REQUIRE(bands.sum().item<int64_t>() >= 1);
    CHECK((frame.masked_select(bands) - expected.masked_select(bands)).abs().max().item<double>() < 0.01);
    // Silence is the −100 dB floor everywhere, and so is every band the tone
    // does not reach, up to the window's far leakage.
    CHECK((model->logmel(torch::zeros({2, 16000})) == -100.0f).all().item<bool>());
    CHECK(frame.masked_select(energy == 0).max().item<double>() < -60);
}

TEST_CASE("CNN14 on the test checkpoint gives the official model's outputs", "[torch][panns]") {
    REQUIRE_PYTHON_TORCH();
    TempDir tmp;
    const fs::path file = make_checkpoint(tmp.path());
    std::vector<std::string> extras;
    const auto state = mer::torchx::read_torch_checkpoint(file.string(), &extras);
    CHECK(state.size() == 84);
    CHECK(extras == std::vector<std::string>{"iteration", "sampler"});

    // The tensors are the ones the references were made with (per-key sha256).
    const json about = mer::read_json_file(fixtures_dir() / "panns" / "checkpoint.json");
    REQUIRE(state.size() == about.at("order").size());
    for (std::size_t i = 0; i < state.size(); ++i) {
        const auto& [key, tensor] = state[i];
        INFO(key);
        CHECK(key == about["order"][i]);
        const torch::Tensor c = tensor.contiguous();
        CHECK(mer::sha256_hex(std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size())) ==
              about["tensors"][key]["sha256"]);
    }

    Cnn14 model;
    mer::torchx::load_state_dict(*model, state, file.string());
    model->eval();
    const mer::torchx::Cnn14Inference fused(*model);

    // The front end's frozen tensors match their formulas.
    const auto [real, imag] = mer::torchx::cnn14_stft_kernels();
    CHECK((model->spectrogram_extractor->stft->conv_real->weight - real).abs().max().item<double>() < 1e-6);
    CHECK((model->spectrogram_extractor->stft->conv_imag->weight - imag).abs().max().item<double>() < 1e-6);
    CHECK((model->logmel_extractor->melW - mer::torchx::cnn14_mel_filterbank()).abs().max().item<double>() < 1e-7);

    torch::NoGradGuard no_grad;
    for (const std::string name : {"chord3", "clicks1", "sweep10"}) {
        INFO(name);
        std::vector<float> y = signal(name);
        const json expected = mer::read_json_file(fixtures_dir() / "panns" / "signals.json")["signals"][name];
        CHECK(mer::sha256_hex(std::string(reinterpret_cast<const char*>(y.data()), y.size() * sizeof(float))) ==
              expected["sha256_float32_le"]);
        const torch::Tensor x = torch::from_blob(y.data(), {1, static_cast<int64_t>(y.size())}, torch::kFloat32);

        // Front end: log-mel in dB before bn0, stage by stage the official one.
        const torch::Tensor logmel = model->logmel(x);
        const torch::Tensor want_logmel = fixture(name + "_logmel");
        CHECK(logmel.size(2) == expected["frames"].get<int64_t>());
        REQUIRE(logmel.numel() == want_logmel.numel());
        const double logmel_error = (logmel.flatten() - want_logmel).abs().max().item<double>();
        INFO("log-mel max abs error " << logmel_error << " dB");
        CHECK(logmel_error < 0.01);
        // Cells on the −100 dB floor stay there (silence between clicks).
        CHECK(((want_logmel <= -100.0f) == (logmel.flatten() <= -100.0f)).all().item<bool>());

        // Every output of the module and of the fused inference copy.
        const auto module_out = model->forward(x);
        const auto fused_out = fused.run(x);
        for (const auto& [what, got_module, got_fused] :
             {std::tuple{"embedding", module_out.embedding, fused_out.embedding},
              std::tuple{"clipwise", module_out.clipwise, fused_out.clipwise},
              std::tuple{"conv_max", module_out.conv_max, fused_out.conv_max},
              std::tuple{"conv_mean_max", module_out.conv_mean_max, fused_out.conv_mean_max}}) {
            const torch::Tensor want = fixture(name + "_" + what);
            INFO(what << ": module " << relative_l2(got_module, want) << ", fused " << relative_l2(got_fused, want));
            CHECK(relative_l2(got_module, want) < 1e-5);
            CHECK(relative_l2(got_fused, want) < 1e-5);
        }
    }
    // A batch of two: each row its own input's.
    std::vector<float> batch = signal("chord3");
    const std::vector<float> sweep = signal("sweep10");
    batch.insert(batch.end(), sweep.begin(), sweep.begin() + 96000);
    const torch::Tensor x = torch::from_blob(batch.data(), {2, 96000}, torch::kFloat32);
    CHECK(relative_l2(fused.run(x).embedding, fixture("batch_embedding")) < 1e-5);
    CHECK(relative_l2(model->forward(x).embedding, fixture("batch_embedding")) < 1e-5);
    // Too short for the five poolings: a clear error, not LibTorch's.
    CHECK_THAT(error_of([&] { fused.run(torch::zeros({1, 9919})); }), Catch::Contains("at least 9920 samples"));
}

TEST_CASE("a checkpoint that is not CNN14's, or not a plain state dict, is refused by name", "[torch][panns]") {
    REQUIRE_PYTHON_TORCH();
    TempDir tmp;
    auto load = [&](const std::string& variant) {
        const fs::path file = make_checkpoint(tmp.path(), variant);
        const std::string message = error_of([&] {
            Cnn14 model;
            mer::torchx::load_state_dict(*model, mer::torchx::read_torch_checkpoint(file.string()), file.string());
        });
        fs::remove(file);  // each is 327 MB
        return message;
    };
    CHECK_THAT(load("missing"), Catch::Contains("lacks 'conv_block3.bn1.running_var' [256]"));
    CHECK_THAT(load("extra"), Catch::Contains("it has 'fc_extra.weight' [4, 4], which CNN14 does not have"));
    CHECK_THAT(load("misshaped"), Catch::Contains("'fc1.bias' has shape [2047] where CNN14's is [2048]"));
    CHECK_THAT(load("nonfinite"), Catch::Contains("weights are damaged") &&
                                      Catch::Contains("'conv_block2.conv1.weight' holds 1 NaN or infinite value") &&
                                      Catch::Contains("'fc1.bias' holds 1 NaN or infinite value"));
    CHECK(load("plain_dict") == "(no error)");  // the loads below fail before reading storages
    CHECK(load("model_only") == "(no error)");
    CHECK_THAT(load("legacy"),
               Catch::Contains("legacy (pre-1.6, not zip) torch.save file") &&
                   Catch::Contains("scripts/panns-convert-checkpoint.py"));
    // The shipped converter turns a legacy file into one the reader takes.
    const fs::path legacy = make_checkpoint(tmp.path(), "legacy");
    const std::string convert = kPython.string() + " '" + (source_dir() / "scripts/panns-convert-checkpoint.py").string() +
                                "' '" + legacy.string() + "' '" + (tmp / "converted.pth").string() + "' --trust 2>&1";
    REQUIRE(std::system(convert.c_str()) == 0);
    const auto converted = mer::torchx::read_torch_checkpoint((tmp / "converted.pth").string());
    CHECK(!converted.empty());
    fs::remove("/tmp/mer-pwned");
    CHECK_THAT(load("evil_model"), Catch::Contains("names the Python global 'posix.system'"));
    CHECK_THAT(load("evil_extra"), Catch::Contains("names the Python global 'posix.system'"));
    CHECK(!fs::exists("/tmp/mer-pwned"));
    // Not a checkpoint at all, and a damaged archive.
    write_file(tmp / "notes.pth", "just text\n");
    CHECK_THAT(error_of([&] { mer::torchx::read_torch_checkpoint((tmp / "notes.pth").string()); }),
               Catch::Contains("not a torch.save checkpoint"));
    write_file(tmp / "cut.pth", "PK\x03\x04"s + std::string(100, 'x'));
    CHECK_THAT(error_of([&] { mer::torchx::read_torch_checkpoint((tmp / "cut.pth").string()); }),
               Catch::Contains("cannot read the checkpoint archive"));
}

TEST_CASE("the Phase 3 pipeline runs end to end, keyed by the weights' content", "[torch][panns][cli]") {
    REQUIRE_PYTHON_TORCH();
    TempDir tmp;
    make_checkpoint(tmp.path());
    fs::rename(tmp / "cnn14-normal.pth", tmp / "cnn14.pth");
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "12", "--seconds", "6.5", "--seed", "3"}, tmp.path()).exit_code == 0);
    const std::string experiment = R"(name: p3
seed: 42
nodes:
  data:
    uses: dataset.deam
    params: {root: corpus, label_scale: unit}
  panns:
    uses: features.panns_cnn14
    inputs: [data]
    params: {checkpoint: cnn14.pth, batch_size: 5}
  mlp:
    uses: regressor.emotion_mlp
    inputs: [panns]
    params: {epochs: 2}
evaluation:
  split: {kind: holdout, fraction: 0.25}
  metrics: [r2, rmse]
)";
    write_file(tmp / "p3.yaml", experiment);
    const auto first = run_mer({"run", "p3.yaml"}, tmp.path());
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    CHECK(first.err.find("12 songs as CNN14 embedding vectors (0 from the feature cache)") != std::string::npos);
    CHECK(first.err.find("its other entries ignored: iteration, sampler") != std::string::npos);
    const fs::path run = tmp / run_folder_of(first);
    CHECK(fs::exists(run / "predictions.csv"));

    // A song's vector is the mean of its chunks', each the model's output for
    // those samples (6.5 s: two 3-s chunks, the remainder dropped).
    const json bundle = mer::read_json_file(run / "model" / "mlp" / "model.json");
    CHECK(bundle["data"][1]["files"]["checkpoint"]["sha256"] == mer::sha256_file(tmp / "cnn14.pth"));
    std::vector<fs::path> cached;
    for (const auto& e : fs::recursive_directory_iterator(tmp / "cache"))
        if (e.path().extension() == ".npy") cached.push_back(e.path());
    CHECK(cached.size() == 12);
    const json sidecar = mer::read_json_file(fs::path(cached.front()).replace_extension(".json"));
    std::vector<std::size_t> shape;
    const std::vector<float> vectors = mer::read_npy_float32(cached.front(), shape);
    CHECK(shape == std::vector<std::size_t>{2, 2048});
    std::vector<float> audio = mer::load_audio(tmp / sidecar["audio"].get<std::string>(), 32000).samples;
    REQUIRE(audio.size() >= 192000);
    Cnn14 model;
    mer::torchx::load_state_dict(*model, mer::torchx::read_torch_checkpoint((tmp / "cnn14.pth").string()), "cnn14.pth");
    model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor chunks = torch::from_blob(audio.data(), {2, 96000}, torch::kFloat32);
    const torch::Tensor expected = model->forward(chunks).embedding;
    CHECK(relative_l2(torch::from_blob(const_cast<float*>(vectors.data()), {2, 2048}, torch::kFloat32), expected) < 1e-5);

    // Renamed weights: the same content, so nothing is recomputed.
    fs::rename(tmp / "cnn14.pth", tmp / "renamed.pth");
    write_file(tmp / "p3.yaml", std::regex_replace(experiment, std::regex("cnn14\\.pth"), "renamed.pth"));
    const auto second = run_mer({"run", "p3.yaml"}, tmp.path());
    CHECK(second.exit_code == 0);
    CHECK(second.err.find("node 'panns' (features.panns_cnn14): cached") != std::string::npos);

    // Rating new files with the bundle; other weights at the recorded path are refused.
    const auto rated = run_mer({"predict", "--model", run.string(), "corpus/MEMD_audio/1.mp3"}, tmp.path());
    CHECK(rated.exit_code != 0);  // the file the model was trained with is gone (renamed)
    CHECK_THAT(rated.err, Catch::Contains("needs the file it was trained with"));
    fs::rename(tmp / "renamed.pth", tmp / "cnn14.pth");
    write_file(tmp / "broken.mp3", "not audio at all\n");  // skipped with its reason, never a crash
    const auto again =
        run_mer({"predict", "--model", run.string(), "corpus/MEMD_audio/1.mp3", "broken.mp3"}, tmp.path());
    CHECK(again.exit_code == 0);
    CHECK(count_lines(again.out) == 3);
    CHECK_THAT(again.out, Catch::Contains("broken.mp3,,,,,,not an audio file"));
    write_file(tmp / "cnn14.pth", "PK\x03\x04 other weights"s);
    const auto other = run_mer({"predict", "--model", run.string(), "corpus/MEMD_audio/1.mp3"}, tmp.path());
    CHECK(other.exit_code != 0);
    CHECK_THAT(other.err, Catch::Contains("holds other content than the model was trained with"));

    // No weights file: refused before anything runs, saying where it comes from.
    fs::remove(tmp / "cnn14.pth");
    const auto missing = run_mer({"validate", "p3.yaml"}, tmp.path());
    CHECK(missing.exit_code != 0);
    CHECK_THAT(missing.err, Catch::Contains("nodes.panns.params.checkpoint: 'renamed.pth' does not exist") &&
                                Catch::Contains("zenodo.org"));
}

TEST_CASE("the EmotionMLP learns a feature table through the shared loop", "[torch][regressor.emotion_mlp]") {
    TempDir tmp;
    write_synthetic_table(tmp.path(), 200, 7);
    write_file(tmp / "mlp.yaml", R"(name: mlp
seed: 42
nodes:
  songs:
    uses: dataset.table
    params: {path: songs.csv}
  baseline:
    uses: regressor.mean
    inputs: [songs]
  mlp:
    uses: regressor.emotion_mlp
    inputs: [songs]
    params: {epochs: 25, patience: 25}
evaluation:
  split: {kind: holdout, fraction: 0.2}
  metrics: [r2, rmse]
)");
    const auto r = run_mer({"run", "mlp.yaml"}, tmp.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = tmp / run_folder_of(r);
    // Every epoch's song-level rows, and a model far better than the mean
    // (its epoch kept on 15 % of the training songs, never on the scored ones).
    const json summary = mer::read_json_file(run / "summary.json");
    INFO(summary.dump(1));
    const std::string metrics = read_file(run / "metrics.csv");
    CHECK(std::regex_search(metrics, std::regex("\\nmlp,regressor.emotion_mlp,0,25,inner_validation,valence,")));
    CHECK(std::regex_search(metrics, std::regex("\\nmlp,regressor.emotion_mlp,0,25,validation,valence,")));
    const json network = mer::read_json_file(run / "model" / "mlp" / "fold0" / "regressor" / "network.json");
    CHECK(network["input_width"] == 12);
    CHECK(network["hidden"] == json::array({512, 128}));
    const std::string results = read_file(run / "results.csv");
    INFO(results);
    for (const std::string target : {"valence", "arousal"}) {
        std::smatch m;
        REQUIRE(std::regex_search(results, m, std::regex(",mlp," + target + ",song,(-?[0-9.e+-]+),")));
        CHECK(std::stod(m[1]) > 0.25);
        REQUIRE(std::regex_search(results, m, std::regex(",baseline," + target + ",song,(-?[0-9.e+-]+),")));
        CHECK(std::stod(m[1]) < 0.05);
    }
}

TEST_CASE("fine-tuning trains the unfrozen blocks and the head from the official weights", "[torch][panns]") {
    REQUIRE_PYTHON_TORCH();
    TempDir tmp;
    const fs::path checkpoint = make_checkpoint(tmp.path());
    // Four 3.2-s songs: one 3-s chunk each (301 frames) of CNN14's own log-mel.
    mer::SongTable songs;
    songs.target_names = {"valence", "arousal"};
    songs.targets.resize(4, 2);
    std::mt19937 noise(5);
    std::normal_distribution<float> normal;
    for (int s = 0; s < 4; ++s) {
        std::vector<float> y(102400);
        for (std::size_t n = 0; n < y.size(); ++n)
            y[n] = 0.1f * (s + 1) * std::sin(2 * M_PI * 220.0 * (s + 1) * n / 32000.0) + 0.01f * normal(noise);
        const fs::path wav = tmp / ("song" + std::to_string(s) + ".wav");
        write_float_wav(wav, y, 32000);
        songs.song_ids.push_back("song" + std::to_string(s));
        songs.groups.push_back(songs.song_ids.back());
        songs.audio_paths.push_back(wav.string());
        songs.targets.row(s) << 0.2 * s, 0.8 - 0.2 * s;
    }
    songs.features.resize(4, 0);
    mer::PluginContext ctx;
    ctx.node = "logmel";
    ctx.cache_dir = (tmp / "cache").string();
    ctx.seed = 7;
    const mer::SongTable logmel =
        registry()
            .create<mer::FeaturesPlugin>("features.panns_cnn14",
                                         with_defaults("features.panns_cnn14",
                                                       {{"checkpoint", checkpoint.string()}, {"output", "logmel"}}))
            ->extract(songs, ctx);
    REQUIRE(logmel.tensor_paths.size() == 4);
    std::vector<std::size_t> shape;
    mer::read_npy_float32(logmel.tensor_paths[0], shape);
    CHECK(shape == std::vector<std::size_t>{1, 1, 301, 64});

    auto model = registry().create<mer::RegressorPlugin>(
        "regressor.panns_finetune",
        with_defaults("regressor.panns_finetune", {{"checkpoint", checkpoint.string()},
                                                   {"unfreeze_blocks", 1},
                                                   {"epochs", 2},
                                                   {"batch_size", 2},
                                                   {"hidden", json::array({16})}}));
    ctx.node = "finetune";
    model->fit(logmel, &logmel, {}, ctx);
    const auto net = dynamic_cast<mer::torchx::ChunkRegressor&>(*model).network();
    REQUIRE(net != nullptr);
    std::map<std::string, torch::Tensor> trained;
    for (const auto& p : net->named_parameters(true)) trained[p.key()] = p.value();
    for (const auto& b : net->named_buffers(true)) trained[b.key()] = b.value();
    int frozen_equal = 0, tuned_changed = 0;
    for (const auto& [key, original] : mer::torchx::read_torch_checkpoint(checkpoint.string())) {
        INFO(key);
        REQUIRE(trained.count("backbone." + key) == 1);
        const bool same = torch::equal(trained["backbone." + key].to(original.dtype()), original);
        const bool tuned = key.rfind("conv_block6.", 0) == 0 || key.rfind("fc1.", 0) == 0;
        if (tuned && key.find("num_batches_tracked") == std::string::npos) {
            CHECK(!same);  // weights and batch-norm statistics of the unfrozen block move
            tuned_changed += !same;
        } else if (!tuned) {
            CHECK(same);  // frozen: weights and statistics exactly as loaded
            frozen_equal += same;
        }
    }
    CHECK(tuned_changed == 12);  // block 6: 2 convs + 2 × 4 batch-norm tensors; fc1: 2
    CHECK(frozen_equal > 60);
    // Trained and saved, it loads without the checkpoint and rates the same.
    model->save((tmp / "saved").string());
    fs::remove(checkpoint);
    auto loaded = registry().create<mer::RegressorPlugin>(
        "regressor.panns_finetune",
        with_defaults("regressor.panns_finetune", {{"checkpoint", checkpoint.string()},
                                                   {"unfreeze_blocks", 1},
                                                   {"hidden", json::array({16})}}));
    loaded->load((tmp / "saved").string());
    CHECK(loaded->predict(logmel).isApprox(model->predict(logmel)));
}
