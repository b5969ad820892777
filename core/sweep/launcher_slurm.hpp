// The Slurm launcher: one warm-up job (`mer-run trial SWEEP_DIR warmup`),
// then one job array of the trials that depends on it (afterok), each array
// task `mer-run trial SWEEP_DIR trial-NNNN`. It writes the two sbatch
// scripts into SWEEP_DIR/slurm/, submits them and records the job ids in
// slurm/jobs.json; mer schedules nothing itself (docs/sweeps.md#on-a-slurm-cluster).
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "core/sweep/launcher.hpp"

namespace mer {

struct SlurmSettings {
    std::string partition, gres, time, mem;  // empty: Slurm's default
    int cpus_per_task = 1;
};

class SlurmLauncher : public Launcher {
public:
    SlurmLauncher(std::filesystem::path sweep_dir, SlurmSettings settings);
    // Submits; never calls events but log (the trials run on the cluster).
    Launched launch(const std::vector<std::size_t>& trials, TrialEvents& events) override;

private:
    std::string script_header() const;

    std::filesystem::path dir_;    // absolute: the scripts run elsewhere
    std::filesystem::path shown_;  // as given, for log lines
    SlurmSettings settings_;
};

// Trial id → Slurm state (PENDING, RUNNING, …) of the sweep's array tasks
// still queued (squeue); empty before the sweep was submitted.
std::map<std::string, std::string> slurm_queue(const std::filesystem::path& sweep_dir);

}  // namespace mer
