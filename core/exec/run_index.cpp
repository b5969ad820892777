#include "core/exec/run_index.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "core/data/csv.hpp"
#include "core/error.hpp"
#include "core/run/files.hpp"

namespace mer {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kColumns{"folder", "experiment", "started", "status", "seed", "overrides", "r2"};

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

std::string overrides_of(const std::vector<std::string>& command_line) {
    std::string out;
    for (std::size_t i = 0; i + 1 < command_line.size(); ++i)
        if (command_line[i] == "--set") out += (out.empty() ? "" : " ") + command_line[i + 1];
        else if (command_line[i] == "--unset") out += std::string(out.empty() ? "" : " ") + "~" + command_line[i + 1];
    return out;
}

// "node.target=0.9056 ..." from summary.json: the first thing anyone looks for.
std::string scores_of(const nlohmann::ordered_json& summary) {
    std::string out;
    if (!summary.contains("nodes")) return out;
    for (const auto& [node, entry] : summary["nodes"].items()) {
        if (!entry.contains("validation")) continue;
        for (const auto& [target, metrics] : entry["validation"].items())
            if (metrics.contains("r2") && metrics["r2"]["mean"].is_number())
                out += fmt::format("{}{}.{}={:.4f}", out.empty() ? "" : " ", node, target,
                                   metrics["r2"]["mean"].get<double>());
    }
    return out;
}

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

void index_run(const fs::path& run_folder, const std::vector<std::string>& command_line) {
    const fs::path experiment_dir = run_folder.parent_path();
    const fs::path runs_root = experiment_dir.parent_path();
    nlohmann::ordered_json summary = nlohmann::ordered_json::object();
    nlohmann::json environment = nlohmann::json::object();
    if (fs::exists(run_folder / "summary.json")) summary = read_json_file<nlohmann::ordered_json>(run_folder / "summary.json");
    if (fs::exists(run_folder / "environment.json")) environment = read_json_file(run_folder / "environment.json");
    const std::string folder = (experiment_dir.filename() / run_folder.filename()).string();
    const std::vector<std::string> row{folder,
                                       summary.value("experiment", experiment_dir.filename().string()),
                                       environment.value("started_at", ""),
                                       summary.value("status", "unknown"),
                                       environment.contains("seed") ? environment["seed"].dump() : "",
                                       overrides_of(command_line),
                                       scores_of(summary)};

    IndexLock lock(runs_root);
    const fs::path index = runs_root / "index.csv";
    std::map<std::string, std::string> rows;  // folder → line; folder names sort by start time
    if (fs::exists(index)) {
        const CsvTable table = read_csv(index);
        if (table.header == kColumns)
            for (const auto& r : table.rows) rows[r[0]] = csv_row(r);
    }
    rows[folder] = csv_row(row);
    std::string text = csv_row(kColumns) + "\n";
    for (const auto& [name, line] : rows) text += line + "\n";
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
