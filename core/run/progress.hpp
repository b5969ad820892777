// Progress of a long node (feature extraction over a corpus): a bar on the
// terminal with songs done, rate and time left, and a line in the run log at
// every tenth of the way, so a log read later shows the pace too.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace mer {

class RunFolder;

class ProgressReporter {
public:
    // `folder` may be null (no log lines, e.g. mer-run predict).
    ProgressReporter(std::string label, RunFolder* folder, bool terminal);
    // Thread-safe; plugins may call it from their worker threads.
    void operator()(std::size_t done, std::size_t total, const std::string& unit = "songs");

private:
    std::string label_;
    RunFolder* folder_;
    bool terminal_;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    int logged_tenths_ = 0;
    std::size_t last_done_ = 0;
};

// "1m54s", "12s", "2h03m".
std::string format_duration(double seconds);

// Seconds of wall time since `start` (steady clock), for log lines.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace mer
