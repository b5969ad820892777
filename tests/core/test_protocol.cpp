// The validation protocol: what a model that keeps its best epoch is shown
// (evaluation.early_stopping), checked with a real plugin that records every
// fit's songs.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>

#include "core/data/csv.hpp"
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
