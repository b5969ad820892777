// Row formatting for metrics.csv and metrics.jsonl.
#include "core/eval/metrics_log.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/base/files.hpp"
#include "core/error.hpp"

namespace mer {

const std::vector<std::string>& MetricsLog::columns() {
    static const std::vector<std::string> columns = [] {
        std::vector<std::string> c{"node", "model", "fold", "epoch", "split", "target", "loss"};
        for (const auto& m : metric_names()) c.push_back(m);
        c.push_back("seed");
        c.push_back("best");
        return c;
    }();
    return columns;
}

const char* MetricsLog::csv_header() {
    static const std::string header = csv_row(columns());
    return header.c_str();
}

// A row cut short by a full disk or a killed run is dropped before rows are
// appended after it.
static void drop_partial_last_line(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return;
    const std::string text = read_text_file(path);
    if (text.empty() || text.back() == '\n') return;
    const std::size_t end = text.rfind('\n');
    write_file_atomic(path, end == std::string::npos ? std::string() : text.substr(0, end + 1));
}

MetricsLog::MetricsLog(const std::filesystem::path& folder, bool append) : folder_(folder) {
    if (append) {
        drop_partial_last_line(folder / "metrics.csv");
        drop_partial_last_line(folder / "metrics.jsonl");
    }
    errno = 0;
    refuse_link(folder / "metrics.csv");
    refuse_link(folder / "metrics.jsonl");
    csv_.open(folder / "metrics.csv", append ? std::ios::app : std::ios::trunc);
    jsonl_.open(folder / "metrics.jsonl", append ? std::ios::app : std::ios::trunc);
    if (!csv_ || !jsonl_)
        throw environment_error("cannot write the metrics files in " + folder.string() + ": " + std::strerror(errno));
    if (!append) {
        csv_ << csv_header() << "\n";
        csv_.flush();
        check_written();
    }
}

// A row that did not reach the disk stops the run: the epochs logged so far
// stay, and --resume repeats the rest once there is space again.
void MetricsLog::check_written() {
    if (csv_ && jsonl_) return;
    const int error = errno;
    throw environment_error("cannot write " + (folder_ / (csv_ ? "metrics.jsonl" : "metrics.csv")).string() + ": " +
                            (error ? std::strerror(error) : "the write failed (disk full?)"));
}

void MetricsLog::rewrite(
    const std::function<Edit(const std::string&, int, std::uint64_t, int, const std::string&)>& edit) {
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
            // node,model,fold,epoch,... and the last two fields seed,best (node ids and plugin names hold no comma).
            std::vector<std::string> f;
            std::stringstream cells(line);
            for (std::string cell; std::getline(cells, cell, ',') && f.size() < 5;) f.push_back(cell);
            const std::size_t best_comma = line.rfind(',');
            const std::size_t seed_comma = line.rfind(',', best_comma - 1);
            const std::uint64_t seed =
                std::strtoull(line.substr(seed_comma + 1, best_comma - seed_comma - 1).c_str(), nullptr, 10);
            const Edit e =
                f.size() == 5 ? edit(f[0], std::atoi(f[2].c_str()), seed, std::atoi(f[3].c_str()), f[4]) : Edit::keep;
            if (e == Edit::drop) continue;
            if (e != Edit::keep) line = line.substr(0, best_comma + 1) + (e == Edit::mark_best ? "1" : "");
            csv += line + "\n";
        }
    }
    {
        std::istringstream lines(read_text_file(folder_ / "metrics.jsonl"));
        int line_number = 1;
        for (std::string line; std::getline(lines, line);) {
            auto row = nlohmann::ordered_json::parse(line, nullptr, false);
            if (row.is_discarded() || !row.is_object())
                throw Error("not a JSON object (edited by hand?); delete that line and resume again",
                            Location((folder_ / "metrics.jsonl").string(), line_number));
            ++line_number;
            const Edit e = edit(row.at("node").get<std::string>(), row.at("fold").get<int>(),
                                row.value("seed", std::uint64_t{0}), row.at("epoch").get<int>(),
                                row.value("split", std::string()));
            if (e == Edit::drop) continue;
            if (e != Edit::keep) {
                row["best"] = e == Edit::mark_best ? nlohmann::ordered_json(1) : nlohmann::ordered_json(nullptr);
                line = row.dump();
            }
            jsonl += line + "\n";
        }
    }
    write_file_atomic(folder_ / "metrics.csv", csv);
    write_file_atomic(folder_ / "metrics.jsonl", jsonl);
    refuse_link(folder_ / "metrics.csv");
    refuse_link(folder_ / "metrics.jsonl");
    csv_.open(folder_ / "metrics.csv", std::ios::app);
    jsonl_.open(folder_ / "metrics.jsonl", std::ios::app);
    check_written();
}

void MetricsLog::drop_rows(const std::function<bool(const std::string&, int, std::uint64_t, int)>& drop) {
    rewrite([&](const std::string& node, int fold, std::uint64_t seed, int epoch, const std::string&) {
        return drop(node, fold, seed, epoch) ? Edit::drop : Edit::keep;
    });
}

void MetricsLog::mark_best(const std::string& node, int fold, std::uint64_t seed, int epoch,
                           const std::set<std::string>& untouched) {
    rewrite([&](const std::string& n, int f, std::uint64_t s, int e, const std::string& split) {
        if (n != node || f != fold || s != seed || untouched.count(split)) return Edit::keep;
        return e == epoch ? Edit::mark_best : Edit::clear_best;
    });
}

void MetricsLog::append(const MetricsRow& row) {
    const RegressionMetrics& m = row.metrics;
    std::string line = csv_field(row.node) + "," + csv_field(row.model) + "," + std::to_string(row.fold) + "," +
                       std::to_string(row.epoch) + "," + row.split + "," + csv_field(row.target) + "," +
                       (row.loss ? format_number(*row.loss) : "");
    for (const auto& name : metric_names()) line += "," + format_number(m.get(name));
    line += "," + std::to_string(row.seed) + ",";  // best: marked once the fold's training ends

    nlohmann::ordered_json j{{"node", row.node},   {"model", row.model}, {"fold", row.fold},
                             {"epoch", row.epoch}, {"split", row.split}, {"target", row.target}};
    j["loss"] = row.loss ? nlohmann::ordered_json(*row.loss) : nlohmann::ordered_json(nullptr);
    for (const auto& name : metric_names()) {
        const double v = m.get(name);
        j[name] = std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
    }
    j["seed"] = row.seed;
    j["best"] = nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    errno = 0;
    csv_ << line << "\n";
    csv_.flush();
    jsonl_ << j.dump() << "\n";
    jsonl_.flush();
    check_written();
}

}  // namespace mer
