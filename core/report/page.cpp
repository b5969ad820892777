#include "core/report/page.hpp"

#include <cctype>
#include <cstdlib>

#include "core/base/files.hpp"

namespace mer::report {

// third_party/vega/*.min.js, embedded at build time (core/CMakeLists.txt).
extern const char kVegaJs[];
extern const char kVegaLiteJs[];
extern const char kVegaEmbedJs[];

namespace {

using json = nlohmann::json;

const char* kStyle = R"css(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0; background: #fafafa; }
header { background: #24323f; color: #fff; padding: 14px 28px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 28px 40px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 4px; }
p { margin: 6px 0; max-width: 980px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: #555; }
dl.facts dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
table.mer { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; background: #fff; }
table.mer th, table.mer td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
table.mer th { background: #eef1f4; cursor: pointer; user-select: none; white-space: nowrap; }
table.mer th.sorted-asc::after { content: " ▲"; font-size: 10px; }
table.mer th.sorted-desc::after { content: " ▼"; font-size: 10px; }
table.mer td { white-space: nowrap; }
table.mer td.num { text-align: right; }
div.table-wrap { overflow-x: auto; max-width: 100%; }
input.filter { margin: 8px 0 0; padding: 4px 8px; width: 320px; }
figure.mer-figure { background: #fff; border: 1px solid #e2e2e2; border-radius: 4px; margin: 16px 0; padding: 12px 16px; overflow-x: auto; }
figure.mer-figure figcaption p { color: #444; }
figure.mer-figure .data { color: #777; font-size: 12px; }
.figure-error { color: #b00020; font-weight: 600; }
)css";

// Sortable tables, row filters, and every figure drawn with vega-embed; the
// body's data-rendered says when all figures are done ("ok") or one failed,
// data-render-ms how long after the page's start (bench/report measures it).
const char* kScript = R"js(
(function () {
  function cellValue(td) {
    var v = td.getAttribute('data-sort');
    if (v === null) v = td.textContent;
    var n = parseFloat(v);
    return isNaN(n) || !/^\s*[-+]?[0-9.]/.test(v) ? v.toLowerCase() : n;
  }
  document.querySelectorAll('table.mer').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, column) {
      th.addEventListener('click', function () {
        var asc = !th.classList.contains('sorted-asc');
        table.querySelectorAll('th').forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
        th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a.cells[column]), y = cellValue(b.cells[column]);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.querySelectorAll('input.filter').forEach(function (input) {
    var table = document.getElementById(input.getAttribute('data-table'));
    input.addEventListener('input', function () {
      var text = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(text) >= 0 ? '' : 'none';
      });
    });
  });
  var figures = JSON.parse(document.getElementById('mer-figures').textContent);
  var config = {
    font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
    axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
    legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
    header: { labelFontSize: 12, titleFontSize: 12 },
    title: { fontSize: 13 }
  };
  var jobs = figures.map(function (f) {
    var figure = document.getElementById('figure-' + f.id);
    var plot = figure.querySelector('.plot');
    return vegaEmbed(plot, f.spec, {
      mode: 'vega-lite', renderer: 'svg', config: config,
      actions: { export: true, source: false, compiled: false, editor: false }
    }).then(function () { return true; }, function (error) {
      var p = document.createElement('p');
      p.className = 'figure-error';
      p.textContent = 'This figure could not be drawn: ' + error;
      plot.appendChild(p);
      console.error('figure ' + f.id + ': ' + error);
      return false;
    });
  });
  Promise.all(jobs).then(function (done) {
    document.body.setAttribute('data-rendered', done.every(function (d) { return d; }) ? 'ok' : 'failed');
    document.body.setAttribute('data-render-ms', String(Math.round(performance.now())));
  });
})();
)js";

std::string file_safe(const std::string& id) {
    std::string out = id;
    for (char& c : out)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
    return out;
}

std::string csv_cell(const json& cell) {
    if (cell.is_null()) return "";
    if (cell.is_string()) return csv_field(cell.get<std::string>());
    if (cell.is_number_float()) return format_number(cell.get<double>());
    return cell.dump();
}

bool looks_numeric(const std::string& text) {
    if (text.empty()) return false;
    char* end = nullptr;
    std::strtod(text.c_str(), &end);
    return end && *end == '\0';
}

}  // namespace

std::string escape_html(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string script_json(const json& value) {
    const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '<': out += "\\u003c"; break;
            case '>': out += "\\u003e"; break;
            case '&': out += "\\u0026"; break;
            default: out += c;
        }
    }
    return out;
}

json DataTable::numeric_columns() const {
    json parse = json::object();
    for (std::size_t c = 0; c < columns.size(); ++c) {
        bool numeric = true;
        for (const auto& row : rows)
            if (c < row.size() && !row[c].is_number() && !row[c].is_null()) numeric = false;
        if (numeric) parse[columns[c]] = "number";
    }
    return parse;
}

std::string DataTable::csv() const {
    std::string out = csv_row(columns) + "\n";
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + csv_cell(row[c]);
        out += "\n";
    }
    return out;
}

Page::Page(std::string title) : title_(std::move(title)) {}

void Page::heading(const std::string& text) { body_ += "<h2>" + escape_html(text) + "</h2>\n"; }

void Page::paragraph(const std::string& text) { body_ += "<p>" + escape_html(text) + "</p>\n"; }

void Page::facts(const std::vector<std::pair<std::string, std::string>>& rows) {
    body_ += "<dl class=\"facts\">\n";
    for (const auto& [key, value] : rows) body_ += "<dt>" + escape_html(key) + "</dt><dd>" + escape_html(value) + "</dd>\n";
    body_ += "</dl>\n";
}

void Page::table(const Table& table) {
    const std::string id = "table-" + std::to_string(++tables_);
    if (table.filter)
        body_ += "<input class=\"filter\" type=\"search\" placeholder=\"filter rows…\" data-table=\"" + id + "\">\n";
    body_ += "<div class=\"table-wrap\"><table class=\"mer\" id=\"" + id + "\"><thead><tr>";
    for (const auto& c : table.columns) body_ += "<th title=\"click to sort\">" + escape_html(c) + "</th>";
    body_ += "</tr></thead><tbody>\n";
    for (const auto& row : table.rows) {
        body_ += "<tr>";
        for (const auto& cell : row) {
            // "0.812 ± 0.031" sorts by its mean.
            const std::string first = cell.substr(0, cell.find(' '));
            body_ += looks_numeric(first) ? "<td class=\"num\" data-sort=\"" + escape_html(first) + "\">" : "<td>";
            body_ += escape_html(cell) + "</td>";
        }
        body_ += "</tr>\n";
    }
    body_ += "</tbody></table></div>\n";
}

void Page::figure(Figure figure) {
    figure.id = file_safe(figure.id);
    body_ += "<figure class=\"mer-figure\" id=\"figure-" + figure.id + "\" data-figure=\"" + figure.id +
             "\" data-kind=\"" + escape_html(figure.kind) + "\"><figcaption><h3>" + escape_html(figure.title) +
             "</h3>";
    if (!figure.caption.empty()) body_ += "<p>" + escape_html(figure.caption) + "</p>";
    body_ += "<p class=\"data\">data: ";
    data_folder_at_.push_back(body_.size());  // the folder's name is known when the page is written
    body_ += "/" + figure.id + ".csv</p></figcaption><div class=\"plot\"></div></figure>\n";
    figures_.push_back(std::move(figure));
}

std::filesystem::path data_folder(const std::filesystem::path& page) {
    if (page.filename() == "report.html") return page.parent_path() / "report_data";
    return page.parent_path() / (page.stem().string() + "_data");
}

std::string Page::html(const std::string& data_folder_name) const {
    json figures = json::array();
    for (const auto& f : figures_) {
        // The figure's CSV itself, parsed in the page: a third of the size of JSON objects.
        json spec = f.spec;
        spec["data"] = {{"values", f.data.csv()}, {"format", {{"type", "csv"}, {"parse", f.data.numeric_columns()}}}};
        figures.push_back({{"id", f.id}, {"spec", spec}});
    }
    std::string page;
    page.reserve(1 << 20);
    page += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline' "
            "'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src data:\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
            escape_html(title_) + "</title>\n<style>" + kStyle + "</style></head>\n<body>\n<header><h1>" +
            escape_html(title_) + "</h1></header>\n<main>\n";
    std::size_t copied = 0;
    for (const std::size_t at : data_folder_at_) {
        page.append(body_, copied, at - copied);
        page += escape_html(data_folder_name);
        copied = at;
    }
    page.append(body_, copied, std::string::npos);
    page += "</main>\n";
    page += "<script>";
    page += kVegaJs;
    page += "</script>\n<script>";
    page += kVegaLiteJs;
    page += "</script>\n<script>";
    page += kVegaEmbedJs;
    page += "</script>\n<script type=\"application/json\" id=\"mer-figures\">" + script_json(figures) + "</script>\n";
    page += "<script>";
    page += kScript;
    page += "</script>\n</body></html>\n";
    return page;
}

void Page::write(const std::filesystem::path& page) const {
    const auto data_dir = data_folder(page);
    refuse_link(data_dir);  // a planted link would take the figures' CSVs anywhere
    if (page.filename() == "report.html") refuse_link(page);  // a run's own page
    create_folder(data_dir, "report data folder");
    for (const auto& f : figures_) write_file_atomic(data_dir / (f.id + ".csv"), f.data.csv());
    write_file_atomic(page, html(data_dir.filename().string()));
}

json quantitative(const std::string& field, const std::string& title) {
    return {{"field", field}, {"type", "quantitative"}, {"title", title}};
}

json nominal(const std::string& field, const std::string& title) {
    return {{"field", field}, {"type", "nominal"}, {"title", title}};
}

}  // namespace mer::report
