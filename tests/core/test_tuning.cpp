// Grid search per target and jointly: a table whose two targets want
// different ridge penalties, tuned both ways; what results.csv, grid.csv,
// summary.json and the model bundle say about it; and the promise that lets
// the host fit an independent_targets model one target at a time.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <map>
#include <set>
#include <sstream>

#include "core/data/csv.hpp"
#include "core/exec/pipeline.hpp"
#include "core/exec/target_pipelines.hpp"
#include "core/exec/tuning.hpp"
#include "core/graph/experiment.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kFeatures = 30;

// 100 songs, kFeatures standard-normal features and two targets: `clean`, an
// exact linear function of three features (the least penalty fits it best),
// and `noisy`, pure noise (any weight on the 30 features only overfits, so
// the largest penalty, predicting the mean, scores best).
void write_two_target_table(const fs::path& dir) {
    std::mt19937_64 random(13);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::string csv = "song_id";
    for (int f = 1; f <= kFeatures; ++f) csv += ",x" + std::to_string(f);
    csv += ",clean,noisy\n";
    for (int s = 0; s < 100; ++s) {
        std::vector<double> x(kFeatures);
        for (auto& v : x) v = normal(random);
        csv += "song" + std::to_string(s);
        for (double v : x) csv += "," + std::to_string(v);
        csv += "," + std::to_string(2 * x[0] - x[1] + 0.5 * x[2]) + "," + std::to_string(normal(random)) + "\n";
    }
    write_file(dir / "songs.csv", csv);
}

std::string ridge_experiment(const std::string& grid_search) {
    return R"(name: tuning
seed: 5
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv, targets: [clean, noisy]}}
  ridge:
    uses: regressor.ridge
    inputs: [songs]
    grid: {alpha: [0.01, 1, 10, 100000]}
    grid_search: )" +
           grid_search + R"(
evaluation: {split: {kind: kfold, k: 2}}
)";
}

mer::Experiment load(const fs::path& dir, const std::string& yaml, const mer::PluginRegistry& plugins = registry()) {
    write_file(dir / "exp.yaml", yaml);
    mer::LoadedExperiment l = mer::load_experiment((dir / "exp.yaml").string(), {}, plugins);
    INFO((l.errors.empty() ? std::string() : l.errors[0].str()));
    REQUIRE(l.errors.empty());
    return std::move(l.experiment);
}

mer::SongTable load_table(const fs::path& dir) {
    auto dataset = registry().create<mer::DatasetPlugin>(
        "dataset.table",
        with_defaults("dataset.table", {{"path", (dir / "songs.csv").string()}, {"targets", {"clean", "noisy"}}}));
    return dataset->load(mer::PluginContext{});
}

mer::TuningResult tune_ridge(const fs::path& dir, const mer::Experiment& exp) {
    const mer::PipelineSpec spec = mer::PipelineSpec::of(exp, exp.node("ridge"));
    const mer::GridSearch search{
        exp.node("ridge"), spec, registry(), exp.seed, "song", 2, [](const std::string& id, const std::string&) {
            mer::PluginContext ctx;
            ctx.node = id;
            return ctx;
        }};
    return mer::tune(search, load_table(dir), 0);
}

// grid.csv's rows as target → selected candidates, and each row's selected_by.
struct GridTable {
    std::map<std::string, std::set<std::string>> selected;
    std::set<std::string> selected_by;
    std::map<std::string, std::map<std::string, double>> r2;  // target → candidate → inner mean
};

GridTable read_grid(const fs::path& file) {
    const mer::CsvTable table = mer::read_csv(file);
    auto column = [&](const std::string& name) { return static_cast<std::size_t>(table.require_column(name)); };
    GridTable out;
    for (const auto& row : table.rows) {
        const std::string& target = row[column("target")];
        if (row[column("selected")] == "1") out.selected[target].insert(row[column("candidate")]);
        out.selected_by.insert(row[column("selected_by")]);
        out.r2[target][row[column("candidate")]] = std::stod(row[column("r2_mean")]);
    }
    return out;
}

}  // namespace

TEST_CASE("a per-target model is tuned per target by default, joint models jointly", "[tuning][grid]") {
    TempDir dir;
    write_two_target_table(dir.path());
    CHECK(load(dir.path(), ridge_experiment("{folds: 3}")).node("ridge").grid_by == "target");
    CHECK(load(dir.path(), ridge_experiment("{folds: 3, by: joint}")).node("ridge").grid_by == "joint");

    // regressor.failing declares no independent_targets: one candidate must serve both targets.
    mer::PluginRegistry with_joint;
    with_joint.scan({plugin_dir(), test_plugin_dir("good")});
    REQUIRE(!with_joint.get("regressor.failing").has(mer::capability::kIndependentTargets));
    const std::string joint_model = R"(name: joint
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv, targets: [clean, noisy]}}
  model:
    uses: regressor.failing
    inputs: [songs]
    params: {fail_at_epoch: 0}
    grid: {epochs: [1, 2]})";
    CHECK(load(dir.path(), joint_model, with_joint).node("model").grid_by == "joint");
    write_file(dir / "refused.yaml", joint_model + "\n    grid_search: {by: target}\n");
    const auto errors = mer::load_experiment((dir / "refused.yaml").string(), {}, with_joint).errors;
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0].str(),
               Catch::Contains("grid_search.by") && Catch::Contains("jointly") && Catch::Contains("refused.yaml:9"));
}

TEST_CASE("per-target tuning gives each target its own ridge alpha, joint tuning one for both", "[tuning][grid]") {
    TempDir dir;
    write_two_target_table(dir.path());

    const mer::TuningResult per_target = tune_ridge(dir.path(), load(dir.path(), ridge_experiment("{folds: 3}")));
    REQUIRE(per_target.best.size() == 2);
    CHECK(per_target.best[0]["alpha"] == 0.01);    // clean: the least penalty
    CHECK(per_target.best[1]["alpha"] == 100000);  // noisy: the mean is the best it can do
    CHECK_THAT(per_target.log_line,
               Catch::Contains(R"(for clean {"alpha":0.01})") && Catch::Contains(R"(for noisy {"alpha":100000})"));
    write_file(dir / "per_target.csv", mer::grid_csv_header() + per_target.grid_rows);
    const GridTable by_target = read_grid(dir / "per_target.csv");
    CHECK(by_target.selected.at("clean") == std::set<std::string>{"0"});
    CHECK(by_target.selected.at("noisy") == std::set<std::string>{"3"});
    CHECK(by_target.selected_by == std::set<std::string>{"target"});

    // The old behaviour, asked for by name: one candidate, best by the mean
    // over both targets, with the very same inner scores.
    const mer::TuningResult joint = tune_ridge(dir.path(), load(dir.path(), ridge_experiment("{folds: 3, by: joint}")));
    REQUIRE(joint.best.size() == 2);
    CHECK(joint.best[0] == joint.best[1]);
    write_file(dir / "joint.csv", mer::grid_csv_header() + joint.grid_rows);
    const GridTable together = read_grid(dir / "joint.csv");
    CHECK(together.selected_by == std::set<std::string>{"joint"});
    REQUIRE(together.selected.at("clean").size() == 1);
    CHECK(together.selected.at("clean") == together.selected.at("noisy"));
    // The same inner scores (ridge fitted alone or beside the other target, up to rounding).
    for (const auto& [target, candidates] : by_target.r2)
        for (const auto& [candidate, r2] : candidates)
            CHECK(together.r2.at(target).at(candidate) == Approx(r2).epsilon(1e-9));
    std::string best = "0";
    auto mean_r2 = [&](const std::string& c) {
        return (together.r2.at("clean").at(c) + together.r2.at("noisy").at(c)) / 2;
    };
    for (const char* c : {"1", "2", "3"})
        if (mean_r2(c) > mean_r2(best)) best = c;
    CHECK(*together.selected.at("clean").begin() == best);
    // One alpha for both costs a target: neither per-target choice is the joint one.
    CHECK(best != "0");
    CHECK(best != "3");
}

TEST_CASE("a run tuned per target says which candidate won for which target, and its bundle rates as it scored",
          "[tuning][grid][cli]") {
    TempDir dir;
    write_two_target_table(dir.path());
    write_file(dir / "exp.yaml", ridge_experiment("{folds: 3}"));
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);

    // results.csv: the existing columns, then the choice of every fold for that target.
    const mer::CsvTable results = mer::read_csv(run / "results.csv");
    REQUIRE(results.header.back() == "selected_params");
    REQUIRE(results.rows.size() == 2);
    CHECK(results.rows[0][3] == "clean");
    CHECK(json::parse(results.rows[0].back()) == json::parse(R"([{"alpha":0.01},{"alpha":0.01}])"));
    CHECK(json::parse(results.rows[1].back()) == json::parse(R"([{"alpha":100000},{"alpha":100000}])"));

    const GridTable grid = read_grid(run / "grid.csv");
    CHECK(grid.selected.at("clean") == std::set<std::string>{"0"});
    CHECK(grid.selected.at("noisy") == std::set<std::string>{"3"});

    const json summary = json::parse(read_file(run / "summary.json"));
    const json& tuned = summary["nodes"]["ridge"]["grid"];
    CHECK(tuned["by"] == "target");
    CHECK(tuned["best_per_target"]["clean"] == json::parse(R"([{"alpha":0.01},{"alpha":0.01}])"));
    CHECK(tuned["best_per_target"]["noisy"] == json::parse(R"([{"alpha":100000},{"alpha":100000}])"));
    CHECK(!tuned.contains("best_per_fold"));  // no single choice per fold to report

    // Both winners sit on an edge of the alpha axis in every fold: said in summary.json, the log and the page.
    REQUIRE(tuned.contains("edges"));
    REQUIRE(tuned["edges"].size() == 2);
    CHECK(tuned["edges"][0]["target"] == "clean");
    CHECK(tuned["edges"][0]["edge"] == "smallest");
    CHECK(tuned["edges"][0]["folds"] == 2);
    CHECK(tuned["edges"][1]["target"] == "noisy");
    CHECK(tuned["edges"][1]["edge"] == "largest");
    const std::string message = "alpha: the largest value tried (100000) won in 2 of 2 folds for noisy; consider a wider grid";
    CHECK(tuned["edges"][1]["message"] == message);
    CHECK_THAT(read_file(run / "log.txt"), Catch::Contains(message));
    CHECK_THAT(read_file(run / "report.html"), Catch::Contains(message));

    // metrics.csv still has a row per split and target of the fold's model.
    const std::string metrics = read_file(run / "metrics.csv");
    CHECK_THAT(metrics, Catch::Contains("ridge,regressor.ridge,0,1,validation,clean") &&
                            Catch::Contains("ridge,regressor.ridge,0,1,validation,noisy"));

    // The bundle: one pipeline per target, each with its own alpha...
    const fs::path bundle = run / "model" / "ridge";
    const json manifest = json::parse(read_file(bundle / "model.json"));
    CHECK(manifest["per_target"] == true);
    CHECK(json::parse(read_file(bundle / "fold0" / "target0" / "params.json"))["regressor"]["alpha"] == 0.01);
    CHECK(json::parse(read_file(bundle / "fold0" / "target1" / "params.json"))["regressor"]["alpha"] == 100000);

    // ...which, loaded as predict loads it, rates the validation songs exactly as predictions.csv says.
    mer::TargetPipelines reloaded(mer::PipelineSpec::from_json(manifest), registry(), {"clean", "noisy"}, true);
    reloaded.load(bundle / "fold0");
    const mer::SongTable songs = load_table(dir.path());
    std::map<std::string, std::size_t> row_of;
    for (std::size_t s = 0; s < songs.size(); ++s) row_of[songs.song_ids[s]] = s;
    const Eigen::MatrixXd rated = reloaded.predict(songs);
    int compared = 0;
    for (const auto& row : mer::read_csv(run / "predictions.csv").rows) {
        if (row[2] != "0") continue;  // node,song_id,fold,target,true,predicted
        const Eigen::Index column = row[3] == "clean" ? 0 : 1;
        CHECK(rated(static_cast<Eigen::Index>(row_of.at(row[1])), column) == Approx(std::stod(row[5])).epsilon(1e-12));
        ++compared;
    }
    CHECK(compared == 100);  // 50 validation songs × 2 targets
}

TEST_CASE("an independent_targets model fitted on all targets predicts each as if fitted on it alone",
          "[tuning][plugins]") {
    // What lets the host fit such a model's pipeline one target at a time.
    TempDir dir;
    write_two_target_table(dir.path());
    mer::SongTable all = load_table(dir.path());
    std::vector<std::size_t> first60(60);
    for (std::size_t s = 0; s < first60.size(); ++s) first60[s] = s;
    const mer::SongTable train = all.rows(first60);
    mer::PluginContext ctx;
    ctx.seed = 3;
    int checked = 0;
    for (const mer::PluginRecord* p : registry().with_capability(mer::capability::kIndependentTargets)) {
        INFO(p->name);
        REQUIRE(p->kind == "regressor");
        const json params = with_defaults(p->name);
        auto together = registry().create<mer::RegressorPlugin>(p->name, params);
        together->fit(train, nullptr, {}, ctx);
        const Eigen::MatrixXd both = together->predict(all);
        for (Eigen::Index t = 0; t < 2; ++t) {
            mer::SongTable one = train;
            one.target_names = {train.target_names[static_cast<std::size_t>(t)]};
            one.targets = train.targets.col(t);
            auto alone = registry().create<mer::RegressorPlugin>(p->name, params);
            alone->fit(one, nullptr, {}, ctx);
            const Eigen::MatrixXd single = alone->predict(all);
            REQUIRE(single.cols() == 1);
            CHECK((single.col(0) - both.col(t)).cwiseAbs().maxCoeff() <=
                  1e-9 * (1 + both.col(t).cwiseAbs().maxCoeff()));
        }
        ++checked;
    }
    CHECK(checked >= 5);  // ridge, lasso, SVR, mean and the tree ensembles at least
}

TEST_CASE("boosting rounds are staged: one fit scores every n_estimators exactly as fitting each would",
          "[tuning][grid][staged]") {
    TempDir dir;
    write_two_target_table(dir.path());
    const mer::SongTable songs = load_table(dir.path());
    mer::PluginContext ctx;
    ctx.seed = 4;
    for (const char* plugin : {"regressor.xgboost", "regressor.gradient_boosting"}) {
        INFO(plugin);
        REQUIRE(registry().get(plugin).capability(mer::capability::kStaged, false) == true);
        auto long_fit = registry().create<mer::RegressorPlugin>(plugin, with_defaults(plugin, {{"n_estimators", 30}}));
        CHECK(long_fit->query(mer::capability::kStaged) == "n_estimators");
        // Per-round predictions (accumulated tree by tree) are the model's own after that many rounds.
        std::vector<Eigen::MatrixXd> rounds;
        long_fit->fit(songs, &songs, [&](const mer::EpochReport& r) { rounds.push_back(r.validation_predictions); },
                      ctx);
        REQUIRE(rounds.size() == 30);
        const auto* stages = mer::extension<mer::StagedPredictions>(*long_fit);
        REQUIRE(stages != nullptr);
        for (int r : {1, 2, 13, 30})
            CHECK((rounds[static_cast<std::size_t>(r - 1)] - stages->predict_stages(songs, r)).cwiseAbs().maxCoeff() ==
                  0.0);
        auto short_fit = registry().create<mer::RegressorPlugin>(plugin, with_defaults(plugin, {{"n_estimators", 12}}));
        short_fit->fit(songs, nullptr, {}, ctx);
        const Eigen::MatrixXd staged = stages->predict_stages(songs, 12);
        CHECK((staged - short_fit->predict(songs)).cwiseAbs().maxCoeff() == 0.0);
        CHECK((staged - long_fit->predict(songs)).cwiseAbs().maxCoeff() > 0.0);
    }
    // Early stopping cuts rounds by what it watches: no longer a prefix.
    CHECK(registry()
              .create<mer::RegressorPlugin>("regressor.xgboost", with_defaults("regressor.xgboost",
                                                                               {{"early_stopping_rounds", 5}}))
              ->query(mer::capability::kStaged)
              .is_null());
    CHECK(registry().get("regressor.random_forest").capability(mer::capability::kStaged, false) != true);

    // A grid over rounds scores each count exactly as a grid holding only that count.
    auto grid_rows = [&](const std::string& rounds) {
        const std::string yaml = R"(name: staged
seed: 5
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv, targets: [clean, noisy]}}
  ridge:
    uses: regressor.xgboost
    inputs: [songs]
    grid: {max_depth: [2, 3], n_estimators: )" + rounds + R"(}
    grid_search: {folds: 3}
evaluation: {split: {kind: kfold, k: 2}}
)";
        const mer::Experiment exp = load(dir.path(), yaml);
        return tune_ridge(dir.path(), exp).grid_rows;
    };
    const std::string both = grid_rows("[8, 20]"), alone = grid_rows("[8]");
    // Candidate ids differ (4 vs 2 candidates); compare each row's params and scores.
    auto by_params = [](const std::string& rows) {
        std::map<std::string, std::string> out;
        std::stringstream in(rows);
        for (std::string line; std::getline(in, line);) {
            // node,fold,candidate,"params",target,...: drop the candidate id and the selected flags.
            const std::size_t third = line.find(',', line.find(',', line.find(',') + 1) + 1);
            const std::size_t selected = line.rfind(',', line.rfind(',') - 1);
            out[line.substr(third + 1, selected - third - 1)] = line;
        }
        return out;
    };
    const auto staged_rows = by_params(both), plain_rows = by_params(alone);
    REQUIRE(plain_rows.size() == 4);  // 2 depths × 2 targets
    for (const auto& [key, _] : plain_rows) CHECK(staged_rows.count(key) == 1);
}
