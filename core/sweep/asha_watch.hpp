// ASHA inside a trial process: a thread that reads the trial's own curve of
// the sweep's metric every 100 ms and records it at the rungs reached in the
// sweep's shared record (asha.hpp). When the trial is not promoted it says so
// (on the trial's log, through `console`) and ends the process with exit
// code 0: a stopped trial is not a failure, for the local sweep as for Slurm.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "core/sweep/asha.hpp"

namespace mer {

class ProgressSink;

class AshaWatch {
public:
    // last_epoch: the epochs the trial trains at most (0: unknown); a trial
    // that reaches it has finished, so a rung there records it but stops
    // nothing. `console` may be null (nothing said).
    AshaWatch(AshaBoard board, std::string trial, std::filesystem::path run_dir, std::string metric, int last_epoch,
              ProgressSink* console);
    ~AshaWatch();
    AshaWatch(const AshaWatch&) = delete;
    AshaWatch& operator=(const AshaWatch&) = delete;

    // The run has ended: its last rungs are recorded for the trials after it.
    void finish();

private:
    void stop();
    void watch();
    void say(const std::string& line) const;

    AshaBoard board_;
    std::string trial_;
    std::filesystem::path run_dir_;
    std::string metric_;
    int last_epoch_;
    ProgressSink* console_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace mer
