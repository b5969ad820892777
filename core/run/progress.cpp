// Progress bar and progress log lines.
#include "core/run/progress.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <iostream>

#include "core/run/run_folder.hpp"

namespace mer {

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const long s = std::lround(seconds);
    if (s < 60) return fmt::format("{}s", s);
    if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

namespace {
std::atomic<ProgressSink*> g_sink{nullptr};
}  // namespace

void set_progress_sink(ProgressSink* sink) { g_sink.store(sink); }
ProgressSink* progress_sink() { return g_sink.load(); }

ProgressReporter::ProgressReporter(std::string label, RunFolder* folder, bool terminal)
    : label_(std::move(label)), folder_(folder), terminal_(terminal), start_(std::chrono::steady_clock::now()) {}

void ProgressReporter::operator()(std::size_t done, std::size_t total, const std::string& unit) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (done < last_done_) {  // a new pass (the next epoch)
        start_ = now;
        logged_tenths_ = 0;
    }
    last_done_ = done;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    const double left = rate > 0 ? static_cast<double>(total - done) / rate : NAN;
    const std::string status =
        fmt::format("{}/{} {}, {:.1f} {}/s, {} left", done, total, unit, rate, unit, format_duration(left));
    ProgressSink* sink = progress_sink();
    if ((terminal_ || sink) && (done == total || std::chrono::duration<double>(now - last_draw_).count() > 0.2)) {
        last_draw_ = now;
        const int width = 30;
        const int filled = total ? static_cast<int>(width * done / total) : width;
        const std::string bar = label_ + " [" + std::string(static_cast<std::size_t>(filled), '#') +
                                std::string(static_cast<std::size_t>(width - filled), '.') + "] " + status + "   ";
        if (sink)
            sink->progress(bar, done == total);
        else
            std::cerr << "\r" << bar << (done == total ? "\n" : "") << std::flush;
    }
    log_tenths(done, total, status);
}

void ProgressReporter::log_tenths(std::size_t done, std::size_t total, const std::string& status) {
    const int tenths = total ? static_cast<int>(10 * done / total) : 10;
    if (tenths > logged_tenths_) {
        logged_tenths_ = tenths;
        if (folder_) folder_->log_file_only(label_ + ": " + status);
    }
}

}  // namespace mer
