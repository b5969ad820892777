#include "core/exec/run_index.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/error.hpp"
#include "core/eval/run_reader.hpp"

namespace mer {

namespace fs = std::filesystem;

namespace {

// The columns every row has, first; then one per override and per score, by name.
const std::vector<std::string> kFixedColumns{"folder", "experiment", "started", "status", "seeds"};

// Holds an flock on <runs_root>/.index.lock: runs ending together (a sweep's
// neighbours, two terminals) take turns rewriting index.csv.
class IndexLock {
public:
    explicit IndexLock(const fs::path& runs_root) {
        const fs::path file = runs_root / ".index.lock";
        fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0)
            throw environment_error("cannot lock " + file.string() + ": " + std::strerror(errno));
    }
    ~IndexLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    IndexLock(const IndexLock&) = delete;
    IndexLock& operator=(const IndexLock&) = delete;

private:
    int fd_ = -1;
};

// Points `link` at `target` (a name beside it) in one step: a reader sees the old link or the new one.
void replace_symlink(const fs::path& link, const fs::path& target) {
    const fs::path temporary = link.parent_path() / (".latest." + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove(temporary, ec);
    fs::create_directory_symlink(target, temporary, ec);
    if (!ec) fs::rename(temporary, link, ec);
    if (ec) {
        fs::remove(temporary, ec);
        throw environment_error("cannot point " + link.string() + " at " + target.string() + ": " + ec.message());
    }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> run_row(const fs::path& run_folder) {
    const nlohmann::ordered_json summary = read_summary(run_folder);
    const nlohmann::json environment = read_environment(run_folder);
    std::vector<std::pair<std::string, std::string>> row{
        {"folder", run_folder.string()},
        {"experiment", summary.value("experiment", run_folder.parent_path().filename().string())},
        {"started", environment.value("started_at", "")},
        {"status", summary.value("status", "unknown")}};
    // The seeds run: the experiment's `seeds`, else its `seed`.
    std::string seeds;
    if (environment.contains("seeds") && environment["seeds"].is_array() && !environment["seeds"].empty()) {
        for (const auto& s : environment["seeds"]) seeds += (seeds.empty() ? "" : " ") + s.dump();
    } else if (environment.contains("seed")) {
        seeds = environment["seed"].dump();
    }
    row.emplace_back("seeds", seeds);
    // One column per override: set:KEY holds its value, "(unset)" for --unset KEY.
    if (environment.contains("overrides") && environment["overrides"].is_array())
        for (const auto& o : environment["overrides"]) {
            const std::string text = o.is_string() ? o.get<std::string>() : o.dump();
            if (!text.empty() && text[0] == '~') {
                row.emplace_back("set:" + text.substr(1), "(unset)");
            } else if (const auto eq = text.find('='); eq != std::string::npos) {
                row.emplace_back("set:" + text.substr(0, eq), text.substr(eq + 1));
            }
        }
    // One column per node, target and metric: the mean over folds, and its std.
    if (summary.contains("nodes"))
        for (const auto& [node, entry] : summary["nodes"].items()) {
            if (!entry.contains("validation")) continue;
            for (const auto& [target, metrics] : entry["validation"].items())
                for (const auto& [metric, values] : metrics.items()) {
                    if (!values.is_object()) continue;
                    const std::string column = node + "." + target + "." + metric;
                    for (const char* part : {"mean", "std"})
                        if (values.contains(part) && values[part].is_number())
                            row.emplace_back(column + (part == std::string("std") ? "_std" : ""),
                                             format_number(values[part].get<double>()));
                }
        }
    return row;
}

void index_run(const fs::path& run_folder) {
    const fs::path experiment_dir = run_folder.parent_path();
    const fs::path runs_root = experiment_dir.parent_path();
    const std::string folder = (experiment_dir.filename() / run_folder.filename()).string();
    std::map<std::string, std::string> fresh;
    std::vector<std::string> fresh_order;
    for (auto& [column, value] : run_row(run_folder)) {
        if (column == "folder") value = folder;
        if (fresh.emplace(column, value).second) fresh_order.push_back(column);
    }

    IndexLock lock(runs_root);
    const fs::path index = runs_root / "index.csv";
    // Every run's row as column → value, by folder (folder names sort by start
    // time); the header is the fixed columns, then every other column in the
    // order first met.
    std::map<std::string, std::map<std::string, std::string>> rows;
    std::vector<std::string> columns = kFixedColumns;
    auto add_column = [&](const std::string& c) {
        if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    };
    if (fs::exists(index)) {
        const CsvTable table = read_csv(index);
        const bool current = !table.header.empty() && table.header[0] == "folder" &&
                             std::find(table.header.begin(), table.header.end(), "seeds") != table.header.end();
        if (current)  // an index of the older layout (one "overrides" string) is rebuilt from this run on
            for (const auto& r : table.rows) {
                auto& row = rows[r[0]];
                for (std::size_t c = 0; c < table.header.size() && c < r.size(); ++c) {
                    add_column(table.header[c]);
                    if (!r[c].empty()) row[table.header[c]] = r[c];
                }
            }
    }
    for (const auto& c : fresh_order) add_column(c);
    rows[folder] = fresh;
    std::string text = csv_row(columns) + "\n";
    for (const auto& [name, row] : rows) {
        std::vector<std::string> cells;
        for (const auto& c : columns) {
            const auto it = row.find(c);
            cells.push_back(it == row.end() ? std::string() : it->second);
        }
        text += csv_row(cells) + "\n";
    }
    write_file_atomic(index, text);

    // latest → the newest run of this experiment (by name, which sorts by start time).
    std::string newest;
    for (const auto& e : fs::directory_iterator(experiment_dir)) {
        const std::string name = e.path().filename().string();
        if (e.is_directory() && !e.is_symlink() && name != "latest" && name.rfind("sweep-", 0) != 0 &&
            fs::exists(e.path() / "run.json") && name > newest)
            newest = name;
    }
    if (!newest.empty()) replace_symlink(experiment_dir / "latest", newest);
}

}  // namespace mer
