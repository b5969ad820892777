// A run's report.html: header, results, then per model node its learning
// curves, predicted against true, residuals, grid search and attention, then
// the labels, and per feature node its Pearson ranking, SHAP values and
// t-SNE map. Which figures appear follows from run.json's kinds.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <yaml-cpp/yaml.h>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/error.hpp"
#include "core/eval/metrics.hpp"
#include "core/eval/paired.hpp"
#include "core/report/report.hpp"
#include "core/report/run_data.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using report::DataTable;
using report::Figure;
using report::plot_number;

namespace {

// Scatter plots above this many points show an even sample (said on the plot).
constexpr std::size_t kMaxPoints = 6000;
// Emotion over time draws this many validation songs' curves per sequence model.
constexpr std::size_t kCurveSongs = 6;
// Learning curves draw at most about this many epochs per line.
constexpr int kMaxCurvePoints = 100;

const std::vector<std::string> kCurveMetrics{"loss", "r2", "rmse", "mae"};

std::string metric_title(const std::string& metric) {
    if (metric == "r2") return "R²";
    if (metric == "loss") return "loss (MSE)";
    return fmt::format("{}", metric == "rmse" ? "RMSE" : metric == "mae" ? "MAE" : metric);
}

std::string split_title(const std::string& split) {
    if (split == "inner_validation") return "held-out training songs";
    if (split == "inner_validation_chunks") return "held-out training songs (chunks)";
    if (split == "validation") return "validation (scored)";
    if (split == "validation_chunks") return "validation (chunks)";
    if (split == "train_chunks") return "train (chunks)";
    if (split == "inner_validation_frames") return "held-out training songs (frames)";
    if (split == "validation_frames") return "validation (frames)";
    if (split == "train_frames") return "train (frames)";
    return split;
}

std::time_t parse_utc(const std::string& iso) {
    std::tm tm{};
    if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return 0;
    return timegm(&tm);
}

std::string duration_text(double seconds) {
    if (seconds < 60) return fmt::format("{:.1f} s", seconds);
    if (seconds < 3600) return fmt::format("{} min {} s", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
    return fmt::format("{} h {} min", static_cast<int>(seconds) / 3600, static_cast<int>(seconds) % 3600 / 60);
}

// Every n-th row when there are more than `limit`: an even, repeatable sample.
std::size_t sample_step(std::size_t rows, std::size_t limit) { return rows > limit ? (rows + limit - 1) / limit : 1; }

class RunReport {
public:
    explicit RunReport(const fs::path& dir)
        : m_(read_manifest(dir)), page_("mer run: " + m_.experiment + " — " + dir.filename().string()) {
        summary_ = read_summary(dir);
        environment_ = read_environment(dir);
        epochs_ = read_epochs(dir);
        best_ = best_epochs(epochs_);
        if (m_.has("predictions")) predictions_ = read_csv(dir / m_.of("predictions").front().file);
        if (m_.has("frame_predictions")) frames_ = read_csv(dir / m_.of("frame_predictions").front().file);
        if (m_.has("curves")) curve_metrics_ = read_csv(dir / m_.of("curves").front().file);
        for (const auto& [node, entry] : report::member(summary_, "nodes").items())
            for (const auto& [target, values] : report::member(entry, "validation").items())
                if (std::find(target_order_.begin(), target_order_.end(), target) == target_order_.end())
                    target_order_.push_back(target);
    }

    fs::path write() {
        header();
        results();
        for (const auto& [node, entry] : report::member(summary_, "nodes").items()) model_node(node, entry);
        labels();
        for (const auto& e : m_.of("pearson")) pearson(e);
        for (const auto& e : m_.of("shap")) shap(e);
        for (const auto& e : m_.of("tsne")) tsne(e);
        const fs::path page = m_.dir / "report.html";
        page_.write(page);
        return page;
    }

private:
    // Facets by target in the run's order (valence before arousal), not the alphabet's.
    json target_facet(const char* title = nullptr) const {
        return {{"field", "target"}, {"type", "nominal"}, {"title", title ? json(title) : json(nullptr)},
                {"sort", target_order_}};
    }

    void header() {
        page_.heading("Run");
        std::vector<std::pair<std::string, std::string>> facts;
        const std::string status = summary_.value("status", "unknown");
        facts.push_back({"experiment", m_.experiment});
        std::string state = status;
        if (summary_.contains("failed"))
            state += ": node '" + summary_["failed"].value("node", "") + "' — " + summary_["failed"].value("reason", "");
        facts.push_back({"status", state});
        const std::string started = environment_.value("started_at", "");
        facts.push_back({"started", started});
        if (fs::exists(m_.dir / "summary.json") && !started.empty()) {
            const auto written = fs::last_write_time(m_.dir / "summary.json");
            const auto system = std::chrono::time_point_cast<std::chrono::seconds>(
                written - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
            const double seconds =
                static_cast<double>(std::chrono::system_clock::to_time_t(system) - parse_utc(started));
            if (seconds >= 0) facts.push_back({"duration", duration_text(seconds) + " (until summary.json was written)"});
        }
        facts.push_back({"git revision", environment_.value("git_revision", "")});
        facts.push_back({"mer", environment_.value("mer_version", "")});
        std::string device = environment_.value("device", "");
        if (environment_.contains("threads")) device += ", " + environment_["threads"].dump() + " threads";
        facts.push_back({"device", device});
        std::string seeds = environment_.contains("seed") ? environment_["seed"].dump() : "";
        datasets_and_seeds(facts, seeds);
        facts.push_back({"host", environment_.value("host", "")});
        facts.push_back({"command", environment_.value("command", "")});
        facts.push_back({"folder", fs::absolute(m_.dir).lexically_normal().string()});
        page_.facts(facts);
        skipped();
    }

    // The dataset nodes with their parameters, and the seeds, from config.yaml.
    void datasets_and_seeds(std::vector<std::pair<std::string, std::string>>& facts, std::string seeds) {
        const fs::path config = m_.dir / "config.yaml";
        std::size_t songs = 0;
        for (const auto& [id, node] : report::member(summary_, "nodes").items())
            songs = std::max<std::size_t>(songs, node.value("songs", 0));
        if (fs::exists(config)) {
            try {
                const YAML::Node root = YAML::LoadFile(config.string());
                if (root["seeds"] && root["seeds"].IsSequence()) {
                    seeds.clear();
                    for (const auto& s : root["seeds"]) seeds += (seeds.empty() ? "" : ", ") + s.as<std::string>();
                }
                for (const auto& n : root["nodes"]) {
                    const std::string uses = n.second["uses"] ? n.second["uses"].as<std::string>() : "";
                    if (uses.rfind("dataset.", 0) != 0) continue;
                    std::string params;
                    for (const auto& p : n.second["params"]) {
                        std::string value;
                        if (p.second.IsScalar()) value = p.second.as<std::string>();
                        if (p.second.IsSequence())
                            for (const auto& item : p.second)
                                if (item.IsScalar()) value += (value.empty() ? "" : ", ") + item.as<std::string>();
                        if (p.second.IsSequence()) value = "[" + value + "]";
                        if (!value.empty()) params += (params.empty() ? "" : "; ") + p.first.as<std::string>() + ": " + value;
                    }
                    facts.push_back({"dataset", n.first.as<std::string>() + ": " + uses + " (" + params + ")" +
                                                    (songs ? fmt::format(", {} songs modelled", songs) : "")});
                }
            } catch (const YAML::Exception& e) {
                facts.push_back({"dataset", "config.yaml could not be read: " + std::string(e.what())});
            }
        }
        facts.push_back({"seed(s)", seeds});
    }

    void skipped() {
        for (const auto& e : m_.of("skipped")) {
            const CsvTable t = read_csv(m_.dir / e.file);
            if (t.rows.empty()) {
                page_.paragraph("No song was skipped.");
                continue;
            }
            std::map<std::string, int> reasons;
            for (const auto& row : t.rows) ++reasons[row[2]];
            page_.heading(fmt::format("Skipped songs ({})", t.rows.size()));
            page_.paragraph(fmt::format("{} songs could not be used; {} distinct reasons. From {}.", t.rows.size(),
                                        reasons.size(), e.file));
            page_.table({t.header, t.rows, true});
        }
    }

    void results() {
        bool seeded = false, one_split = false;
        for (const auto& [node, entry] : report::member(summary_, "nodes").items())
            if (entry.contains("seeds") && entry["seeds"].size() > 1) {
                seeded = true;
                one_split = one_split || !scores_are_resamples(entry);
            }
        const std::string over = seeded ? "folds and seeds" : "folds";
        page_.heading("Results");
        page_.paragraph(
            "Validation scores per model node and target: mean ± std over " + over +
            "; r2 pooled scores every out-of-fold prediction at once (steadier than the per-fold mean on small "
            "corpora). Song level averages each song's chunk predictions; chunk level scores every chunk. Best "
            "epoch: the epoch whose weights each fold kept, as its training loop chose it (metrics.csv's best "
            "column), one number per fold where they differ. Click a column to sort.");
        if (one_split)
            page_.paragraph(
                "The seeds repeat one split (a holdout or the dataset's own): their spread is the models' "
                "initialisation noise alone, not a resampling estimate of how well they generalise, and no "
                "p-value is given for it. Use split: kfold to resample.");
        page_.table(report::results_table(summary_, best_));
        if (const report::Table sources = report::source_table(summary_); !sources.rows.empty()) {
            page_.paragraph(
                "Per source (the inputs of a dataset.union): song-level R², mean ± std over the folds "
                "that scored that source's songs alone (one per seed with by_source and "
                "leave_one_source_out) — how well each model transfers to each corpus.");
            page_.table(sources);
        }
        const report::Table folds = report::fold_scores_table(summary_);
        if (!folds.rows.empty()) {
            page_.paragraph("Song-level R² of every fold" + std::string(seeded ? " and seed" : "") +
                            " (summary.json's folds lists): the scores behind the mean ± std above.");
            page_.table(folds);
        }
        for (const auto& e : m_.of("comparisons")) {
            const CsvTable t = read_csv(m_.dir / e.file);
            if (t.rows.empty()) continue;
            page_.paragraph("Paired differences (" + e.file +
                            "): mean R² difference of node_a − node_b on the same songs and " + over +
                            ", with the corrected resampled t-test's p (Nadeau & Bengio; over repeated k-fold, "
                            "Bouckaert & Frank's k · r − 1 degrees of freedom); no p where the seeds repeat one "
                            "split.");
            report::Table table{{"node_a", "node_b", "target", "mean_a", "mean_b", "mean_diff", "t", "df", "p"}, {}};
            for (const auto& row : t.rows) {
                auto f = [&](const char* c) { return row[static_cast<std::size_t>(t.require_column(c))]; };
                auto g = [&](const char* c) { return f(c).empty() ? std::string() : fmt::format("{:.4g}", cell_number(f(c))); };
                table.rows.push_back({f("node_a"), f("node_b"), f("target"), g("mean_a"), g("mean_b"), g("mean_diff"),
                                      g("t"), f("df"), g("p")});
            }
            page_.table(table);
        }
    }

    void model_node(const std::string& node, const ojson& entry) {
        page_.heading("Model node '" + node + "' (" + entry.value("model", "") + ")");
        curves(node);
        predicted_vs_true(node);
        over_time(node);
        grid(node);
        for (const auto& e : m_.of("attention"))
            if (e.node == node) attention(node);
    }

    void curves(const std::string& node) {
        int max_epoch = 0;
        for (const auto& r : epochs_)
            if (r.node == node) max_epoch = std::max(max_epoch, r.epoch);
        if (max_epoch < 2) return;
        // Boosting runs hundreds of rounds: every step-th epoch (and the last and the best ones) is plenty to see.
        const int step = (max_epoch + kMaxCurvePoints - 1) / kMaxCurvePoints;
        std::set<int> kept_best;
        if (best_.count(node))
            for (const auto& [run, epoch] : best_.at(node)) kept_best.insert(epoch);
        auto shown = [&](int epoch) { return (epoch - 1) % step == 0 || epoch == max_epoch || kept_best.count(epoch); };
        DataTable data{{"run", "fold", "epoch", "split", "target", "metric", "value", "line"}, {}};
        std::set<std::string> splits;
        for (const auto& r : epochs_) {
            if (r.node != node || !shown(r.epoch)) continue;
            auto ends_with = [&](const std::string& tail) {
                return r.split.size() > tail.size() && r.split.compare(r.split.size() - tail.size(), tail.size(), tail) == 0;
            };
            const bool chunk_split = ends_with("_chunks") || ends_with("_frames");
            const std::string run = r.seed + "/" + std::to_string(r.fold);
            const double values[] = {r.loss, r.r2, r.rmse, r.mae};
            for (std::size_t m = 0; m < kCurveMetrics.size(); ++m) {
                if (!std::isfinite(values[m])) continue;
                if (chunk_split && m > 0) continue;  // scores at song level; loss where it was computed
                splits.insert(split_title(r.split));
                data.add({run, r.fold, r.epoch, split_title(r.split), r.target, metric_title(kCurveMetrics[m]),
                          plot_number(values[m]), "fold"});
            }
        }
        std::set<std::string> targets;
        for (const auto& r : epochs_)
            if (r.node == node) targets.insert(r.target);
        const auto found = best_.find(node);
        std::string best_note;
        if (found != best_.end()) {
            for (const auto& [run, epoch] : found->second)
                for (const auto& target : targets)
                    for (const auto& metric : kCurveMetrics)
                        data.add({run, nullptr, epoch, "best epoch", target, metric_title(metric), nullptr, "best"});
            best_note = " Dashed grey rules: each fold's best epoch (the weights it kept).";
        }
        if (step > 1)
            best_note += fmt::format(" Every {}th of {} epochs is drawn (and the best ones).", step, max_epoch);
        json metric_order = json::array();
        for (const auto& m : kCurveMetrics) metric_order.push_back(metric_title(m));
        const json x = {{"field", "epoch"}, {"type", "quantitative"}, {"title", "epoch"}, {"axis", {{"tickMinStep", 1}}}};
        const json color = {{"field", "split"}, {"type", "nominal"}, {"title", "songs"}};
        const json folds_layer = {
            {"transform", json::array({{{"filter", "datum.line == 'fold'"}}})},
            {"mark", {{"type", "line"}, {"strokeWidth", 0.8}, {"opacity", 0.35}}},
            {"encoding",
             {{"x", x}, {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", nullptr}, {"scale", {{"zero", false}}}}},
              {"color", color}, {"detail", {{"field", "run"}}}}}};
        const json mean_layer = {
            {"transform", json::array({{{"filter", "datum.line == 'fold'"}},
                                       {{"aggregate", json::array({{{"op", "mean"}, {"field", "value"}, {"as", "value"}}})},
                                        {"groupby", json::array({"epoch", "split", "metric", "target"})}}})},
            {"mark", {{"type", "line"}, {"strokeWidth", 2.2}, {"point", {{"size", 14}}}}},
            {"encoding",
             {{"x", x}, {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", nullptr}}}, {"color", color},
              {"tooltip", json::array({{{"field", "split"}}, {{"field", "epoch"}}, {{"field", "value"}, {"format", ".4f"}}})}}}};
        const json best_layer = {
            {"transform", json::array({{{"filter", "datum.line == 'best'"}}})},
            {"mark", {{"type", "rule"}, {"strokeDash", json::array({4, 3})}, {"color", "#888"}}},
            {"encoding", {{"x", x}, {"tooltip", json::array({{{"field", "run"}, {"title", "seed/fold"}}, {{"field", "epoch"}, {"title", "best epoch"}}})}}}};
        json spec = {
            {"facet",
             {{"row", {{"field", "metric"}, {"type", "nominal"}, {"title", nullptr}, {"sort", metric_order}}},
              {"column", target_facet()}}},
            {"spec", {{"width", 300}, {"height", 150}, {"layer", json::array({mean_layer, folds_layer, best_layer})}}},
            {"resolve", {{"scale", {{"y", "independent"}}}}}};
        page_.figure({"curves_" + node, "learning_curves", "Learning curves — " + node,
                      "Loss and validation R², RMSE, MAE per epoch; thin lines are folds (and seeds), bold lines "
                      "their mean. 'held-out training songs' are the songs early stopping watched, never scored." +
                          best_note,
                      spec, std::move(data)});
    }

    // Sequence models: the dynamic task's metrics, and predicted against
    // annotated curves of a few validation songs spread over the fold order.
    void over_time(const std::string& node) {
        if (!curve_metrics_.rows.empty()) {
            report::Table table{{"target", "songs", "frames", "RMSE per song", "Pearson r per song", "CCC per song",
                                 "constant songs", "RMSE all frames", "Pearson r all frames"},
                                {}};
            auto f = [&](const std::vector<std::string>& row, const char* c) {
                return row[static_cast<std::size_t>(curve_metrics_.require_column(c))];
            };
            auto pm = [&](const std::vector<std::string>& row, const std::string& m) {
                return fmt::format("{:.3f} ± {:.3f}", cell_number(f(row, (m + "_mean").c_str())), cell_number(f(row, (m + "_std").c_str())));
            };
            for (const auto& row : curve_metrics_.rows)
                if (f(row, "node") == node)
                    table.rows.push_back({f(row, "target"), f(row, "songs"), f(row, "frames"), pm(row, "rmse"),
                                          pm(row, "pearson"), pm(row, "ccc"), f(row, "constant_songs"),
                                          fmt::format("{:.3f}", cell_number(f(row, "global_rmse"))),
                                          fmt::format("{:.3f}", cell_number(f(row, "global_pearson")))});
            if (!table.rows.empty()) {
                page_.paragraph("Emotion over time (curves.csv): each validation song's curve scored on its own, "
                                "mean ± std over songs (songs whose annotation does not move have no r), and every "
                                "annotated frame at once.");
                page_.table(table);
            }
        }
        if (frames_.rows.empty()) return;
        const auto col = [&](const char* c) { return static_cast<std::size_t>(frames_.require_column(c)); };
        const std::size_t c_node = col("node"), c_song = col("song_id"), c_seed = col("seed"), c_time = col("time_s"),
                          c_target = col("target"), c_true = col("true"), c_pred = col("predicted");
        std::vector<std::string> songs;
        std::set<std::string> seen;
        std::string seed;
        for (const auto& row : frames_.rows) {
            if (row[c_node] != node) continue;
            if (seed.empty()) seed = row[c_seed];
            if (row[c_seed] == seed && seen.insert(row[c_song]).second) songs.push_back(row[c_song]);
        }
        if (songs.empty()) return;
        const std::size_t shown_count = std::min<std::size_t>(kCurveSongs, songs.size());
        std::set<std::string> shown;
        for (std::size_t i = 0; i < shown_count; ++i) shown.insert(songs[i * songs.size() / shown_count]);
        DataTable data{{"song_id", "time_s", "target", "curve", "value"}, {}};
        for (const auto& row : frames_.rows) {
            if (row[c_node] != node || row[c_seed] != seed || !shown.count(row[c_song])) continue;
            data.add({row[c_song], cell_number(row[c_time]), row[c_target], "predicted", plot_number(cell_number(row[c_pred]))});
            if (!row[c_true].empty())
                data.add({row[c_song], cell_number(row[c_time]), row[c_target], "annotated", plot_number(cell_number(row[c_true]))});
        }
        const json spec = {
            {"facet",
             {{"row", {{"field", "song_id"}, {"type", "nominal"}, {"title", "song"}}}, {"column", target_facet()}}},
            {"spec",
             {{"width", 300},
              {"height", 110},
              {"mark", {{"type", "line"}, {"strokeWidth", 1.6}}},
              {"encoding",
               {{"x", {{"field", "time_s"}, {"type", "quantitative"}, {"title", "time (s)"}}},
                {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", nullptr}, {"scale", {{"zero", false}}}}},
                {"color", {{"field", "curve"}, {"type", "nominal"}, {"title", nullptr}, {"sort", json::array({"annotated", "predicted"})}}},
                {"tooltip", json::array({{{"field", "curve"}}, {{"field", "time_s"}, {"title", "time (s)"}}, {{"field", "value"}, {"format", ".3f"}}})}}}}}};
        page_.figure({"over_time_" + node, "emotion_over_time", "Emotion over time — " + node,
                      fmt::format("Predicted (out of fold) against annotated curves of {} of the {} validation songs, "
                                  "spread over the file's order{}; the prediction covers every window, the annotation "
                                  "the frames it has (from 15 s on DEAM). From frame_predictions.csv.",
                                  shown_count, songs.size(), seed.empty() ? "" : " (seed " + seed + ")"),
                      spec, std::move(data)});
    }

    void predicted_vs_true(const std::string& node) {
        if (predictions_.rows.empty()) return;
        const int col_node = predictions_.require_column("node"), col_song = predictions_.require_column("song_id"),
                  col_fold = predictions_.require_column("fold"), col_target = predictions_.require_column("target"),
                  col_true = predictions_.require_column("true"), col_pred = predictions_.require_column("predicted");
        std::vector<std::size_t> rows;
        for (std::size_t i = 0; i < predictions_.rows.size(); ++i)
            if (predictions_.rows[i][static_cast<std::size_t>(col_node)] == node) rows.push_back(i);
        if (rows.empty()) return;
        const std::size_t step = sample_step(rows.size(), kMaxPoints);
        DataTable data{{"song_id", "fold", "target", "true", "predicted", "residual"}, {}};
        for (std::size_t k = 0; k < rows.size(); k += step) {
            const auto& row = predictions_.rows[rows[k]];
            const double t = cell_number(row[static_cast<std::size_t>(col_true)]);
            const double p = cell_number(row[static_cast<std::size_t>(col_pred)]);
            data.add({row[static_cast<std::size_t>(col_song)], cell_number(row[static_cast<std::size_t>(col_fold)]),
                      row[static_cast<std::size_t>(col_target)], plot_number(t), plot_number(p), plot_number(p - t)});
        }
        const std::string sampled =
            step > 1 ? fmt::format(" Showing every {}th of {} predictions.", step, rows.size()) : std::string();
        const json tooltip = json::array({{{"field", "song_id"}, {"title", "song"}}, {{"field", "fold"}},
                                          {{"field", "true"}, {"format", ".3f"}}, {{"field", "predicted"}, {"format", ".3f"}}});
        json scatter = {
            {"facet", {{"column", target_facet()}}},
            {"spec",
             {{"width", 280},
              {"height", 280},
              {"layer",
               json::array(
                   {{{"mark", {{"type", "line"}, {"color", "#999"}, {"strokeDash", json::array({5, 4})}}},
                     {"encoding",
                      {{"x", {{"field", "true"}, {"type", "quantitative"}, {"title", "annotated"}, {"scale", {{"zero", false}}}}},
                       {"y", {{"field", "true"}, {"type", "quantitative"}, {"title", "predicted"}, {"scale", {{"zero", false}}}}}}}},
                    {{"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.5}, {"size", 18}}},
                     {"encoding",
                      {{"x", {{"field", "true"}, {"type", "quantitative"}}},
                       {"y", {{"field", "predicted"}, {"type", "quantitative"}}},
                       {"tooltip", tooltip}}}}})}}},
            {"resolve", {{"scale", {{"x", "independent"}, {"y", "independent"}}}}}};
        page_.figure({"predicted_" + node, "predicted_vs_true", "Predicted against annotated — " + node,
                      "Each validation song's prediction (out of fold) against its annotation; the dashed line is "
                      "perfect prediction." + sampled,
                      scatter, data});
        json residuals = {
            {"facet", {{"column", target_facet()}}},
            {"spec",
             {{"width", 280},
              {"height", 160},
              {"mark", {{"type", "bar"}, {"color", "#4c78a8"}}},
              {"encoding",
               {{"x", {{"field", "residual"}, {"type", "quantitative"}, {"bin", {{"maxbins", 30}}}, {"title", "predicted − annotated"}}},
                {"y", {{"aggregate", "count"}, {"type", "quantitative"}, {"title", "songs"}}}}}}},
            {"resolve", {{"scale", {{"x", "independent"}}}}}};
        page_.figure({"residuals_" + node, "residuals", "Residuals — " + node,
                      "Histogram of predicted − annotated over the validation songs." + sampled, residuals,
                      std::move(data)});
        worst_songs(node, rows, col_song, col_fold, col_target, col_true, col_pred);
    }

    // The ten largest errors: where to listen first (a mislabelled song, a broken file).
    void worst_songs(const std::string& node, const std::vector<std::size_t>& rows, int col_song, int col_fold,
                     int col_target, int col_true, int col_pred) {
        std::vector<std::pair<double, std::size_t>> errors;
        for (const std::size_t i : rows) {
            const auto& row = predictions_.rows[i];
            const double e = std::abs(cell_number(row[static_cast<std::size_t>(col_pred)]) - cell_number(row[static_cast<std::size_t>(col_true)]));
            if (std::isfinite(e)) errors.push_back({-e, i});
        }
        std::sort(errors.begin(), errors.end());
        errors.resize(std::min<std::size_t>(10, errors.size()));
        report::Table table{{"song", "fold", "target", "annotated", "predicted", "|error|"}, {}};
        for (const auto& [e, i] : errors) {
            const auto& row = predictions_.rows[i];
            table.rows.push_back({row[static_cast<std::size_t>(col_song)], row[static_cast<std::size_t>(col_fold)],
                                  row[static_cast<std::size_t>(col_target)],
                                  fmt::format("{:.3f}", cell_number(row[static_cast<std::size_t>(col_true)])),
                                  fmt::format("{:.3f}", cell_number(row[static_cast<std::size_t>(col_pred)])),
                                  fmt::format("{:.3f}", -e)});
        }
        page_.paragraph("The songs '" + node + "' predicted worst (predictions.csv):");
        page_.table(table);
    }

    void grid(const std::string& node) {
        for (const auto& e : m_.of("grid")) {
            const CsvTable t = read_csv(m_.dir / e.file);
            const int col_node = t.require_column("node"), col_fold = t.require_column("fold"),
                      col_params = t.require_column("params"), col_target = t.require_column("target"),
                      col_r2 = t.require_column("r2_mean"), col_selected = t.require_column("selected");
            DataTable data{{"parameter", "value", "order", "target", "fold", "r2", "selected"}, {}};
            std::map<std::string, std::set<std::string>> values;
            for (std::size_t r = 0; r < t.rows.size(); ++r) {
                const auto& row = t.rows[r];
                if (row[static_cast<std::size_t>(col_node)] != node) continue;
                json params;
                try {
                    params = json::parse(row[static_cast<std::size_t>(col_params)]);
                } catch (const json::exception& e) {  // mer writes JSON there: the file was damaged
                    throw Error("column 'params': '" + row[static_cast<std::size_t>(col_params)] +
                                    "' is not the JSON object of a candidate's parameters (" + e.what() + ")",
                                t.at(r));
                }
                for (const auto& [key, value] : params.items()) {
                    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
                    values[key].insert(text);
                    data.add({key, text, value.is_number() ? json(value.get<double>()) : json(text),
                              row[static_cast<std::size_t>(col_target)], cell_number(row[static_cast<std::size_t>(col_fold)]),
                              plot_number(cell_number(row[static_cast<std::size_t>(col_r2)])),
                              row[static_cast<std::size_t>(col_selected)] == "1" ? "selected" : "other"});
                }
            }
            if (data.rows.empty()) continue;
            // A winner on the edge of its axis in most folds: the grid was probably too small.
            const auto& edges = report::member(report::member(report::member(report::member(summary_, "nodes"), node), "grid"), "edges");
            for (const auto& edge : edges) page_.paragraph("⚠ " + edge.value("message", ""));
            const json x = {{"field", "value"}, {"type", "ordinal"}, {"sort", {{"field", "order"}}}, {"title", nullptr}};
            json spec = {
                {"facet", {{"column", {{"field", "parameter"}, {"type", "nominal"}, {"title", "searched parameter"}}}}},
                {"spec",
                 {{"width", 220},
                  {"height", 200},
                  {"layer",
                   json::array(
                       {{{"mark", {{"type", "point"}, {"opacity", 0.55}}},
                         {"encoding",
                          {{"x", x},
                           {"y", {{"field", "r2"}, {"type", "quantitative"}, {"title", "inner-CV R²"}, {"scale", {{"zero", false}}}}},
                           {"color", {{"field", "target"}, {"type", "nominal"}}},
                           {"shape", {{"field", "selected"}, {"type", "nominal"}, {"title", "candidate"}}},
                           {"tooltip", json::array({{{"field", "value"}}, {{"field", "target"}}, {{"field", "fold"}}, {{"field", "r2"}, {"format", ".4f"}}})}}}},
                        {{"mark", {{"type", "line"}, {"strokeWidth", 2}}},
                         {"encoding",
                          {{"x", x},
                           {"y", {{"aggregate", "mean"}, {"field", "r2"}, {"type", "quantitative"}}},
                           {"color", {{"field", "target"}, {"type", "nominal"}}}}}}})}}},
                {"resolve", {{"scale", {{"x", "independent"}}}}}};
            page_.figure({"grid_" + node, "grid_search", "Grid search — " + node,
                          "Inner cross-validation R² of every candidate (one point per candidate, outer fold and "
                          "target) against each searched parameter; the line is the mean over the rest. From " +
                              e.file + ".",
                          spec, std::move(data)});
        }
    }

    void attention(const std::string& node) {
        std::map<int, std::pair<double, double>> sums;  // step → (Σw, Σw²)
        std::map<int, int> counts;
        std::vector<std::string> files;
        for (const auto& e : m_.of("attention")) {
            if (e.node != node) continue;
            files.push_back(e.file);
            const CsvTable t = read_csv(m_.dir / e.file);
            const int col_step = t.require_column("step"), col_weight = t.require_column("weight");
            for (const auto& row : t.rows) {
                const int step = static_cast<int>(cell_number(row[static_cast<std::size_t>(col_step)]));
                const double w = cell_number(row[static_cast<std::size_t>(col_weight)]);
                sums[step].first += w;
                sums[step].second += w * w;
                ++counts[step];
            }
        }
        if (sums.empty()) return;
        DataTable data{{"step", "mean", "low", "high", "chunks"}, {}};
        for (const auto& [step, s] : sums) {
            const double n = counts[step], mean = s.first / n;
            const double sd = std::sqrt(std::max(0.0, s.second / n - mean * mean));
            data.add({step, plot_number(mean), plot_number(mean - sd), plot_number(mean + sd), counts[step]});
        }
        const json x = {{"field", "step"}, {"type", "quantitative"}, {"title", "GRU step (time within the chunk →)"}};
        json spec = {{"width", 520},
                     {"height", 200},
                     {"layer",
                      json::array({{{"mark", {{"type", "area"}, {"opacity", 0.25}}},
                                    {"encoding", {{"x", x}, {"y", {{"field", "low"}, {"type", "quantitative"}, {"title", "attention weight"}}}, {"y2", {{"field", "high"}}}}}},
                                   {{"mark", {{"type", "line"}, {"point", true}}},
                                    {"encoding", {{"x", x}, {"y", {{"field", "mean"}, {"type", "quantitative"}}},
                                                  {"tooltip", json::array({{{"field", "step"}}, {{"field", "mean"}, {"format", ".4f"}}, {{"field", "chunks"}}})}}}}})}};
        std::string from;
        for (const auto& f : files) from += (from.empty() ? "" : ", ") + f;
        page_.figure({"attention_" + node, "attention", "Attention over chunk time — " + node,
                      "Mean attention weight of each GRU step over every validation chunk (band: ± 1 std). From " +
                          from + ".",
                      spec, std::move(data)});
    }

    // Fig. 2 and 3: the annotations of the songs that were scored.
    void labels() {
        if (predictions_.rows.empty()) return;
        const int col_node = predictions_.require_column("node"), col_song = predictions_.require_column("song_id"),
                  col_target = predictions_.require_column("target"), col_true = predictions_.require_column("true");
        const std::string first = predictions_.rows.front()[static_cast<std::size_t>(col_node)];
        std::map<std::string, std::map<std::string, double>> songs;  // song → target → label
        std::vector<std::string> targets;
        for (const auto& row : predictions_.rows) {
            if (row[static_cast<std::size_t>(col_node)] != first) continue;
            const std::string& target = row[static_cast<std::size_t>(col_target)];
            if (std::find(targets.begin(), targets.end(), target) == targets.end()) targets.push_back(target);
            songs[row[static_cast<std::size_t>(col_song)]][target] = cell_number(row[static_cast<std::size_t>(col_true)]);
        }
        page_.heading("Labels");
        const bool va = std::count(targets.begin(), targets.end(), "valence") && std::count(targets.begin(), targets.end(), "arousal");
        if (va) {
            DataTable data{{"song_id", "valence", "arousal"}, {}};
            std::vector<double> v, a;
            for (const auto& [song, labels] : songs) {
                if (!labels.count("valence") || !labels.count("arousal")) continue;
                v.push_back(labels.at("valence"));
                a.push_back(labels.at("arousal"));
                data.add({song, plot_number(v.back()), plot_number(a.back())});
            }
            const double r = pearson_r(Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size())),
                                       Eigen::Map<const Eigen::VectorXd>(a.data(), static_cast<Eigen::Index>(a.size())));
            json spec = {{"width", 360},
                         {"height", 360},
                         {"title", fmt::format("Pearson r = {:.3f} over {} songs", r, v.size())},
                         {"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.55}, {"size", 20}}},
                         {"encoding",
                          {{"x", {{"field", "valence"}, {"type", "quantitative"}, {"scale", {{"zero", false}}}}},
                           {"y", {{"field", "arousal"}, {"type", "quantitative"}, {"scale", {{"zero", false}}}}},
                           {"tooltip", json::array({{{"field", "song_id"}, {"title", "song"}}, {{"field", "valence"}}, {{"field", "arousal"}}})}}}};
            page_.figure({"labels_scatter", "labels_scatter", "Valence against arousal (Fig. 2)",
                          "The annotations of the " + std::to_string(v.size()) + " songs node '" + first +
                              "' was scored on.",
                          spec, std::move(data)});
        }
        DataTable hist{{"target", "part", "x", "x2", "songs"}, {}};
        for (const auto& target : targets) {
            std::vector<double> x;
            for (const auto& [song, labels] : songs)
                if (labels.count(target) && std::isfinite(labels.at(target))) x.push_back(labels.at(target));
            if (x.size() < 2) continue;
            const auto [lo_it, hi_it] = std::minmax_element(x.begin(), x.end());
            const double lo = *lo_it, hi = *hi_it > *lo_it ? *hi_it : *lo_it + 1;
            const int bins = 20;
            const double width = (hi - lo) / bins;
            std::vector<int> count(bins, 0);
            for (const double value : x) ++count[std::min(bins - 1, static_cast<int>((value - lo) / width))];
            for (int b = 0; b < bins; ++b)
                hist.add({target, "histogram", plot_number(lo + b * width), plot_number(lo + (b + 1) * width), count[b]});
            // Gaussian kernel density (Scott's bandwidth), scaled to songs per bin.
            const double sd = mean_and_std(x).second;
            const double h = std::max(1e-9, 1.06 * sd * std::pow(static_cast<double>(x.size()), -0.2));
            for (int i = 0; i <= 100; ++i) {
                const double at = lo - width + (hi - lo + 2 * width) * i / 100.0;
                double density = 0;
                for (const double value : x) density += std::exp(-0.5 * std::pow((at - value) / h, 2));
                density /= static_cast<double>(x.size()) * h * std::sqrt(2 * M_PI);
                hist.add({target, "density", plot_number(at), nullptr,
                          plot_number(density * static_cast<double>(x.size()) * width)});
            }
        }
        if (hist.rows.empty()) return;
        json spec = {
            {"facet", {{"column", target_facet()}}},
            {"spec",
             {{"width", 300},
              {"height", 180},
              {"layer",
               json::array({{{"transform", json::array({{{"filter", "datum.part == 'histogram'"}}})},
                             {"mark", {{"type", "bar"}, {"color", "#9ecae9"}, {"stroke", "#4c78a8"}, {"strokeWidth", 0.5}}},
                             {"encoding",
                              {{"x", {{"field", "x"}, {"type", "quantitative"}, {"title", "annotation"}}},
                               {"x2", {{"field", "x2"}}},
                               {"y", {{"field", "songs"}, {"type", "quantitative"}, {"title", "songs"}}},
                               {"y2", {{"datum", 0}}}}}},
                            {{"transform", json::array({{{"filter", "datum.part == 'density'"}}})},
                             {"mark", {{"type", "line"}, {"color", "#e45756"}, {"strokeWidth", 2}}},
                             {"encoding", {{"x", {{"field", "x"}, {"type", "quantitative"}}}, {"y", {{"field", "songs"}, {"type", "quantitative"}}}}}}})}}},
            {"resolve", {{"scale", {{"x", "independent"}, {"y", "independent"}}}}}};
        page_.figure({"labels_histograms", "labels_histograms", "Label distributions (Fig. 3)",
                      "Histogram of each target's annotations (20 bins) with a Gaussian kernel density estimate "
                      "(Scott's bandwidth) scaled to songs per bin.",
                      spec, std::move(hist)});
    }

    // Figs. 4-5: the 15 features most correlated with each target.
    void pearson(const ArtifactEntry& e) {
        const CsvTable t = read_csv(m_.dir / e.file);
        const int col_target = t.require_column("target"), col_feature = t.require_column("feature"),
                  col_r = t.require_column("r"), col_rank = t.require_column("abs_rank");
        DataTable data{{"target", "feature", "r", "rank", "sign"}, {}};
        for (const auto& row : t.rows) {
            const double rank = cell_number(row[static_cast<std::size_t>(col_rank)]);
            if (!(rank <= 15)) continue;
            const double r = cell_number(row[static_cast<std::size_t>(col_r)]);
            data.add({row[static_cast<std::size_t>(col_target)], row[static_cast<std::size_t>(col_feature)], plot_number(r),
                      rank, r >= 0 ? "positive" : "negative"});
        }
        if (data.rows.empty()) return;
        page_.heading("Features of node '" + e.node + "'");
        json spec = {
            {"facet", {{"column", target_facet()}}},
            {"spec",
             {{"width", 260},
              {"height", {{"step", 16}}},
              {"mark", "bar"},
              {"encoding",
               {{"y", {{"field", "feature"}, {"type", "nominal"}, {"sort", {{"field", "rank"}}}, {"title", nullptr}}},
                {"x", {{"field", "r"}, {"type", "quantitative"}, {"title", "Pearson r"}, {"scale", {{"domain", json::array({-1, 1})}}}}},
                {"color", {{"field", "sign"}, {"type", "nominal"}, {"title", "correlation"},
                           {"scale", {{"domain", json::array({"positive", "negative"})}, {"range", json::array({"#4c78a8", "#e45756"})}}}}},
                {"tooltip", json::array({{{"field", "feature"}}, {{"field", "r"}, {"format", ".3f"}}, {{"field", "rank"}}})}}}}},
            {"resolve", {{"scale", {{"y", "independent"}}}}}};
        page_.figure({"pearson_" + e.node, "pearson", "Top-15 Pearson correlations — " + e.node + " (Figs. 4–5)",
                      "The 15 features with the largest |r| per target, over every song. From " + e.file + ".", spec,
                      std::move(data)});
    }

    // Figs. 6-7: a beeswarm per target of the 15 features with the largest mean |SHAP|.
    void shap(const ArtifactEntry& e) {
        const std::string prefix = "shap_" + e.node + "_";
        if (e.file.size() <= prefix.size() + 4) return;
        const std::string part = e.file.substr(prefix.size(), e.file.size() - prefix.size() - 4);
        if (part == "values") return;
        const fs::path values_file = m_.dir / (prefix + "values.csv");
        const CsvTable shap_table = read_csv(m_.dir / e.file);
        if (shap_table.rows.empty() || shap_table.header.size() < 2) return;
        std::map<std::string, std::vector<double>> feature_values;  // song → row of values
        std::vector<std::string> value_header;
        if (fs::exists(values_file)) {
            const CsvTable v = read_csv(values_file);
            value_header = v.header;
            for (const auto& row : v.rows) {
                std::vector<double> x;
                for (std::size_t c = 1; c < row.size(); ++c) x.push_back(cell_number(row[c]));
                feature_values[row[0]] = std::move(x);
            }
        }
        const std::size_t features = shap_table.header.size() - 1;
        std::vector<std::pair<double, std::size_t>> importance;
        for (std::size_t f = 0; f < features; ++f) {
            double sum = 0;
            for (const auto& row : shap_table.rows) sum += std::abs(cell_number(row[f + 1]));
            importance.push_back({-sum / static_cast<double>(shap_table.rows.size()), f});
        }
        std::sort(importance.begin(), importance.end());
        importance.resize(std::min<std::size_t>(15, importance.size()));
        DataTable data{{"feature", "rank", "song_id", "shap", "feature_value", "jitter"}, {}};
        for (std::size_t k = 0; k < importance.size(); ++k) {
            const std::size_t f = importance[k].second;
            const std::string& name = shap_table.header[f + 1];
            const auto vc = std::find(value_header.begin(), value_header.end(), name);
            // Colour: the song's value of the feature as a rank in [0, 1] among the songs (robust to outliers).
            std::vector<std::pair<double, std::size_t>> order;
            for (std::size_t r = 0; r < shap_table.rows.size(); ++r) {
                const auto it = feature_values.find(shap_table.rows[r][0]);
                const double v = it != feature_values.end() && vc != value_header.end()
                                     ? it->second[static_cast<std::size_t>(vc - value_header.begin()) - 1]
                                     : std::nan("");
                order.push_back({v, r});
            }
            std::vector<json> colour(order.size(), nullptr);
            std::sort(order.begin(), order.end());
            for (std::size_t i = 0; i < order.size(); ++i)
                if (std::isfinite(order[i].first))
                    colour[order[i].second] = plot_number(static_cast<double>(i) / std::max<std::size_t>(1, order.size() - 1));
            for (std::size_t r = 0; r < shap_table.rows.size(); ++r) {
                // A fixed, well-spread jitter (golden-ratio sequence) instead of random numbers: same page every build.
                const double jitter = std::fmod(static_cast<double>(r) * 0.6180339887, 1.0) - 0.5;
                data.add({name, k + 1, shap_table.rows[r][0], plot_number(cell_number(shap_table.rows[r][f + 1])), colour[r],
                          plot_number(jitter)});
            }
        }
        json spec = {{"width", 520},
                     {"height", {{"step", 26}}},
                     {"mark", {{"type", "circle"}, {"size", 14}, {"opacity", 0.8}}},
                     {"encoding",
                      {{"y", {{"field", "feature"}, {"type", "nominal"}, {"sort", {{"field", "rank"}}}, {"title", nullptr}}},
                       {"yOffset", {{"field", "jitter"}, {"type", "quantitative"}, {"scale", {{"domain", json::array({-0.6, 0.6})}}}}},
                       {"x", {{"field", "shap"}, {"type", "quantitative"}, {"title", "SHAP value (impact on the prediction)"}}},
                       {"color", {{"field", "feature_value"}, {"type", "quantitative"}, {"title", "feature value (rank)"},
                                  {"scale", {{"scheme", "blueorange"}}}}},
                       {"tooltip", json::array({{{"field", "song_id"}, {"title", "song"}}, {{"field", "feature"}}, {{"field", "shap"}, {"format", ".4f"}}})}}}};
        page_.figure({"shap_" + e.node + "_" + part, "shap", "SHAP summary — " + part + " (" + e.node + ", Figs. 6–7)",
                      "Each dot a song: its SHAP value for the feature, coloured by the song's value of the feature "
                      "(low blue, high orange); the 15 features with the largest mean |SHAP|, the largest on top. "
                      "From " + e.file + " and " + prefix + "values.csv.",
                      spec, std::move(data)});
    }

    // Figs. 17-18: the t-SNE map coloured by each target.
    void tsne(const ArtifactEntry& e) {
        const CsvTable t = read_csv(m_.dir / e.file);
        if (t.rows.empty() || t.header.size() < 4) return;
        const int col_x = t.require_column("x"), col_y = t.require_column("y"), col_song = t.require_column("song_id");
        const std::size_t step = sample_step(t.rows.size(), kMaxPoints);
        DataTable data{{"song_id", "x", "y", "target", "value"}, {}};
        for (std::size_t c = 3; c < t.header.size(); ++c)
            for (std::size_t r = 0; r < t.rows.size(); r += step)
                data.add({t.rows[r][static_cast<std::size_t>(col_song)], plot_number(cell_number(t.rows[r][static_cast<std::size_t>(col_x)])),
                          plot_number(cell_number(t.rows[r][static_cast<std::size_t>(col_y)])), t.header[c],
                          plot_number(cell_number(t.rows[r][c]))});
        json spec = {
            {"facet", {{"column", target_facet("coloured by")}}},
            {"spec",
             {{"width", 320},
              {"height", 320},
              {"mark", {{"type", "circle"}, {"size", 22}, {"opacity", 0.8}}},
              {"encoding",
               {{"x", {{"field", "x"}, {"type", "quantitative"}, {"title", "t-SNE 1"}, {"axis", {{"labels", false}}}}},
                {"y", {{"field", "y"}, {"type", "quantitative"}, {"title", "t-SNE 2"}, {"axis", {{"labels", false}}}}},
                {"color", {{"field", "value"}, {"type", "quantitative"}, {"title", "label"}, {"scale", {{"scheme", "viridis"}}}}},
                {"tooltip", json::array({{{"field", "song_id"}, {"title", "song"}}, {{"field", "target"}}, {{"field", "value"}, {"format", ".3f"}}})}}}}},
            {"resolve", {{"scale", {{"color", "independent"}}}}}};
        page_.figure({"tsne_" + e.node, "tsne", "t-SNE map — " + e.node + " (Figs. 17–18)",
                      "Songs placed by t-SNE on the node's input, coloured by each target; for the eye only (never a "
                      "model's input)." +
                          (step > 1 ? fmt::format(" Showing every {}th of {} songs.", step, t.rows.size()) : std::string()) +
                          " From " + e.file + ".",
                      spec, std::move(data)});
    }

    RunManifest m_;
    report::Page page_;
    ojson summary_ = ojson::object();
    json environment_ = json::object();
    std::vector<EpochRow> epochs_;
    BestEpochs best_;
    CsvTable predictions_;
    CsvTable frames_, curve_metrics_;  // sequence models: frame_predictions.csv, curves.csv
    std::vector<std::string> target_order_;
};

}  // namespace

fs::path write_run_report(const fs::path& run_dir) try {
    return RunReport(run_dir).write();
} catch (const nlohmann::json::exception& e) {
    throw report::damaged_json(run_dir.string(), e);
}

}  // namespace mer
