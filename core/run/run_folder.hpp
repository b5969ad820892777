// A run folder, runs/<experiment>/<UTC timestamp>-<id>/: created atomically
// (mkdir fails rather than share a folder with a run started in the same
// second), written file by file with atomic renames, with log.txt mirrored
// to stderr as the run goes, and locked (.lock) so that two runs never write
// one folder at once.
#pragma once

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

namespace mer {

class RunFolder {
public:
    static RunFolder create(const std::filesystem::path& runs_root, const std::string& experiment_name);
    // A new run folder at exactly `folder` (a sweep's trial); fails if it exists.
    static RunFolder create_exact(const std::filesystem::path& folder);
    // An existing run folder, to resume it (the log is appended to).
    static RunFolder open(const std::filesystem::path& folder);

    RunFolder(RunFolder&& other) noexcept;
    ~RunFolder();
    const std::filesystem::path& path() const { return path_; }

    // "[HH:MM:SS] line" to log.txt, and the line to stderr unless quiet.
    void log(const std::string& line);
    // The same line to log.txt only (the terminal shows a progress bar instead).
    void log_file_only(const std::string& line);
    void set_quiet(bool quiet) { quiet_ = quiet; }
    bool quiet() const { return quiet_; }

    // Writes `relative` inside the folder atomically.
    void write(const std::string& relative, const std::string& content) const;

private:
    explicit RunFolder(std::filesystem::path path);
    std::filesystem::path path_;
    int lock_fd_ = -1;  // flock on .lock while this process writes the folder
    std::ofstream log_;
    std::mutex mutex_;
    bool quiet_ = false;
};

// UTC time as 2026-11-26T00:16:12Z.
std::string utc_timestamp_iso();

}  // namespace mer
