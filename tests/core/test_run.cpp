// End to end through the real mer-run binary: run folders and their files,
// the node cache, reproducibility, overrides, failures and exit codes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/plugin/abi.hpp"
#include "core/run/run_folder.hpp"
#include "core/data/csv.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kExperiment = R"(name: e2e
seed: 5
nodes:
  songs:
    uses: dataset.table
    params: {path: songs.csv}
  baseline:
    uses: regressor.mean
    inputs: [songs]
  ridge:
    uses: regressor.ridge
    inputs: [songs]
evaluation:
  split: {kind: kfold, k: 4}
  metrics: [r2, ccc]
)";

}  // namespace

TEST_CASE("a run leaves every promised file and learns the signal", "[run][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 120);
    write_file(cwd / "exp.yaml", kExperiment);
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path folder = cwd.path() / run_folder_of(r);
    CHECK(folder.parent_path() == cwd.path() / "runs" / "e2e");
    for (const char* file : {"config.yaml", "environment.json", "plugins.lock", "metrics.csv", "metrics.jsonl",
                             "predictions.csv", "summary.json", "log.txt", "skipped.csv"})
        CHECK(fs::exists(folder / file));

    // 2 models × 4 folds × 2 splits × 2 targets, plus the header.
    const std::string metrics = read_file(folder / "metrics.csv");
    CHECK(count_lines(metrics) == 1 + 32);
    CHECK(metrics.rfind("node,model,fold,epoch,split,target,loss,r2,rmse,mae,mse,pearson,ccc,seed,best\n", 0) == 0);
    CHECK(count_lines(read_file(folder / "metrics.jsonl")) == 32);
    // Every song validated once per target per model.
    CHECK(count_lines(read_file(folder / "predictions.csv")) == 1 + 2 * 120 * 2);

    const json summary = json::parse(read_file(folder / "summary.json"));
    CHECK(summary["status"] == "finished");
    const double ridge_valence = summary["nodes"]["ridge"]["validation"]["valence"]["r2"]["mean"];
    const double ridge_arousal = summary["nodes"]["ridge"]["validation"]["arousal"]["r2"]["mean"];
    const double mean_valence = summary["nodes"]["baseline"]["validation"]["valence"]["r2"]["mean"];
    CHECK(ridge_valence > 0.4);
    CHECK(ridge_arousal > 0.6);
    CHECK(mean_valence <= 0.0);
    CHECK(summary["nodes"]["ridge"]["validation"]["valence"]["r2"]["folds"].size() == 4);
    CHECK(summary["nodes"]["ridge"]["validation"]["valence"].contains("ccc"));

    const json env = json::parse(read_file(folder / "environment.json"));
    CHECK(env["seed"] == 5);
    CHECK(env["device"] == "cpu");
    CHECK(env["abi_tag"] == mer::host_abi_tag());
    const json lock = json::parse(read_file(folder / "plugins.lock"));
    REQUIRE(lock.size() == 3);
    CHECK(lock[0]["sha256"].get<std::string>().size() == 64);
    CHECK_THAT(read_file(folder / "config.yaml"), Catch::Contains("id_column: song_id"));
    CHECK_THAT(read_file(folder / "log.txt"), Catch::Contains("node 'songs' (dataset.table): computed"));
}

TEST_CASE("a rerun reuses the cache and gives byte-identical metrics", "[run][cache][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 60);
    write_file(cwd / "exp.yaml", kExperiment);
    const auto first = run_mer({"exp.yaml", "--quiet"}, cwd.path());  // short form
    const auto second = run_mer({"exp.yaml", "--quiet"}, cwd.path());
    REQUIRE(first.exit_code == 0);
    REQUIRE(second.exit_code == 0);
    const fs::path a = cwd.path() / run_folder_of(first), b = cwd.path() / run_folder_of(second);
    CHECK(a != b);
    CHECK_THAT(read_file(b / "log.txt"), Catch::Contains("node 'songs' (dataset.table): cached"));
    CHECK(read_file(a / "metrics.csv") == read_file(b / "metrics.csv"));
    CHECK(read_file(a / "predictions.csv") == read_file(b / "predictions.csv"));

    // Editing the data invalidates the cache.
    write_synthetic_table(cwd.path(), 60, 99);
    const auto third = run_mer({"exp.yaml", "--quiet"}, cwd.path());
    REQUIRE(third.exit_code == 0);
    const fs::path c = cwd.path() / run_folder_of(third);
    CHECK_THAT(read_file(c / "log.txt"), Catch::Contains("node 'songs' (dataset.table): computed"));
    CHECK(read_file(a / "metrics.csv") != read_file(c / "metrics.csv"));
}

TEST_CASE("overrides and the output folder change the run", "[run][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 60);
    write_file(cwd / "exp.yaml", kExperiment);
    const auto r = run_mer({"run", "exp.yaml", "--quiet", "--set", "nodes.ridge.params.alpha=500", "--set",
                            "evaluation.split.k=3", "--out", "elsewhere"},
                           cwd.path());
    REQUIRE(r.exit_code == 0);
    const fs::path folder = cwd.path() / run_folder_of(r);
    CHECK(folder.parent_path() == cwd.path() / "elsewhere" / "e2e");
    const std::string config = read_file(folder / "config.yaml");
    CHECK_THAT(config, Catch::Contains("alpha: 500") && Catch::Contains("k: 3"));
    const json summary = json::parse(read_file(folder / "summary.json"));
    CHECK(summary["nodes"]["ridge"]["folds"] == 3);
}

TEST_CASE("a dataset node's limit runs on a seeded sample of its songs", "[run][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 60);
    write_file(cwd / "exp.yaml", kExperiment);
    auto sampled = [&](const std::string& seed) {
        const auto r = run_mer({"run", "exp.yaml", "--quiet", "--set", "nodes.songs.limit=20", "--set", "seed=" + seed},
                               cwd.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const fs::path folder = cwd.path() / run_folder_of(r);
        CHECK(json::parse(read_file(folder / "summary.json"))["nodes"]["ridge"]["songs"] == 20);
        CHECK_THAT(read_file(folder / "log.txt"), Catch::Contains("limit 20: a seeded sample of 20 of its 60 songs"));
        std::set<std::string> songs;
        for (const auto& row : mer::read_csv(folder / "predictions.csv").rows) songs.insert(row[1]);
        return songs;
    };
    const auto first = sampled("5");
    CHECK(first.size() == 20);
    CHECK(sampled("5") == first);  // the same seed, the same songs
    CHECK(sampled("6") != first);
    // Only dataset nodes take a sample.
    const auto wrong = run_mer({"validate", "exp.yaml", "--set", "nodes.ridge.limit=5"}, cwd.path());
    CHECK(wrong.exit_code == 2);
    CHECK_THAT(wrong.err, Catch::Contains("nodes.ridge.limit: only dataset nodes take a sample"));
}

TEST_CASE("a failing node stops the run with its id, finished work stays", "[run][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 40);
    std::string yaml = kExperiment;
    yaml.replace(yaml.find("evaluation:"), 0, "  broken:\n    uses: regressor.failing\n    inputs: [songs]\n");
    write_file(cwd / "exp.yaml", yaml);
    const auto r = run_mer({"run", "exp.yaml"}, cwd.path(), test_plugin_dir("good").string());
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("node 'broken' failed: deliberate failure at epoch 3"));
    const fs::path folder = cwd.path() / run_folder_of(r);
    const json summary = json::parse(read_file(folder / "summary.json"));
    CHECK(summary["status"] == "failed");
    CHECK(summary["failed"]["node"] == "broken");
    CHECK(summary["nodes"].contains("ridge"));  // finished before the failure
    const std::string metrics = read_file(folder / "metrics.csv");
    CHECK_THAT(metrics, Catch::Contains("broken,regressor.failing,0,2,validation,arousal"));  // epochs 1–2 kept
    CHECK_THAT(read_file(folder / "predictions.csv"), Catch::Contains("ridge,"));
}

TEST_CASE("validate exits 2 listing FILE:LINE:COL errors, 0 when valid", "[validate][cli]") {
    TempDir cwd;
    write_file(cwd / "good.yaml", kExperiment);
    std::string bad = kExperiment;
    bad.replace(bad.find("seed: 5"), 7, "seed: five");
    bad.replace(bad.find("regressor.ridge"), 15, "regressor.ridgee");
    write_file(cwd / "bad.yaml", bad);
    // The data path is checked and printed resolved: from another folder the run stops before it starts.
    fs::create_directories(cwd / "elsewhere");
    const auto away = run_mer({"run", "../good.yaml"}, cwd / "elsewhere");
    CHECK(away.exit_code == 2);
    CHECK_THAT(away.err, Catch::Contains("good.yaml:4:3: nodes.songs.params.path: the file 'songs.csv' does not exist") &&
                             Catch::Contains((cwd / "elsewhere" / "songs.csv").string()));
    CHECK_FALSE(fs::exists(cwd / "elsewhere" / "runs"));
    write_synthetic_table(cwd.path(), 20);
    const auto good = run_mer({"validate", "good.yaml"}, cwd.path());
    CHECK(good.exit_code == 0);
    CHECK_THAT(good.err, Catch::Contains("nodes.songs.params.path = " + (cwd / "songs.csv").string()));
    const auto r = run_mer({"validate", "bad.yaml"}, cwd.path());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("bad.yaml:2:7: seed must be an integer"));
    CHECK_THAT(r.err, Catch::Contains("bad.yaml:11:11: nodes.ridge.uses: unknown plugin 'regressor.ridgee'"));
    CHECK_THAT(r.err, Catch::Contains("2 errors in bad.yaml"));
    const auto run = run_mer({"run", "bad.yaml"}, cwd.path());
    CHECK(run.exit_code == 2);
    CHECK(!fs::exists(cwd / "runs"));  // nothing ran
    const auto missing = run_mer({"validate", "nope.yaml"}, cwd.path());
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("nope.yaml: cannot read the experiment file"));
}

TEST_CASE("run folders started together never collide", "[run]") {
    TempDir root;
    std::set<fs::path> folders;
    for (int i = 0; i < 20; ++i) folders.insert(mer::RunFolder::create(root.path(), "same").path());
    CHECK(folders.size() == 20);
}

TEST_CASE("a resumed run keeps finished nodes and reruns an interrupted one once", "[run][resume][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 60);
    write_file(cwd / "exp.yaml", kExperiment);
    const auto first = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    REQUIRE(first.exit_code == 0);
    const fs::path folder = cwd.path() / run_folder_of(first);
    const std::string metrics = read_file(folder / "metrics.csv");
    const std::string predictions = read_file(folder / "predictions.csv");

    // Nothing left to do.
    const auto again = run_mer({"run", "--resume", folder.string(), "--quiet"}, cwd.path());
    REQUIRE(again.exit_code == 0);
    CHECK(read_file(folder / "metrics.csv") == metrics);
    CHECK_THAT(read_file(folder / "log.txt"),
               Catch::Contains("node 'ridge' (regressor.ridge): finished before the interruption"));

    // As if killed during 'ridge' after its first two folds: the files hold
    // what a real interruption leaves (ridge's rows are written when it ends).
    json summary = json::parse(read_file(folder / "summary.json"));
    summary["nodes"].erase("ridge");
    write_file(folder / "summary.json", summary.dump());
    for (const char* name : {"predictions.csv", "results.csv"}) {
        std::istringstream in(read_file(folder / name));
        std::string kept;
        for (std::string line; std::getline(in, line);)
            if (line.find("ridge") == std::string::npos) kept += line + "\n";
        write_file(folder / name, kept);
    }
    fs::remove(folder / "model" / "ridge" / "fold2" / "done.json");
    fs::remove(folder / "model" / "ridge" / "fold3" / "done.json");
    const auto resumed = run_mer({"run", "--resume", folder.string(), "--quiet"}, cwd.path());
    REQUIRE(resumed.exit_code == 0);
    CHECK(read_file(folder / "metrics.csv") != "");
    CHECK(count_lines(read_file(folder / "metrics.csv")) == count_lines(metrics));  // no row twice
    CHECK(read_file(folder / "predictions.csv") == predictions);
    CHECK(json::parse(read_file(folder / "summary.json"))["nodes"].contains("ridge"));
    CHECK_THAT(read_file(folder / "log.txt"),
               Catch::Contains("node 'ridge': fold 1 finished before the interruption; kept"));
    CHECK(run_mer({"run", "exp.yaml", "--resume", folder.string()}, cwd.path()).exit_code == 2);
}

TEST_CASE("a mistyped command gets a suggestion, a holdout reports no spread", "[cli]") {
    TempDir cwd;
    const auto typo = run_mer({"runn", "exp.yaml"}, cwd.path());
    CHECK(typo.exit_code == 2);
    CHECK_THAT(typo.err, Catch::Contains("unknown command 'runn' (did you mean 'run'?)"));

    write_synthetic_table(cwd.path(), 40);
    write_file(cwd / "exp.yaml", R"(name: spread
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  ridge: {uses: regressor.ridge, inputs: [songs]}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    REQUIRE(r.exit_code == 0);
    const mer::CsvTable results = mer::read_csv(cwd.path() / run_folder_of(r) / "results.csv");
    for (const auto& row : results.rows) {
        CHECK(!row[static_cast<std::size_t>(results.require_column("r2"))].empty());
        CHECK(row[static_cast<std::size_t>(results.require_column("r2_std"))].empty());  // one fold: no std
    }
}
