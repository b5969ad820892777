// The validation protocol: what a model that keeps its best epoch is shown
// (evaluation.early_stopping), checked with a real plugin that records every
// fit's songs; repetitions over seeds; the paired comparison of models.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/data/csv.hpp"
#include "core/eval/paired.hpp"
#include "core/exec/fold_evaluation.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;

namespace {

std::set<std::string> split_ids(const std::string& text) {
    std::set<std::string> out;
    std::stringstream in(text);
    for (std::string id; std::getline(in, id, ',');)
        if (!id.empty()) out.insert(id);
    return out;
}

struct Fit {
    int fold;
    std::set<std::string> train, watched;
};

std::vector<Fit> read_record(const fs::path& file) {
    std::vector<Fit> fits;
    std::stringstream in(read_file(file));
    for (std::string line; std::getline(in, line);) {
        std::stringstream fields(line);
        std::string fold, train, watched;
        std::getline(fields, fold, '\t');
        std::getline(fields, train, '\t');
        std::getline(fields, watched, '\t');
        fits.push_back({std::stoi(fold), split_ids(train), split_ids(watched)});
    }
    return fits;
}

// fold → the songs scored in it, from predictions.csv.
std::map<int, std::set<std::string>> scored_songs(const fs::path& run) {
    std::map<int, std::set<std::string>> out;
    for (const auto& row : mer::read_csv(run / "predictions.csv").rows) out[std::stoi(row[2])].insert(row[1]);
    return out;
}

std::string recording_experiment(const fs::path& record, const std::string& early_stopping) {
    return "name: protocol\nseed: 3\nnodes:\n"
           "  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
           "  model:\n    uses: regressor.recording\n    inputs: [songs]\n"
           "    params: {record: '" +
           record.string() +
           "'}\n"
           "    grid: {epochs: [1, 2]}\n    grid_search: {folds: 3}\n"
           "evaluation: {split: {kind: kfold, k: 4}" +
           early_stopping + "}\n";
}

}  // namespace

TEST_CASE("an inner-split run never shows a model the songs it is scored on before scoring", "[protocol][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    const fs::path record = dir.path() / "inner.tsv";
    write_file(dir / "exp.yaml", recording_experiment(record, ""));
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    const auto scored = scored_songs(run);
    REQUIRE(scored.size() == 4);
    const std::vector<Fit> fits = read_record(record);
    // Per outer fold: 2 candidates × 3 inner folds, then the refit.
    CHECK(fits.size() == 4 * (2 * 3 + 1));
    for (const Fit& fit : fits) {
        INFO("fold " << fit.fold);
        REQUIRE(scored.count(fit.fold) == 1);
        CHECK(!fit.watched.empty());
        for (const auto& song : scored.at(fit.fold)) {
            CHECK(fit.train.count(song) == 0);
            CHECK(fit.watched.count(song) == 0);
        }
        for (const auto& song : fit.watched) CHECK(fit.train.count(song) == 0);
    }
    const mer::CsvTable results = mer::read_csv(run / "results.csv");
    const auto selected_on = static_cast<std::size_t>(results.require_column("selected_on"));
    for (const auto& row : results.rows) CHECK(row[selected_on] == "inner");
    const std::string metrics = read_file(run / "metrics.csv");
    CHECK_THAT(metrics, Catch::Contains(",inner_validation,") && Catch::Contains(",validation,"));

    // on: scored, the report's protocol: the refit watches exactly the songs it is scored on.
    const fs::path scored_record = dir.path() / "scored.tsv";
    write_file(dir / "scored.yaml", recording_experiment(scored_record, ", early_stopping: {on: scored}"));
    const auto s = run_mer({"run", "scored.yaml", "--quiet"}, dir.path(), test_plugin_dir("good").string());
    INFO(s.err);
    REQUIRE(s.exit_code == 0);
    const fs::path scored_run = dir.path() / run_folder_of(s);
    int refits = 0;
    for (const Fit& fit : read_record(scored_record))
        if (fit.train.size() + fit.watched.size() == 40) {  // the refit: every song on one side or the other
            CHECK(fit.watched == scored_songs(scored_run).at(fit.fold));
            ++refits;
        }
    CHECK(refits == 4);
    for (const auto& row : mer::read_csv(scored_run / "results.csv").rows) CHECK(row[selected_on] == "validation");
}

TEST_CASE("seeds repeat every regressor on the same folds and report mean ± std over seeds and folds",
          "[protocol][seeds][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 60);
    const std::string experiment = R"(name: seeds
seed: 9
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  trees:
    uses: regressor.xgboost
    inputs: [songs]
    params: {n_estimators: 20, subsample: 0.5, colsample_bytree: 0.5}
  ridge: {uses: regressor.ridge, inputs: [songs]}
evaluation: {split: {kind: kfold, k: 3}}
)";
    write_file(dir / "exp.yaml", experiment + "seeds: [9, 10, 11]\n");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    const nlohmann::json summary = nlohmann::json::parse(read_file(run / "summary.json"));
    const auto& trees = summary["nodes"]["trees"];
    CHECK(trees["seeds"] == nlohmann::json::array({9, 10, 11}));
    const auto& r2 = trees["validation"]["valence"]["r2"];
    REQUIRE(r2["folds"].size() == 9);  // 3 seeds × 3 folds
    REQUIRE(r2["seed_means"].size() == 3);
    // Sampling differs by seed, so the repetitions differ; ridge has no randomness.
    CHECK(r2["seed_std"].get<double>() > 0);
    CHECK(summary["nodes"]["ridge"]["validation"]["valence"]["r2"]["seed_std"].get<double>() == 0);
    double sum = 0;
    for (const auto& v : r2["folds"]) sum += v.get<double>();
    CHECK(r2["mean"].get<double>() == Approx(sum / 9));

    // The same folds in every repetition: each song is scored once per seed, in the same fold.
    std::map<std::string, std::set<std::string>> folds_of;  // song → "fold" values
    std::map<std::string, int> rows_of;
    for (const auto& row : mer::read_csv(run / "predictions.csv").rows)
        if (row[0] == "trees" && row[3] == "valence") {
            folds_of[row[1]].insert(row[2]);
            ++rows_of[row[1] + "/" + row[6]];
        }
    REQUIRE(folds_of.size() == 60);
    for (const auto& [song, folds] : folds_of) CHECK(folds.size() == 1);
    CHECK(rows_of.size() == 60 * 3);
    // The bundle holds every fold of every seed; predict averages them all.
    CHECK(fs::is_directory(run / "model" / "trees" / "fold8"));

    // The first repetition is the run with that seed alone.
    write_file(dir / "single.yaml", experiment);
    const auto single = run_mer({"run", "single.yaml", "--quiet"}, dir.path());
    REQUIRE(single.exit_code == 0);
    const nlohmann::json alone =
        nlohmann::json::parse(read_file(dir.path() / run_folder_of(single) / "summary.json"));
    const auto first = alone["nodes"]["trees"]["validation"]["valence"]["r2"]["folds"];
    for (std::size_t f = 0; f < 3; ++f) CHECK(first[f].get<double>() == r2["folds"][f].get<double>());
}

TEST_CASE("the corrected resampled t-test matches a hand computation and Student's t table",
          "[protocol][paired]") {
    // Student's t table: two-sided 5 % and 1 % critical values.
    CHECK(mer::student_t_two_sided_p(12.7062, 1) == Approx(0.05).epsilon(1e-4));
    CHECK(mer::student_t_two_sided_p(2.7764, 4) == Approx(0.05).epsilon(1e-3));
    CHECK(mer::student_t_two_sided_p(-2.7764, 4) == Approx(0.05).epsilon(1e-3));
    CHECK(mer::student_t_two_sided_p(4.6041, 4) == Approx(0.01).epsilon(1e-3));
    CHECK(mer::student_t_two_sided_p(2.2281, 10) == Approx(0.05).epsilon(1e-3));
    CHECK(mer::student_t_two_sided_p(0, 7) == Approx(1.0));

    // Five folds: differences 0.1, 0.1, 0.05, 0.1, 0.05 → mean 0.08, s² = 0.003 / 4;
    // corrected variance (1/5 + 1/4) s², t = 0.08 / sqrt(0.45 · 0.00075) = 4.3546.
    const std::vector<double> a{0.5, 0.6, 0.55, 0.7, 0.65}, b{0.4, 0.5, 0.5, 0.6, 0.6};
    const mer::PairedComparison c = mer::corrected_paired_t(a, b, 1.0 / 4);
    CHECK(c.runs == 5);
    CHECK(c.mean_diff == Approx(0.08));
    CHECK(c.diff_std == Approx(std::sqrt(0.003 / 4)));
    CHECK(c.t == Approx(0.08 / std::sqrt(0.45 * 0.00075)));
    CHECK(c.t == Approx(4.3546).epsilon(1e-4));
    // Between the 1 % (4.6041) and 2 % (3.7469) two-sided critical values for 4 df.
    CHECK(c.p > 0.01);
    CHECK(c.p < 0.02);
    // The uncorrected test would be far more confident.
    const mer::PairedComparison plain = mer::corrected_paired_t(a, b, 0);
    CHECK(plain.p < c.p);
    // One run, or identical differences: no test.
    CHECK(std::isnan(mer::corrected_paired_t({0.5}, {0.4}, 0.25).p));
}

TEST_CASE("a run compares every pair of models on the same folds in comparisons.csv", "[protocol][paired][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 60);
    write_file(dir / "exp.yaml", R"(name: paired
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  ridge: {uses: regressor.ridge, inputs: [songs]}
  mean: {uses: regressor.mean, inputs: [songs]}
  arousal_only: {uses: regressor.ridge, inputs: [songs], targets: [arousal]}
evaluation: {split: {kind: kfold, k: 5}}
)");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    const nlohmann::json summary = nlohmann::json::parse(read_file(run / "summary.json"));
    const mer::CsvTable table = mer::read_csv(run / "comparisons.csv");
    CHECK(table.header == mer::comparison_columns());
    std::set<std::string> pairs;
    for (const auto& row : table.rows) {
        pairs.insert(row[0] + "/" + row[1] + "/" + row[2]);
        if (row[0] != "ridge" || row[1] != "mean") continue;
        // The figures from summary.json's per-fold R² through the test by hand.
        const auto ridge = summary["nodes"]["ridge"]["validation"][row[2]]["r2"]["folds"].get<std::vector<double>>();
        const auto mean = summary["nodes"]["mean"]["validation"][row[2]]["r2"]["folds"].get<std::vector<double>>();
        const mer::PairedComparison c = mer::corrected_paired_t(ridge, mean, 12.0 / 48.0);
        CHECK(row[4] == "5");
        CHECK(std::stod(row[7]) == Approx(c.mean_diff));
        CHECK(std::stod(row[9]) == Approx(c.t));
        CHECK(std::stod(row[11]) == Approx(c.p));
        CHECK(std::stod(row[7]) > 0.3);  // ridge learns the synthetic targets, the mean cannot
        CHECK(std::stod(row[11]) < 0.01);
    }
    // A node on one target pairs on that target only.
    CHECK(pairs == std::set<std::string>{"ridge/mean/valence", "ridge/mean/arousal", "ridge/arousal_only/arousal",
                                         "mean/arousal_only/arousal"});
}
