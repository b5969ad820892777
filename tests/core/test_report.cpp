// Report pages rendered by a real headless Chromium: a quickstart run, a
// Phase 2 (LibTorch) run, a grid search on songs with hostile names, an ASHA
// sweep and a comparison of two runs. Each page must draw every figure its
// run's manifest calls for as an SVG with data marks, log nothing to the
// console and request nothing from the network.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <set>

#include "core/data/csv.hpp"
#include "core/exec/run_writer.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;

namespace {

struct Rendered {
    bool started = false;
    std::string dom;
    std::vector<std::string> console;        // the page's console messages
    std::vector<std::string> page_requests;  // URLs the page (not the browser itself) asked the network for
};

// Chromium off the network: no background services, every host unresolvable.
// --dump-dom prints the DOM once the page settles (virtual time lets the
// figures' promises finish); --log-net-log records every request.
Rendered render(const fs::path& page, const fs::path& work) {
    Rendered r;
    if (std::system("command -v chromium >/dev/null 2>&1") != 0) return r;
    const fs::path dom = work / "dom.html", log = work / "chromium.log", net = work / "net.json";
    const std::string command =
        "timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check "
        "--disable-background-networking --disable-component-update --disable-sync --disable-extensions "
        "--disable-default-apps --host-resolver-rules='MAP * ~NOTFOUND' --user-data-dir='" +
        (work / "profile").string() + "' --enable-logging=stderr --v=0 --virtual-time-budget=30000 --log-net-log='" +
        net.string() + "' --dump-dom 'file://" + fs::absolute(page).string() + "' >'" + dom.string() + "' 2>'" +
        log.string() + "'";
    if (std::system(command.c_str()) != 0 || !fs::exists(dom) || fs::file_size(dom) == 0) return r;
    r.started = true;
    r.dom = read_file(dom);
    const std::string text = read_file(log);
    const std::regex console_line(R"re(:CONSOLE[^\]]*\] (.*))re");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), console_line); it != std::sregex_iterator(); ++it)
        r.console.push_back((*it)[1]);
    // One event per line; the file may end mid-event when the browser exits at once.
    std::istringstream netlog(read_file(net));
    for (std::string line; std::getline(netlog, line);) {
        while (!line.empty() && (line.back() == ',' || line.back() == '\r')) line.pop_back();
        const auto e = nlohmann::json::parse(line, nullptr, false);
        if (!e.is_object() || !e.contains("params") || !e["params"].is_object()) continue;
        const auto& p = e["params"];
        if (!p.contains("url") || !p.contains("network_isolation_key")) continue;
        const std::string url = p["url"], key = p["network_isolation_key"];
        // Requests on behalf of the page carry its origin (file://); Chromium's own (updates) do not.
        if (key.find("file://") != std::string::npos && url.rfind("file:", 0) != 0 && url.rfind("data:", 0) != 0)
            r.page_requests.push_back(url);
    }
    return r;
}

// kind → number of figures of that kind that rendered an SVG with data marks
// (a Vega "role-mark" group with an element in it); "" counts the failures.
// Plain string search: std::regex recurses per character on megabytes of DOM.
std::map<std::string, int> drawn_figures(const std::string& dom) {
    std::map<std::string, int> out;
    const std::string open = "<figure class=\"mer-figure\"", kind_attribute = "data-kind=\"";
    for (std::size_t at = dom.find(open); at != std::string::npos; at = dom.find(open, at + 1)) {
        const std::size_t end = std::min(dom.find("</figure>", at), dom.size());
        const std::string body = dom.substr(at, end - at);
        const std::size_t k = body.find(kind_attribute) + kind_attribute.size();
        const std::string kind = body.substr(k, body.find('"', k) - k);
        bool marks = false;
        for (std::size_t m = body.find("role-mark"); m != std::string::npos && !marks; m = body.find("role-mark", m + 1)) {
            const std::size_t close = body.find('>', m);
            const std::size_t next = body.find_first_not_of(" \n\t", close + 1);
            marks = next != std::string::npos && body[next] == '<' && body.compare(next, 2, "</") != 0;
        }
        ++out[body.find("<svg") != std::string::npos && marks ? kind : std::string()];
    }
    return out;
}

// What a run's manifest calls for, by the kinds of file it lists.
std::set<std::string> expected_kinds(const fs::path& run) {
    std::set<std::string> kinds;
    for (const auto& a : mer::read_manifest(run).entries) {
        if (a.kind == "predictions") kinds.insert({"predicted_vs_true", "residuals", "labels_histograms"});
        if (a.kind == "pearson") kinds.insert("pearson");
        if (a.kind == "grid") kinds.insert("grid_search");
        if (a.kind == "attention") kinds.insert("attention");
        if (a.kind == "frame_predictions") kinds.insert("emotion_over_time");
        if (a.kind == "shap") kinds.insert("shap");
        if (a.kind == "tsne") kinds.insert("tsne");
    }
    const mer::CsvTable metrics = mer::read_csv(run / "metrics.csv");
    for (const auto& row : metrics.rows)
        if (row[static_cast<std::size_t>(metrics.require_column("epoch"))] == "2") kinds.insert("learning_curves");
    return kinds;
}

// Renders `page` and checks it; a machine without Chromium stops the test (missing_tool).
void check_page(const fs::path& page, const std::set<std::string>& kinds, const fs::path& work,
                Rendered* out = nullptr) {
    REQUIRE(fs::exists(page));
    fs::create_directories(work);
    const Rendered r = render(page, work);
    if (!r.started) {
        missing_tool("Chromium could not start here (install Debian's chromium); " + page.string() +
                     " was not rendered");
    }
    INFO(page.string());
    CHECK(r.dom.find("data-rendered=\"ok\"") != std::string::npos);
    CHECK(r.console == std::vector<std::string>{});
    CHECK(r.page_requests == std::vector<std::string>{});
    const auto drawn = drawn_figures(r.dom);
    CHECK(drawn.count("") == 0);  // every figure drew data marks
    for (const auto& kind : kinds) {
        INFO("figure kind " << kind);
        CHECK(drawn.count(kind) == 1);
    }
    if (out) *out = r;
}

}  // namespace

TEST_CASE("the render check itself sees console errors, network requests and empty figures", "[report][browser]") {
    // Positive control: a page without the report's safeguards trips every check.
    TempDir dir;
    write_file(dir / "bad.html",
               "<!doctype html><html><body><img src=\"http://example.invalid/x.png\">"
               "<figure class=\"mer-figure\" data-kind=\"empty\"><div class=\"plot\"></div></figure>"
               "<script>console.error('boom')</script></body></html>");
    const Rendered r = render(dir / "bad.html", dir.path());
    if (!r.started) missing_tool("Chromium could not start here (install Debian's chromium)");
    CHECK(r.console.size() == 1);
    CHECK(r.page_requests == std::vector<std::string>{"http://example.invalid/x.png"});
    CHECK(drawn_figures(r.dom) == std::map<std::string, int>{{"", 1}});
}

TEST_CASE("a quickstart run's report draws every figure offline, with skipped songs listed", "[report][browser][cli]") {
    TempDir dir;
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "24", "--seconds", "3", "--seed", "4"}, dir.path())
                .exit_code == 0);
    // One song's audio is garbage: skipped with its reason, and shown.
    fs::path victim;
    for (const auto& e : fs::recursive_directory_iterator(dir / "corpus"))
        if (e.path().extension() == ".mp3") victim = e.path();
    write_file(victim, "not an mp3 at all");
    const auto r = run_mer({"run", (source_dir() / "experiments" / "quickstart.yaml").string(), "--set",
                            "nodes.deam.params.root=corpus", "--set", "evaluation.split.k=3", "--quiet"},
                           dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    // The run wrote its page, listed it in run.json, and the CSV behind each figure.
    std::set<std::string> files;
    for (const auto& a : mer::read_manifest(run).entries) files.insert(a.file);
    CHECK(files.count("report.html") == 1);
    CHECK(fs::exists(run / "report_data" / "predicted_ridge.csv"));
    CHECK_THAT(read_file(run / "log.txt"), Catch::Contains("report: "));

    const mer::CsvTable index = mer::read_csv(dir / "runs" / "index.csv");
    REQUIRE(index.rows.size() == 1);
    // One column per override, the value as given.
    REQUIRE(index.column("set:nodes.deam.params.root") >= 0);
    REQUIRE(index.column("set:evaluation.split.k") >= 0);
    CHECK(index.rows[0][static_cast<std::size_t>(index.column("set:nodes.deam.params.root"))] == "corpus");
    CHECK(index.rows[0][static_cast<std::size_t>(index.column("set:evaluation.split.k"))] == "3");

    auto kinds = expected_kinds(run);
    CHECK(kinds.count("pearson") == 1);
    kinds.insert("labels_scatter");
    Rendered page;
    check_page(run / "report.html", kinds, dir / "chromium", &page);
    CHECK_THAT(page.dom, Catch::Contains("Skipped songs (1)") && Catch::Contains(victim.filename().string()));
    CHECK_THAT(page.dom, Catch::Contains("regressor.ridge"));

    // `mer-run report` rebuilds the same page from the folder.
    const std::string before = read_file(run / "report.html");
    fs::remove(run / "report.html");
    const auto again = run_mer({"report", run.string()}, dir.path());
    REQUIRE(again.exit_code == 0);
    CHECK(read_file(run / "report.html") == before);
}

TEST_CASE("song names from files are shown as text, never run as script", "[report][browser][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 60);
    // The first song gets a name that is markup; the labels stay as they were.
    std::string table = read_file(dir / "songs.csv");
    const std::size_t first_row = table.find('\n') + 1;
    table.replace(first_row, table.find(',', first_row) - first_row, "<script>alert(1)</script>.mp3");
    write_file(dir / "songs.csv", table);
    write_file(dir / "exp.yaml", R"(name: hostile
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  ridge:
    uses: regressor.ridge
    inputs: [songs]
    grid: {alpha: [0.1, 10, 1000]}
    grid_search: {folds: 3}
evaluation: {split: {kind: kfold, k: 3}}
)");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    const std::string html = read_file(run / "report.html");
    // Escaped everywhere in the file: as HTML text, and as \u003c in the inlined data.
    CHECK(html.find("<script>alert(1)</script>") == std::string::npos);
    CHECK_THAT(html, Catch::Contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e.mp3"));
    Rendered page;
    check_page(run / "report.html", expected_kinds(run), dir / "chromium", &page);
    CHECK(expected_kinds(run).count("grid_search") == 1);
    // No script ran from the name (an alert would have been logged as an error, a script tag would be in the DOM).
    CHECK(page.dom.find("<script>alert(1)</script>") == std::string::npos);
}

TEST_CASE("a sweep's report shows the leaderboard, scores per swept key, top curves and ASHA rungs",
          "[report][browser][sweep][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    write_file(dir / "exp.yaml", R"(name: asha
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  model: {uses: regressor.curve, inputs: [songs], params: {epochs: 4, epoch_ms: 0}}
evaluation: {split: {kind: holdout, fraction: 0.25}}
sweep:
  grid: {nodes.model.params.quality: [0.5, 0.8, 0.3, 0.9]}
  metric: model.valence.r2
  scheduler: {type: asha, min_epochs: 1, reduction_factor: 2}
)");
    const auto r = run_mer({"sweep", "exp.yaml", "--workers", "1"}, dir.path(), test_plugin_dir("good").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path sweep = dir.path() / run_folder_of(r);
    Rendered page;
    check_page(sweep / "report.html", {"sweep_scores", "sweep_curves", "asha_rungs"}, dir / "chromium", &page);
    CHECK_THAT(page.dom, Catch::Contains("trial-0003") && Catch::Contains("stopped"));
}

TEST_CASE("two runs on the same songs and folds compare side by side with paired differences",
          "[report][browser][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 60);
    std::vector<std::string> runs;
    for (const char* alpha : {"0.01", "1000"}) {
        write_file(dir / "exp.yaml", std::string(R"(name: ridge-alpha
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  ridge: {uses: regressor.ridge, inputs: [songs], params: {alpha: )") +
                                         alpha + "}}\nevaluation: {split: {kind: kfold, k: 4}}\n");
        const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
        REQUIRE(r.exit_code == 0);
        runs.push_back((dir.path() / run_folder_of(r)).string());
    }
    // runs/index.csv has a row per run with its overrides-free scores, and latest is the second run;
    // names sort by start time even within one second.
    CHECK(fs::path(runs[0]).filename().string() < fs::path(runs[1]).filename().string());
    const mer::CsvTable index = mer::read_csv(dir / "runs" / "index.csv");
    REQUIRE(index.rows.size() == 2);
    CHECK(index.rows[1][0] == "ridge-alpha/" + fs::path(runs[1]).filename().string());
    CHECK(index.rows[1][3] == "finished");
    REQUIRE(index.column("ridge.valence.r2") >= 0);
    REQUIRE(index.column("ridge.valence.r2_std") >= 0);
    const auto* row = &index.rows[1];
    CHECK(std::isfinite(std::stod((*row)[static_cast<std::size_t>(index.column("ridge.valence.r2"))])));
    CHECK((*row)[static_cast<std::size_t>(index.column("seeds"))] == "42");
    CHECK(fs::read_symlink(dir / "runs" / "ridge-alpha" / "latest") == fs::path(runs[1]).filename());
    CHECK(fs::exists(dir / "runs" / "ridge-alpha" / "latest" / "report.html"));
    // summary.json scores every out-of-fold prediction at once too (pooled), as predictions.csv has them.
    {
        const auto summary = nlohmann::json::parse(read_file(fs::path(runs[0]) / "summary.json"));
        const mer::CsvTable predictions = mer::read_csv(fs::path(runs[0]) / "predictions.csv");
        std::vector<double> truth, predicted;
        for (const auto& row : predictions.rows)
            if (row[3] == "valence") truth.push_back(std::stod(row[4])), predicted.push_back(std::stod(row[5]));
        REQUIRE(truth.size() == 60);
        double mean = 0, ss_res = 0, ss_tot = 0;
        for (const double v : truth) mean += v / 60.0;
        for (std::size_t i = 0; i < truth.size(); ++i)
            ss_res += (truth[i] - predicted[i]) * (truth[i] - predicted[i]), ss_tot += (truth[i] - mean) * (truth[i] - mean);
        CHECK(summary["nodes"]["ridge"]["validation"]["valence"]["r2"]["pooled"].get<double>() ==
              Approx(1 - ss_res / ss_tot).epsilon(1e-12));
    }
    const auto r = run_mer({"report", runs[0], runs[1], "-o", "compare.html"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string html = read_file(dir / "compare.html");
    CHECK_THAT(html, Catch::Contains("Paired differences") && Catch::Contains("ridge-alpha/"));
    CHECK(html.find("No two runs share songs") == std::string::npos);  // same songs, split, seed: paired
    Rendered page;
    check_page(dir / "compare.html", {}, dir / "chromium", &page);
    // A folder that is not a run is refused by name.
    const auto bad = run_mer({"report", dir.path().string(), runs[0], "-o", "x.html"}, dir.path());
    CHECK(bad.exit_code != 0);
    CHECK_THAT(bad.err, Catch::Contains("is not a run folder"));
}

TEST_CASE("a Phase 2 run's report draws its learning curves and attention over time",
          "[report][browser][torch][cli]") {
    TempDir dir;
    REQUIRE(run_mer({"synth", "--out", "corpus", "--songs", "12", "--seconds", "3.5", "--seed", "5"}, dir.path())
                .exit_code == 0);
    write_file(dir / "exp.yaml", R"(name: phase2-small
nodes:
  data: {uses: dataset.deam, params: {root: corpus}}
  chunks: {uses: features.logmel_chunks, inputs: [data]}
  attention:
    uses: regressor.cnn_gru_attention
    inputs: [chunks]
    params: {epochs: 3, batch_size: 4}
evaluation: {split: {kind: holdout, fraction: 0.25}}
)");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const fs::path run = dir.path() / run_folder_of(r);
    const auto kinds = expected_kinds(run);
    CHECK(kinds.count("learning_curves") == 1);
    CHECK(kinds.count("attention") == 1);
    // summary.json names the epoch kept, as the training log does.
    const auto summary = nlohmann::json::parse(read_file(run / "summary.json"));
    const auto& best = summary["nodes"]["attention"]["best_epoch"];
    REQUIRE(best["epoch"].size() == 1);
    CHECK(best["epochs"][0] == 3);
    CHECK_THAT(read_file(run / "log.txt"),
               Catch::Contains("best epoch " + best["epoch"][0].dump() + " (song-level R²"));
    CHECK(best["score_at_best"][0].get<double>() >= best["score_at_last"][0].get<double>());
    // metrics.csv marks that epoch's rows, and only those, in its best column.
    const mer::CsvTable metrics = mer::read_csv(run / "metrics.csv");
    const int col_epoch = metrics.require_column("epoch"), col_best = metrics.require_column("best"),
              col_node = metrics.require_column("node");
    int marked = 0;
    for (const auto& row : metrics.rows) {
        if (row[static_cast<std::size_t>(col_best)] != "1") continue;
        CHECK(row[static_cast<std::size_t>(col_node)] == "attention");
        CHECK(row[static_cast<std::size_t>(col_epoch)] == best["epoch"][0].dump());
        ++marked;
    }
    CHECK(marked >= 4);  // train and watched rows (songs and chunks) for both targets
    // The finished run dropped its per-epoch checkpoints (they serve --resume only) and says so.
    CHECK_FALSE(fs::exists(run / "checkpoints"));
    CHECK_THAT(read_file(run / "log.txt"), Catch::Contains("deleted checkpoints/"));
    for (const auto& a : mer::read_manifest(run).entries) CHECK(a.file.rfind("checkpoints/", 0) != 0);
    // Log-mel chunks are tensors: no empty feature or Pearson tables beside them.
    CHECK_FALSE(fs::exists(run / "features_chunks.csv"));
    CHECK_FALSE(fs::exists(run / "pearson_chunks.csv"));
    CHECK(fs::exists(run / "labels_chunks.csv"));
    check_page(run / "report.html", kinds, dir / "chromium");

    // --keep-checkpoints keeps them (from the cache: the features are not extracted again).
    const auto kept = run_mer({"run", "exp.yaml", "--quiet", "--keep-checkpoints", "--set",
                               "nodes.attention.params.epochs=1"},
                              dir.path());
    REQUIRE(kept.exit_code == 0);
    CHECK(fs::exists(dir.path() / run_folder_of(kept) / "checkpoints" / "attention"));
}

TEST_CASE("a comparison page shows each run's config difference under its label, its data beside it",
          "[report][browser][cli]") {
    TempDir dir;
    write_synthetic_table(dir.path(), 40);
    write_file(dir / "exp.yaml", R"(name: curves
description: the first run's text
nodes:
  songs: {uses: dataset.table, params: {path: songs.csv}}
  model: {uses: regressor.curve, inputs: [songs], params: {epochs: 3, epoch_ms: 0}}
evaluation: {split: {kind: kfold, k: 3}}
)");
    const std::string plugins = test_plugin_dir("good").string();
    auto run = [&](const std::vector<std::string>& overrides) {
        std::vector<std::string> args{"run", "exp.yaml", "--quiet"};
        args.insert(args.end(), overrides.begin(), overrides.end());
        const auto r = run_mer(args, dir.path(), plugins);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return (dir.path() / run_folder_of(r)).string();
    };
    const std::string a = run({}), b = run({"--set", "nodes.model.params.quality=0.9", "--unset", "description",
                                            "--set", "nodes.model.label=fast"});
    const auto labelled = run_mer({"report", a, b, "-o", "one.html", "--label", "slow=" + a, "--label", "quick=" + b},
                                  dir.path(), plugins);
    INFO(labelled.err);
    REQUIRE(labelled.exit_code == 0);
    const auto plain = run_mer({"report", a, b, "-o", "two.html"}, dir.path(), plugins);
    REQUIRE(plain.exit_code == 0);

    // Each page keeps its own data folder, named in its captions; a run's page keeps report_data/.
    CHECK_FALSE(fs::exists(dir / "report_data"));
    const std::string one = read_file(dir / "one.html"), two = read_file(dir / "two.html");
    CHECK_THAT(one, Catch::Contains("data: one_data/compare_curves.csv"));
    CHECK_THAT(two, Catch::Contains("data: two_data/compare_curves.csv"));
    CHECK_THAT(read_file(fs::path(a) / "report.html"), Catch::Contains("data: report_data/"));
    // The labels name the runs in the data too; the unlabelled page keeps experiment/folder.
    const std::string one_curves = read_file(dir / "one_data" / "compare_curves.csv");
    CHECK_THAT(one_curves, Catch::Contains("slow · model") && Catch::Contains("quick · model"));
    CHECK_THAT(read_file(dir / "two_data" / "compare_curves.csv"),
               Catch::Contains("curves/" + fs::path(b).filename().string() + " · model"));

    // What differs from the first run: a changed value, an added key and a removed one; nothing else.
    auto row = [](const std::vector<std::string>& cells) {
        std::string html = "<tr>";
        for (const auto& c : cells)
            html += (c == "0.5" || c == "0.9" ? "<td class=\"num\" data-sort=\"" + c + "\">" : "<td>") + c + "</td>";
        return html + "</tr>";
    };
    CHECK_THAT(one, Catch::Contains("Configuration differences"));
    CHECK_THAT(one, Catch::Contains(row({"quick", "nodes.model.params.quality", "0.5", "0.9"})));
    CHECK_THAT(one, Catch::Contains(row({"quick", "nodes.model.label", "(absent)", "fast"})));
    CHECK_THAT(one, Catch::Contains(row({"quick", "description", "the first run&#39;s text", "(absent)"})));
    const std::size_t table = one.find("id=\"table-1\""), end = one.find("</table>", table);
    REQUIRE(end != std::string::npos);
    CHECK(count_lines(one.substr(table, end - table)) == 1 + 3);  // the header's line, then one per difference

    // Labels that cannot name a compared run are refused by name.
    const auto no_equals = run_mer({"report", a, b, "--label", "slow"}, dir.path(), plugins);
    CHECK(no_equals.exit_code == 2);
    CHECK_THAT(no_equals.err, Catch::Contains("--label slow: expected NAME=RUN_DIR"));
    const auto stranger = run_mer({"report", a, b, "--label", "x=" + dir.path().string()}, dir.path(), plugins);
    CHECK(stranger.exit_code == 2);
    CHECK_THAT(stranger.err, Catch::Contains("is not one of the runs compared"));
    const auto twice = run_mer({"report", a, b, "--label", "same=" + a, "--label", "same=" + b}, dir.path(), plugins);
    CHECK(twice.exit_code == 2);
    CHECK_THAT(twice.err, Catch::Contains("the name 'same' is already given to " + a));

    Rendered page;
    check_page(dir / "one.html", {"compare_curves"}, dir / "chromium", &page);
    CHECK_THAT(page.dom, Catch::Contains("nodes.model.params.quality"));
}

namespace {

// A 2-fold ridge run on a 20-song synthetic table in `dir`; `more` adds to the ridge node (", grid: …").
fs::path ridge_run(const TempDir& dir, const std::string& more) {
    write_synthetic_table(dir.path(), 20);
    write_file(dir / "exp.yaml", "name: r\nnodes:\n  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
                                 "  ridge: {uses: regressor.ridge, inputs: [songs]" + more + "}\n"
                                 "evaluation: {split: {kind: kfold, k: 2}}\n");
    const auto r = run_mer({"run", "exp.yaml", "--quiet"}, dir.path());
    REQUIRE(r.exit_code == 0);
    return dir / run_folder_of(r);
}

}  // namespace

TEST_CASE("a run folder whose JSON holds a value of the wrong kind gets an error naming it", "[report][cli]") {
    // summary.json's "failed" as a string: the page reads it, and the JSON library's exception
    // reached main unlocated ("refused before anything ran"). The sweep and comparison pages do the same.
    TempDir dir;
    const fs::path run = ridge_run(dir, "");
    auto summary = nlohmann::json::parse(read_file(run / "summary.json"));
    summary["failed"] = "a string where an object belongs";
    write_file(run / "summary.json", summary.dump());
    const auto page = run_mer({"report", run.string()}, dir.path());
    CHECK(page.exit_code == 2);
    CHECK_THAT(page.err, Catch::Contains(run.string() + ": a JSON file here holds a value of the wrong kind"));
}

TEST_CASE("a damaged row of grid.csv is named on the report and not dropped from its figure", "[report][cli]") {
    TempDir dir;
    const fs::path run = ridge_run(dir, ", grid: {alpha: [1, 10]}");
    const fs::path grid = run / "grid.csv";
    REQUIRE(fs::exists(grid));
    REQUIRE(run_mer({"report", run.string()}, dir.path()).exit_code == 0);
    std::string text = read_file(grid);
    const auto at = text.find("{\"\"alpha\"\"");  // the first row's params cell, CSV-quoted
    REQUIRE(at != std::string::npos);
    text.replace(at, 1, "<");
    write_file(grid, text);
    const auto page = run_mer({"report", run.string()}, dir.path());
    CHECK(page.exit_code == 2);
    CHECK_THAT(page.err, Catch::Contains(grid.string() + ":2") && Catch::Contains("column 'params'"));
}
