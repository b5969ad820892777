// A sweep's report.html (leaderboard, score against each swept key, the top
// trials' validation curves, ASHA's rungs) and the comparison page of
// several runs (one results table, overlaid curves, paired differences).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/error.hpp"
#include "core/eval/paired.hpp"
#include "core/report/report.hpp"
#include "core/report/run_data.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using report::DataTable;
using report::plot_number;

namespace {

constexpr std::size_t kTopTrials = 5;

std::string metric_label(const std::string& metric) { return metric == "r2" ? "R²" : metric; }

// A run's resolved experiment (its manifest's "config" file, config.yaml) as
// dotted key → value, in the file's order; a list or any other non-mapping
// value is one value, written as YAML flow ([r2, ccc]).
using FlatConfig = std::vector<std::pair<std::string, std::string>>;

void flatten(const YAML::Node& node, const std::string& prefix, FlatConfig& out) {
    if (node.IsMap() && node.size() > 0) {
        for (const auto& kv : node)
            flatten(kv.second, prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar(), out);
        return;
    }
    YAML::Emitter text;
    text << YAML::Flow << node;
    out.emplace_back(prefix, node.IsNull() ? "null" : text.c_str());
}

// The config, or the reason there is none to compare.
FlatConfig read_config(const RunManifest& manifest, std::string& problem) {
    FlatConfig out;
    const auto entries = manifest.of("config");
    if (entries.empty() || !fs::exists(manifest.dir / entries.front().file)) {
        problem = "no config.yaml in run.json or on disk";
        return out;
    }
    try {
        flatten(YAML::LoadFile((manifest.dir / entries.front().file).string()), "", out);
    } catch (const YAML::Exception& e) {
        problem = entries.front().file + " could not be read: " + e.what();
    }
    return out;
}

// ---- The sweep page ----

// trials.csv and the columns of it every section reads.
struct Trials {
    CsvTable table;
    int trial, status, metric, folder;

    const std::string& cell(const std::vector<std::string>& row, int column) const {
        return row[static_cast<std::size_t>(column)];
    }
};

Trials read_trials(const fs::path& sweep_dir) {
    if (!fs::exists(sweep_dir / "trials.csv"))
        throw Error(sweep_dir.string() + " has no trials.csv yet (mer-run sweep --status " + sweep_dir.string() +
                    " writes it)");
    CsvTable table = read_csv(sweep_dir / "trials.csv");
    const int col_trial = table.require_column("trial"), col_status = table.require_column("status"),
              col_metric = table.require_column("metric"), col_folder = table.require_column("folder");
    return {std::move(table), col_trial, col_status, col_metric, col_folder};
}

// "3 done, 1 stopped": how many trials are in each status.
std::string status_counts(const Trials& trials) {
    std::map<std::string, int> statuses;
    for (const auto& row : trials.table.rows) ++statuses[trials.cell(row, trials.status)];
    std::string counts;
    for (const auto& [status, n] : statuses) counts += (counts.empty() ? "" : ", ") + fmt::format("{} {}", n, status);
    return counts;
}

// The trials' rows, best first by the sweep's metric (unscored trials last, in file order).
std::vector<std::size_t> leaderboard_order(const Trials& trials, bool maximize) {
    std::vector<std::size_t> order(trials.table.rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto score = [&](std::size_t i) {
        const double v = cell_number(trials.cell(trials.table.rows[i], trials.metric));
        return std::isfinite(v) ? (maximize ? v : -v) : -INFINITY;
    };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score(a) > score(b); });
    return order;
}

report::Table leaderboard(const Trials& trials, const std::vector<std::size_t>& order) {
    report::Table board{trials.table.header, {}, true};
    board.columns.insert(board.columns.begin(), "rank");
    for (std::size_t k = 0; k < order.size(); ++k) {
        std::vector<std::string> row = trials.table.rows[order[k]];
        // Scores to 4 decimals on screen; trials.csv keeps every digit.
        for (auto& cell : row)
            if (cell.find('.') != std::string::npos && std::isfinite(cell_number(cell)) && cell.size() > 8)
                cell = fmt::format("{:.4f}", cell_number(cell));
        row.insert(row.begin(), std::to_string(k + 1));
        board.rows.push_back(std::move(row));
    }
    return board;
}

// The keys the sweep varies: its grid's, zip's and random draws'.
std::vector<std::string> swept_keys(const ojson& spec) {
    std::vector<std::string> swept;
    for (const auto& [key, values] : report::member(spec, "grid").items()) swept.push_back(key);
    for (const auto& [key, values] : report::member(spec, "zip").items()) swept.push_back(key);
    const ojson random = spec.value("random", ojson::object());
    if (random.contains("params"))
        for (const auto& [key, values] : random["params"].items()) swept.push_back(key);
    return swept;
}

// Score against each swept key (the columns between metric and the per-node scores).
void add_swept_key_figure(report::Page& page, const Trials& trials, const std::vector<std::string>& swept,
                          const std::string& metric) {
    DataTable data{{"trial", "key", "value", "order", "metric", "status"}, {}};
    for (const auto& key : swept) {
        const int col = trials.table.column(key);
        if (col < 0) continue;
        for (const auto& row : trials.table.rows) {
            const double m = cell_number(trials.cell(row, trials.metric));
            if (!std::isfinite(m)) continue;
            const std::string& text = trials.cell(row, col);
            const double as_number = cell_number(text);
            data.add({trials.cell(row, trials.trial), key, text,
                      std::isfinite(as_number) ? json(as_number) : json(text), plot_number(m),
                      trials.cell(row, trials.status)});
        }
    }
    if (data.rows.empty()) return;
    const json x = {{"field", "value"}, {"type", "ordinal"}, {"sort", {{"field", "order"}}}, {"title", nullptr}};
    json chart = {
        {"facet", {{"column", {{"field", "key"}, {"type", "nominal"}, {"title", "swept key"}}}}},
        {"spec",
         {{"width", 240},
          {"height", 220},
          {"layer",
           json::array(
               {{{"mark", {{"type", "point"}, {"filled", true}, {"size", 40}}},
                 {"encoding",
                  {{"x", x},
                   {"y",
                    {{"field", "metric"}, {"type", "quantitative"}, {"title", metric}, {"scale", {{"zero", false}}}}},
                   {"tooltip",
                    json::array(
                        {{{"field", "trial"}}, {{"field", "value"}}, {{"field", "metric"}, {"format", ".4f"}}})}}}},
                {{"mark", {{"type", "line"}, {"color", "#999"}}},
                 {"encoding",
                  {{"x", x}, {"y", {{"aggregate", "mean"}, {"field", "metric"}, {"type", "quantitative"}}}}}}})}}},
        {"resolve", {{"scale", {{"x", "independent"}}}}}};
    page.figure({"sweep_scores", "sweep_scores", "Score against each swept key",
                 "Each finished trial's " + metric + " (points) and the mean over the other keys (line).", chart,
                 std::move(data)});
}

// The top trials' validation curves of the metric's node, target and score.
void add_top_curves_figure(report::Page& page, const fs::path& sweep_dir, const Trials& trials,
                           const std::vector<std::size_t>& order, const std::string& metric) {
    const std::size_t first_dot = metric.find('.'), last_dot = metric.rfind('.');
    if (metric.empty() || first_dot == std::string::npos || last_dot <= first_dot) return;
    const std::string node = metric.substr(0, first_dot),
                      target = metric.substr(first_dot + 1, last_dot - first_dot - 1),
                      name = metric.substr(last_dot + 1);
    DataTable data{{"trial", "epoch", "value"}, {}};
    std::size_t shown = 0;
    for (std::size_t k = 0; k < order.size() && shown < kTopTrials; ++k) {
        const auto& row = trials.table.rows[order[k]];
        if (!std::isfinite(cell_number(trials.cell(row, trials.metric)))) continue;
        const fs::path folder = sweep_dir / trials.cell(row, trials.folder);
        const auto curve = watched_curve(read_epochs(folder), node, target, name);
        if (curve.size() < 2) continue;
        ++shown;
        for (const auto& [epoch, value] : curve) data.add({trials.cell(row, trials.trial), epoch, plot_number(value)});
    }
    if (data.rows.empty()) return;
    json chart = {
        {"width", 560},
        {"height", 260},
        {"mark", {{"type", "line"}, {"point", true}}},
        {"encoding",
         {{"x", {{"field", "epoch"}, {"type", "quantitative"}, {"axis", {{"tickMinStep", 1}}}}},
          {"y",
           {{"field", "value"},
            {"type", "quantitative"},
            {"title", metric_label(name) + " (" + target + ")"},
            {"scale", {{"zero", false}}}}},
          {"color", {{"field", "trial"}, {"type", "nominal"}}},
          {"tooltip",
           json::array({{{"field", "trial"}}, {{"field", "epoch"}}, {{"field", "value"}, {"format", ".4f"}}})}}}};
    page.figure({"sweep_curves", "sweep_curves", fmt::format("Learning curves of the top {} trials", shown),
                 "Per epoch, " + name + " of node '" + node + "' for " + target +
                     " on the watched validation songs, mean over folds.",
                 chart, std::move(data)});
}

// ASHA: each trial's metric at each rung, and where it stopped.
void add_asha_figure(report::Page& page, const fs::path& sweep_dir, const std::string& metric) {
    if (!fs::exists(sweep_dir / "asha.json")) return;
    const json asha = read_json_file(sweep_dir / "asha.json");
    DataTable data{{"trial", "rung_epoch", "value", "outcome"}, {}};
    const json stopped = asha.value("stopped", json::object());
    for (const auto& [rung, values] : report::member(asha, "rungs").items())
        for (const auto& [trial, value] : values.items()) {
            const int epoch = std::stoi(rung);
            const bool stopped_here = stopped.contains(trial) && stopped[trial].get<int>() == epoch;
            data.add({trial, epoch, plot_number(value.get<double>()), stopped_here ? "stopped here" : "continued"});
        }
    if (data.rows.empty()) return;
    const json x = {
        {"field", "rung_epoch"}, {"type", "quantitative"}, {"title", "rung (epoch)"}, {"axis", {{"tickMinStep", 1}}}};
    json chart = {
        {"width", 560},
        {"height", 260},
        {"layer",
         json::array(
             {{{"mark", {{"type", "line"}, {"color", "#bbb"}, {"strokeWidth", 1}}},
               {"encoding",
                {{"x", x}, {"y", {{"field", "value"}, {"type", "quantitative"}}}, {"detail", {{"field", "trial"}}}}}},
              {{"mark", {{"type", "point"}, {"filled", true}, {"size", 50}}},
               {"encoding",
                {{"x", x},
                 {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", metric}, {"scale", {{"zero", false}}}}},
                 {"color",
                  {{"field", "outcome"},
                   {"type", "nominal"},
                   {"scale",
                    {{"domain", json::array({"continued", "stopped here"})},
                     {"range", json::array({"#4c78a8", "#e45756"})}}}}},
                 {"tooltip", json::array({{{"field", "trial"}},
                                          {{"field", "rung_epoch"}},
                                          {{"field", "value"}, {"format", ".4f"}}})}}}}})}};
    page.figure(
        {"asha_rungs", "asha_rungs", "ASHA rungs",
         fmt::format("Each trial's {} when it reached a rung (min_epochs {}, reduction factor {}); red: "
                     "stopped there, below the top 1/η of the trials that reached the rung.",
                     metric, asha.value("min_epochs", json()).dump(), asha.value("reduction_factor", json()).dump()),
         chart, std::move(data)});
}

// ---- The comparison page ----

struct ComparedRun {
    RunManifest manifest;
    std::string label;
    ojson summary;
    json environment;
    std::vector<EpochRow> epochs;
};

// The runs, each with its label: the one given, else experiment/folder; two runs may not share one.
std::vector<ComparedRun> read_runs(const std::vector<fs::path>& run_dirs, const std::vector<std::string>& run_labels) {
    std::vector<ComparedRun> runs;
    std::set<std::string> labels;
    for (std::size_t i = 0; i < run_dirs.size(); ++i) {
        const fs::path& dir = run_dirs[i];
        ComparedRun r{read_manifest(dir), "", ojson::object(), json::object(), {}};
        const bool labelled = !run_labels.empty() && !run_labels[i].empty();
        r.label = labelled ? run_labels[i]
                           : r.manifest.experiment + "/" + fs::absolute(dir).lexically_normal().filename().string();
        if (!labels.insert(r.label).second)
            throw Error(labelled ? "the label '" + r.label + "' names two runs" : dir.string() + " is given twice");
        r.summary = read_summary(dir);
        r.environment = read_environment(dir);
        r.epochs = read_epochs(dir);
        runs.push_back(std::move(r));
    }
    return runs;
}

FlatConfig::const_iterator find_key(const FlatConfig& c, const std::string& key) {
    return std::find_if(c.begin(), c.end(), [&](const auto& kv) { return kv.first == key; });
}

// What each run changed: its config.yaml against the first run's, key by key.
report::Table config_differences(const std::vector<ComparedRun>& runs) {
    std::string first_problem;
    const FlatConfig first = read_config(runs.front().manifest, first_problem);
    report::Table differences{{"run", "key", runs.front().label, "this run"}, {}};
    for (std::size_t i = 1; i < runs.size(); ++i) {
        const std::string& label = runs[i].label;
        std::string problem;
        const FlatConfig config = read_config(runs[i].manifest, problem);
        if (!first_problem.empty() || !problem.empty()) {
            differences.rows.push_back({label, "(not compared)", first_problem, problem});
            continue;
        }
        const std::size_t before = differences.rows.size();
        for (const auto& [key, value] : first) {
            const auto other = find_key(config, key);
            if (other == config.end())
                differences.rows.push_back({label, key, value, "(absent)"});
            else if (other->second != value)
                differences.rows.push_back({label, key, value, other->second});
        }
        for (const auto& [key, value] : config)
            if (find_key(first, key) == first.end()) differences.rows.push_back({label, key, "(absent)", value});
        if (differences.rows.size() == before) differences.rows.push_back({label, "(none: the same config)", "", ""});
    }
    return differences;
}

// Every run's results table in one, aligned by column name: runs may report different metrics.
report::Table all_results(const std::vector<ComparedRun>& runs) {
    report::Table all;
    for (const auto& r : runs) {
        report::Table t = report::results_table(r.summary, best_epochs(r.epochs), r.label);
        if (all.columns.empty()) all.columns = t.columns;
        for (auto& row : t.rows) {
            std::vector<std::string> aligned(all.columns.size());
            for (std::size_t c = 0; c < t.columns.size(); ++c) {
                const auto at = std::find(all.columns.begin(), all.columns.end(), t.columns[c]);
                if (at != all.columns.end()) aligned[static_cast<std::size_t>(at - all.columns.begin())] = row[c];
            }
            all.rows.push_back(std::move(aligned));
        }
    }
    return all;
}

void add_overlaid_curves_figure(report::Page& page, const std::vector<ComparedRun>& runs) {
    DataTable curves{{"run_node", "target", "epoch", "r2"}, {}};
    std::vector<std::string> target_order;
    for (const auto& r : runs)
        for (const auto& [node, entry] : report::member(r.summary, "nodes").items())
            for (const auto& [target, values] : report::member(entry, "validation").items()) {
                if (std::find(target_order.begin(), target_order.end(), target) == target_order.end())
                    target_order.push_back(target);
                const auto curve = watched_curve(r.epochs, node, target, "r2");
                if (curve.size() > 1)
                    for (const auto& [epoch, value] : curve) curves.add({r.label + " · " + node, target, epoch, plot_number(value)});
            }
    if (curves.rows.empty()) return;
    json chart = {
        {"facet", {{"column", {{"field", "target"}, {"type", "nominal"}, {"title", nullptr}, {"sort", target_order}}}}},
        {"spec",
         {{"width", 360},
          {"height", 240},
          {"mark", {{"type", "line"}, {"point", true}}},
          {"encoding",
           {{"x", {{"field", "epoch"}, {"type", "quantitative"}, {"axis", {{"tickMinStep", 1}}}}},
            {"y",
             {{"field", "r2"},
              {"type", "quantitative"},
              {"title", "validation R² (mean over folds)"},
              {"scale", {{"zero", false}}}}},
            {"color",
             {{"field", "run_node"},
              {"type", "nominal"},
              {"title", "run · node"},
              {"legend", {{"orient", "bottom"}, {"columns", 1}}}}},
            {"tooltip",
             json::array({{{"field", "run_node"}}, {{"field", "epoch"}}, {{"field", "r2"}, {"format", ".4f"}}})}}}}}};
    page.figure({"compare_curves", "compare_curves", "Validation curves, overlaid",
                 "Per epoch, song-level R² on the watched validation songs, mean over folds, for every model "
                 "node trained for more than one epoch.",
                 chart, std::move(curves)});
}

// Two nodes' scores pair fold by fold when they were scored on the same
// songs, folds and seeds, resampled alike (folds of their own per seed, or not).
bool scored_alike(const ojson& ea, const ojson& eb) {
    return ea.value("songs_sha256", "") == eb.value("songs_sha256", "") && !ea.value("songs_sha256", "").empty() &&
           ea.value("folds", ojson()) == eb.value("folds", ojson()) &&
           ea.value("seeds", ojson()) == eb.value("seeds", ojson()) &&
           ea.value("resampled", ojson()) == eb.value("resampled", ojson());
}

// The paired rows of every node of run `a` against every node of run `b`
// scored alike, per target both have R² folds for.
void add_paired_rows(report::Table& paired, const ComparedRun& a, const ComparedRun& b) {
    for (const auto& [node_a, ea] : report::member(a.summary, "nodes").items())
        for (const auto& [node_b, eb] : report::member(b.summary, "nodes").items()) {
            if (!scored_alike(ea, eb)) continue;
            for (const auto& [target, scores] : report::member(ea, "validation").items()) {
                const auto& vb = report::member(eb, "validation");
                if (!vb.contains(target) || !scores.contains("r2") || !vb[target].contains("r2")) continue;
                const auto ra = scores["r2"].value("folds", std::vector<double>{});
                const auto rb = vb[target]["r2"].value("folds", std::vector<double>{});
                if (ra.size() != rb.size() || ra.empty()) continue;
                const PairedComparison c = corrected_paired_t(ra, rb, ea.value("test_train_ratio", 0.0));
                // Repetitions of one split are no resamples: the difference, no test.
                const bool tested = scores_are_resamples(ea) || c.runs < 2;
                paired.rows.push_back({a.label + " · " + node_a, b.label + " · " + node_b, target,
                                       std::to_string(c.runs), fmt::format("{:.4f}", c.mean_a),
                                       fmt::format("{:.4f}", c.mean_b), fmt::format("{:+.4f}", c.mean_diff),
                                       tested ? fmt::format("{:.3g}", c.t) : "",
                                       tested ? fmt::format("{:.3g}", c.p) : ""});
            }
        }
}

// Paired differences between nodes of different runs scored on the same songs, split, folds and seeds.
report::Table paired_differences(const std::vector<ComparedRun>& runs) {
    report::Table paired{{"run · node A", "run · node B", "target", "pairs", "mean R² A", "mean R² B", "difference",
                          "t", "p"},
                         {}};
    for (std::size_t i = 0; i < runs.size(); ++i)
        for (std::size_t j = i + 1; j < runs.size(); ++j) {
            const ComparedRun &a = runs[i], &b = runs[j];
            if (a.summary.value("split", ojson()) != b.summary.value("split", ojson()) ||
                a.environment.value("seed", json()) != b.environment.value("seed", json()))
                continue;
            add_paired_rows(paired, a, b);
        }
    return paired;
}

}  // namespace

fs::path write_sweep_report(const fs::path& sweep_dir) try {
    const fs::path manifest_file = sweep_dir / "sweep.json";
    if (!fs::exists(manifest_file)) throw Error(sweep_dir.string() + " is not a sweep folder: it has no sweep.json");
    const ojson manifest = read_json_file<ojson>(manifest_file);
    const ojson spec = manifest.value("spec", ojson::object());
    const std::string metric = spec.value("metric", "");
    const bool maximize = spec.value("mode", "max") != "min";
    report::Page page("mer sweep: " + fs::path(manifest.value("experiment", "")).filename().string() + " — " +
                      sweep_dir.filename().string());
    const Trials trials = read_trials(sweep_dir);

    page.heading("Sweep");
    page.facts({{"experiment", manifest.value("experiment", "")},
                {"metric", metric.empty() ? "(none: trials are not ranked)"
                                          : metric + (maximize ? " (higher is better)" : " (lower is better)")},
                {"scheduler", spec.value("scheduler", "").empty() ? "none (every trial runs to its end)"
                                                                  : spec.value("scheduler", "")},
                {"trials", fmt::format("{} ({})", trials.table.rows.size(), status_counts(trials))},
                {"command", manifest.value("command_line", "")},
                {"folder", fs::absolute(sweep_dir).lexically_normal().string()}});

    const std::vector<std::size_t> order = leaderboard_order(trials, maximize);
    page.heading("Leaderboard");
    page.paragraph(
        "Every trial, best first by the sweep's metric; click a column to sort by it, type to filter. "
        "Each trial's own report is folder/report.html.");
    page.table(leaderboard(trials, order));

    const std::vector<std::string> swept = swept_keys(spec);
    if (!metric.empty()) add_swept_key_figure(page, trials, swept, metric);
    add_top_curves_figure(page, sweep_dir, trials, order, metric);
    add_asha_figure(page, sweep_dir, metric);
    const fs::path out = sweep_dir / "report.html";
    page.write(out);
    return out;
} catch (const nlohmann::json::exception& e) {
    throw report::damaged_json(sweep_dir.string(), e);
}

fs::path write_comparison_report(const std::vector<fs::path>& run_dirs, const fs::path& out,
                                 const std::vector<std::string>& run_labels) try {
    if (run_dirs.size() < 2) throw Error("a comparison needs two run folders or more");
    if (!run_labels.empty() && run_labels.size() != run_dirs.size())
        throw Error(fmt::format("{} labels for {} runs", run_labels.size(), run_dirs.size()));
    const std::vector<ComparedRun> runs = read_runs(run_dirs, run_labels);
    report::Page page(fmt::format("mer comparison of {} runs", runs.size()));
    page.heading("Runs");
    std::vector<std::pair<std::string, std::string>> facts;
    for (const auto& r : runs)
        facts.push_back({r.label, fs::absolute(r.manifest.dir).lexically_normal().string() + " (" +
                                      r.summary.value("status", "unknown") + ", git " +
                                      r.environment.value("git_revision", "?").substr(0, 10) + ")"});
    page.facts(facts);

    page.heading("Configuration differences");
    page.paragraph(
        "Each run's resolved experiment (config.yaml: the file, its --set and --unset, every default) "
        "against the first run's, " +
        runs.front().label + ": the keys whose values differ, and keys only one of them has.");
    page.table(config_differences(runs));

    page.heading("Results");
    page.paragraph("Every run's validation scores per node and target (mean ± std over folds); click to sort.");
    page.table(all_results(runs));
    add_overlaid_curves_figure(page, runs);

    const report::Table paired = paired_differences(runs);
    page.heading("Paired differences");
    if (paired.rows.empty()) {
        page.paragraph("No two runs share songs, split, seed, folds and seeds, so no difference can be paired fold by "
                       "fold; compare the means above with their spread.");
    } else {
        page.paragraph("Node pairs from different runs scored on the same songs and folds: mean R² difference A − B "
                       "with the corrected resampled t-test (Nadeau & Bengio; over repeated k-fold, Bouckaert & "
                       "Frank). No t or p where the seeds repeat one holdout split: those repetitions measure "
                       "initialisation alone.");
        page.table(paired);
    }
    page.write(out);
    return out;
} catch (const nlohmann::json::exception& e) {
    std::string where;
    for (const auto& dir : run_dirs) where += (where.empty() ? "" : ", ") + dir.string();
    throw report::damaged_json(where, e);
}

}  // namespace mer
