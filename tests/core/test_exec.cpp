// The executor's parts on their own — the pipeline runner, tuning, the run
// writer's manifest — and what they promise end to end: every file of a run
// in run.json, cross-node shape checks before anything runs, exit codes by
// phase.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/data/csv.hpp"
#include "core/exec/pipeline.hpp"
#include "core/exec/run_writer.hpp"
#include "core/exec/tuning.hpp"
#include "core/graph/experiment.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Scaling and a Pearson selection in front of a ridge with a grid.
const char* kPipelineExperiment = R"(name: units
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  scaled: {uses: transform.standardize, inputs: [songs]}
  top: {uses: transform.select_pearson, inputs: [scaled], params: {k: 5}}
  ridge:
    uses: regressor.ridge
    inputs: [top]
    grid: {alpha: [0.1, 10.0, 1000.0]}
    grid_search: {folds: 3}
)";

// 80 synthetic songs and kPipelineExperiment in `dir`, loaded and validated.
mer::Experiment pipeline_experiment(const fs::path& dir) {
    write_synthetic_table(dir, 80);
    write_file(dir / "exp.yaml", kPipelineExperiment);
    mer::LoadedExperiment l = mer::load_experiment((dir / "exp.yaml").string(), {}, registry());
    INFO((l.errors.empty() ? std::string() : l.errors[0].str()));
    REQUIRE(l.errors.empty());
    return std::move(l.experiment);
}

mer::SongTable songs_table(const fs::path& dir) {
    auto dataset = registry().create<mer::DatasetPlugin>(
        "dataset.table", with_defaults("dataset.table", {{"path", (dir / "songs.csv").string()}}));
    mer::PluginContext ctx;
    return dataset->load(ctx);
}

std::vector<std::string> validation_errors(const fs::path& dir, const std::string& yaml) {
    write_file(dir / "shape.yaml", yaml);
    std::vector<std::string> out;
    for (const auto& d : mer::load_experiment((dir / "shape.yaml").string(), {}, registry()).errors)
        out.push_back(d.str());
    return out;
}

}  // namespace

TEST_CASE("the pipeline runner fits, saves and reloads into identical predictions", "[pipeline]") {
    TempDir dir;
    const mer::Experiment exp = pipeline_experiment(dir.path());
    const mer::PipelineSpec spec = mer::PipelineSpec::of(exp, exp.node("ridge"));
    CHECK(spec.source() == "songs");
    REQUIRE(spec.transforms.size() == 2);
    CHECK(spec.transforms[0].id == "scaled");  // each transform after its input
    CHECK(spec.transforms[1].id == "top");

    mer::SongTable all = songs_table(dir.path());
    std::vector<std::size_t> first, second;
    for (std::size_t i = 0; i < all.size(); ++i) (i < 60 ? first : second).push_back(i);
    mer::Pipeline fitted(spec, registry());
    const mer::Sides sides = fitted.fit_transforms({all.rows(first), all.rows(second)},
                                                   [](const mer::PipelineStep&) { return mer::PluginContext{}; });
    CHECK(sides.first.feature_names.size() <= 10);  // top 5 per target, union
    fitted.fit_regressor(exp.node("ridge").params, sides.first, &sides.second, {}, mer::PluginContext{});
    const Eigen::MatrixXd predicted = fitted.predict(sides.second);
    fitted.save(dir / "fold0");

    // A bundle is read back through the manifest form, as predict does.
    nlohmann::ordered_json manifest;
    spec.to_json(manifest);
    mer::Pipeline reloaded(mer::PipelineSpec::from_json(json::parse(manifest.dump())), registry());
    reloaded.load(dir / "fold0");
    CHECK(reloaded.predict(reloaded.apply_transforms(all.rows(second))) == predicted);
}

TEST_CASE("tuning scores every candidate on inner folds and keeps the best", "[tuning]") {
    TempDir dir;
    const mer::Experiment exp = pipeline_experiment(dir.path());
    const mer::PipelineSpec spec = mer::PipelineSpec::of(exp, exp.node("ridge"));
    const mer::GridSearch search{
        exp.node("ridge"), spec, registry(), exp.seed, "song", 2, [](const std::string& id, const std::string&) {
            mer::PluginContext ctx;
            ctx.node = id;
            return ctx;
        }};
    const mer::TuningResult tuned = mer::tune(search, songs_table(dir.path()), 0);
    // 3 candidates × 2 targets, exactly one candidate selected per target
    // (ridge is tuned per target).
    CHECK(count_lines(tuned.grid_rows) == 6);
    write_file(dir / "grid.csv", mer::grid_csv_header() + tuned.grid_rows);
    const mer::CsvTable grid = mer::read_csv(dir / "grid.csv");
    std::map<std::string, int> winners;
    for (const auto& row : grid.rows)
        if (row[static_cast<std::size_t>(grid.require_column("selected"))] == "1") ++winners[row[4]];
    CHECK(winners == std::map<std::string, int>{{"arousal", 1}, {"valence", 1}});
    // Heavy shrinkage on the standardised synthetic features cannot win.
    REQUIRE(tuned.best.size() == 2);
    for (const auto& best : tuned.best) CHECK(best["alpha"].get<double>() < 1000.0);
    CHECK_THAT(tuned.log_line, Catch::Contains("3 candidates × 3 folds"));
}

TEST_CASE("run.json lists every file of a run with its kind, node and columns", "[run][manifest][cli]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 60);
    write_file(cwd / "exp.yaml", R"(name: manifest
seed: 1
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  shap: {uses: transform.select_shap, inputs: [songs], params: {k: 4, n_estimators: 20, write_values: true}}
  ridge:
    uses: regressor.ridge
    inputs: [shap]
    grid: {alpha: [1.0, 10.0]}
    grid_search: {folds: 2}
evaluation: {split: {kind: kfold, k: 2}}
)");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path folder = cwd.path() / run_folder_of(r);
    const std::vector<mer::ArtifactEntry> artifacts = mer::read_manifest(folder).entries;
    std::map<std::string, mer::ArtifactEntry> by_file;
    for (const auto& a : artifacts) {
        INFO(a.file);
        CHECK(!a.kind.empty());
        CHECK(!a.meaning.empty());
        by_file[a.file] = a;
    }
    // Every file at the top of the folder is in the manifest (run.json itself aside).
    for (const auto& e : fs::directory_iterator(folder)) {
        const std::string name = e.path().filename().string() + (e.is_directory() ? "/" : "");
        if (name == "run.json" || name == "model/") continue;
        INFO(name);
        CHECK(by_file.count(name) == 1);
    }
    CHECK(by_file.at("predictions.csv").kind == "predictions");
    CHECK(by_file.at("grid.csv").kind == "grid");
    CHECK(by_file.at("model/ridge/").node == "ridge");
    // A plugin's artifacts, named by the host, with the node and the columns the file has.
    const mer::ArtifactEntry& shap = by_file.at("shap_shap_valence.csv");
    CHECK(shap.kind == "shap");
    CHECK(shap.node == "shap");
    const std::string header =
        read_file(folder / "shap_shap_valence.csv").substr(0, read_file(folder / "shap_shap_valence.csv").find('\n'));
    std::string declared;
    for (const auto& c : shap.columns) declared += (declared.empty() ? "" : ",") + c;
    CHECK(header == declared);
    CHECK(by_file.count("shap_shap_values.csv") == 1);
}

TEST_CASE("target names cannot climb out of the run folder, nor two artifacts share a file", "[run][manifest][cli][faults]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 40);
    // A target whose name is a path: refused before anything runs, at its place in the file.
    write_file(cwd / "escape.yaml", R"(name: escape
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv, targets: [valence, "X/../../../Y"]}}
  ridge: {uses: regressor.ridge, inputs: [songs]}
)");
    const auto escape = run_mer({"validate", "escape.yaml"}, cwd.path());
    CHECK(escape.exit_code == 2);
    CHECK_THAT(escape.err, Catch::Contains("escape.yaml:3:") && Catch::Contains("target name 'X/../../../Y'"));
    // A target named like the SHAP values file: the node fails naming the clash, nothing is overwritten.
    std::string table = read_file(cwd / "songs.csv");
    table.replace(table.find("valence"), 7, "values");
    write_file(cwd / "songs.csv", table);
    write_file(cwd / "clash.yaml", R"(name: clash
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv, targets: [values, arousal]}}
  shap: {uses: transform.select_shap, inputs: [songs], params: {k: 4, n_estimators: 10, write_values: true}}
  ridge: {uses: regressor.ridge, inputs: [shap]}
evaluation: {split: {kind: kfold, k: 2}}
)");
    const auto clash = run_mer({"run", "clash.yaml", "--quiet"}, cwd.path());
    CHECK(clash.exit_code == 1);
    CHECK_THAT(clash.err, Catch::Contains("shap_shap_values.csv would hold two things"));
    // Without the values matrix the same target name is fine.
    const auto fine = run_mer({"run", "clash.yaml", "--quiet", "--set", "nodes.shap.params.write_values=false"}, cwd.path());
    INFO(fine.err);
    CHECK(fine.exit_code == 0);
}

TEST_CASE("validate catches a chunk shape the model cannot read, naming both nodes", "[validate][shapes][torch]") {
    TempDir dir;
    const std::string yaml = R"(name: shapes
nodes:
  data: {uses: dataset.manifest, params: {path: songs.csv}}
  chunks: {uses: features.logmel_chunks, inputs: [data], params: {n_mels: 96}}
  model: {uses: MODEL, inputs: [chunks]}
)";
    auto with_model = [&](const std::string& model) {
        std::string y = yaml;
        y.replace(y.find("MODEL"), 5, model);
        return y;
    };
    write_file(dir / "songs.csv", "song_id,path,valence,arousal\n");
    const auto errors = validation_errors(dir.path(), with_model("regressor.cnn"));
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("shape.yaml:5:") &&
                              Catch::Contains("nodes.model: regressor.cnn reads chunks of "
                                              "1 channels × 128 mels × 128 frames") &&
                              Catch::Contains("'chunks' (features.logmel_chunks) produces 1 channels × 96 mels") &&
                              Catch::Contains("set nodes.chunks.params.n_mels to 128"));
    // A model sized for any number of mels accepts it; the paper's size passes for every model.
    CHECK(validation_errors(dir.path(), with_model("regressor.tiny_chunk")).empty());
    std::string report_size = with_model("regressor.cnn");
    report_size.replace(report_size.find("n_mels: 96"), 10, "n_mels: 128");
    CHECK(validation_errors(dir.path(), report_size).empty());
}

TEST_CASE("exit codes say the phase: input 2, node 1, environment 3", "[run][cli][exit]") {
    TempDir cwd;
    pipeline_experiment(cwd.path());
    CHECK(run_mer({"run", "exp.yaml", "--set", "nodes.ridge.params.alpha=-1"}, cwd.path()).exit_code == 2);
    // A data file that is not there is refused before the run starts; one that cannot be read fails its node.
    CHECK(
        run_mer({"run", "exp.yaml", "--set", "nodes.songs.params.path=missing.csv", "--quiet"}, cwd.path()).exit_code ==
        2);
    write_file(cwd / "broken.csv", "song_id,valence\n1,not a number\n");
    CHECK(run_mer({"run", "exp.yaml", "--set", "nodes.songs.params.path=broken.csv", "--quiet"}, cwd.path()).exit_code ==
          1);
    // The run folder cannot be made: a file stands where its parent should be.
    write_file(cwd / "blocked", "a file, not a folder\n");
    const auto blocked = run_mer({"run", "exp.yaml", "--out", "blocked/runs", "--quiet"}, cwd.path());
    CHECK(blocked.exit_code == 3);
    CHECK_THAT(blocked.err, Catch::Contains("cannot create the run folder"));
}
