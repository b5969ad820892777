// Run folder creation and the run log.
#include "core/run/run_folder.hpp"

#include <chrono>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <iostream>
#include <random>

#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/run/progress.hpp"

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
    create_folder(parent, "run folder");
    std::error_code ec;
    std::random_device entropy;
    for (int attempt = 0; attempt < 100; ++attempt) {
        // Milliseconds in the name: runs started within one second still sort by time.
        const auto now = std::chrono::system_clock::now();
        const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
        std::tm tm{};
        gmtime_r(&seconds, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        const fs::path candidate = parent / fmt::format("{}.{:03d}Z-{:06x}", stamp, static_cast<int>(millis), entropy() & 0xffffffu);
        if (fs::create_directory(candidate, ec)) return RunFolder(candidate);
        if (ec) throw environment_error("cannot create the run folder " + candidate.string() + ": " + ec.message());
    }
    throw Error("cannot find a free run folder name under " + parent.string());
}

RunFolder RunFolder::create_exact(const fs::path& folder) {
    if (folder.has_parent_path()) create_folder(folder.parent_path(), "run folder");
    std::error_code ec;
    if (!fs::create_directory(folder, ec)) {
        if (ec) throw environment_error("cannot create the run folder " + folder.string() + ": " + ec.message());
        throw Error("the run folder already exists", Location(folder.string()));
    }
    return RunFolder(folder);
}

RunFolder RunFolder::open(const fs::path& folder) {
    if (!fs::is_directory(folder) || !fs::exists(folder / "config.yaml"))
        throw Error("not a run folder (no config.yaml)", Location(folder.string()));
    return RunFolder(folder);
}

// One mer-run writes a run folder at a time: it holds an flock on .lock
// (released by the kernel when the process ends, however it ends), and the
// file says who holds it for the one that is turned away.
static int lock_run_folder(const fs::path& folder) {
    const fs::path file = folder / ".lock";
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw environment_error("cannot open " + file.string() + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        std::string holder;
        try {
            holder = read_text_file(file);
        } catch (const Error&) {
        }
        ::close(fd);
        if (error != EWOULDBLOCK) throw environment_error("cannot lock " + file.string() + ": " + std::strerror(error));
        while (!holder.empty() && holder.back() == '\n') holder.pop_back();
        throw environment_error("another mer-run is writing this run folder (" + (holder.empty() ? "unknown process" : holder) +
                        "); wait for it to finish or stop it, then try again",
                    Location(folder.string()));
    }
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    const std::string holder = fmt::format("pid {} on {} since {}\n", ::getpid(), host, utc_timestamp_iso());
    // Who holds the lock is a courtesy to the next one; the lock is held either way.
    if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, holder.data(), holder.size(), 0);
    return fd;
}

RunFolder::RunFolder(fs::path path) : path_(std::move(path)), lock_fd_(lock_run_folder(path_)) {
    try {
        refuse_link(path_ / "log.txt");
    } catch (...) {
        ::close(lock_fd_);
        throw;
    }
    log_.open(path_ / "log.txt", std::ios::app);
    if (!log_) {
        const int error = errno;
        ::close(lock_fd_);
        throw environment_error("cannot write " + (path_ / "log.txt").string() + ": " + std::strerror(error));
    }
}

RunFolder::RunFolder(RunFolder&& other) noexcept
    : path_(std::move(other.path_)), lock_fd_(other.lock_fd_), log_(std::move(other.log_)), quiet_(other.quiet_) {
    other.lock_fd_ = -1;
}

RunFolder::~RunFolder() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

void RunFolder::log(const std::string& line) {
    log_file_only(line);
    if (quiet_) return;
    if (ProgressSink* sink = progress_sink()) return sink->line(line);
    std::lock_guard<std::mutex> lock(mutex_);
    std::cerr << line << "\n";
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
    refuse_link(path_ / relative);
    write_file_atomic(path_ / relative, content);
}

}  // namespace mer
