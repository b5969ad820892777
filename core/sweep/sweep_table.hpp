// Where every trial of a sweep stands, and trials.csv written from it: one
// row per trial (status, attempts, device, seconds, epochs, ASHA's rung, the
// ranking metric, the swept keys, every node's validation R², why it failed,
// its folder), rewritten whenever a trial starts or ends
// (docs/sweeps.md#the-sweep-folder).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/sweep/sweeper.hpp"
#include "core/sweep/trial_folder.hpp"

namespace mer {

class SweepLog;

struct TrialState {
    std::string status = "pending";  // pending | running | finished | failed | stopped | interrupted
    std::string reason;
    int attempts = 0;
    std::string device;
    double seconds = 0;
    bool timed = false;    // seconds was measured (now, or by an earlier run of the sweep)
    bool ran_now = false;  // it ran in this run of the sweep (the time-left estimate counts these)
    int stopped_at = 0;    // ASHA: the rung epoch it was stopped at
};

struct TrialCounts {
    std::size_t finished = 0, failed = 0, running = 0, pending = 0, stopped = 0;
    std::size_t finished_now = 0;  // finished in this run of the sweep
};

class TrialTable {
public:
    // `trials` must outlive the table; `log` says once what could not be read.
    TrialTable(std::filesystem::path folder, SweepSpec spec, const std::vector<Trial>& trials, SweepLog& log);

    std::size_t size() const { return trials_.size(); }
    const Trial& trial(std::size_t t) const { return trials_[t]; }
    TrialState& state(std::size_t t) { return states_[t]; }
    std::filesystem::path trial_dir(std::size_t t) const { return folder_ / "trials" / trials_[t].id; }

    // An earlier trials.csv's attempts, and the device and seconds of the
    // trials that ran then: a rerun keeps what the previous one measured.
    void keep_previous();
    // The trials ASHA has stopped (asha.json: each trial process records its
    // own rungs and stops itself); a rerun keeps them stopped.
    void load_asha();

    // The trial's summary.json; what could not be read is logged once and
    // counts as no summary yet.
    TrialSummary summary(std::size_t t) const;
    double metric(std::size_t t) const;  // the ranking metric; NaN when absent
    std::size_t best() const;            // the best finished trial; size() when none
    TrialCounts counts() const;

    void write() const;  // trials.csv

private:
    std::vector<std::string> row(std::size_t t, const std::vector<std::string>& swept,
                                 const std::vector<std::string>& scores, const nlohmann::ordered_json* summary) const;

    std::filesystem::path folder_;
    SweepSpec spec_;
    const std::vector<Trial>& trials_;
    std::vector<TrialState> states_;
    SweepLog& log_;
};

}  // namespace mer
