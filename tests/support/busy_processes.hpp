// CPU load on demand, for the tests and benchmarks that measure what a
// busy machine does to XGBoost's threads (tests/core/test_xgboost.cpp,
// bench/bench_boost.cpp): header-only, so that each builds it on its own.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace mer::test {

// `count` processes `sh -c 'while :; do :; done'` that only burn CPU, killed
// when it goes out of scope: also when the code beside them throws, so that
// no busy loop outlives its test or benchmark. They take a moment to start:
// wait before measuring the load.
class BusyProcesses {
public:
    explicit BusyProcesses(int count) {
        for (int i = 0; i < count; ++i) {
            const pid_t pid = fork();
            if (pid == 0) {
                execl("/bin/sh", "sh", "-c", "while :; do :; done", static_cast<char*>(nullptr));
                _exit(127);
            }
            if (pid > 0) pids_.push_back(pid);
        }
    }
    ~BusyProcesses() {
        for (const pid_t pid : pids_) kill(pid, SIGKILL);
        for (const pid_t pid : pids_) waitpid(pid, nullptr, 0);
    }
    BusyProcesses(const BusyProcesses&) = delete;
    BusyProcesses& operator=(const BusyProcesses&) = delete;

private:
    std::vector<pid_t> pids_;
};

}  // namespace mer::test
