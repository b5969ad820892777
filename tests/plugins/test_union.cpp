// dataset.union over synthetic corpora in the DEAM (1-9), PMEmo (0-1) and
// EmoMusic (1-9, its 2 Hz ratings -1..1) layouts: every label lands on the
// common scale exactly, static and 2 Hz alike, and the same synthetic song
// gets the same rating from every corpus; ids are unique, each naming its
// source. Splits by source: by_source trains only on its train sources and
// scores only its test sources (the recording regressor says what each fit
// saw), leave_one_source_out gives one fold per source, results.csv and
// summary.json carry per-source rows that add up to the pooled ones, and
// predict says it rates on the union's scale. Validation names the keys.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/data/csv.hpp"
#include "core/data/sources.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kLayouts{"deam", "pmemo", "emomusic"};
constexpr int kSongs = 7;

// The three corpora, the same seven synthetic songs each, in cwd/<layout>/.
void synth_all(const fs::path& cwd) {
    for (const auto& layout : kLayouts) {
        const auto r = run_mer({"synth", "--out", layout, "--layout", layout, "--songs", std::to_string(kSongs),
                                "--seconds", "17", "--seed", "3", "--threads", "1"},
                               cwd);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
}

mer::PluginContext quiet_context() {
    mer::PluginContext ctx;
    ctx.node = "all";
    ctx.log = [](const std::string&) {};
    ctx.skip = [](const std::string& song, const std::string&, const std::string& reason) {
        FAIL("song " << song << " skipped: " << reason);
    };
    return ctx;
}

struct Loaded {
    std::string node;
    mer::SongTable table;
    json range;
};

Loaded load(const std::string& layout, const fs::path& root) {
    const std::string plugin = "dataset." + layout;
    const auto dataset = registry().create<mer::DatasetPlugin>(
        plugin, with_defaults(plugin, {{"root", root.string()}, {"dynamic", true}}));
    return {layout, dataset->load(quiet_context()), dataset->query(mer::capability::kLabelRange)};
}

// x on [low, high] at the same place on [to_low, to_high], written out here
// independently of the plugin.
double on_scale(double x, const json& range, double to_low, double to_high) {
    const double low = range[0].get<double>(), high = range[1].get<double>();
    return to_low + (to_high - to_low) * (x - low) / (high - low);
}

std::string corpora_nodes() {
    return "  deam: {uses: dataset.deam, params: {root: deam}}\n"
           "  pmemo: {uses: dataset.pmemo, params: {root: pmemo}}\n"
           "  emomusic: {uses: dataset.emomusic, params: {root: emomusic}}\n"
           "  all: {uses: dataset.union, inputs: [deam, pmemo, emomusic], params: {scale: [-1, 1]}}\n"
           "  hc: {uses: features.handcrafted, inputs: [all]}\n";
}

std::string recording_node(const std::string& id, const fs::path& record) {
    return "  " + id + ":\n    uses: regressor.recording\n    inputs: [hc]\n    params: {record: '" + record.string() +
           "'}\n";
}

// One line of the recording regressor's file per fit: fold, training songs, watched songs.
struct Fit {
    int fold;
    std::set<std::string> train;
};
std::vector<Fit> read_record(const fs::path& file) {
    std::vector<Fit> fits;
    std::istringstream lines(read_file(file));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string fold, train;
        std::getline(fields, fold, '\t');
        std::getline(fields, train, '\t');
        Fit fit{std::stoi(fold), {}};
        std::istringstream songs(train);
        for (std::string song; std::getline(songs, song, ',');) fit.train.insert(song);
        fits.push_back(std::move(fit));
    }
    return fits;
}

std::string source_of(const std::string& id) {
    return id.substr(0, id.find('/'));
}

// fold → the sources of the songs predictions.csv scored in it.
std::map<int, std::set<std::string>> scored_sources(const fs::path& run) {
    const mer::CsvTable p = mer::read_csv(run / "predictions.csv");
    const auto song = static_cast<std::size_t>(p.require_column("song_id")),
               fold = static_cast<std::size_t>(p.require_column("fold"));
    std::map<int, std::set<std::string>> out;
    for (const auto& row : p.rows) out[std::stoi(row[fold])].insert(source_of(row[song]));
    return out;
}

}  // namespace

TEST_CASE("dataset.union maps DEAM, PMEmo and EmoMusic onto one scale with unique ids per source",
          "[dataset.union][synth]") {
    TempDir dir;
    synth_all(dir.path());
    std::vector<Loaded> corpora;
    for (const auto& layout : kLayouts) corpora.push_back(load(layout, dir / layout));
    // The corpora really are on different scales: the positive control of the mapping.
    CHECK(corpora[0].range["valence"] == json{1, 9});
    CHECK(corpora[1].range["valence"] == json{0, 1});

    for (const auto& [scale, low, high] :
         {std::tuple{json{-1, 1}, -1.0, 1.0}, std::tuple{json("nine_point"), 1.0, 9.0}}) {
        INFO("scale " << scale.dump());
        const auto stacker = registry().create<mer::CombiningDataset>(
            "dataset.union", with_defaults("dataset.union", {{"scale", scale}}));
        std::vector<mer::DatasetInput> inputs;
        for (const auto& c : corpora) inputs.push_back({c.node, &c.table, c.range});
        const mer::SongTable u = stacker->combine(inputs, quiet_context());
        u.check_shapes("union");
        CHECK(stacker->query(mer::capability::kLabelRange) == json{{"valence", {low, high}}, {"arousal", {low, high}}});
        REQUIRE(u.size() == 3 * kSongs);
        CHECK(std::set<std::string>(u.song_ids.begin(), u.song_ids.end()).size() == u.size());
        const std::vector<std::string> sources = mer::song_sources(u, true);
        REQUIRE(u.dynamic.size() == u.size());
        std::size_t row = 0;
        for (const auto& c : corpora) {
            for (std::size_t s = 0; s < c.table.size(); ++s, ++row) {
                INFO(c.node << " song " << c.table.song_ids[s]);
                CHECK(u.song_ids[row] == c.node + "/" + c.table.song_ids[s]);
                CHECK(sources[row] == c.node);
                CHECK(u.groups[row] == c.node + "/" + c.table.groups[s]);
                CHECK(u.audio_paths[row] == c.table.audio_paths[s]);
                for (Eigen::Index t = 0; t < 2; ++t) {
                    const std::string& target = u.target_names[static_cast<std::size_t>(t)];
                    const Eigen::Index ct = c.table.target_index(target);
                    const double expected =
                        on_scale(c.table.targets(static_cast<Eigen::Index>(s), ct), c.range[target], low, high);
                    CHECK(u.targets(static_cast<Eigen::Index>(row), t) == Approx(expected).margin(1e-12));
                    CHECK(u.targets(static_cast<Eigen::Index>(row), t) >= low);
                    CHECK(u.targets(static_cast<Eigen::Index>(row), t) <= high);
                    const auto& d = c.table.dynamic[s].values;
                    REQUIRE(u.dynamic[row].values.rows() == d.rows());
                    for (Eigen::Index f = 0; f < d.rows(); ++f)
                        CHECK(u.dynamic[row].values(f, t) ==
                              Approx(on_scale(d(f, ct), c.range[target], low, high)).margin(1e-12));
                }
            }
        }
        // The same synthetic song from each corpus: one rating on the common scale (up to each
        // release's rounding: EmoMusic writes one decimal on 1-9).
        for (int s = 0; s < kSongs; ++s)
            for (Eigen::Index t = 0; t < 2; ++t) {
                INFO("song " << s + 1 << " target " << t);
                const double deam = u.targets(s, t), pmemo = u.targets(kSongs + s, t),
                             emomusic = u.targets(2 * kSongs + s, t);
                CHECK(pmemo == Approx(deam).margin(0.01 * (high - low)));
                CHECK(emomusic == Approx(deam).margin(0.01 * (high - low)));
            }
    }
}

TEST_CASE("by_source trains on the train sources only and scores the test source, and predict names the scale",
          "[dataset.union][splits][cli][synth]") {
    TempDir dir;
    synth_all(dir.path());
    const fs::path record = dir / "fits.tsv";
    write_file(dir / "exp.yaml",
               "name: cross\nseed: 3\nnodes:\n" + corpora_nodes() + recording_node("model", record) +
                   "evaluation: {split: {kind: by_source, train: [deam, pmemo], test: [emomusic]}}\n");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir / run_folder_of(r);
    const std::vector<Fit> fits = read_record(record);
    REQUIRE(fits.size() == 1);  // one fold, no grid
    std::set<std::string> trained;
    for (const auto& song : fits[0].train) trained.insert(source_of(song));
    CHECK(trained == std::set<std::string>{"deam", "pmemo"});
    CHECK(scored_sources(run) == std::map<int, std::set<std::string>>{{0, {"emomusic"}}});

    // results.csv: the pooled row and the test source's row, the same fold.
    const mer::CsvTable results = mer::read_csv(run / "results.csv");
    CHECK(results.header == std::vector<std::string>{"feature_set", "model", "node", "target", "level", "source", "r2",
                                                     "r2_std", "mae", "mae_std", "rmse", "rmse_std", "selected_on",
                                                     "selected_params"});
    const auto source = static_cast<std::size_t>(results.require_column("source")),
               mae = static_cast<std::size_t>(results.require_column("mae"));
    REQUIRE(results.rows.size() == 4);  // 2 targets × (pooled, emomusic)
    CHECK(results.rows[0][source].empty());
    CHECK(results.rows[1][source] == "emomusic");
    CHECK(results.rows[0][mae] == results.rows[1][mae]);

    const json model = json::parse(read_file(run / "model" / "model" / "model.json"));
    CHECK(model["sources"] ==
          json{{"node", "all"}, {"uses", "dataset.union"}, {"inputs", {"deam", "pmemo", "emomusic"}}});
    CHECK(model["targets"][0]["label_range"] == json{-1, 1});
    const auto p = run_mer({"predict", "--model", run.string(), (dir / "pmemo" / "chorus" / "1.mp3").string()},
                           dir.path(), test_plugin_dir("good").string());
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    CHECK_THAT(p.err, Catch::Contains("common scale of dataset.union node 'all' (valence [-1, 1], arousal [-1, 1])"));
    CHECK_THAT(read_file(run / "report.html"), Catch::Contains("Per source"));
}

TEST_CASE("leave_one_source_out gives one fold per source, and the per-source scores add up to the pooled ones",
          "[dataset.union][splits][cli][synth]") {
    TempDir dir;
    synth_all(dir.path());
    const fs::path record = dir / "fits.tsv";
    write_file(dir / "exp.yaml", "name: loso\nseed: 3\nnodes:\n" + corpora_nodes() + recording_node("model", record) +
                                     "  ridge: {uses: regressor.ridge, inputs: [hc]}\n"
                                     "evaluation: {split: {kind: leave_one_source_out}}\n");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir / run_folder_of(r);
    const auto scored = scored_sources(run);
    REQUIRE(scored.size() == 3);
    std::set<std::string> held_out;
    for (const Fit& fit : read_record(record)) {
        INFO("fold " << fit.fold);
        REQUIRE(scored.at(fit.fold).size() == 1);
        const std::string source = *scored.at(fit.fold).begin();
        held_out.insert(source);
        std::set<std::string> trained;
        for (const auto& song : fit.train) trained.insert(source_of(song));
        CHECK(trained.size() == 2);
        CHECK(trained.count(source) == 0);
    }
    CHECK(held_out == std::set<std::string>{"deam", "pmemo", "emomusic"});

    const json summary = json::parse(read_file(run / "summary.json"));
    for (const char* node : {"model", "ridge"})
        for (const char* target : {"valence", "arousal"})
            for (const char* metric : {"r2", "mae", "rmse"}) {
                INFO(node << " " << target << " " << metric);
                const json& entry = summary["nodes"][node];
                CHECK(entry["folds"] == 3);
                const json& pooled = entry["validation"][target][metric];
                double sum = 0;
                int k = 0;
                for (const char* source : {"deam", "pmemo", "emomusic"}) {
                    const json& one = entry["sources"][source][target][metric];
                    REQUIRE(one["folds"].size() == 1);
                    CHECK(one["folds"][0] == pooled["folds"][k++]);
                    sum += one["mean"].get<double>();
                }
                CHECK(sum / 3 == Approx(pooled["mean"].get<double>()));
            }
    const mer::CsvTable results = mer::read_csv(run / "results.csv");
    CHECK(results.rows.size() == 2 * 2 * 4);  // nodes × targets × (pooled + 3 sources)
}

TEST_CASE("splits by source and unions are checked before anything runs, naming the key",
          "[dataset.union][splits][validation][synth]") {
    TempDir dir;
    synth_all(dir.path());
    write_synthetic_table(dir.path(), 20);
    auto validate = [&](const std::string& nodes, const std::string& split) {
        write_file(dir / "exp.yaml",
                   "name: bad\nnodes:\n" + nodes +
                       "  ridge: {uses: regressor.ridge, inputs: [hc]}\nevaluation: {split: " + split + "}\n");
        return run_mer({"validate", "exp.yaml"}, dir.path());
    };
    const auto unknown = validate(corpora_nodes(), "{kind: by_source, train: [deam, pmem], test: [emomusic]}");
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("evaluation.split.train: 'pmem' is not a source") &&
                                Catch::Contains("(did you mean 'pmemo'?)"));
    const auto both = validate(corpora_nodes(), "{kind: by_source, train: [deam, pmemo], test: [pmemo]}");
    CHECK(both.exit_code == 2);
    CHECK_THAT(both.err, Catch::Contains("evaluation.split.test: 'pmemo' is in train too"));
    const auto lists = validate(corpora_nodes(), "{kind: kfold, train: [deam]}");
    CHECK_THAT(lists.err, Catch::Contains("evaluation.split.train: only kind by_source takes source lists"));
    const auto missing = validate(corpora_nodes(), "{kind: by_source, train: [deam]}");
    CHECK_THAT(missing.err, Catch::Contains("evaluation.split.test: kind by_source needs the sources"));
    const std::string one =
        "  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
        "  hc: {uses: transform.standardize, inputs: [songs]}\n";
    const auto no_union = validate(one, "{kind: leave_one_source_out}");
    CHECK_THAT(no_union.err, Catch::Contains("no node stacks datasets"));
    // An input that declares no scale cannot be mapped.
    const auto undeclared = validate(
        "  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
        "  deam: {uses: dataset.deam, params: {root: deam}}\n"
        "  all: {uses: dataset.union, inputs: [deam, songs]}\n"
        "  hc: {uses: features.handcrafted, inputs: [all]}\n",
        "{kind: holdout}");
    CHECK(undeclared.exit_code == 2);
    CHECK_THAT(undeclared.err, Catch::Contains("input 'songs' (dataset.table) declares no scale for valence, arousal"));
    const auto single = validate(
        "  deam: {uses: dataset.deam, params: {root: deam}}\n"
        "  all: {uses: dataset.union, inputs: [deam]}\n"
        "  hc: {uses: features.handcrafted, inputs: [all]}\n",
        "{kind: holdout}");
    CHECK_THAT(single.err, Catch::Contains("stacks two or more dataset nodes"));
    // A positive control: the corpora and union validate.
    CHECK(validate(corpora_nodes(), "{kind: by_source, train: [deam, pmemo], test: [emomusic]}").exit_code == 0);
}
