// The local launcher: trials as child processes of the sweep, N at a time,
// trial slots taking the devices in turn (a trial on cuda:K sees only that
// GPU, as cuda:0), each with the machine's cores divided by the slots as
// its threads. Ctrl-C and SIGTERM tell the running trials to stop; a trial
// dies with the sweep however the sweep ends (MER_SWEEP_PARENT, see
// trial_runner.cpp).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/sweep/launcher.hpp"
#include "core/sweep/sweeper.hpp"

namespace mer {

class LocalLauncher : public Launcher {
public:
    // `trials` must outlive the launcher; `devices` is not empty.
    LocalLauncher(std::filesystem::path sweep_dir, const std::vector<Trial>& trials, int workers,
                  std::vector<std::string> devices);
    Launched launch(const std::vector<std::size_t>& trials, TrialEvents& events) override;

private:
    pid_t spawn(const Trial& trial, const std::string& device, int threads) const;

    std::filesystem::path dir_;
    const std::vector<Trial>& trials_;
    int workers_;
    std::vector<std::string> devices_;
};

}  // namespace mer
