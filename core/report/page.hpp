// One offline HTML page: sections of escaped text, sortable tables and
// Vega-Lite figures whose data is inlined, with Vega, Vega-Lite and
// Vega-Embed (third_party/vega/) inlined too, so the file opens from disk
// with no server and no network. A Content-Security-Policy forbids every
// request. Each figure's data is also written as <figure>.csv into the
// page's own data folder beside it (data_folder()), for a researcher's own
// tools.
//
// Every string placed in the page goes through escape_html() or
// script_json(): song ids, file names, CSV cells and YAML values are data,
// never markup.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mer::report {

std::string escape_html(std::string_view text);
// JSON that is safe inside a <script> element: '<', '>' and '&' as \u escapes.
std::string script_json(const nlohmann::json& value);

// Rows for a figure and its CSV: each cell a JSON number, string or null.
struct DataTable {
    std::vector<std::string> columns;
    std::vector<std::vector<nlohmann::json>> rows;
    void add(std::vector<nlohmann::json> row) { rows.push_back(std::move(row)); }
    std::string csv() const;
    // {column: "number"} for the columns holding only numbers (and empty cells): the page's CSV parse.
    nlohmann::json numeric_columns() const;
};

struct Figure {
    std::string id;       // unique in the page; also the CSV's name (<data folder>/<id>.csv)
    std::string kind;     // what it shows: learning_curves, predicted_vs_true, ... (docs/reports.md)
    std::string title;    // the heading above it
    std::string caption;  // what to read off it, and where its data came from
    nlohmann::json spec;  // a Vega-Lite spec without data; the table is inlined as data.values
    DataTable data;
};

struct Table {
    std::vector<std::string> columns;
    std::vector<std::vector<std::string>> rows;  // cells as text; numbers sort as numbers
    bool filter = false;                         // a box above it that hides rows not containing the text
};

class Page {
public:
    explicit Page(std::string title);
    void heading(const std::string& text);                     // <h2>
    void paragraph(const std::string& text);                   // escaped
    void facts(const std::vector<std::pair<std::string, std::string>>& rows);  // a two-column list
    void table(const Table& table);
    void figure(Figure figure);
    std::size_t figures() const { return figures_.size(); }

    // Writes `page` and its data folder beside it (each file atomically).
    void write(const std::filesystem::path& page) const;
    // The page, its figure captions naming `data_folder_name`/<figure>.csv.
    std::string html(const std::string& data_folder_name = "report_data") const;

private:
    std::string title_;
    std::string body_;
    std::vector<std::size_t> data_folder_at_;  // where in body_ each figure names its data folder
    std::vector<Figure> figures_;
    int tables_ = 0;
};

// The folder a page's figure CSVs go to, beside it: report.html (a run's or a
// sweep's page) → report_data/, as run.json lists it; any other page, e.g.
// compare.html → compare_data/, so two pages in one folder keep their own.
std::filesystem::path data_folder(const std::filesystem::path& page);

// Plain Vega-Lite spec pieces used by several pages.
nlohmann::json quantitative(const std::string& field, const std::string& title);
nlohmann::json nominal(const std::string& field, const std::string& title);

}  // namespace mer::report
