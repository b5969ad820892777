// Issue 27: a grid search's inner fit against the refit of its winner, on a
// quiet machine and with CPU-bound processes beside it. The inner fit is what
// tuning.cpp runs per job (a fifth of the training songs left out, one thread,
// no per-round callback); the refit is what fold_evaluation.cpp runs (every
// training song, all `--threads`, the validation songs and a metrics.csv row
// after every round). Both go through BoostedTrees, the loop every tree
// plugin shares, on a table of the gridsearch benchmark's size (1395 training
// songs of 1744 × 386 features, XGBoost hist, the plugin's sampling).
// Prints seconds of each, refit ÷ inner fit and the load average; asserts nothing.
//
//   build/bin/mer-bench-boost [--songs 1744] [--features 386] [--rounds 100] [--depth 5]
//                             [--threads 2] [--hogs 2] [--repeats 1]
//
// --hogs N: the loaded pass starts N `sh -c 'while :; do :; done'` of its own
// and kills them after it (0: quiet pass only). Run it with the machine to
// yourself (flock /tmp/mer-build.lock ...): a build beside it is a load of
// its own. bench/boost/run.sh runs it against the library before the fix too.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/eval/metrics.hpp"
#include "core/ml/xgboost.hpp"
#include "tests/support/busy_processes.hpp"

using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    int songs = 1744, features = 386, rounds = 100, depth = 5, threads = 2, hogs = 2, repeats = 1;
};

// Eight hidden factors; three quarters of the columns mix two of them plus
// noise, the rest are noise; valence and arousal are nonlinear in a few
// factors (the shape of bench/gridsearch/make_table.py's table).
mer::SongTable make_table(const Options& o) {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> normal;
    std::uniform_int_distribution<int> factor(0, 7);
    std::vector<std::pair<int, int>> mix(static_cast<std::size_t>(o.features));
    for (auto& m : mix) m = {factor(rng), factor(rng)};
    mer::SongTable t;
    t.features.resize(o.songs, o.features);
    t.targets.resize(o.songs, 2);
    for (int i = 0; i < o.songs; ++i) {
        double f[8];
        for (double& v : f) v = normal(rng);
        for (int j = 0; j < o.features; ++j) {
            const auto [a, b] = mix[static_cast<std::size_t>(j)];
            t.features(i, j) = j % 4 == 3 ? normal(rng) : f[a] + 0.5 * f[b] + 0.3 * normal(rng);
        }
        t.targets(i, 0) = 5 + std::tanh(f[0]) + 0.5 * f[1] * f[2] + 0.8 * normal(rng);
        t.targets(i, 1) = 5 + f[3] + 0.5 * std::abs(f[4]) + 0.5 * normal(rng);
        t.song_ids.push_back("s" + std::to_string(i));
    }
    t.groups = t.song_ids;
    for (int j = 0; j < o.features; ++j) t.feature_names.push_back("f" + std::to_string(j));
    t.target_names = {"valence", "arousal"};
    return t;
}

std::vector<std::size_t> range(std::size_t begin, std::size_t end) {
    std::vector<std::size_t> r;
    for (std::size_t i = begin; i < end; ++i) r.push_back(i);
    return r;
}

mer::xgb::BoostedTreesSettings settings(const Options& o) {
    mer::xgb::BoostedTreesSettings s;
    s.rounds = o.rounds;
    s.params = {{"objective", "reg:squarederror"},
                {"tree_method", "hist"},
                {"max_depth", std::to_string(o.depth)},
                {"eta", "0.05"},
                {"subsample", "0.8"},
                {"colsample_bytree", "0.5"},
                {"min_child_weight", "1"},
                {"nthread", "0"}};
    return s;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Pass {
    double inner = 1e300, refit = 1e300;  // best of the repeats
};

Pass measure(const Options& o, const mer::SongTable& train, const mer::SongTable& validation) {
    const std::size_t inner_rows = train.size() * 4 / 5;  // one of 5 inner folds
    const mer::SongTable inner_train = train.rows(range(0, inner_rows));
    const mer::SongTable inner_validation = train.rows(range(inner_rows, train.size()));
    Pass pass;
    for (int r = 0; r < o.repeats; ++r) {
        mer::PluginContext ctx;
        ctx.seed = 7;
        ctx.threads = 1;
        auto start = Clock::now();
        mer::xgb::BoostedTrees inner(settings(o));
        inner.fit(inner_train, nullptr, {}, ctx);
        const Eigen::MatrixXd scored = inner.predict(inner_validation);
        pass.inner = std::min(pass.inner, seconds_since(start));

        ctx.threads = o.threads;
        double r2_sum = 0;  // what the metric logs compute per round, kept so it is not optimised away
        start = Clock::now();
        mer::xgb::BoostedTrees refit(settings(o));
        refit.fit(
            train, &validation,
            [&](const mer::EpochReport& report) {
                for (Eigen::Index t = 0; t < validation.targets.cols(); ++t)
                    r2_sum += mer::r2_score(validation.targets.col(t), report.validation_predictions.col(t));
            },
            ctx);
        const Eigen::MatrixXd predicted = refit.predict(validation);
        pass.refit = std::min(pass.refit, seconds_since(start));
        if (!std::isfinite(r2_sum + scored.sum() + predicted.sum())) std::printf("(non-finite predictions)\n");
    }
    return pass;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

void print(const char* label, const Pass& p, const std::string& load_before) {
    std::printf("%-26s inner fit %7.2f s   refit %7.2f s   refit/inner %6.2f   load average %s -> %s\n", label, p.inner,
                p.refit, p.refit / p.inner, load_before.c_str(), load_average().c_str());
    std::fflush(stdout);
}

}  // namespace

int run(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i += 2) {
        const std::string key = argv[i];
        int* target = key == "--songs"      ? &o.songs
                      : key == "--features" ? &o.features
                      : key == "--rounds"   ? &o.rounds
                      : key == "--depth"    ? &o.depth
                      : key == "--threads"  ? &o.threads
                      : key == "--hogs"     ? &o.hogs
                      : key == "--repeats"  ? &o.repeats
                                            : nullptr;
        char* end = nullptr;
        const long value = target && i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : 0;
        if (!target || i + 1 >= argc || end == argv[i + 1] || *end != '\0' || value < 0 || value > 1000000) {
            std::fprintf(stderr,
                         "usage: %s [--songs 1744] [--features 386] [--rounds 100] [--depth 5] [--threads 2] "
                         "[--hogs 2] [--repeats 1] (whole numbers)\n",
                         argv[0]);
            return 2;
        }
        *target = static_cast<int>(value);
    }
    const mer::SongTable table = make_table(o);
    const std::size_t train_rows = static_cast<std::size_t>(o.songs) * 4 / 5;
    const mer::SongTable train = table.rows(range(0, train_rows));
    const mer::SongTable validation = table.rows(range(train_rows, table.size()));
    std::printf(
        "%zu training songs x %d features, hist, depth %d, %d rounds, 2 targets; inner fit: %zu songs, "
        "1 thread; refit: %zu songs, %d threads, predictions every round\n",
        train.size(), o.features, o.depth, o.rounds, train.size() * 4 / 5, train.size(), o.threads);
    std::fflush(stdout);

    std::string before = load_average();
    print("quiet", measure(o, train, validation), before);
    if (o.hogs <= 0) return 0;

    Pass loaded;
    {
        const mer::test::BusyProcesses hogs(o.hogs);
        std::this_thread::sleep_for(std::chrono::seconds(1));  // the hogs running before the clock starts
        before = load_average();
        loaded = measure(o, train, validation);
    }
    const std::string label = "beside " + std::to_string(o.hogs) + " busy processes";
    print(label.c_str(), loaded, before);
    return 0;
}

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {  // too few songs for XGBoost, say: a message, not an abort
        std::fprintf(stderr, "error: %s\n", mer::as_error(e).what());
        return 1;
    }
}
