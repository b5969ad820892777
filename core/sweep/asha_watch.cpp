// ASHA inside a trial process (see asha_watch.hpp).
#include "core/sweep/asha_watch.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "core/run/progress.hpp"
#include "core/sweep/trial_folder.hpp"

namespace mer {

AshaWatch::AshaWatch(AshaBoard board, std::string trial, std::filesystem::path run_dir, std::string metric,
                     int last_epoch, ProgressSink* console)
    : board_(std::move(board)),
      trial_(std::move(trial)),
      run_dir_(std::move(run_dir)),
      metric_(std::move(metric)),
      last_epoch_(last_epoch),
      console_(console),
      thread_([this] { watch(); }) {}

AshaWatch::~AshaWatch() {
    stop();
}

void AshaWatch::finish() {
    stop();
    try {
        board_.record(trial_, metric_curve(run_dir_, metric_), false);
    } catch (const std::exception& e) {
        say(std::string("ASHA: ") + e.what() + "; this trial's last rungs are not recorded");
    }
}

void AshaWatch::stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
}

void AshaWatch::say(const std::string& line) const {
    if (console_) console_->line(line);
}

void AshaWatch::watch() {
    std::size_t seen = 0;
    int failures = 0;
    while (!done_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        try {
            const auto curve = metric_curve(run_dir_, metric_);
            if (curve.size() == seen) continue;
            const AshaBoard::Decision d = board_.record(trial_, curve, !done_, last_epoch_);
            seen = curve.size();
            failures = 0;
            if (d.stopped_at == 0) continue;
            say(
                fmt::format("stopped by ASHA at epoch {}: {} {:.4f} is not in the top 1/{} of the {} trials "
                            "that reached it",
                            d.stopped_at, metric_, d.value, board_.settings().reduction, d.compared));
            std::_Exit(0);
        } catch (const std::exception& e) {
            // metrics.csv with a row being appended, or the record's lock
            // briefly unavailable: tried again at the next poll; after 50 in
            // a row (5 s), given up, saying why.
            if (++failures == 50) {
                say(std::string("ASHA: ") + e.what() + "; this trial runs to its end");
                return;
            }
        }
    }
}

}  // namespace mer
