// The local launcher (see launcher_local.hpp): a pool of child processes.
#include "core/sweep/launcher_local.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "core/error.hpp"

extern char** environ;

namespace mer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<int> g_interrupted{0};
void on_signal(int signal) {
    g_interrupted = signal;
}

// SIGINT and SIGTERM set g_interrupted while it lives; the old handlers come back after.
class InterruptGuard {
public:
    InterruptGuard() {
        struct sigaction action {};
        action.sa_handler = on_signal;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &old_int_);
        sigaction(SIGTERM, &action, &old_term_);
    }
    ~InterruptGuard() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

struct Running {
    std::size_t trial;
    std::size_t slot;
    Clock::time_point start;
};

void stop_all(const std::map<pid_t, Running>& running) {
    for (const auto& [child, _] : running) ::kill(child, SIGTERM);
}

TrialExit exit_of(int status, Clock::time_point start) {
    TrialExit exit;
    exit.signaled = WIFSIGNALED(status);
    exit.signal = exit.signaled ? WTERMSIG(status) : 0;
    exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    exit.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return exit;
}

}  // namespace

LocalLauncher::LocalLauncher(fs::path sweep_dir, const std::vector<Trial>& trials, int workers,
                             std::vector<std::string> devices)
    : dir_(std::move(sweep_dir)), trials_(trials), workers_(std::max(1, workers)), devices_(std::move(devices)) {}

Launcher::Launched LocalLauncher::launch(const std::vector<std::size_t>& trials, TrialEvents& events) {
    events.warm_up();
    const InterruptGuard guard;
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = std::max(1, cores / workers_);
    std::vector<std::size_t> queue = trials;  // retries join its end
    std::map<pid_t, Running> running;
    std::vector<bool> slot_busy(static_cast<std::size_t>(workers_), false);
    bool stop = false;
    std::size_t next = 0;
    while ((next < queue.size() && !stop) || !running.empty()) {
        while (!stop && !g_interrupted && next < queue.size() && static_cast<int>(running.size()) < workers_) {
            const std::size_t t = queue[next++];
            const auto slot =
                static_cast<std::size_t>(std::find(slot_busy.begin(), slot_busy.end(), false) - slot_busy.begin());
            slot_busy[slot] = true;
            const std::string& device = devices_[slot % devices_.size()];
            running[spawn(trials_[t], device, threads)] = {t, slot, Clock::now()};
            events.started(t, device);
        }
        events.waiting();
        if (running.empty()) break;
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid == 0 && !g_interrupted) {  // every trial still running
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        if (pid <= 0) {
            if (g_interrupted) {
                events.interrupted();
                stop_all(running);
                stop = true;
                g_interrupted = 0;
            }
            continue;
        }
        const auto it = running.find(pid);
        if (it == running.end()) continue;
        const Running done = it->second;
        running.erase(it);
        slot_busy[done.slot] = false;
        const TrialEvents::Next after = events.ended(done.trial, exit_of(status, done.start));
        if (after == TrialEvents::Next::retry) queue.push_back(done.trial);
        if (after == TrialEvents::Next::stop) {
            stop_all(running);
            stop = true;
        }
    }
    return Launched::ran;
}

// `mer-run trial SWEEP_DIR ID`, its stderr appended to logs/<id>.err, its
// stdout discarded.
pid_t LocalLauncher::spawn(const Trial& trial, const std::string& device, int threads) const {
    fs::create_directories(dir_ / "logs");
    const std::string log_file = (dir_ / "logs" / (trial.id + ".err")).string();
    const std::string exe = fs::read_symlink("/proc/self/exe").string();
    std::vector<std::string> args{exe,           "trial",
                                  dir_.string(), trial.id,
                                  "--device",    device.rfind("cuda", 0) == 0 ? "cuda:0" : device,
                                  "--threads",   std::to_string(threads)};
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
        if (std::string(*e).rfind("CUDA_VISIBLE_DEVICES=", 0) != 0) env.emplace_back(*e);
    // The trial sees only its GPU, as cuda:0.
    if (device.rfind("cuda:", 0) == 0) env.push_back("CUDA_VISIBLE_DEVICES=" + device.substr(5));
    // The trial dies with the sweep, however the sweep ends (run_trial).
    env.push_back("MER_SWEEP_PARENT=" + std::to_string(::getpid()));
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = 0;
    const int error = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) throw environment_error("cannot start a trial process: " + std::string(std::strerror(error)));
    return pid;
}

}  // namespace mer
