// Feature selection per target (the paper's "top 15 per dimension"): on a
// table where valence depends on features a, b and arousal on c, d, each
// target's model reads its own selection — Pearson, SHAP, and their union and
// intersection — while `across_targets: union` gives every model all four,
// and a model that learns its targets jointly reads the union. Checked
// through what the fitted pipelines feed each target's model, in process and
// from the model bundle of a real `mer-run run`, which `mer-run predict`
// rates as the run did.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "core/base/files.hpp"
#include "core/exec/target_pipelines.hpp"
#include "core/graph/experiment.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;
using nlohmann::json;
using Features = std::set<std::string>;
using FeaturesByTarget = std::map<std::string, Features>;

namespace {

const Features kValence{"a", "b"}, kArousal{"c", "d"}, kBoth{"a", "b", "c", "d"};

// 120 songs: valence = a + b, arousal = c + d (each with a little noise);
// n1 … n6 are noise.
void write_selection_table(const fs::path& dir) {
    std::mt19937_64 rng(13);
    std::normal_distribution<double> normal;
    std::string csv = "song_id,a,b,c,d,n1,n2,n3,n4,n5,n6,valence,arousal\n";
    for (int i = 0; i < 120; ++i) {
        std::vector<double> x(10);
        for (auto& v : x) v = normal(rng);
        csv += "s" + std::to_string(i);
        for (double v : x) csv += "," + mer::format_number(v);
        csv += "," + mer::format_number(x[0] + x[1] + 0.1 * normal(rng));
        csv += "," + mer::format_number(x[2] + x[3] + 0.1 * normal(rng)) + "\n";
    }
    write_file(dir / "sel.csv", csv);
}

mer::SongTable selection_table(const mer::PluginRegistry& registry, const fs::path& dir) {
    return registry
        .create<mer::DatasetPlugin>("dataset.table",
                                    with_defaults("dataset.table", {{"path", (dir / "sel.csv").string()}}))
        ->load({});
}

// The selection nodes every case below shares; `pearson` and `shap` take
// `across` as their across_targets.
std::string selection_nodes(const std::string& across) {
    return R"(name: selection
nodes:
  songs: {uses: dataset.table, params: {path: sel.csv}}
  pearson: {uses: transform.select_pearson, inputs: [songs], params: {k: 2, across_targets: )" +
           across + R"(}}
  shap: {uses: transform.select_shap, inputs: [songs], params: {k: 2, n_estimators: 30, write_values: false, across_targets: )" +
           across + R"(}}
  union: {uses: transform.combine, inputs: [shap, pearson], params: {mode: union}}
  intersection: {uses: transform.combine, inputs: [shap, pearson], params: {mode: intersection}}
)";
}

mer::Experiment experiment(const mer::PluginRegistry& registry, const fs::path& dir, const std::string& yaml) {
    write_file(dir / "exp.yaml", yaml);
    mer::LoadedExperiment loaded = mer::load_experiment((dir / "exp.yaml").string(), {}, registry);
    INFO((loaded.errors.empty() ? std::string() : loaded.errors[0].str()));
    REQUIRE(loaded.errors.empty());
    return std::move(loaded.experiment);
}

// The features each target's model of `node` reads once its pipelines are
// fitted on the first 90 songs.
FeaturesByTarget model_inputs(const mer::PluginRegistry& registry, const mer::Experiment& exp, const std::string& node,
                              const mer::SongTable& songs, std::string* how = nullptr) {
    mer::TargetPipelines pipelines(mer::PipelineSpec::of(exp, exp.node(node)), registry, songs.target_names);
    if (how) *how = pipelines.how();
    std::vector<std::size_t> train, validation;
    for (std::size_t i = 0; i < songs.size(); ++i) (i < 90 ? train : validation).push_back(i);
    FeaturesByTarget seen;
    for (auto& part : pipelines.parts()) {
        const mer::Sides sides = part.pipeline.fit_transforms(
            {songs.rows(train).target_columns(part.targets), songs.rows(validation).target_columns(part.targets)},
            [](const mer::PipelineStep&) { return mer::PluginContext{}; });
        for (const auto& target : sides.first.target_names)
            seen[target] = Features(sides.first.feature_names.begin(), sides.first.feature_names.end());
    }
    return seen;
}

std::string model_on(const std::string& input, const std::string& model = "regressor.xgboost") {
    return "  model: {uses: " + model + ", inputs: [" + input + "]" +
           (model == "regressor.xgboost" ? ", params: {n_estimators: 20}" : "") + "}\n";
}

}  // namespace

TEST_CASE("a selection per target gives each target's model its own features", "[selection]") {
    TempDir dir;
    write_selection_table(dir.path());
    const mer::SongTable songs = selection_table(registry(), dir.path());
    const FeaturesByTarget per_target{{"valence", kValence}, {"arousal", kArousal}};
    const FeaturesByTarget union_of_targets{{"valence", kBoth}, {"arousal", kBoth}};
    for (const char* input : {"pearson", "shap", "union", "intersection"}) {
        INFO("the model reads " << input);
        std::string how;
        const FeaturesByTarget by_default = model_inputs(
            registry(), experiment(registry(), dir.path(), selection_nodes("per_target") + model_on(input)), "model",
            songs, &how);
        CHECK(by_default == per_target);
        CHECK_THAT(how, Catch::Contains("one pipeline per target (valence, arousal)"));

        // across_targets: union is the behaviour before per-target selection:
        // every model reads all four, and the check above would fail on it.
        const FeaturesByTarget with_union = model_inputs(
            registry(), experiment(registry(), dir.path(), selection_nodes("union") + model_on(input)), "model", songs);
        CHECK(with_union == union_of_targets);
        CHECK(with_union != per_target);
    }
}

TEST_CASE("a model that learns its targets jointly reads the union, and the log says so", "[selection]") {
    // regressor.failing (fail_at_epoch 0: the training mean) does not declare
    // independent_targets, as a network with one output per target would not.
    mer::PluginRegistry with_joint;
    with_joint.scan({plugin_dir(), test_plugin_dir("good")});
    TempDir dir;
    write_selection_table(dir.path());
    const mer::SongTable songs = selection_table(with_joint, dir.path());
    const std::string yaml = selection_nodes("per_target") +
                             "  model: {uses: regressor.failing, inputs: [pearson], params: {fail_at_epoch: 0}}\n";
    std::string how;
    const FeaturesByTarget seen =
        model_inputs(with_joint, experiment(with_joint, dir.path(), yaml), "model", songs, &how);
    CHECK(seen == FeaturesByTarget{{"valence", kBoth}, {"arousal", kBoth}});
    CHECK_THAT(how, Catch::Contains("regressor.failing learns valence/arousal jointly") &&
                        Catch::Contains("a selection keeps the union"));

    // A node that learns one target reads that target's selection, whatever the model.
    const std::string valence_only =
        selection_nodes("per_target") +
        "  model: {uses: regressor.failing, inputs: [pearson], targets: [valence], params: {fail_at_epoch: 0}}\n";
    const mer::SongTable valence_songs = songs.target_columns({0});
    CHECK(model_inputs(with_joint, experiment(with_joint, dir.path(), valence_only), "model", valence_songs, &how) ==
          FeaturesByTarget{{"valence", kValence}});
    CHECK(how.empty());
}

TEST_CASE("per-target pipelines save and load into the same predictions", "[selection][pipeline]") {
    TempDir dir;
    write_selection_table(dir.path());
    const mer::SongTable songs = selection_table(registry(), dir.path());
    const mer::Experiment exp =
        experiment(registry(), dir.path(), selection_nodes("per_target") + model_on("union", "regressor.ridge"));
    const mer::PipelineSpec spec = mer::PipelineSpec::of(exp, exp.node("model"));
    mer::TargetPipelines fitted(spec, registry(), songs.target_names);
    REQUIRE(fitted.per_target());
    std::vector<std::size_t> train, validation;
    for (std::size_t i = 0; i < songs.size(); ++i) (i < 90 ? train : validation).push_back(i);
    Eigen::MatrixXd expected(static_cast<Eigen::Index>(validation.size()), 2);
    for (auto& part : fitted.parts()) {
        const mer::Sides sides = part.pipeline.fit_transforms(
            {songs.rows(train).target_columns(part.targets), songs.rows(validation).target_columns(part.targets)},
            [](const mer::PipelineStep&) { return mer::PluginContext{}; });
        part.pipeline.fit_regressor(exp.node("model").params, sides.first, &sides.second, {}, {});
        expected.col(part.targets.front()) = part.pipeline.predict(sides.second).col(0);
    }
    CHECK(fitted.predict(songs.rows(validation)) == expected);
    fitted.save(dir / "fold0");
    CHECK(fs::is_directory(dir / "fold0" / "target0" / "transforms" / "pearson"));
    CHECK(fs::is_directory(dir / "fold0" / "target1" / "regressor"));

    nlohmann::ordered_json manifest;
    spec.to_json(manifest);
    mer::TargetPipelines reloaded(mer::PipelineSpec::from_json(json::parse(manifest.dump())), registry(),
                                  songs.target_names);
    reloaded.load(dir / "fold0");
    CHECK(reloaded.predict(songs.rows(validation)) == expected);
    // Each target's model predicts from its two features: close to the truth.
    for (Eigen::Index t = 0; t < 2; ++t)
        CHECK((expected.col(t) - songs.rows(validation).targets.col(t)).cwiseAbs().maxCoeff() < 0.5);

    fs::remove_all(dir / "fold0" / "target1");
    mer::TargetPipelines damaged(spec, registry(), songs.target_names);
    CHECK_THROWS_WITH(damaged.load(dir / "fold0"), Catch::Contains("fitted per target, and target1/ is missing"));
}

TEST_CASE("mer-run fits Table 2's selections per target, or the union when asked", "[selection][cli]") {
    TempDir dir;
    write_selection_table(dir.path());
    // phase1-selection.yaml's nodes on the table, and a Pearson selection asked for the union.
    write_file(
        dir / "table2.yaml",
        selection_nodes("per_target") +
            R"(  pearson_union: {uses: transform.select_pearson, inputs: [songs], params: {k: 2, across_targets: union}}
  xgb_pearson: {uses: regressor.xgboost, inputs: [pearson], params: {n_estimators: 40, eta: 0.2}, label: Top 2 Pearson}
  xgb_union: {uses: regressor.xgboost, inputs: [union], params: {n_estimators: 40, eta: 0.2}, label: Union (SHAP + Pearson)}
  xgb_intersection: {uses: regressor.xgboost, inputs: [intersection], params: {n_estimators: 40, eta: 0.2}, label: Intersection Only}
  xgb_pearson_union: {uses: regressor.xgboost, inputs: [pearson_union], params: {n_estimators: 40, eta: 0.2}}
  joint: {uses: regressor.failing, inputs: [pearson], params: {fail_at_epoch: 0}}
evaluation: {split: {kind: kfold, k: 3}}
)");
    const auto r = run_mer({"run", "table2.yaml", "--quiet"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path folder = dir.path() / run_folder_of(r);
    const std::string log = read_file(folder / "log.txt");
    CHECK_THAT(log, Catch::Contains("node 'xgb_pearson': one pipeline per target (valence, arousal)"));
    CHECK_THAT(log, Catch::Contains("validation songs, valence 2, arousal 2 features"));
    CHECK_THAT(log, Catch::Contains("node 'joint': 'pearson' would be fitted per target, but regressor.failing "
                                    "learns valence/arousal jointly"));

    // What each fold's bundle feeds each target's model.
    mer::PluginRegistry with_joint;
    with_joint.scan({plugin_dir(), test_plugin_dir("good")});
    const mer::SongTable songs = selection_table(with_joint, dir.path());
    auto bundle_inputs = [&](const std::string& node, int fold) {
        const json manifest = json::parse(read_file(folder / "model" / node / "model.json"));
        mer::TargetPipelines pipelines(mer::PipelineSpec::from_json(manifest), with_joint, songs.target_names);
        pipelines.load(folder / "model" / node / ("fold" + std::to_string(fold)));
        CHECK(manifest.at("per_target") == pipelines.per_target());
        FeaturesByTarget seen;
        for (const auto& part : pipelines.parts()) {
            const mer::SongTable input = part.pipeline.apply_transforms(songs);
            for (Eigen::Index t : part.targets)
                seen[songs.target_names[static_cast<std::size_t>(t)]] =
                    Features(input.feature_names.begin(), input.feature_names.end());
        }
        return seen;
    };
    for (int fold = 0; fold < 3; ++fold) {
        INFO("fold " << fold);
        for (const char* node : {"xgb_pearson", "xgb_union", "xgb_intersection"}) {
            INFO(node);
            CHECK(bundle_inputs(node, fold) == FeaturesByTarget{{"valence", kValence}, {"arousal", kArousal}});
        }
        CHECK(bundle_inputs("xgb_pearson_union", fold) == FeaturesByTarget{{"valence", kBoth}, {"arousal", kBoth}});
        CHECK(bundle_inputs("joint", fold) == FeaturesByTarget{{"valence", kBoth}, {"arousal", kBoth}});
    }

    // results.csv keeps Table 2's shape: one row per node and target.
    const std::string results = read_file(folder / "results.csv");
    CHECK_THAT(results, Catch::Contains("Top 2 Pearson,regressor.xgboost,xgb_pearson,valence,"));
    CHECK_THAT(results, Catch::Contains("Top 2 Pearson,regressor.xgboost,xgb_pearson,arousal,"));
    const json summary = json::parse(read_file(folder / "summary.json"));
    for (const char* target : {"valence", "arousal"})
        CHECK(summary["nodes"]["xgb_pearson"]["validation"][target]["r2"]["mean"].get<double>() > 0.6);
}

TEST_CASE("mer-run predict rates a bundle fitted per target as the run did", "[selection][predict][cli]") {
    TempDir dir;
    REQUIRE(
        run_mer({"synth", "--out", "corpus", "--songs", "12", "--seconds", "4", "--seed", "9"}, dir.path()).exit_code ==
        0);
    write_file(dir / "exp.yaml", R"(name: rate
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  features: {uses: features.handcrafted, inputs: [data], params: {groups: [mfcc, chroma, contrast]}}
  pearson: {uses: transform.select_pearson, inputs: [features], params: {k: 5}}
  ridge: {uses: regressor.ridge, inputs: [pearson], params: {alpha: 10}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const auto trained = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(trained.err);
    REQUIRE(trained.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(trained);
    REQUIRE(fs::is_directory(run / "model" / "ridge" / "fold0" / "target1"));

    // The run's own validation predictions: song → "valence,arousal".
    std::map<std::string, std::map<std::string, std::string>> expected;
    std::istringstream lines(read_file(run / "predictions.csv"));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
        std::vector<std::string> f;
        std::stringstream cells(line);
        for (std::string cell; std::getline(cells, cell, ',');) f.push_back(cell);
        expected[f[1]][f[3]] = f[5];
    }
    REQUIRE(expected.size() == 3);
    std::vector<std::string> args{"predict", "--model", run.string()};
    for (const auto& [song, _] : expected) args.push_back("corpus/MEMD_audio/" + song + ".mp3");
    const auto rated = run_mer(args, dir.path());
    INFO(rated.err);
    REQUIRE(rated.exit_code == 0);
    std::istringstream out(rated.out);
    std::getline(out, line);
    REQUIRE(line == "path,valence,arousal,quadrant,outside_range,audio_flag,error");
    int checked = 0;
    while (std::getline(out, line)) {
        const std::string song = fs::path(line.substr(0, line.find(','))).stem().string();
        CHECK_THAT(
            line, Catch::Contains("," + expected.at(song).at("valence") + "," + expected.at(song).at("arousal") + ","));
        ++checked;
    }
    CHECK(checked == 3);

    // One target's pipeline missing: refused, naming the folder.
    fs::remove_all(run / "model" / "ridge" / "fold0" / "target1");
    const auto damaged = run_mer({"predict", "--model", run.string(), "corpus/MEMD_audio/1.mp3"}, dir.path());
    CHECK(damaged.exit_code != 0);
    CHECK_THAT(damaged.err, Catch::Contains("fitted per target, and target1/ is missing"));
}
