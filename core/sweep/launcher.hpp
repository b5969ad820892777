// Launchers: how a sweep's trials reach a machine, behind one small
// interface (Hydra's cut: the sweeper yields trials, a launcher runs them,
// the trial runner knows neither). Each trial is `mer-run trial SWEEP_DIR
// ID` (trial_runner.hpp) wherever it runs: a child process of this one
// (launcher_local.hpp) or a Slurm array task (launcher_slurm.hpp). What a
// trial's end means — finished, failed, retried, stopped by ASHA — is the
// sweep's to decide (sweep.cpp), told through TrialEvents.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mer {

// How a trial process ended.
struct TrialExit {
    bool signaled = false;  // killed by `signal`; else exited with `code`
    int code = 0;
    int signal = 0;
    double seconds = 0;  // wall time of the attempt
};

// What a launcher that runs trials here tells the sweep, and asks of it.
class TrialEvents {
public:
    virtual ~TrialEvents() = default;
    // Before the first trial starts: the data nodes the trials share, computed once into the cache.
    virtual void warm_up() = 0;
    virtual void started(std::size_t trial, const std::string& device) = 0;
    enum class Next { go_on, retry, stop };  // retry: run the trial again; stop: end the sweep's running trials
    virtual Next ended(std::size_t trial, const TrialExit& exit) = 0;
    // Ctrl-C or SIGTERM arrived; the launcher then tells the running trials to stop and starts none.
    virtual void interrupted() = 0;
    // The launcher is about to wait for a trial to end: a moment to write down what changed.
    virtual void waiting() = 0;
    virtual void log(const std::string& line) = 0;
};

class Launcher {
public:
    virtual ~Launcher() = default;
    enum class Launched { ran, submitted };  // ran here, to the end; or handed to a scheduler
    // Runs (or submits) the trials at these indices of the sweep's list, in order.
    virtual Launched launch(const std::vector<std::size_t>& trials, TrialEvents& events) = 0;
};

}  // namespace mer
