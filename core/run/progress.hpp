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
    void log_tenths(std::size_t done, std::size_t total, const std::string& status);  // a log line each tenth

    std::string label_;
    RunFolder* folder_;
    bool terminal_;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    int logged_tenths_ = 0;
    std::size_t last_done_ = 0;
};

// Where a program that embeds mer wants progress bars and run-log lines
// instead of the terminal (the Python package: into the notebook cell that
// runs the call). Set for the duration of a call; while one is set, bars are
// not drawn on stderr and log lines go to it instead (log.txt keeps them).
// Called from whichever thread reports, one call at a time per bar.
class ProgressSink {
public:
    virtual ~ProgressSink() = default;
    // `bar`: the line a terminal gets ("node 'x' [#####.....] 12/40 songs,
    // 3.1 songs/s, 9s left"), redrawn in place until `finished`.
    virtual void progress(const std::string& bar, bool finished) = 0;
    virtual void line(const std::string& text) = 0;
};
// Null: the terminal again. The sink must outlive the calls that report to it.
void set_progress_sink(ProgressSink* sink);
ProgressSink* progress_sink();

// "1m54s", "12s", "2h03m".
std::string format_duration(double seconds);

// Seconds of wall time since `start` (steady clock), for log lines.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace mer
