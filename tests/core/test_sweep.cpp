// Sweeps on a workstation: trials as child processes of a real mer-run,
// trials.csv, a crashing trial, a sweep killed midway and rerun, the shared
// feature cache, validation of every trial before the first runs.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "core/data/csv.hpp"
#include "core/run/progress.hpp"
#include "core/sweep/asha.hpp"
#include "core/sweep/sweep.hpp"
#include "core/sweep/sweep_folder.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;

namespace {

const char* kSweep = R"(name: sweep
seed: 3
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  ridge: {uses: regressor.ridge, inputs: [songs]}
evaluation: {split: {kind: kfold, k: 3}}
sweep:
  grid: {nodes.ridge.params.alpha: [0.1, 1, 10, 100]}
  seeds: [1, 2]
  metric: ridge.valence.r2
)";

std::map<std::string, std::map<std::string, std::string>> read_trials(const fs::path& sweep) {
    const mer::CsvTable table = mer::read_csv(sweep / "trials.csv");
    std::map<std::string, std::map<std::string, std::string>> out;
    for (const auto& row : table.rows)
        for (std::size_t c = 0; c < table.header.size(); ++c) out[row[0]][table.header[c]] = row[c];
    return out;
}

}  // namespace

TEST_CASE("sweep specs expand to trials: grid × zip × random × seeds, in a fixed order", "[sweep]") {
    const nlohmann::json block = nlohmann::json::parse(R"({
        "grid": {"a": [1, 2]},
        "zip": {"b": [10, 20, 30], "c": ["x", "y", "z"]},
        "random": {"samples": 2, "seed": 7, "params": {"d": {"low": 0.001, "high": 0.1, "log": true}}},
        "seeds": [5, 6]})");
    const mer::SweepSpec spec = mer::read_sweep_spec(block, {"e=0.5,1.5"});
    const auto trials = mer::expand_trials(spec);
    CHECK(trials.size() == 2 * 2 * 3 * 2 * 2);  // a × e × zip × samples × seeds
    CHECK(trials.front().id == "trial-0000");
    CHECK(trials.back().id == "trial-0047");
    for (const auto& t : trials) {
        CHECK(t.params["d"].get<double>() >= 0.001);
        CHECK(t.params["d"].get<double>() < 0.1);
        const int b = t.params["b"].get<int>();
        CHECK(t.params["c"] == (b == 10 ? "x" : b == 20 ? "y" : "z"));  // zipped keys move together
    }
    CHECK(trials[0].overrides() ==
          std::vector<std::string>{"a=1", "e=0.5", "b=10", "c=\"x\"", "d=" + trials[0].params["d"].dump(), "seed=5"});
    // The same spec gives the same trials; another random seed other draws.
    CHECK(mer::expand_trials(spec)[3].params == trials[3].params);
    nlohmann::json other = block;
    other["random"]["seed"] = 8;
    CHECK(mer::expand_trials(mer::read_sweep_spec(other, {"e=0.5,1.5"}))[0].params["d"] != trials[0].params["d"]);
    // Zipped keys need as many values each; --grid needs KEY=VALUES.
    CHECK_THROWS_WITH(mer::read_sweep_spec(nlohmann::json::parse(R"({"zip": {"b": [1, 2], "c": [1]}})"), {}),
                      Catch::Contains("'b' has 2 values and 'c' 1"));
    CHECK_THROWS_WITH(mer::read_sweep_spec(nlohmann::json::object(), {"nodes.x"}), Catch::Contains("KEY=VALUE"));
}

TEST_CASE("a sweep.log that cannot be written is named once on the console and not dropped in silence", "[sweep]") {
    struct Lines : mer::ProgressSink {
        std::vector<std::string> lines;
        void progress(const std::string&, bool) override {}
        void line(const std::string& text) override { lines.push_back(text); }
    };
    TempDir dir;
    // /dev/full accepts the open and fails every write (ENOSPC), as root too.
    fs::create_symlink("/dev/full", dir / "sweep.log");
    Lines console;
    mer::SweepLog log(dir.path(), &console);
    log("first");
    log("second");
    REQUIRE(console.lines.size() == 3);
    CHECK_THAT(console.lines[0], Catch::EndsWith("] first"));
    CHECK_THAT(console.lines[1], Catch::StartsWith("warning: cannot write to " + (dir / "sweep.log").string()) &&
                                     Catch::Contains("No space left on device"));
    CHECK_THAT(console.lines[2], Catch::EndsWith("] second"));
    // Quiet (--quiet, the warm-up job): no log lines on the console, but the warning.
    Lines quiet_console;
    mer::SweepLog quiet(dir.path(), &quiet_console, false);
    quiet("first");
    quiet("second");
    REQUIRE(quiet_console.lines.size() == 1);
    CHECK_THAT(quiet_console.lines[0], Catch::StartsWith("warning: cannot write to "));
    // A log that can be written says nothing more.
    TempDir good;
    Lines good_console;
    mer::SweepLog fine(good.path(), &good_console, false);
    fine("line");
    CHECK(good_console.lines.empty());
    CHECK_THAT(read_file(good / "sweep.log"), Catch::EndsWith("] line\n"));
}

TEST_CASE("an 8-trial sweep runs with 2 workers, fills the cache once and collects trials.csv", "[sweep][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 60);
    write_file(dir / "exp.yaml", kSweep);

    // Every trial is validated first; --dry-run lists them.
    const auto dry = run_mer({"sweep", "exp.yaml", "--dry-run"}, dir.path());
    INFO(dry.err);
    REQUIRE(dry.exit_code == 0);
    CHECK(count_lines(dry.out) == 8);
    CHECK_THAT(dry.out, Catch::Contains("trial-0007  nodes.ridge.params.alpha=100 seed=2"));
    // Too many trials are refused before any is expanded (a 10⁸-sample random search once grew to 21 GB).
    const auto huge = run_mer({"sweep", "exp.yaml", "--dry-run", "--set", "sweep.random.samples=100000000", "--set",
                               "sweep.random.params={evaluation.split.k: {low: 2, high: 4, integer: true}}"},
                              dir.path());
    CHECK(huge.exit_code == 2);
    CHECK_THAT(huge.err, Catch::Contains("800000000 trials") && Catch::Contains("random 100000000 samples") &&
                             Catch::Contains("--max-trials"));
    CHECK(run_mer({"sweep", "exp.yaml", "--dry-run", "--max-trials", "7"}, dir.path()).exit_code == 2);
    CHECK(run_mer({"sweep", "exp.yaml", "--dry-run", "--max-trials", "8"}, dir.path()).exit_code == 0);
    const auto invalid = run_mer({"sweep", "exp.yaml", "--grid", "nodes.ridge.params.alpha=1,-5"}, dir.path());
    CHECK(invalid.exit_code == 2);
    CHECK_THAT(invalid.err, Catch::Contains("nodes.ridge.params.alpha=-5") && Catch::Contains("trials invalid"));

    const auto r = run_mer({"sweep", "exp.yaml", "--workers", "2"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path sweep = dir.path() / run_folder_of(r);
    REQUIRE(fs::exists(sweep / "sweep.json"));
    const auto trials = read_trials(sweep);
    REQUIRE(trials.size() == 8);
    for (const auto& [id, row] : trials) {
        INFO(id);
        CHECK(row.at("status") == "finished");
        CHECK(!row.at("metric").empty());
        CHECK(row.at("ridge.valence.r2") == row.at("metric"));
        // The data node came from the cache the warm-up filled, in every trial.
        CHECK_THAT(read_file(sweep / row.at("folder") / "log.txt"),
                   Catch::Contains("node 'songs' (dataset.table): cached"));
    }
    CHECK(trials.at("trial-0001").at("seed") == "2");
    CHECK(trials.at("trial-0001").at("nodes.ridge.params.alpha") == "0.1");
    const std::string log = read_file(sweep / "sweep.log");
    CHECK_THAT(log, Catch::Contains("warm-up") && Catch::Contains("best: trial-") &&
                        Catch::Contains("rerun it alone: mer-run run exp.yaml --set 'nodes.ridge.params.alpha="));
    CHECK_THAT(read_file(sweep / "warmup" / "0" / "log.txt"),
               Catch::Contains("node 'songs' (dataset.table): computed"));

    // Rerunning the same command finds the sweep finished and runs nothing.
    const auto again = run_mer({"sweep", "exp.yaml", "--workers", "2"}, dir.path());
    REQUIRE(again.exit_code == 0);
    CHECK(run_folder_of(again) == run_folder_of(r));
    CHECK_THAT(read_file(sweep / "sweep.log"), Catch::Contains("8 of 8 trials finished before; running the other 0"));
}

TEST_CASE("a trial that fails is recorded with its reason while the others finish", "[sweep][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    write_file(dir / "exp.yaml", R"(name: crash
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  model: {uses: regressor.failing, inputs: [songs], params: {fail_at_epoch: 0}}
evaluation: {split: {kind: kfold, k: 2}}
sweep:
  grid: {nodes.model.params.fail_at_epoch: [0, 2, 0]}
  metric: model.valence.r2
)");
    const auto r = run_mer({"sweep", "exp.yaml", "--workers", "2", "--retries", "1"}, dir.path(),
                           test_plugin_dir("good").string());
    INFO(r.err);
    CHECK(r.exit_code == 1);
    const auto trials = read_trials(dir.path() / run_folder_of(r));
    CHECK(trials.at("trial-0000").at("status") == "finished");
    CHECK(trials.at("trial-0002").at("status") == "finished");
    CHECK(trials.at("trial-0001").at("status") == "failed");
    CHECK(trials.at("trial-0001").at("attempts") == "2");  // once more with --retries 1
    CHECK_THAT(trials.at("trial-0001").at("reason"), Catch::Contains("deliberate failure at epoch 2"));

    // --status brings the states up to date and keeps what the run measured:
    // attempts, device and seconds.
    const fs::path sweep = dir.path() / run_folder_of(r);
    const auto status = run_mer({"sweep", "--status", sweep.string()}, dir.path(), test_plugin_dir("good").string());
    INFO(status.err);
    REQUIRE(status.exit_code == 0);
    const auto after = read_trials(sweep);
    for (const auto& [id, row] : trials) {
        INFO(id);
        CHECK(!row.at("device").empty());
        CHECK(!row.at("seconds").empty());
        for (const char* column : {"status", "attempts", "device", "seconds"})
            CHECK(after.at(id).at(column) == row.at(column));
    }
}

TEST_CASE("a sweep killed midway finishes only the missing trials when rerun", "[sweep][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 60);
    write_file(dir / "exp.yaml", kSweep);
    // The parent is killed (SIGKILL: no chance to clean up) once two trials are done.
    const std::string script =
        "(env -u MER_PLUGIN_PATH " + mer_run().string() +
        " sweep exp.yaml --workers 1 --quiet > out.txt 2> err.txt & pid=$!; "
        "for i in $(seq 1 600); do "
        "  n=$(cat runs/sweep/sweep-*/trials.csv 2>/dev/null | grep -c ',finished,'); "
        "  if [ \"$n\" -ge 2 ]; then kill -9 $pid; break; fi; sleep 0.05; done; wait $pid; true)";
    REQUIRE(std::system(("cd '" + dir.path().string() + "' && " + script).c_str()) == 0);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the orphaned trial finishes or dies
    std::map<std::string, fs::file_time_type> finished_before;
    fs::path sweep;
    for (const auto& entry : fs::directory_iterator(dir / "runs" / "sweep")) sweep = entry.path();
    for (const auto& entry : fs::directory_iterator(sweep / "trials"))
        if (fs::exists(entry.path() / "summary.json") &&
            read_file(entry.path() / "summary.json").find("\"finished\"") != std::string::npos)
            finished_before[entry.path().filename().string()] = fs::last_write_time(entry.path() / "summary.json");
    REQUIRE(finished_before.size() >= 2);
    REQUIRE(finished_before.size() < 8);
    const auto before_rerun = read_trials(sweep);

    const auto r = run_mer({"sweep", "exp.yaml", "--workers", "2"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(dir.path() / run_folder_of(r) == sweep);
    const auto trials = read_trials(sweep);
    for (const auto& [id, row] : trials) CHECK(row.at("status") == "finished");
    // Trials finished before the kill were not run again, and keep the device and seconds measured then.
    for (const auto& [id, time] : finished_before) {
        INFO(id);
        CHECK(fs::last_write_time(sweep / "trials" / id / "summary.json") == time);
        if (before_rerun.count(id) && before_rerun.at(id).at("status") == "finished") {
            CHECK(trials.at(id).at("device") == before_rerun.at(id).at("device"));
            CHECK(trials.at(id).at("seconds") == before_rerun.at(id).at("seconds"));
            CHECK(!trials.at(id).at("seconds").empty());
        }
    }
    CHECK_THAT(read_file(sweep / "sweep.log"),
               Catch::Contains(std::to_string(finished_before.size()) + " of 8 trials finished before"));
}

TEST_CASE("a trial dies with its sweep, even a sweep killed with SIGKILL", "[sweep][cli][faults]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    // Trials of 10 epochs of 200 ms: one runs about 2 s.
    write_file(dir / "exp.yaml", R"(name: orphans
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  model: {uses: regressor.curve, inputs: [songs], params: {epochs: 10, epoch_ms: 200}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
sweep:
  grid: {nodes.model.params.quality: [0.5, 0.8]}
  metric: model.valence.r2
)");
    // The sweep is killed once its first trial has run half a second; 0.5 s later that trial must be gone
    // (it ran on orphaned before, holding its folder's lock, and a quick rerun marked it failed).
    const std::string script =
        "(env MER_PLUGIN_PATH='" + test_plugin_dir("good").string() + "' " + mer_run().string() +
        " sweep exp.yaml --workers 1 --quiet > out.txt 2> err.txt & pid=$!; child=; "
        "for i in $(seq 1 1000); do child=$(pgrep -P $pid -f ' trial ' | head -n 1); [ -n \"$child\" ] && break; "
        "sleep 0.01; done; sleep 0.5; kill -9 $pid; wait $pid; sleep 0.5; "
        "state=$(ps -o stat= -p \"$child\" 2>/dev/null | cut -c1); "
        "if [ -z \"$child\" ]; then echo none; elif [ -n \"$state\" ] && [ \"$state\" != Z ]; then echo alive; "
        "else echo gone; fi > child.txt; true)";
    REQUIRE(std::system(("cd '" + dir.path().string() + "' && " + script).c_str()) == 0);
    CHECK(read_file(dir / "child.txt") == "gone\n");
    // The rerun continues the sweep at once: nothing holds a trial's folder.
    const auto r = run_mer({"sweep", "exp.yaml", "--workers", "1"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    CHECK(r.exit_code == 0);
    for (const auto& [id, row] : read_trials(dir.path() / run_folder_of(r))) CHECK(row.at("status") == "finished");
}

TEST_CASE("GPU sweeps run one trial per GPU, or --trials-per-device of them", "[sweep][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    write_file(dir / "exp.yaml", kSweep);
    // No GPU here, but a ridge trial never asks LibTorch for one: the sweep
    // packs and places the trials as it would on a GPU machine.
    for (const auto& [packing, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{}, "8 trials, 2 at a time on cuda:0, cuda:1"},
             {{"--trials-per-device", "3"}, "8 trials, 6 at a time on cuda:0, cuda:1"}}) {
        std::vector<std::string> args{"sweep",         "exp.yaml", "--devices",
                                      "cuda:0,cuda:1", "--out",    "runs" + std::to_string(packing.size())};
        args.insert(args.end(), packing.begin(), packing.end());
        const auto r = run_mer(args, dir.path());
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.err, Catch::Contains(expected));
        std::set<std::string> devices;  // slots take the GPUs in turn; which trial lands where is timing
        for (const auto& [id, row] : read_trials(dir.path() / run_folder_of(r))) devices.insert(row.at("device"));
        CHECK(devices == std::set<std::string>{"cuda:0", "cuda:1"});
    }
    const auto cpu = run_mer({"sweep", "exp.yaml", "--trials-per-device", "2"}, dir.path());
    CHECK(cpu.exit_code != 0);
    CHECK_THAT(cpu.err, Catch::Contains("--trials-per-device packs trials on GPUs"));
    const auto both =
        run_mer({"sweep", "exp.yaml", "--devices", "cuda:0", "--workers", "2", "--trials-per-device", "2"}, dir.path());
    CHECK(both.exit_code != 0);
    CHECK_THAT(both.err, Catch::Contains("excludes"));
}

TEST_CASE("ASHA's record loses no trial when processes write it at once", "[sweep][asha]") {
    // Twelve processes (as Slurm array tasks on several nodes would) record
    // their rungs in one sweep folder at the same moment; each read-modify-write
    // holds the lock, so every value is there and the cuts are consistent.
    TempDir dir;
    const mer::AshaSettings settings{1, 2, "max"};
    const int trials = 12;
    std::vector<pid_t> children;
    for (int t = 0; t < trials; ++t) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int code = 0;
            try {
                mer::AshaBoard board(dir.path(), settings);
                for (int epoch = 1; epoch <= 4; ++epoch) {  // rungs 1, 2, 4; may_stop off: all recorded
                    std::map<int, double> curve;
                    for (int e = 1; e <= epoch; ++e) curve[e] = t + e / 10.0;
                    board.record("trial-" + std::to_string(t), curve, false);
                }
            } catch (...) {
                code = 1;
            }
            ::_exit(code);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    const nlohmann::json record = nlohmann::json::parse(read_file(dir / "asha.json"));
    for (const char* rung : {"1", "2", "4"}) CHECK(record["rungs"][rung].size() == static_cast<std::size_t>(trials));
    CHECK(record["stopped"].empty());
    // Then one more trial, the worst, is cut at the first rung against all twelve.
    mer::AshaBoard board(dir.path(), settings);
    const auto decision = board.record("trial-late", {{1, -1.0}, {2, -1.0}}, true);
    CHECK(decision.stopped_at == 1);
    CHECK(decision.compared == static_cast<std::size_t>(trials + 1));
    CHECK(board.stopped() == std::map<std::string, int>{{"trial-late", 1}});
    // A trial whose last epoch is the rung has finished there: recorded, not stopped.
    const auto finished = board.record("trial-short", {{1, -2.0}}, true, 1);
    CHECK(finished.stopped_at == 0);
    CHECK(board.stopped().count("trial-short") == 0);
}

TEST_CASE("ASHA stops exactly the trials below the top 1/η at a rung, and a rerun keeps its decisions",
          "[sweep][asha][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    // One worker, so the trials reach the rungs in order: quality 0.5 (alone:
    // continues), 0.8 (above the median of {0.5, 0.8}), 0.3 (below the median
    // of {0.5, 0.8, 0.3} at epoch 1: stopped there), 0.9 (the best).
    write_file(dir / "exp.yaml", R"(name: asha
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  model: {uses: regressor.curve, inputs: [songs], params: {epochs: 8, epoch_ms: 150}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
sweep:
  grid: {nodes.model.params.quality: [0.5, 0.8, 0.3, 0.9]}
  metric: model.valence.r2
  scheduler: {type: asha, min_epochs: 1, reduction_factor: 2}
)");
    const auto r = run_mer({"sweep", "exp.yaml", "--workers", "1"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);  // a stopped trial is not a failure
    const fs::path sweep = dir.path() / run_folder_of(r);
    auto trials = read_trials(sweep);
    CHECK(trials.at("trial-0000").at("status") == "finished");
    CHECK(trials.at("trial-0001").at("status") == "finished");
    CHECK(trials.at("trial-0002").at("status") == "stopped");
    CHECK(trials.at("trial-0002").at("epochs") == "1");
    CHECK_THAT(trials.at("trial-0002").at("reason"), Catch::Contains("stopped by ASHA at epoch 1"));
    CHECK(trials.at("trial-0003").at("status") == "finished");
    // The rung column: stopped at the first rung (epoch 1, rung 0); finished after 8 epochs: rungs 1, 2, 4, 8 → 3.
    CHECK(trials.at("trial-0002").at("rung") == "0");
    CHECK(trials.at("trial-0003").at("epochs") == "8");
    CHECK(trials.at("trial-0003").at("rung") == "3");
    const nlohmann::json asha = nlohmann::json::parse(read_file(sweep / "asha.json"));
    CHECK(asha["rungs"]["1"].size() == 4);
    CHECK(asha["rungs"]["8"].size() == 3);
    CHECK(asha["stopped"] == nlohmann::json{{"trial-0002", 1}});

    // Rerunning keeps the stopped trial stopped and runs nothing.
    const auto again = run_mer({"sweep", "exp.yaml", "--workers", "1"}, dir.path(), test_plugin_dir("good").string());
    REQUIRE(again.exit_code == 0);
    trials = read_trials(sweep);
    CHECK(trials.at("trial-0002").at("status") == "stopped");
    CHECK_THAT(read_file(sweep / "sweep.log"), Catch::Contains("running the other 0"));
}

TEST_CASE("a 4-trial sweep runs as a job array on a real single-node Slurm, ASHA across its tasks",
          "[sweep][slurm][asha][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    // Three equal trials (none is ever below the others' cut, whichever order
    // Slurm runs them in) and a fourth, the worst and the slowest to reach
    // epoch 1: by then the others have recorded rung 1 in the sweep folder,
    // so it stops itself there.
    write_file(dir / "exp.yaml", R"(name: cluster
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  model: {uses: regressor.curve, inputs: [songs], params: {epochs: 4}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
sweep:
  zip:
    nodes.model.params.quality: [0.8, 0.8, 0.8, 0.1]
    nodes.model.params.epoch_ms: [100, 100, 100, 2500]
  metric: model.valence.r2
  scheduler: {type: asha, min_epochs: 1, reduction_factor: 2}
)");
    const std::string plugins = test_plugin_dir("good").string();
    const fs::path slurm = dir / "slurm";
    fs::create_directories(slurm);
    const std::string script = (source_dir() / "tests" / "slurm" / "slurm.sh").string();
    const int started = std::system(
        ("'" + script + "' start '" + slurm.string() + "' > '" + (slurm / "start.txt").string() + "' 2>&1").c_str());
    if (started != 0) {
        // Without sbatch the launcher is refused; then the test stops as skipped (or failed, under scripts/test).
        const auto r = run_mer({"sweep", "exp.yaml", "--launcher", "slurm"}, dir.path(), plugins,
                               "export PATH=/nonexistent:/usr/bin:/bin;");
        CHECK(r.exit_code != 0);
        missing_tool("a single-node Slurm could not start on this machine (Debian's slurm-wlm): " +
                     read_file(slurm / "start.txt"));
    }
    struct Stop {
        std::string script, folder;
        ~Stop() { std::system(("'" + script + "' stop '" + folder + "' >/dev/null 2>&1").c_str()); }
    } stop{script, slurm.string()};
    const std::string env = "export SLURM_CONF='" + (slurm / "slurm.conf").string() + "';";
    const auto r =
        run_mer({"sweep", "exp.yaml", "--launcher", "slurm", "--time", "00:10:00"}, dir.path(), plugins, env);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path sweep = dir.path() / run_folder_of(r);
    const std::string array = read_file(sweep / "slurm" / "trials.sbatch");
    CHECK_THAT(array, Catch::Contains("#SBATCH --array=0,1,2,3") && Catch::Contains(" trial ") &&
                          Catch::Contains("#SBATCH --time=00:10:00"));
    const nlohmann::json jobs = nlohmann::json::parse(read_file(sweep / "slurm" / "jobs.json"));
    REQUIRE(jobs.contains("warmup"));

    // The array waits for the warm-up (afterok), then every trial ends: three
    // finish, the worst stops itself at rung 1 (ASHA through asha.json).
    std::map<std::string, std::map<std::string, std::string>> trials;
    for (int poll = 0; poll < 600; ++poll) {
        const auto status = run_mer({"sweep", "--status", sweep.string()}, dir.path(), plugins, env);
        REQUIRE(status.exit_code == 0);
        trials = read_trials(sweep);
        int ended = 0;
        for (const auto& [id, row] : trials) ended += row.at("status") == "finished" || row.at("status") == "stopped";
        // A finished trial records its last rung just before its process ends.
        if (ended == 4 && fs::exists(sweep / "asha.json") &&
            nlohmann::json::parse(read_file(sweep / "asha.json"))["rungs"]["4"].size() == 3)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    REQUIRE(trials.size() == 4);
    for (const auto& [id, row] : trials) {
        INFO(id << " " << row.at("reason"));
        CHECK(row.at("status") == (id == "trial-0003" ? "stopped" : "finished"));
        CHECK(row.at("metric").empty() == (id == "trial-0003"));
        CHECK_THAT(read_file(sweep / row.at("folder") / "log.txt"),
                   Catch::Contains("node 'songs' (dataset.table): cached"));
    }
    CHECK(trials.at("trial-0003").at("epochs") == "1");
    const nlohmann::json asha = nlohmann::json::parse(read_file(sweep / "asha.json"));
    CHECK(asha["stopped"] == nlohmann::json{{"trial-0003", 1}});
    CHECK(asha["rungs"]["1"].size() == 4);
    CHECK(asha["rungs"]["4"].size() == 3);
    // The stopped task ended as Slurm counts success, and said why in its log.
    CHECK_THAT(read_file(sweep / "logs" / "trial-0003.err"), Catch::Contains("stopped by ASHA at epoch 1"));
    CHECK_THAT(read_file(sweep / "warmup" / "0" / "log.txt"),
               Catch::Contains("node 'songs' (dataset.table): computed"));
}

TEST_CASE("a trial process reads a damaged sweep.json as the sweep does: an error naming the file", "[sweep][cli]") {
    // sweep.json was read twice, and the trial's reading let the JSON library's message out unlocated.
    TempDir dir;
    fs::create_directories(dir / "sweep");
    write_file(dir / "sweep" / "sweep.json",
               R"({"experiment": "exp.yaml", "overrides": [], "cache_dir": 5, "spec": {}, "trials": []})");
    const auto r = run_mer({"trial", (dir / "sweep").string(), "trial-0000"}, dir.path());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains((dir / "sweep" / "sweep.json").string() + ": damaged sweep manifest"));
    const auto status = run_mer({"sweep", "--status", (dir / "sweep").string()}, dir.path());
    CHECK_THAT(status.err, Catch::Contains((dir / "sweep" / "sweep.json").string() + ": damaged sweep manifest"));
}

TEST_CASE("a trial's unreadable summary.json is said once in sweep.log and becomes its reason, not swallowed",
          "[sweep][cli]") {
    // The sweep read every trial's summary.json in a try { } catch (...) { } and
    // showed a damaged one as an empty row, saying nothing.
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    write_file(dir / "exp.yaml", R"(name: damaged
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  ridge: {uses: regressor.ridge, inputs: [songs]}
evaluation: {split: {kind: kfold, k: 2}}
sweep:
  grid: {nodes.ridge.params.alpha: [0.1, 1]}
  metric: ridge.valence.r2
)");
    const auto r = run_mer({"sweep", "exp.yaml"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path sweep = dir.path() / run_folder_of(r);
    const fs::path damaged = sweep / "trials" / "trial-0001" / "summary.json";
    write_file(damaged, "{\"status\": \"finished\", ");
    const auto status = run_mer({"sweep", "--status", sweep.string()}, dir.path());
    INFO(status.err);
    CHECK(status.exit_code == 0);
    CHECK_THAT(status.err,
               Catch::Contains("trial-0001: ignored its summary.json") && Catch::Contains(damaged.string()));
    const auto trials = read_trials(sweep);
    CHECK(trials.at("trial-0000").at("status") == "finished");
    CHECK(trials.at("trial-0001").at("status") == "failed");
    CHECK_THAT(trials.at("trial-0001").at("reason"), Catch::Contains(damaged.string()));
    // Read at every rewrite of trials.csv and for the ranking, said once.
    const std::string log = read_file(sweep / "sweep.log");
    const std::string said = "trial-0001: ignored its summary.json";
    CHECK(log.find(said) != std::string::npos);
    CHECK(log.find(said) == log.rfind(said));
}
