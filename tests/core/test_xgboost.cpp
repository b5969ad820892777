// BoostedTrees' threads (issue 27): how many XGBoost trains with beside busy
// processes, and that the trees and every round's predictions do not depend
// on that number, so choosing it by the machine's load keeps runs exact.
#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/ml/xgboost.hpp"
#include "tests/support/busy_processes.hpp"

namespace {

mer::SongTable noisy_table(int songs, int features, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    mer::SongTable t;
    t.features.resize(songs, features);
    t.targets.resize(songs, 2);
    for (int i = 0; i < songs; ++i) {
        for (int j = 0; j < features; ++j) t.features(i, j) = normal(rng);
        t.targets(i, 0) = t.features(i, 0) + 0.5 * t.features(i, 1) * t.features(i, 2) + 0.3 * normal(rng);
        t.targets(i, 1) = std::abs(t.features(i, 3)) + 0.3 * normal(rng);
        t.song_ids.push_back("s" + std::to_string(i));
    }
    t.groups = t.song_ids;
    for (int j = 0; j < features; ++j) t.feature_names.push_back("f" + std::to_string(j));
    t.target_names = {"valence", "arousal"};
    return t;
}

struct Fitted {
    std::vector<std::string> models;
    std::vector<Eigen::MatrixXd> train_rounds, validation_rounds;
    std::string log;
};

Fitted fit(const std::string& tree_method, const std::string& nthread, int threads) {
    const mer::SongTable train = noisy_table(300, 40, 1), validation = noisy_table(80, 40, 2);
    mer::xgb::BoostedTreesSettings settings;
    settings.rounds = 30;
    settings.params = {{"objective", "reg:squarederror"},
                       {"tree_method", tree_method},
                       {"max_depth", "4"},
                       {"eta", "0.1"},
                       {"subsample", "0.8"},
                       {"colsample_bytree", "0.5"},
                       {"nthread", nthread}};
    mer::xgb::BoostedTrees trees(settings);
    Fitted out;
    mer::PluginContext ctx;
    ctx.seed = 11;
    ctx.threads = threads;
    ctx.log = [&out](const std::string& line) { out.log += line + "\n"; };
    trees.fit(
        train, &validation,
        [&](const mer::EpochReport& r) {
            out.train_rounds.push_back(r.train_predictions);
            out.validation_rounds.push_back(r.validation_predictions);
        },
        ctx);
    out.models = trees.models_json();
    return out;
}

}  // namespace

TEST_CASE("XGBoost gets one thread per CPU that other tasks leave idle", "[xgboost][threads]") {
    using mer::xgb::booster_threads;
    CHECK(booster_threads(2, 2, 0) == 2);   // quiet: what was asked
    CHECK(booster_threads(2, 2, 1) == 1);   // one CPU busy: no barrier to wait at
    CHECK(booster_threads(2, 2, 5) == 1);   // never fewer than one
    CHECK(booster_threads(8, 16, 4) == 8);  // a big machine with room to spare
    CHECK(booster_threads(8, 16, 12) == 4);
    CHECK(booster_threads(4, 2, 0) == 2);  // never more threads than CPUs
    CHECK(booster_threads(1, 16, 0) == 1);
    CHECK(booster_threads(0, 16, 0) == 1);
}

TEST_CASE("boosted trees and their per-round predictions do not depend on XGBoost's threads", "[xgboost][threads]") {
    for (const std::string method : {"exact", "hist", "approx"}) {
        const Fitted one = fit(method, "1", 1);
        REQUIRE(one.train_rounds.size() == 30);
        for (const char* threads : {"2", "3"}) {
            const Fitted more = fit(method, threads, std::stoi(threads));
            INFO(method << " on " << threads << " threads");
            CHECK(one.models == more.models);  // byte for byte
            REQUIRE(more.train_rounds.size() == 30);
            for (std::size_t r = 0; r < one.train_rounds.size(); ++r) {
                CHECK(one.train_rounds[r] == more.train_rounds[r]);
                CHECK(one.validation_rounds[r] == more.validation_rounds[r]);
            }
        }
    }
}

TEST_CASE("beside busy processes a fit trains on the CPUs they leave, with the same trees", "[xgboost][threads]") {
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(sched_getaffinity(0, sizeof(set), &set) == 0);
    const int cpus = CPU_COUNT(&set);
    if (cpus < sysconf(_SC_NPROCESSORS_ONLN) || cpus < 2) {
        WARN("this process may use " << cpus << " of the machine's " << sysconf(_SC_NPROCESSORS_ONLN)
                                     << " CPUs: a 2-thread fit has no idle CPU to find, or its load cannot be told apart");
        return;
    }
    const Fitted quiet_reference = fit("hist", "1", 1);
    // Every CPU but one kept busy: a 2-thread fit must train on one.
    const mer::test::BusyProcesses busy(std::max(1, cpus - 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // running before anyone looks
    CHECK(mer::xgb::cpu_load().busy >= std::max(1, cpus - 1));
    const Fitted loaded = fit("hist", "0", 2);
    CHECK_THAT(loaded.log, Catch::Contains("target 0 trains on 1 of 2 threads"));
    CHECK_THAT(loaded.log, Catch::Contains("target 1 trains on 1 of 2 threads"));
    CHECK(loaded.models == quiet_reference.models);
    // Told to wait by sleeping, libgomp loses nothing to a preempted thread:
    // the share is kept (the policy itself is read by libgomp at start).
    setenv("OMP_WAIT_POLICY", "passive", 1);
    const Fitted passive = fit("hist", "0", 2);
    unsetenv("OMP_WAIT_POLICY");
    CHECK(passive.log.find("trains on") == std::string::npos);
    CHECK(passive.models == quiet_reference.models);
    // A thread count the user set is kept as it is.
    const Fitted pinned = fit("hist", "2", 2);
    CHECK(pinned.log.find("trains on") == std::string::npos);
}

TEST_CASE("a saved XGBoost model whose trees' lists disagree with their size is refused before XGBoost reads it",
          "[xgboost][hardening]") {
    // XGBoost sizes a tree by num_nodes and copies each list into it unchecked: a longer list
    // corrupted the heap (a kept fuzz input, bench/fuzz/crashes/bundle/crash-ec359bc…).
    const std::string model = fit("hist", "1", 1).models.front();
    REQUIRE_NOTHROW(mer::xgb::Booster(model));
    auto damaged = [&](const std::function<void(nlohmann::json&)>& change) {
        nlohmann::json j = nlohmann::json::parse(model);
        change(j["learner"]["gradient_booster"]["model"]["trees"]);
        return j.dump();
    };
    CHECK_THROWS_WITH(mer::xgb::Booster(damaged([](nlohmann::json& trees) {
                          trees[0]["split_conditions"].push_back(1.5);
                      })),
                      Catch::Contains("split_conditions does not hold one entry per node"));
    CHECK_THROWS_WITH(mer::xgb::Booster(damaged([](nlohmann::json& trees) {
                          trees[0]["tree_param"]["num_nodes"] = "99";
                      })),
                      Catch::Contains("num_nodes 99"));
    CHECK_THROWS_WITH(mer::xgb::Booster(damaged([](nlohmann::json& trees) { trees[1]["id"] = 0; })),
                      Catch::Contains("tree 1 has id 0"));
}
