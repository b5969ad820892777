// Row formatting for metrics.csv and metrics.jsonl.
#include "core/eval/metrics_log.hpp"

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "core/run/files.hpp"

namespace mer {

const std::vector<std::string>& MetricsLog::columns() {
    static const std::vector<std::string> columns = [] {
        std::vector<std::string> c{"node", "model", "fold", "epoch", "split", "target", "loss"};
        for (const auto& m : metric_names()) c.push_back(m);
        return c;
    }();
    return columns;
}

const char* MetricsLog::csv_header() {
    static const std::string header = csv_row(columns());
    return header.c_str();
}

MetricsLog::MetricsLog(const std::filesystem::path& folder, bool append)
    : folder_(folder),
      csv_(folder / "metrics.csv", append ? std::ios::app : std::ios::trunc),
      jsonl_(folder / "metrics.jsonl", append ? std::ios::app : std::ios::trunc) {
    if (!csv_ || !jsonl_) throw Error("cannot write metrics files in " + folder.string());
    if (!append) {
        csv_ << csv_header() << "\n";
        csv_.flush();
    }
}

void MetricsLog::drop_rows(const std::function<bool(const std::string&, int, int)>& drop) {
    std::lock_guard<std::mutex> lock(mutex_);
    csv_.close();
    jsonl_.close();
    std::string csv, jsonl;
    {
        std::istringstream lines(read_text_file(folder_ / "metrics.csv"));
        std::string line;
        std::getline(lines, line);
        csv = line + "\n";
        while (std::getline(lines, line)) {
            std::vector<std::string> f;
            std::stringstream cells(line);
            for (std::string cell; std::getline(cells, cell, ',') && f.size() < 4;) f.push_back(cell);
            if (f.size() == 4 && drop(f[0], std::atoi(f[2].c_str()), std::atoi(f[3].c_str()))) continue;
            csv += line + "\n";
        }
    }
    {
        std::istringstream lines(read_text_file(folder_ / "metrics.jsonl"));
        for (std::string line; std::getline(lines, line);) {
            const auto row = nlohmann::json::parse(line);
            if (drop(row.at("node").get<std::string>(), row.at("fold").get<int>(), row.at("epoch").get<int>()))
                continue;
            jsonl += line + "\n";
        }
    }
    write_file_atomic(folder_ / "metrics.csv", csv);
    write_file_atomic(folder_ / "metrics.jsonl", jsonl);
    csv_.open(folder_ / "metrics.csv", std::ios::app);
    jsonl_.open(folder_ / "metrics.jsonl", std::ios::app);
}

void MetricsLog::append(const MetricsRow& row) {
    const RegressionMetrics& m = row.metrics;
    std::string line = csv_field(row.node) + "," + csv_field(row.model) + "," + std::to_string(row.fold) + "," +
                       std::to_string(row.epoch) + "," + row.split + "," + csv_field(row.target) + "," +
                       (row.loss ? format_number(*row.loss) : "");
    for (const auto& name : metric_names()) line += "," + format_number(m.get(name));

    nlohmann::ordered_json j{{"node", row.node},   {"model", row.model}, {"fold", row.fold},
                             {"epoch", row.epoch}, {"split", row.split}, {"target", row.target}};
    j["loss"] = row.loss ? nlohmann::ordered_json(*row.loss) : nlohmann::ordered_json(nullptr);
    for (const auto& name : metric_names()) {
        const double v = m.get(name);
        j[name] = std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    csv_ << line << "\n";
    csv_.flush();
    jsonl_ << j.dump() << "\n";
    jsonl_.flush();
}

}  // namespace mer
