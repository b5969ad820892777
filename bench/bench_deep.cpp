// Training and evaluation throughput of the log-mel chunk models: one epoch
// (or --epochs) over a corpus of random 128 × 128 chunks (DEAM-sized songs:
// 15 chunks each), on a fresh model, with the training and the evaluation
// counted apart. Then saves the model, reloads it on the CPU (as `mer-run predict`
// does on a machine without a GPU) and prints how far its predictions moved.
// The models: every plugin with the chunks capability that reads 1 × 128 ×
// 128 chunks and is not a sequence model; the others are named and left out.
//
//   build/bin/mer-bench-deep [--songs 32] [--threads 2] [--batch B] [--device cpu|cuda:N]
//                            [--precision fp32|bf16|fp16] [--epochs 1] [--model NAME] [--keep DIR]
//                            [--param KEY=VALUE ...]
//
// --batch and --precision set every model's batch_size and precision
// (default: each plugin's, 32 and fp32 for the four); --model runs one only;
// --param sets any parameter (VALUE as YAML would read it: a number, or a
// string), e.g. --model regressor.torchscript --param model=cnn.pt, which a
// model named by --model then runs on these chunks whatever input_shape it
// declares (regressor.torchscript declares none).
//
// Each figure is SONGS × 15 chunks × epochs over the spans of one fit
// without validation songs, seen through the loop's own signals:
//   train  from calling fit to the end of the first epoch's last training
//          batch (its last progress report: reading the .npy files,
//          normalising them, building the network and Adam, then every
//          batch), plus each later epoch's from the previous epoch report;
//   eval   from each epoch's last training batch to its epoch report: the
//          evaluation pass the loop makes over the training chunks (eval
//          mode, no gradients, batches of 4 × batch_size), chunk predictions
//          to float64 and song means. With validation songs (mer-run) each
//          epoch also rates those;
//   fit    the whole fit (train + eval + keeping the best weights), the figure
//          this benchmark printed before issue 14;
//   cpu    process CPU time ÷ wall time over the span: the cores it kept busy.
// On a GPU the loop no longer waits for the device after each batch, so the
// last progress report comes when the last batch is queued, not done: the
// train/eval split leans towards eval there; `fit` is exact on any device.
// bench/deep/run.sh sets this beside the same models in PyTorch.
//
// The parameter count is not printed: the network lives behind the
// RegressorPlugin interface, and this program does not link LibTorch. With
// --keep DIR the saved models stay in DIR/<plugin>/ (model.pt, model.json),
// which bench/deep/pytorch_deep.py --mer-models DIR counts and compares.
//
// Like mer-run, it does not link LibTorch itself: the models come from their
// plugins. (An executable that links a pip LibTorch before libstdc++ binds
// std::filesystem::remove_all to the broken copy libtorch.so exports.)
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "core/data/npy.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Wall clock and the process's CPU time (every thread), together.
struct Instant {
    Clock::time_point wall;
    double cpu_seconds = 0;
    static Instant now() {
        rusage use{};
        getrusage(RUSAGE_SELF, &use);
        return {Clock::now(), static_cast<double>(use.ru_utime.tv_sec + use.ru_stime.tv_sec) +
                                  1e-6 * static_cast<double>(use.ru_utime.tv_usec + use.ru_stime.tv_usec)};
    }
};

// Time spent in one kind of span (training, evaluation), summed over epochs.
struct Span {
    double seconds = 0, cpu_seconds = 0;
    void add(const Instant& from, const Instant& to) {
        seconds += std::chrono::duration<double>(to.wall - from.wall).count();
        cpu_seconds += to.cpu_seconds - from.cpu_seconds;
    }
    double cores() const { return seconds > 0 ? cpu_seconds / seconds : 0; }
};

// Whether the model reads 1 × 128 × 128 chunks (its input_shape; null: any size).
bool reads_logmel_chunks(const mer::RegressorPlugin& model) {
    const nlohmann::json shape = model.query(mer::capability::kInputShape);
    if (!shape.is_object() || !shape.contains("shape") || shape["shape"].size() != 3) return false;
    const int sizes[3] = {1, 128, 128};
    for (int i = 0; i < 3; ++i)
        if (!shape["shape"][i].is_null() && shape["shape"][i] != sizes[i]) return false;
    return true;
}

}  // namespace

int run(int argc, char** argv) {
    int songs = 32, threads = 2, batch = 0, epochs = 1;
    std::string device = "cpu", keep, only, precision;
    nlohmann::json extra = nlohmann::json::object();
    if (argc % 2 == 0) throw std::runtime_error(std::string("each option takes a value: ") + argv[argc - 1]);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--songs")) songs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--batch")) batch = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--device")) device = argv[i + 1];
        else if (!std::strcmp(argv[i], "--keep")) keep = argv[i + 1];
        else if (!std::strcmp(argv[i], "--model")) only = argv[i + 1];
        else if (!std::strcmp(argv[i], "--epochs")) epochs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--precision")) precision = argv[i + 1];
        else if (!std::strcmp(argv[i], "--param")) {
            const std::string kv = argv[i + 1];
            const auto eq = kv.find('=');
            if (eq == std::string::npos) throw std::runtime_error("--param takes KEY=VALUE, not " + kv);
            const std::string value = kv.substr(eq + 1);
            const nlohmann::json number = nlohmann::json::parse(value, nullptr, false);
            extra[kv.substr(0, eq)] = number.is_number() || number.is_boolean() ? number : nlohmann::json(value);
        } else
            throw std::runtime_error(std::string("unknown option ") + argv[i] +
                                     " (--songs --threads --batch --device --keep --model --epochs --precision --param)");
    }
    // One folder per process: two benchmarks at once (ctest's bench smoke cases run in parallel) must not
    // write, and remove, each other's chunks.
    const fs::path dir = fs::temp_directory_path() / ("mer-bench-deep-" + std::to_string(getpid()));
    fs::create_directories(dir);
    std::mt19937_64 rng(1);
    std::normal_distribution<float> normal(-40, 10);
    mer::SongTable table;
    table.targets.resize(songs, 1);
    for (int s = 0; s < songs; ++s) {
        std::vector<float> x(15 * 128 * 128);
        for (auto& v : x) v = normal(rng);
        const fs::path file = dir / ("song" + std::to_string(s) + ".npy");
        mer::write_npy(file, x.data(), {15, 1, 128, 128});
        table.song_ids.push_back(std::to_string(s));
        table.tensor_paths.push_back(file.string());
        table.targets(s, 0) = 5 + normal(rng) / 10;
    }
    table.groups = table.song_ids;
    table.features.resize(songs, 0);
    table.target_names = {"arousal"};
    const double chunks = songs * 15.0;

    mer::PluginRegistry registry;
    registry.scan(mer::PluginRegistry::default_folders());
    std::printf("%d songs × 15 chunks, %d epoch(s), %d threads, device %s, batch %s, precision %s: train = set-up + "
                "training batches, eval = evaluation passes over the training chunks, fit = both\n",
                songs, epochs, threads, device.c_str(), batch > 0 ? std::to_string(batch).c_str() : "each plugin's default",
                precision.empty() ? "each plugin's default" : precision.c_str());
    // Every chunk model found that reads these chunks (MER_PLUGIN_PATH=build/test-plugins/models adds the
    // test-only ones); the others are named and left out.
    for (const mer::PluginRecord* plugin : registry.with_capability(mer::capability::kChunks)) {
        const std::string& name = plugin->name;
        if (!only.empty() && name != only) continue;
        if (plugin->has(mer::capability::kSequence)) {
            std::printf("%-28s left out: a sequence model (it learns from annotations over time)\n", name.c_str());
            continue;
        }
        nlohmann::json given = extra;
        given["epochs"] = epochs;
        if (batch > 0) given["batch_size"] = batch;
        if (!precision.empty()) given["precision"] = precision;
        const auto params = mer::SchemaValidator(registry.get(name).schema).with_defaults(given);
        std::shared_ptr<mer::RegressorPlugin> model;
        try {
            model = registry.create<mer::RegressorPlugin>(name, params);
        } catch (const std::exception& e) {  // a parameter without a default (a weights file)
            std::printf("%-28s left out: not built from its defaults and these settings (%s)\n", name.c_str(),
                        mer::as_error(e).what());
            continue;
        }
        const bool named = !only.empty() && model->query(mer::capability::kInputShape).is_null();
        if (!named && !reads_logmel_chunks(*model)) {
            std::printf("%-28s left out: it does not read 1 × 128 × 128 chunks (input_shape %s)\n", name.c_str(),
                        model->query(mer::capability::kInputShape).dump().c_str());
            continue;
        }
        mer::PluginContext ctx;
        ctx.threads = threads;
        ctx.seed = 1;
        ctx.device = device;
        Span train, eval, fit;
        int trained_epochs = 0, reported_epochs = 0;
        const Instant start = Instant::now();
        Instant mark = start;
        ctx.progress = [&](std::size_t done, std::size_t total, const char*) {
            if (done != total) return;  // the epoch's last training batch is done
            const Instant now = Instant::now();
            train.add(mark, now);
            mark = now;
            ++trained_epochs;
        };
        model->fit(
            table, nullptr,
            [&](const mer::EpochReport&) {
                const Instant now = Instant::now();
                eval.add(mark, now);
                mark = now;
                ++reported_epochs;
            },
            ctx);
        fit.add(start, Instant::now());
        const double seen = chunks * reported_epochs;
        if (trained_epochs == 0 || trained_epochs != reported_epochs) {
            std::printf("%-28s fit %.2f s %.1f chunks/s (no progress or epoch reports to split it)\n", name.c_str(),
                        fit.seconds, chunks * epochs / fit.seconds);
            continue;
        }

        const Eigen::MatrixXd predicted = model->predict(table);
        const fs::path saved = keep.empty() ? dir / "model" : fs::path(keep) / name;
        model->save(saved.string());
        auto reloaded = registry.create<mer::RegressorPlugin>(name, params);  // device cpu by default
        reloaded->load(saved.string());
        const double moved = (reloaded->predict(table) - predicted).cwiseAbs().maxCoeff();
        std::printf("%-28s train %.2f s %.1f chunks/s (cpu %.2f)  eval %.2f s %.1f chunks/s (cpu %.2f)  fit %.2f s "
                    "%.1f chunks/s; reloaded on the CPU: predictions within %.1e\n",
                    name.c_str(), train.seconds, seen / train.seconds, train.cores(), eval.seconds, seen / eval.seconds,
                    eval.cores(), fit.seconds, seen / fit.seconds, moved);
    }
    fs::remove_all(dir);
    return 0;
}

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", mer::as_error(e).what());
        return 1;
    }
}
