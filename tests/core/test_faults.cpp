// Faults and damaged state, through the real mer-run: a full disk, two
// processes on one run folder, a damaged cache, a model that diverges, and
// labels and audio no model can learn from. None of them may crash, hang or
// end as a "finished" run with wrong numbers.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include <mutex>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/data/node_cache.hpp"
#include "core/error.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/run/run_folder.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kExperiment = R"(name: faults
seed: 5
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  baseline: {uses: regressor.mean, inputs: [songs]}
  ridge: {uses: regressor.ridge, inputs: [songs]}
evaluation:
  split: {kind: kfold, k: 4}
)";

std::vector<fs::path> files_under(const fs::path& dir, const std::string& containing) {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().find(containing) != std::string::npos) out.push_back(e.path());
    return out;
}

bool whole_lines(const std::string& text) {
    return text.empty() || text.back() == '\n';
}

// kExperiment on a synthetic table of `songs`, run to its end in `cwd`: its run folder.
fs::path finished_run(const fs::path& cwd, int songs) {
    write_synthetic_table(cwd, songs);
    write_file(cwd / "exp.yaml", kExperiment);
    const auto run = run_mer({"run", "exp.yaml", "--quiet"}, cwd);
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    return cwd / run_folder_of(run);
}

std::string status_of(const fs::path& folder) {
    return json::parse(read_file(folder / "summary.json"))["status"];
}

// The synthetic table with one cell replaced: row `row` (0-based, after the
// header) of column `column`.
void replace_cell(const fs::path& csv, const std::string& column, int row, const std::string& value) {
    std::istringstream in(read_file(csv));
    std::string line, out;
    std::getline(in, line);
    out = line + "\n";
    int index = 0;
    {
        std::stringstream header(line);
        std::string cell;
        for (int c = 0; std::getline(header, cell, ','); ++c)
            if (cell == column) index = c;
    }
    for (int r = 0; std::getline(in, line); ++r) {
        if (r == row) {
            std::vector<std::string> cells;
            std::stringstream s(line);
            for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
            cells[static_cast<std::size_t>(index)] = value;
            line.clear();
            for (std::size_t c = 0; c < cells.size(); ++c) line += (c ? "," : "") + cells[c];
        }
        out += line + "\n";
    }
    write_file(csv, out);
}

std::vector<float> tone(double hz, double seconds, double amplitude) {
    std::vector<float> out(static_cast<std::size_t>(seconds * 22050));
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * static_cast<double>(i) / 22050.0));
    return out;
}

}  // namespace

TEST_CASE("a full disk stops the run with exit 3 naming the file, --resume finishes it once there is room",
          "[faults][resume][cli]") {
    TempDir cwd;
    const fs::path reference = finished_run(cwd.path(), 120);

    // No file may grow past 10 KiB (RLIMIT_FSIZE: ulimit -f counts 512-byte
    // blocks in /bin/sh): predictions.csv reaches that with the first model,
    // after the cached dataset node. The shell leaves SIGXFSZ at its default,
    // which kills a process at the limit; mer ignores it, so the write fails
    // with EFBIG, as on a full disk.
    const auto full = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path(), "", "ulimit -f 20;");
    INFO(full.err);
    CHECK(full.exit_code == 3);
    CHECK_THAT(full.err, Catch::Contains("cannot write ") && Catch::Contains("File too large"));
    const fs::path folder = cwd.path() / run_folder_of(full);
    REQUIRE(fs::exists(folder / "config.yaml"));
    CHECK(files_under(folder, ".tmp-").empty());
    CHECK(whole_lines(read_file(folder / "metrics.csv")));
    CHECK(whole_lines(read_file(folder / "metrics.jsonl")));
    CHECK(status_of(folder) == "failed");

    const auto resumed = run_mer({"run", "--resume", folder.string(), "--quiet"}, cwd.path());
    INFO(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK(status_of(folder) == "finished");
    CHECK(read_file(folder / "predictions.csv") == read_file(reference / "predictions.csv"));
    CHECK(read_file(folder / "results.csv") == read_file(reference / "results.csv"));
    CHECK(count_lines(read_file(folder / "metrics.csv")) == count_lines(read_file(reference / "metrics.csv")));
}

TEST_CASE("a run on a tmpfs that fills up fails with exit 3 and resumes once there is room", "[faults][resume][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 120);
    write_file(cwd / "exp.yaml", kExperiment);
    // Everything happens inside one mount namespace (the tmpfs lives as long
    // as it): the run, freeing the room, the resumption, copying the results out.
    write_file(cwd / "full.sh", "set -u\n"
                                "mkdir small\n"
                                "mount -t tmpfs -o size=1m tmpfs small || exit 77\n"
                                "cp exp.yaml songs.csv small/ && cd small\n"
                                "head -c 900k /dev/zero > filler\n"
                                "\"$1\" run exp.yaml --quiet > ../first.out 2> ../first.err; echo $? > ../first.rc\n"
                                "rm filler\n"
                                "\"$1\" run --resume \"$(cat ../first.out)\" --quiet > ../second.out 2> ../second.err\n"
                                "echo $? > ../second.rc\n"
                                "cp -r runs ../runs\n");
    const std::string command = "cd '" + cwd.path().string() + "' && unshare -Urm sh full.sh '" + mer_run().string() +
                                "' >unshare.log 2>&1";
    const int status = std::system(command.c_str());
    if (!fs::exists(cwd / "first.rc")) {
        skip_test("cannot mount a tmpfs in a user namespace here (unshare -Urm: " + read_file(cwd / "unshare.log") +
                  "); the RLIMIT_FSIZE test covers the same paths");
    }
    CHECK(WEXITSTATUS(status) == 0);
    INFO(read_file(cwd / "first.err"));
    CHECK(std::stoi(read_file(cwd / "first.rc")) == 3);
    CHECK_THAT(read_file(cwd / "first.err"), Catch::Contains("No space left on device"));
    INFO(read_file(cwd / "second.err"));
    REQUIRE(std::stoi(read_file(cwd / "second.rc")) == 0);
    const fs::path folder = cwd.path() / fs::path(run_folder_of({0, read_file(cwd / "first.out"), ""}));
    CHECK(status_of(folder) == "finished");
    CHECK(files_under(folder, ".tmp-").empty());
}

TEST_CASE("two mer-runs never write one run folder, the second says who holds it", "[faults][resume][cli]") {
    TempDir cwd;
    const fs::path folder = finished_run(cwd.path(), 40);
    {
        mer::RunFolder holder = mer::RunFolder::open(folder);  // this process now writes the folder
        const auto second = run_mer({"run", "--resume", folder.string(), "--quiet"}, cwd.path());
        CHECK(second.exit_code == 3);
        CHECK_THAT(second.err, Catch::Contains("another mer-run is writing this run folder (pid " +
                                               std::to_string(::getpid()) + " on "));
    }
    CHECK(run_mer({"run", "--resume", folder.string(), "--quiet"}, cwd.path()).exit_code == 0);
}

TEST_CASE("a damaged node-cache entry is recomputed, and the log says so", "[faults][cache][cli]") {
    TempDir cwd;
    const std::string results = read_file(finished_run(cwd.path(), 40) / "results.csv");
    const std::vector<fs::path> tables = files_under(cwd / "cache", ".table");
    REQUIRE(tables.size() == 1);
    std::string bytes = read_file(tables[0]);
    bytes[bytes.size() / 2] ^= 0x01;  // one flipped bit in a value: still a well-formed table
    write_file(tables[0], bytes);

    const auto second = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    REQUIRE(second.exit_code == 0);
    const fs::path folder = cwd.path() / run_folder_of(second);
    CHECK_THAT(read_file(folder / "log.txt"), Catch::Contains("node 'songs': the cache entry is damaged and is "
                                                              "recomputed") &&
                                                  Catch::Contains("does not match the checksum"));
    CHECK(read_file(folder / "results.csv") == results);
    const auto third = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    CHECK_THAT(read_file(cwd.path() / run_folder_of(third) / "log.txt"), Catch::Contains("node 'songs' "
                                                                                         "(dataset.table): cached"));
}

TEST_CASE("a model that predicts NaN fails its node instead of finishing with NaN metrics", "[faults][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 40);
    std::string yaml = kExperiment;
    yaml.replace(yaml.find("evaluation:"), 0,
                 "  diverged:\n    uses: regressor.failing\n    inputs: [songs]\n"
                 "    params: {fail_at_epoch: 0, predict: nan}\n");
    write_file(cwd / "exp.yaml", yaml);
    const auto r = run_mer({"run", "exp.yaml"}, cwd.path(), test_plugin_dir("good").string());
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("node 'diverged' failed: fold 0: the model predicted NaN or infinity for 10 "
                                      "of 10 validation songs"));
    const fs::path folder = cwd.path() / run_folder_of(r);
    CHECK(status_of(folder) == "failed");
    CHECK(json::parse(read_file(folder / "summary.json"))["nodes"].contains("ridge"));
}

TEST_CASE("labels and features no model can learn from are caught where they arise", "[faults][cli]") {
    TempDir cwd;
    // kExperiment on a synthetic table whose `column` of row `row` says `label`.
    auto run_with_label = [&](const std::string& column, int row, const std::string& label) {
        write_synthetic_table(cwd.path(), 40);
        replace_cell(cwd / "songs.csv", column, row, label);
        write_file(cwd / "exp.yaml", kExperiment);
        const auto r = run_mer({"run", "exp.yaml"}, cwd.path());
        CHECK(r.exit_code == 1);
        return r.err;
    };
    SECTION("a label of 1e308 fails the dataset node, naming the label and the song") {
        CHECK_THAT(run_with_label("valence", 4, "1e308"),
                   Catch::Contains("node 'songs' (dataset.table) failed: song '") &&
                       Catch::Contains("label 'valence' is 1e+308, beyond ±1e+15"));
    }
    SECTION("a label beyond double's range is located in the file") {
        CHECK_THAT(run_with_label("arousal", 2, "1e999"),
                   Catch::Contains("songs.csv:4") &&
                       Catch::Contains("column 'arousal': '1e999' is beyond the range of a number"));
    }
    SECTION("audio far beyond full scale: the song is skipped naming the feature") {
        fs::create_directories(cwd / "audio");
        std::string manifest = "path,valence,arousal\n";
        for (int i = 0; i < 4; ++i) {
            mer::write_audio(cwd / "audio" / (std::to_string(i) + ".wav"), tone(200 + 50 * i, 3, 0.3), 22050);
            manifest += "audio/" + std::to_string(i) + ".wav,5,5\n";
        }
        write_float_wav(cwd / "audio" / "loud.wav", tone(440, 3, 1e30), 22050);
        manifest += "audio/loud.wav,5,5\n";
        write_file(cwd / "manifest.csv", manifest);
        write_file(cwd / "exp.yaml", "name: loud\nmax_skipped_fraction: 0.5\nnodes:\n"
                                     "  songs: {uses: dataset.manifest, params: {path: manifest.csv}}\n"
                                     "  features: {uses: features.handcrafted, inputs: [songs], "
                                     "params: {groups: [mfcc]}}\n");
        const auto r = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const std::string skipped = read_file(cwd.path() / run_folder_of(r) / "skipped.csv");
        CHECK_THAT(skipped, Catch::Contains("audio/loud,") && Catch::Contains("feature 'mfcc") &&
                                Catch::Contains("is the audio far louder than full scale?"));
        CHECK(count_lines(skipped) == 2);
    }
}

TEST_CASE("log-mel tensors in the cache are checked, a cache that cannot be written fails the node",
          "[faults][cache]") {
    TempDir dir;
    mer::SongTable songs;
    for (int i = 0; i < 2; ++i) {
        const fs::path audio = dir / (std::to_string(i) + ".wav");
        mer::write_audio(audio, tone(300 + 100 * i, 3.5, 0.3), 22050);
        songs.song_ids.push_back(std::to_string(i));
        songs.audio_paths.push_back(audio.string());
    }
    songs.groups = songs.song_ids;
    songs.features.resize(2, 0);
    songs.targets.resize(2, 0);
    auto chunks = registry().create<mer::FeaturesPlugin>("features.logmel_chunks",
                                                         with_defaults("features.logmel_chunks"));
    std::mutex mutex;
    std::string log;
    std::vector<std::string> skipped;
    mer::PluginContext ctx;
    ctx.threads = 2;
    ctx.cache_dir = (dir / "cache").string();
    ctx.log = [&](const std::string& line) {
        std::lock_guard<std::mutex> lock(mutex);
        log += line + "\n";
    };
    ctx.skip = [&](const std::string& song, const std::string&, const std::string& reason) {
        std::lock_guard<std::mutex> lock(mutex);
        skipped.push_back(song + ": " + reason);
    };
    const mer::SongTable first = chunks->extract(songs, ctx);
    REQUIRE(first.tensor_paths.size() == 2);
    const std::string tensor = read_file(first.tensor_paths[0]);

    // Cut short: recomputed (not a hit), and the log names the file.
    write_file(first.tensor_paths[0], tensor.substr(0, tensor.size() / 2));
    log.clear();
    const mer::SongTable second = chunks->extract(songs, ctx);
    CHECK(skipped.empty());
    CHECK_THAT(log, Catch::Contains("cached tensor " + first.tensor_paths[0] +
                                    " is damaged (its checksum does not match); recomputing it") &&
                        Catch::Contains("(1 from the feature cache)"));
    CHECK(read_file(second.tensor_paths[0]) == tensor);

    // A file where the cache folder should be: the machine's trouble, so the
    // node fails with an environment error instead of skipping every song.
    write_file(dir / "not-a-folder", "");
    ctx.cache_dir = (dir / "not-a-folder").string();
    try {
        chunks->extract(songs, ctx);
        FAIL("extract succeeded");
    } catch (const mer::Error& e) {
        CHECK(e.kind() == mer::ErrorKind::environment);
        CHECK_THAT(e.message(), Catch::Contains("cannot create the cache folder"));
    }
    CHECK(skipped.empty());
}

TEST_CASE("node-cache tables round-trip, and damaged ones are refused without reading out of bounds",
          "[faults][cache]") {
    mer::SongTable t;
    t.song_ids = {"a", "b"};
    t.groups = t.song_ids;
    t.feature_names = {"x"};
    t.features = Eigen::MatrixXd::Constant(2, 1, 0.5);
    t.targets.resize(2, 0);  // no targets: an empty matrix (found by fuzzing: memcpy to its null data)
    const std::string bytes = mer::serialize_song_table(t);
    const mer::SongTable back = mer::deserialize_song_table(bytes);
    CHECK(back.song_ids == t.song_ids);
    CHECK(back.features == t.features);
    CHECK(back.targets.rows() == 2);
    CHECK(back.targets.cols() == 0);
    // Every cut of the file is refused with mer's error, never a crash.
    for (std::size_t n = 0; n < bytes.size(); n += 7)
        CHECK_THROWS_AS(mer::deserialize_song_table(bytes.substr(0, n)), mer::Error);
    // A count claiming 2^62 entries (2^62 · 8 bytes wraps around to 0).
    std::string huge = bytes;
    const std::size_t at = huge.find(std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8), 8);
    REQUIRE(at != std::string::npos);
    CHECK_THROWS_AS(mer::deserialize_song_table(huge.replace(at, 8, std::string("\x00\x00\x00\x00\x00\x00\x00\x40", 8))),
                    mer::Error);
}

TEST_CASE("an output that is a device, a FIFO or a link to one is written to, never replaced", "[faults][cli]") {
    TempDir dir;
    // A link to a device: the device gets the bytes, the link stays a link.
    fs::create_symlink("/dev/null", dir / "out.csv");
    const auto linked = run_mer({"synth-table", "--out", "out.csv", "--songs", "10"}, dir.path());
    INFO(linked.err);
    CHECK(linked.exit_code == 0);
    CHECK(fs::is_symlink(dir / "out.csv"));
    CHECK(fs::is_character_file(dir / "out.csv"));
    // A FIFO: what is written comes out of it, and it is still a FIFO.
    REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
    const auto piped = run_mer({"synth-table", "--out", "pipe", "--songs", "10"}, dir.path(), "",
                               "{ cat pipe > through-pipe.csv & } ; ");
    CHECK(piped.exit_code == 0);
    CHECK(fs::is_fifo(dir / "pipe"));
    for (int wait = 0; wait < 50 && read_file(dir / "through-pipe.csv").find('\n') == std::string::npos; ++wait)
        ::usleep(100000);  // the reader ran in the background
    CHECK_THAT(read_file(dir / "through-pipe.csv"), Catch::StartsWith("song_id"));
    // The plugin index set to a link to a device: the scan leaves it alone.
    fs::create_symlink("/dev/null", dir / "index.json");
    const auto scanned = run_mer({"plugins"}, dir.path(), "", "MER_PLUGIN_INDEX=index.json ");
    CHECK(scanned.exit_code == 0);
    CHECK(fs::is_symlink(dir / "index.json"));
    CHECK(fs::is_character_file(dir / "index.json"));
}

TEST_CASE("links planted in a run folder are never written through", "[faults][cli][hardening]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 30);
    write_file(dir / "exp.yaml", R"(name: links
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  ridge: {uses: regressor.ridge, inputs: [songs]}
evaluation: {split: {kind: kfold, k: 2}}
)");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    write_file(dir / "outside.txt", "untouched\n");
    fs::create_directories(dir / "outside");
    // log.txt → a file outside: --resume refuses instead of appending to it.
    fs::remove(run / "log.txt");
    fs::create_symlink(dir / "outside.txt", run / "log.txt");
    const auto resumed = run_mer({"run", "--resume", run.string(), "--quiet"}, dir.path());
    CHECK(resumed.exit_code != 0);
    CHECK_THAT(resumed.err, Catch::Contains("log.txt is a symbolic link"));
    CHECK(read_file(dir / "outside.txt") == "untouched\n");
    // report_data → a folder outside: mer-run report refuses instead of filling it.
    fs::remove_all(run / "report_data");
    fs::create_directory_symlink(dir / "outside", run / "report_data");
    const auto report = run_mer({"report", run.string()}, dir.path());
    CHECK(report.exit_code != 0);
    CHECK_THAT(report.err, Catch::Contains("report_data is a symbolic link"));
    CHECK(fs::is_empty(dir / "outside"));
}

TEST_CASE("a checkpoint LibTorch cannot write stops the run with exit 3 naming the file, --resume finishes it",
          "[faults][resume][cli][torch]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 120);
    write_file(cwd / "exp.yaml", R"(name: mlp-full
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  mlp: {uses: regressor.emotion_mlp, inputs: [songs], params: {epochs: 2}}
evaluation: {split: {kind: kfold, k: 2}}
)");
    const auto reference = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    REQUIRE(reference.exit_code == 0);
    // No file may pass 100 KiB: the first epoch's checkpoint (weights.pt, about 300 KB) cannot be written.
    // LibTorch's own writer threw from a destructor there, and mer aborted (exit 134).
    const auto full = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path(), "", "ulimit -f 200;");
    INFO(full.err);
    CHECK(full.exit_code == 3);
    CHECK_THAT(full.err, Catch::Contains("cannot write ") && Catch::Contains(".pt") && Catch::Contains("File too large"));
    const fs::path folder = cwd.path() / run_folder_of(full);
    CHECK(status_of(folder) == "failed");
    CHECK(files_under(folder, ".tmp-").empty());
    const auto resumed = run_mer({"run", "--resume", folder.string(), "--quiet"}, cwd.path());
    INFO(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK(status_of(folder) == "finished");
    const fs::path straight = cwd.path() / run_folder_of(reference);
    CHECK(read_file(folder / "predictions.csv") == read_file(straight / "predictions.csv"));
}

namespace {

// A run folder as a kill would have left it during its only regressor node
// `mlp`: no node in summary.json ("running"), no results files, the folds in
// `folds` without their done marker and without the rows of their scored
// songs at `epoch` (logged once after training); the folds in `unstarted`
// not begun at all.
void as_if_killed(const fs::path& run, const std::vector<int>& folds, int epoch, const std::vector<int>& unstarted = {}) {
    nlohmann::ordered_json summary = nlohmann::ordered_json::parse(read_file(run / "summary.json"));
    summary["nodes"] = nlohmann::ordered_json::object();
    summary["status"] = "running";
    write_file(run / "summary.json", summary.dump(2) + "\n");
    for (const char* file : {"predictions.csv", "results.csv", "comparisons.csv"}) fs::remove(run / file);
    auto scored = [&](int fold, int row_epoch, const std::string& split) {
        if (std::find(unstarted.begin(), unstarted.end(), fold) != unstarted.end()) return true;
        return std::find(folds.begin(), folds.end(), fold) != folds.end() && row_epoch == epoch &&
               (split == "validation" || split == "validation_chunks");
    };
    for (int fold : unstarted) {
        fs::remove_all(run / "model" / "mlp" / ("fold" + std::to_string(fold)));
        fs::remove_all(run / "checkpoints" / "mlp" / ("fold" + std::to_string(fold)));
    }
    for (int fold : folds) fs::remove(run / "model" / "mlp" / ("fold" + std::to_string(fold)) / "done.json");
    std::istringstream csv(read_file(run / "metrics.csv")), jsonl(read_file(run / "metrics.jsonl"));
    std::string kept_csv, kept_jsonl, line;
    while (std::getline(csv, line)) {
        std::vector<std::string> f;
        std::stringstream cells(line);
        for (std::string cell; std::getline(cells, cell, ',') && f.size() < 5;) f.push_back(cell);
        if (f.size() == 5 && f[0] == "mlp" && scored(std::atoi(f[2].c_str()), std::atoi(f[3].c_str()), f[4])) continue;
        kept_csv += line + "\n";
    }
    while (std::getline(jsonl, line)) {
        const auto row = nlohmann::json::parse(line);
        if (scored(row["fold"].get<int>(), row["epoch"].get<int>(), row["split"].get<std::string>())) continue;
        kept_jsonl += line + "\n";
    }
    write_file(run / "metrics.csv", kept_csv);
    write_file(run / "metrics.jsonl", kept_jsonl);
}

}  // namespace

TEST_CASE("a resumed run keeps the books: every file equals an uninterrupted run's", "[faults][resume][cli][torch]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 80);
    auto experiment = [&](int epochs) {
        write_file(cwd / "exp.yaml", "name: books\nnodes:\n  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
                                     "  mlp: {uses: regressor.emotion_mlp, inputs: [songs], params: {epochs: " +
                                         std::to_string(epochs) + ", patience: 10}}\n"
                                                                  "evaluation: {split: {kind: kfold, k: 2}}\n");
    };
    experiment(4);
    const auto straight = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    REQUIRE(straight.exit_code == 0);
    const fs::path reference = cwd.path() / run_folder_of(straight);
    auto same_books = [&](const fs::path& resumed) {
        for (const char* file : {"metrics.csv", "metrics.jsonl", "predictions.csv", "results.csv"}) {
            INFO(file);
            CHECK(read_file(resumed / file) == read_file(reference / file));
        }
        const auto a = nlohmann::json::parse(read_file(reference / "summary.json"))["nodes"]["mlp"];
        const auto b = nlohmann::json::parse(read_file(resumed / "summary.json"))["nodes"]["mlp"];
        CHECK(b["best_epoch"] == a["best_epoch"]);
        CHECK(b["validation"] == a["validation"]);
    };
    {
        // Killed after fold 1's last epoch, before its scored songs were rated: the loop has nothing left to
        // run. The fold vanished from best_epoch and got epoch-1 rows before.
        INFO("killed after the last epoch");
        const auto r = run_mer({"run", "exp.yaml", "--quiet", "--keep-checkpoints"}, cwd.path());
        REQUIRE(r.exit_code == 0);
        const fs::path run = cwd.path() / run_folder_of(r);
        as_if_killed(run, {1}, 4);
        const auto resumed = run_mer({"run", "--resume", run.string(), "--quiet"}, cwd.path());
        INFO(resumed.err);
        REQUIRE(resumed.exit_code == 0);
        same_books(run);
    }
    {
        // Killed after epoch 2 of 4 of fold 0: the books of epochs 1–2 come from before the kill.
        INFO("killed midway");
        experiment(2);
        const auto r = run_mer({"run", "exp.yaml", "--quiet", "--keep-checkpoints"}, cwd.path());
        REQUIRE(r.exit_code == 0);
        const fs::path run = cwd.path() / run_folder_of(r);
        as_if_killed(run, {0}, 2, {1});
        std::string config = read_file(run / "config.yaml");
        REQUIRE(config.find("epochs: 2") != std::string::npos);
        config.replace(config.find("epochs: 2"), 9, "epochs: 4");
        write_file(run / "config.yaml", config);
        const auto resumed = run_mer({"run", "--resume", run.string(), "--quiet"}, cwd.path());
        INFO(resumed.err);
        REQUIRE(resumed.exit_code == 0);
        same_books(run);
    }
}
