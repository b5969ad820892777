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
#include "core/eval/run_reader.hpp"
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

    // on: scored, the paper's protocol: the refit watches exactly the songs it is scored on.
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

TEST_CASE("seeds repeat every regressor on folds of their own and report mean ± std over seeds and folds",
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
    // Sampling and folds differ by seed, so the repetitions differ; even ridge, which has no
    // randomness of its own, scores differently on each repetition's folds.
    CHECK(r2["seed_std"].get<double>() > 0);
    CHECK(summary["nodes"]["ridge"]["validation"]["valence"]["r2"]["seed_std"].get<double>() > 0);
    double sum = 0;
    for (const auto& v : r2["folds"]) sum += v.get<double>();
    CHECK(r2["mean"].get<double>() == Approx(sum / 9));

    // Repeated k-fold: every song is scored once per seed, and each seed deals the songs to folds of
    // its own (as partitions: which songs share a fold), so the repetitions are resamples.
    CHECK(trees["resampled"] == true);
    std::map<std::string, std::map<std::string, std::set<std::string>>> partition;  // seed → fold → songs
    std::map<std::string, int> rows_of;
    for (const auto& row : mer::read_csv(run / "predictions.csv").rows)
        if (row[0] == "trees" && row[3] == "valence") {
            partition[row[6]][row[2]].insert(row[1]);
            ++rows_of[row[1] + "/" + row[6]];
        }
    CHECK(rows_of.size() == 60 * 3);
    for (const auto& [song_seed, count] : rows_of) CHECK(count == 1);
    REQUIRE(partition.size() == 3);
    auto folds_as_sets = [&](const std::string& seed) {
        std::set<std::set<std::string>> out;
        for (const auto& [fold, songs] : partition.at(seed)) out.insert(songs);
        return out;
    };
    CHECK(folds_as_sets("9") != folds_as_sets("10"));
    CHECK(folds_as_sets("10") != folds_as_sets("11"));
    CHECK(folds_as_sets("9") != folds_as_sets("11"));
    // The corrected repeated k-fold test over k · r = 9 paired scores: 8 degrees of freedom.
    bool compared = false;
    for (const auto& row : mer::read_csv(run / "comparisons.csv").rows)
        if (row[0] == "trees" && row[1] == "ridge" && row[2] == "valence") {
            compared = true;
            CHECK(row[4] == "9");
            CHECK(row[10] == "8");
            CHECK_FALSE(row[11].empty());
        }
    CHECK(compared);
    // The bundle holds every fold of every seed; predict averages them all.
    CHECK(fs::is_directory(run / "model" / "trees" / "fold8"));

    // The first repetition is the run with that seed alone: its folds and its scores.
    write_file(dir / "single.yaml", experiment);
    const auto single = run_mer({"run", "single.yaml", "--quiet"}, dir.path());
    REQUIRE(single.exit_code == 0);
    const nlohmann::json alone =
        nlohmann::json::parse(read_file(dir.path() / run_folder_of(single) / "summary.json"));
    const auto first = alone["nodes"]["trees"]["validation"]["valence"]["r2"]["folds"];
    for (std::size_t f = 0; f < 3; ++f) CHECK(first[f].get<double>() == r2["folds"][f].get<double>());
    std::set<std::set<std::string>> single_folds;
    std::map<std::string, std::set<std::string>> single_partition;
    for (const auto& row : mer::read_csv(dir.path() / run_folder_of(single) / "predictions.csv").rows)
        if (row[0] == "trees" && row[3] == "valence") single_partition[row[2]].insert(row[1]);
    for (const auto& [fold, songs] : single_partition) single_folds.insert(songs);
    CHECK(single_folds == folds_as_sets("9"));
}

TEST_CASE("seeds over one holdout split measure initialisation alone: no p-value", "[protocol][seeds][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    write_file(dir / "exp.yaml", R"(name: holdout-seeds
seed: 4
seeds: [4, 5, 6]
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  trees:
    uses: regressor.xgboost
    inputs: [songs]
    params: {n_estimators: 10, subsample: 0.5}
  ridge: {uses: regressor.ridge, inputs: [songs]}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    const nlohmann::ordered_json summary = nlohmann::ordered_json::parse(read_file(run / "summary.json"));
    CHECK(summary["nodes"]["trees"]["resampled"] == false);
    CHECK_FALSE(mer::scores_are_resamples(summary["nodes"]["trees"]));
    // Every seed scores the same held-out songs.
    std::map<std::string, std::set<std::string>> scored;  // seed → songs
    for (const auto& row : mer::read_csv(run / "predictions.csv").rows)
        if (row[0] == "trees" && row[3] == "valence") scored[row[6]].insert(row[1]);
    REQUIRE(scored.size() == 3);
    CHECK(scored.at("4") == scored.at("5"));
    CHECK(scored.at("5") == scored.at("6"));
    // comparisons.csv keeps the difference and its spread, and gives no t, df or p.
    const mer::CsvTable table = mer::read_csv(run / "comparisons.csv");
    REQUIRE_FALSE(table.rows.empty());
    for (const auto& row : table.rows) {
        CHECK(row[4] == "3");
        CHECK_FALSE(row[7].empty());
        CHECK(row[9].empty());
        CHECK(row[10].empty());
        CHECK(row[11].empty());
    }
    // The report says what the spread means.
    CHECK_THAT(read_file(run / "report.html"), Catch::Contains("initialisation noise alone"));
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

    // Repeated 2-fold, r = 2 (Bouckaert & Frank): differences 0.1, 0.2, 0.1, 0.2 → mean 0.15,
    // s² = 4 · 0.05² / 3; variance (1/(k·r) + n_test/n_train) s² = (1/4 + 1) s², t = 2.3238 on
    // k·r − 1 = 3 degrees of freedom: between the 10 % (2.3534) and 20 % (1.6377) critical values.
    const mer::PairedComparison repeated =
        mer::corrected_paired_t({0.5, 0.6, 0.7, 0.8}, {0.4, 0.4, 0.6, 0.6}, 1.0);
    CHECK(repeated.runs == 4);
    CHECK(repeated.mean_diff == Approx(0.15));
    CHECK(repeated.t == Approx(0.15 / std::sqrt(1.25 * 4 * 0.0025 / 3)));
    CHECK(repeated.t == Approx(2.3238).epsilon(1e-4));
    CHECK(repeated.p > 0.10);
    CHECK(repeated.p < 0.20);
    CHECK(repeated.p == Approx(mer::student_t_two_sided_p(repeated.t, 3)));
    // Which summaries are resamples: k-fold (repeated on folds of their own), not repeats of one split.
    using oj = nlohmann::ordered_json;
    CHECK(mer::scores_are_resamples(oj{{"folds", 5}}));
    CHECK(mer::scores_are_resamples(oj{{"folds", 5}, {"seeds", {1, 2}}, {"resampled", true}}));
    CHECK_FALSE(mer::scores_are_resamples(oj{{"folds", 5}, {"seeds", {1, 2}}}));  // written before repetitions resampled
    CHECK_FALSE(mer::scores_are_resamples(oj{{"folds", 1}, {"seeds", {1, 2}}, {"resampled", false}}));
    CHECK_FALSE(mer::scores_are_resamples(oj{{"folds", 1}}));
}

TEST_CASE("the nodes of one experiment hold out and search on the same songs", "[protocol][paired][cli]") {
    // Early-stopping holdouts and grid-search inner folds come from the seed and the fold, not the
    // node: two models of one experiment see identical inner splits, so their comparison is paired.
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    const fs::path record_a = dir.path() / "a.tsv", record_b = dir.path() / "b.tsv";
    auto node = [](const std::string& id, const fs::path& record) {
        return "  " + id + ":\n    uses: regressor.recording\n    inputs: [songs]\n    params: {record: '" +
               record.string() + "'}\n    grid: {epochs: [1, 2]}\n    grid_search: {folds: 3}\n";
    };
    write_file(dir / "exp.yaml", "name: paired-splits\nseed: 3\nseeds: [3, 8]\nnodes:\n"
                                 "  songs: {uses: dataset.table, params: {path: songs.csv}}\n" +
                                     node("first", record_a) + node("second", record_b) +
                                     "evaluation: {split: {kind: kfold, k: 4}}\n");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::vector<Fit> a = read_record(record_a), b = read_record(record_b);
    // 2 seeds × 4 outer folds × (2 candidates × 3 inner folds + the refit).
    REQUIRE(a.size() == 2 * 4 * 7);
    REQUIRE(b.size() == a.size());
    std::set<std::string> distinct_watched;
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("fit " << i);
        CHECK(a[i].fold == b[i].fold);
        CHECK(a[i].train == b[i].train);
        CHECK(a[i].watched == b[i].watched);
        std::string key;
        for (const auto& song : a[i].watched) key += song + ",";
        distinct_watched.insert(key);
    }
    // A positive control: the holdouts do differ from fit to fit (they are drawn, not fixed).
    CHECK(distinct_watched.size() > 8);
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

TEST_CASE("the report names the epoch the training loop kept, not one derived again", "[protocol][report]") {
    // A sequence model keeps the epoch best on frame-level R²; its song-level rows may peak elsewhere.
    // metrics.csv's best column carries the loop's choice and the report reads it.
    TempDir dir;
    write_file(dir / "metrics.csv",
               "node,model,fold,epoch,split,target,loss,r2,rmse,mae,mse,pearson,ccc,seed,best\n"
               "gru,regressor.seq_gru,0,1,inner_validation,valence,,0.9,0,0,0,0,0,5,\n"
               "gru,regressor.seq_gru,0,1,inner_validation_frames,valence,,0.1,0,0,0,0,0,5,\n"
               "gru,regressor.seq_gru,0,2,inner_validation,valence,,0.2,0,0,0,0,0,5,1\n"
               "gru,regressor.seq_gru,0,2,inner_validation_frames,valence,,0.7,0,0,0,0,0,5,1\n");
    const mer::BestEpochs best = mer::best_epochs(mer::read_epochs(dir.path()));
    CHECK(best.at("gru").at("5/0") == 2);
    // A run folder from before the column: derived from the song-level rows, as then.
    fs::create_directories(dir / "old");
    write_file(dir / "old" / "metrics.csv",
               "node,model,fold,epoch,split,target,loss,r2,rmse,mae,mse,pearson,ccc,seed\n"
               "gru,regressor.seq_gru,0,1,inner_validation,valence,,0.9,0,0,0,0,0,5\n"
               "gru,regressor.seq_gru,0,2,inner_validation,valence,,0.2,0,0,0,0,0,5\n");
    CHECK(mer::best_epochs(mer::read_epochs(dir / "old")).at("gru").at("5/0") == 1);
}

TEST_CASE("the epoch a model's loop keeps is the one every output names", "[protocol][cli]") {
    // The recording model scores every epoch alike (the host alone would keep epoch 1) and says it
    // keeps epoch 3: summary.json, metrics.csv's best rows and the report must all say 3.
    TempDir dir;
    write_synthetic_table(dir.path(), 30);
    const fs::path record = dir.path() / "kept.tsv";
    write_file(dir / "exp.yaml", "name: kept\nseed: 3\nnodes:\n"
                                 "  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
                                 "  model:\n    uses: regressor.recording\n    inputs: [songs]\n"
                                 "    params: {record: '" + record.string() + "', epochs: 4, kept_epoch: 3}\n"
                                 "evaluation: {split: {kind: kfold, k: 3}}\n");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    const nlohmann::json summary = nlohmann::json::parse(read_file(run / "summary.json"));
    CHECK(summary["nodes"]["model"]["best_epoch"]["epoch"] == nlohmann::json::array({3, 3, 3}));
    CHECK(summary["nodes"]["model"]["best_epoch"]["epochs"] == nlohmann::json::array({4, 4, 4}));
    const mer::CsvTable metrics = mer::read_csv(run / "metrics.csv");
    const auto epoch = static_cast<std::size_t>(metrics.require_column("epoch")),
               best = static_cast<std::size_t>(metrics.require_column("best"));
    int marked = 0;
    for (const auto& row : metrics.rows)
        if (row[best] == "1") {
            CHECK(row[epoch] == "3");
            ++marked;
        }
    CHECK(marked > 0);
    const mer::BestEpochs kept = mer::best_epochs(mer::read_epochs(run));
    for (int k = 0; k < 3; ++k) CHECK(kept.at("model").at("3/" + std::to_string(k)) == 3);
}
