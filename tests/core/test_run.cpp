// End to end through the real mer-run binary: run folders and their files,
// the node cache, reproducibility, overrides, failures and exit codes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <yaml-cpp/yaml.h>

#include "core/data/csv.hpp"
#include "core/exit_codes.hpp"
#include "core/plugin/abi.hpp"
#include "core/run/run_folder.hpp"
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

// What a run killed while `node` was running leaves in its folder: no summary
// entry and no predictions.csv or results.csv rows for the node (its rows are
// written when it ends); its folds' done markers stay.
void interrupt_during(const fs::path& folder, const std::string& node) {
    json summary = json::parse(read_file(folder / "summary.json"));
    summary["nodes"].erase(node);
    write_file(folder / "summary.json", summary.dump());
    for (const char* name : {"predictions.csv", "results.csv"}) {
        std::istringstream in(read_file(folder / name));
        std::string kept;
        for (std::string line; std::getline(in, line);)
            if (line.find(node) == std::string::npos) kept += line + "\n";
        write_file(folder / name, kept);
    }
}

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

TEST_CASE("an exception nothing in mer translated ends mer-run as an internal error and not an abort", "[run][cli]") {
    // A plugin throwing an int: no std::exception, so no layer can translate it.
    TempDir cwd;
    write_synthetic_table(cwd.path(), 40);
    std::string yaml = kExperiment;
    yaml.replace(yaml.find("evaluation:"), 0,
                 "  broken:\n    uses: regressor.failing\n    inputs: [songs]\n    params: {fail_with: foreign}\n");
    write_file(cwd / "exp.yaml", yaml);
    const auto r = run_mer({"run", "exp.yaml"}, cwd.path(), test_plugin_dir("good").string());
    INFO(r.err);
    CHECK(r.exit_code == mer::exit_code::internal);
    CHECK_THAT(r.err, Catch::Contains("error: internal error (a bug in mer") &&
                          Catch::Contains("an exception that is not a std::exception") &&
                          Catch::Contains("; please report it"));
    // The run folder (not printed: the run did not end) keeps what was written
    // before, and says nothing it does not know.
    CHECK(r.out.empty());
    const auto folders = std::distance(fs::directory_iterator(cwd / "runs" / "e2e"), fs::directory_iterator());
    REQUIRE(folders == 1);
    const fs::path folder = fs::directory_iterator(cwd / "runs" / "e2e")->path();
    const json summary = json::parse(read_file(folder / "summary.json"));
    CHECK(summary["status"] == "running");
    CHECK(summary["nodes"].contains("ridge"));
    CHECK_FALSE(summary.contains("failed"));
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
    interrupt_during(folder, "ridge");
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

TEST_CASE("a resumed fold that was scored on other songs is evaluated again, not kept", "[run][resume][cli]") {
    // A run folder written before repetitions drew folds of their own holds, for the second seed,
    // folds scored on other songs than this repetition's: resume must not count them as done.
    TempDir cwd;
    write_synthetic_table(cwd.path(), 60);
    write_file(cwd / "exp.yaml", "name: stale\nseed: 5\nseeds: [5, 6]\nnodes:\n"
                                 "  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
                                 "  ridge: {uses: regressor.ridge, inputs: [songs]}\n"
                                 "evaluation: {split: {kind: kfold, k: 3}}\n");
    const auto first = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    REQUIRE(first.exit_code == 0);
    const fs::path folder = cwd.path() / run_folder_of(first);
    const std::string metrics = read_file(folder / "metrics.csv");
    const std::string predictions = read_file(folder / "predictions.csv");
    // As if killed during 'ridge' in the second seed's first fold, whose marker (from another
    // version) names other songs than the fold holds now.
    interrupt_during(folder, "ridge");
    const fs::path marker = folder / "model" / "ridge" / "fold3" / "done.json";
    json done = json::parse(read_file(marker));
    done["validation_sha256"] = "scored-on-other-songs";
    write_file(marker, done.dump());
    const auto resumed = run_mer({"run", "--resume", folder.string(), "--quiet"}, cwd.path());
    INFO(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    const std::string log = read_file(folder / "log.txt");
    CHECK_THAT(log, Catch::Contains("node 'ridge': fold 0 of seed 6 was scored on other songs before the "
                                    "interruption; evaluated again"));
    CHECK_THAT(log, Catch::Contains("node 'ridge': fold 1 finished before the interruption; kept"));
    // The fold evaluated again gives what it gave the first time, once.
    CHECK(read_file(folder / "predictions.csv") == predictions);
    CHECK(count_lines(read_file(folder / "metrics.csv")) == count_lines(metrics));
    CHECK(json::parse(read_file(marker))["validation_sha256"] != "scored-on-other-songs");
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

TEST_CASE("no arguments print the usage, unknown options and Hydra habits get the option to use", "[cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 20);
    write_file(cwd / "exp.yaml", kExperiment);

    const auto bare = run_mer({}, cwd.path());
    CHECK(bare.exit_code == 2);
    CHECK_THAT(bare.err, Catch::Contains("Usage:") && Catch::Contains("validate and run an experiment") &&
                             Catch::Contains("check an experiment without running it"));
    CHECK_THAT(bare.err, !Catch::Contains("A subcommand is required"));
    const auto no_command = run_mer({"--quiet"}, cwd.path());
    CHECK(no_command.exit_code == 2);
    CHECK_THAT(no_command.err, Catch::Contains("mer-run: unknown option '--quiet'") && Catch::Contains("Usage:"));

    // A mistyped option: the nearest option of that command, not "arguments were not expected".
    const auto sett = run_mer({"validate", "exp.yaml", "--sett", "seed=3"}, cwd.path());
    CHECK(sett.exit_code == 2);
    CHECK_THAT(sett.err, Catch::Contains("validate: unknown option '--sett' (did you mean '--set'?)"));
    const auto sed = run_mer({"synth", "--out", "corpus", "--sed", "3"}, cwd.path());
    CHECK(sed.exit_code == 2);
    CHECK_THAT(sed.err, Catch::Contains("synth: unknown option '--sed' (did you mean '--seed'?)"));
    CHECK_THAT(sed.err, !Catch::Contains("unexpected argument '3'"));  // the option's value, not a second problem

    // KEY=VALUE (Hydra's habit) and --KEY VALUE for a key of the experiment: --set.
    const auto hydra = run_mer({"run", "exp.yaml", "seed=3"}, cwd.path());
    CHECK(hydra.exit_code == 2);
    CHECK_THAT(hydra.err, Catch::Contains("run: unexpected argument 'seed=3' (did you mean --set seed=3?)"));
    const auto first = run_mer({"validate", "seed=3"}, cwd.path());
    CHECK(first.exit_code == 2);
    CHECK_THAT(first.err, Catch::Contains("'seed=3' is not an experiment file (did you mean --set seed=3?)"));
    const auto seed = run_mer({"validate", "exp.yaml", "--seed", "3"}, cwd.path());
    CHECK(seed.exit_code == 2);
    CHECK_THAT(seed.err, Catch::Contains("validate: unknown option '--seed' (seed is a key of the experiment: did you "
                                         "mean --set seed=3?)"));
    CHECK_THAT(seed.err, !Catch::Contains("unexpected argument '3'"));
    const auto dotted = run_mer({"sweep", "exp.yaml", "--nodes.ridge.params.alpha=10"}, cwd.path());
    CHECK(dotted.exit_code == 2);
    CHECK_THAT(dotted.err, Catch::Contains("did you mean --set nodes.ridge.params.alpha=10?"));
    CHECK_FALSE(fs::exists(cwd / "runs"));  // nothing ran
}

TEST_CASE("mer-run --unset removes a key before validation, in order with --set, and names a missing key", "[cli][validate]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 40);
    std::string yaml = kExperiment;
    yaml.replace(yaml.find("    uses: regressor.ridge\n"), 0, "    grid: {alpha: [0.1, 10]}\n");
    write_file(cwd / "exp.yaml", yaml);
    auto config_of = [&](const std::vector<std::string>& args) {
        std::vector<std::string> all{"run", "exp.yaml", "--quiet"};
        all.insert(all.end(), args.begin(), args.end());
        const auto r = run_mer(all, cwd.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return YAML::LoadFile((cwd.path() / run_folder_of(r) / "config.yaml").string());
    };
    CHECK(config_of({})["nodes"]["ridge"]["grid"].IsDefined());  // positive control
    const YAML::Node unset = config_of({"--unset", "nodes.ridge.grid", "--unset", "seed"});
    CHECK_FALSE(unset["nodes"]["ridge"]["grid"].IsDefined());
    CHECK(unset["seed"].as<int>() == 42);  // the default again, not the file's 5
    // runs/index.csv says what was removed, as it says what was set: a column per key.
    const mer::CsvTable index = mer::read_csv(cwd / "runs" / "index.csv");
    REQUIRE(index.column("set:nodes.ridge.grid") >= 0);
    REQUIRE(index.column("set:seed") >= 0);
    CHECK(index.rows.back()[static_cast<std::size_t>(index.column("set:nodes.ridge.grid"))] == "(unset)");
    CHECK(index.rows.back()[static_cast<std::size_t>(index.column("set:seed"))] == "(unset)");
    CHECK(index.rows.front()[static_cast<std::size_t>(index.column("set:seed"))].empty());  // the run without overrides
    // Applied in command-line order.
    const YAML::Node regrown = config_of({"--unset", "nodes.ridge.grid", "--set", "nodes.ridge.grid.alpha=[3]"});
    CHECK(regrown["nodes"]["ridge"]["grid"]["alpha"].as<std::vector<double>>() == std::vector<double>{3});
    CHECK(config_of({"--set", "nodes.ridge.params.alpha=7", "--unset",
                     "nodes.ridge.params"})["nodes"]["ridge"]["params"]["alpha"]
              .as<double>() != 7);

    const auto typo = run_mer({"validate", "exp.yaml", "--unset", "nodes.ridge.gird"}, cwd.path());
    CHECK(typo.exit_code == 2);
    CHECK_THAT(typo.err, Catch::Contains("--unset nodes.ridge.gird: there is no key 'nodes.ridge.gird' to remove (did "
                                         "you mean 'nodes.ridge.grid'?); nodes.ridge's keys are: grid, uses, inputs"));
    const auto node = run_mer({"validate", "exp.yaml", "--unset", "nodes.rigde.grid"}, cwd.path());
    CHECK(node.exit_code == 2);
    CHECK_THAT(node.err, Catch::Contains("there is no key 'nodes.rigde' to remove (did you mean 'nodes.ridge'?)"));
    const auto valued = run_mer({"validate", "exp.yaml", "--unset", "seed=3"}, cwd.path());
    CHECK(valued.exit_code == 2);
    CHECK_THAT(valued.err, Catch::Contains("--unset seed=3: expected a key without a value"));
    const auto resume = run_mer({"run", "--resume", "runs/e2e", "--unset", "seed"}, cwd.path());
    CHECK(resume.exit_code == 2);
    CHECK_THAT(resume.err, Catch::Contains("give no experiment file, --set or --unset"));
}

TEST_CASE("a sweep's --unset reaches every trial process", "[cli][sweep]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 40);
    std::string yaml = kExperiment;
    yaml.replace(yaml.find("    uses: regressor.ridge\n"), 0, "    grid: {alpha: [0.1, 10]}\n");
    write_file(cwd / "exp.yaml", yaml);
    const auto r =
        run_mer({"sweep", "exp.yaml", "--grid", "seed=1,2", "--unset", "nodes.ridge.grid", "--quiet"}, cwd.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path sweep = cwd.path() / run_folder_of(r);
    CHECK(json::parse(read_file(sweep / "sweep.json"))["overrides"] == json::array({"~nodes.ridge.grid"}));
    int trials = 0;
    for (const auto& entry : fs::directory_iterator(sweep / "trials")) {
        const YAML::Node config = YAML::LoadFile((entry.path() / "config.yaml").string());
        CHECK(config["nodes"]["ridge"].IsDefined());
        CHECK_FALSE(config["nodes"]["ridge"]["grid"].IsDefined());
        ++trials;
    }
    CHECK(trials == 2);
}
