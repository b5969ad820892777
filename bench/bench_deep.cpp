// Training throughput of the four log-mel chunk models: one epoch over a
// corpus of random 128 × 128 chunks (DEAM-sized songs: 15 chunks each),
// evaluation passes included. Prints the epoch time and chunks per second per
// model, then saves the model, reloads it on the CPU (as `mer-run predict`
// does on a machine without a GPU) and prints how far its predictions moved.
//
//   build/bin/mer-bench-deep [--songs 32] [--threads 2] [--device cpu|cuda:N]
//
// Like mer-run, it does not link LibTorch itself: the models come from their
// plugins. (An executable that links a pip LibTorch before libstdc++ binds
// std::filesystem::remove_all to the broken copy libtorch.so exports.)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/data/npy.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"

namespace fs = std::filesystem;

int run(int argc, char** argv) {
    int songs = 32, threads = 2;
    std::string device = "cpu";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--songs")) songs = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--device")) device = argv[i + 1];
    }
    const fs::path dir = fs::temp_directory_path() / "mer-bench-deep";
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

    mer::PluginRegistry registry;
    registry.scan(mer::PluginRegistry::default_folders());
    std::printf("%d songs × 15 chunks, 1 epoch (training + evaluation passes), %d threads, device %s\n", songs, threads,
                device.c_str());
    // Every chunk model found (MER_PLUGIN_PATH=build/test-plugins/models adds the test-only ones).
    for (const mer::PluginRecord* plugin : registry.with_capability("chunks")) {
        const std::string& name = plugin->name;
        const auto params = mer::SchemaValidator(registry.get(name).schema).with_defaults({{"epochs", 1}});
        auto model = registry.create<mer::RegressorPlugin>(name, params);
        mer::PluginContext ctx;
        ctx.threads = threads;
        ctx.seed = 1;
        ctx.device = device;
        const auto start = std::chrono::steady_clock::now();
        model->fit(table, nullptr, {}, ctx);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        const Eigen::MatrixXd trained = model->predict(table);
        model->save((dir / "model").string());
        auto reloaded = registry.create<mer::RegressorPlugin>(name, params);  // device cpu by default
        reloaded->load((dir / "model").string());
        const double moved = (reloaded->predict(table) - trained).cwiseAbs().maxCoeff();
        std::printf("%-28s epoch %.1f s, %.0f chunks/s; reloaded on the CPU: predictions within %.1e\n", name.c_str(),
                    seconds, songs * 15 / seconds, moved);
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
