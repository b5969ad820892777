// sweep.json, sweep.log and the sweep folder itself (see sweep_folder.hpp).
#include "core/sweep/sweep_folder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/run/progress.hpp"
#include "core/run/run_folder.hpp"

namespace mer {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

SweepManifest read_sweep_manifest(const fs::path& sweep_dir) {
    const fs::path file = sweep_dir / "sweep.json";
    const nlohmann::json manifest = read_json_file(file);
    try {
        SweepManifest m;
        m.key = manifest.value("key", "");
        m.experiment = manifest.at("experiment").get<std::string>();
        m.overrides = manifest.at("overrides").get<std::vector<std::string>>();
        m.cache_dir = manifest.at("cache_dir").get<std::string>();
        const auto& spec = manifest.at("spec");
        m.spec.metric = spec.value("metric", "");
        m.spec.mode = spec.value("mode", "max");
        m.spec.on_failure = spec.value("on_failure", "continue");
        m.spec.scheduler = spec.value("scheduler", "");
        m.spec.asha_min_epochs = spec.value("min_epochs", 1);  // older folders: 1 and 2
        m.spec.asha_reduction = spec.value("reduction_factor", 2.0);
        for (const auto& t : manifest.at("trials")) m.trials.push_back({t.at("id"), ojson(t.at("params"))});
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("damaged sweep manifest: ") + e.what(), Location(file.string()));
    }
}

void write_sweep_manifest(const fs::path& sweep_dir, const SweepManifest& m) {
    ojson trials = ojson::array();
    for (const auto& t : m.trials) trials.push_back({{"id", t.id}, {"params", t.params}});
    const SweepSpec& s = m.spec;
    const ojson spec{{"scheduler", s.scheduler},
                     {"grid", s.grid},
                     {"zip", s.zip},
                     {"random", s.random},
                     {"samples", s.samples},
                     {"random_seed", s.random_seed},
                     {"seeds", s.seeds},
                     {"metric", s.metric},
                     {"mode", s.mode},
                     {"on_failure", s.on_failure},
                     {"min_epochs", s.asha_min_epochs},
                     {"reduction_factor", s.asha_reduction}};
    const ojson manifest{{"format", 1},
                         {"key", m.key},
                         {"experiment", m.experiment},
                         {"overrides", m.overrides},
                         {"grid_arguments", m.grid_arguments},
                         {"cache_dir", m.cache_dir},
                         {"command_line", m.command_line},
                         {"spec", spec},
                         {"trials", trials}};
    write_file_atomic(sweep_dir / "sweep.json", manifest.dump(2) + "\n");
}

SweepFolder open_sweep_folder(const fs::path& parent, const std::string& key) {
    SweepFolder out;
    std::vector<fs::path> same;
    if (fs::is_directory(parent))
        for (const auto& entry : fs::directory_iterator(parent)) {
            const fs::path file = entry.path() / "sweep.json";
            if (entry.path().filename().string().rfind("sweep-", 0) != 0 || !fs::exists(file)) continue;
            try {
                if (read_json_file(file).value("key", "") == key) same.push_back(entry.path());
            } catch (const std::exception& e) {
                out.ignored.push_back(fmt::format("{} is not continued: {}", entry.path().string(), e.what()));
            }
        }
    std::sort(same.begin(), same.end());
    if (!same.empty()) {
        out.dir = same.back();
        out.resumed = true;
        return out;
    }
    fs::create_directories(parent);
    std::string compact;
    for (char c : utc_timestamp_iso())
        if (c != '-' && c != ':') compact += c;
    out.dir = parent / ("sweep-" + compact);
    for (int n = 2; fs::exists(out.dir); ++n) out.dir = parent / fmt::format("sweep-{}-{}", compact, n);
    fs::create_directories(out.dir / "trials");
    return out;
}

void SweepLog::operator()(const std::string& line) {
    const std::string stamped = "[" + utc_timestamp_iso().substr(11, 8) + "] " + line;
    std::lock_guard<std::mutex> lock(mutex_);
    if (console_ && echo_) console_->line(stamped);
    append(stamped);
}

void SweepLog::append(const std::string& stamped) {
    const fs::path file = folder_ / "sweep.log";
    errno = 0;
    std::ofstream out(file, std::ios::app);
    out << stamped << "\n";
    out.flush();
    if (out || write_failed_) return;
    write_failed_ = true;  // said once: a full disk would otherwise say it at every line
    if (console_)
        console_->line(
            fmt::format("warning: cannot write to {} ({}); the lines that fail to reach it are lost "
                        "(said once)",
                        file.string(), errno ? std::strerror(errno) : "the write failed"));
}

void SweepLog::once(const std::string& key, const std::string& line) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!said_.insert(key).second) return;
    }
    (*this)(line);
}

}  // namespace mer
