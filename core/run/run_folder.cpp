// Run folder creation and the run log.
#include "core/run/run_folder.hpp"

#include <fmt/format.h>

#include <cstring>
#include <ctime>
#include <iostream>
#include <random>

#include "core/error.hpp"
#include "core/run/files.hpp"

namespace mer {

namespace fs = std::filesystem;

static std::tm utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    return tm;
}

std::string utc_timestamp_iso() {
    const std::tm tm = utc_now();
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

RunFolder RunFolder::create(const fs::path& runs_root, const std::string& experiment_name) {
    const fs::path parent = runs_root / experiment_name;
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw environment_error("cannot create the run folder " + parent.string() + ": " + ec.message());
    std::random_device entropy;
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::tm tm = utc_now();
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        const fs::path candidate = parent / fmt::format("{}-{:06x}", stamp, entropy() & 0xffffffu);
        if (fs::create_directory(candidate, ec)) return RunFolder(candidate);
        if (ec) throw environment_error("cannot create the run folder " + candidate.string() + ": " + ec.message());
    }
    throw Error("cannot find a free run folder name under " + parent.string());
}

RunFolder RunFolder::open(const fs::path& folder) {
    if (!fs::is_directory(folder) || !fs::exists(folder / "config.yaml"))
        throw Error("not a run folder (no config.yaml)", Location(folder.string()));
    return RunFolder(folder);
}

RunFolder::RunFolder(fs::path path) : path_(std::move(path)), log_(path_ / "log.txt", std::ios::app) {
    if (!log_) throw environment_error("cannot write " + (path_ / "log.txt").string() + ": " + std::strerror(errno));
}

RunFolder::RunFolder(RunFolder&& other) noexcept
    : path_(std::move(other.path_)), log_(std::move(other.log_)), quiet_(other.quiet_) {}

void RunFolder::log(const std::string& line) {
    log_file_only(line);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!quiet_) std::cerr << line << "\n";
}

void RunFolder::log_file_only(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::tm tm = utc_now();
    char stamp[16];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    log_ << "[" << stamp << "] " << line << "\n";
    log_.flush();
}

void RunFolder::write(const std::string& relative, const std::string& content) const {
    write_file_atomic(path_ / relative, content);
}

}  // namespace mer
