// ASHA's shared record (see asha.hpp).
#include "core/sweep/asha.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/base/files.hpp"
#include "core/error.hpp"

namespace mer {

namespace fs = std::filesystem;

bool asha_promoted(const std::map<std::string, double>& recorded, double value, const AshaSettings& settings) {
    const bool max = settings.mode == "max";
    std::vector<double> values;
    for (const auto& [_, v] : recorded) values.push_back(max ? v : -v);
    if (values.empty()) return true;
    std::sort(values.begin(), values.end());
    const double position = (1 - 1 / settings.reduction) * static_cast<double>(values.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, values.size() - 1);
    const double cutoff = values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
    return (max ? value : -value) >= cutoff;
}

namespace {

// An exclusive POSIX lock on SWEEP_DIR/asha.lock for as long as it lives.
class BoardLock {
public:
    // fcntl locks belong to the process: the mutex keeps two threads of one
    // process from both "holding" it.
    explicit BoardLock(const fs::path& dir) : guard_(mutex()) {
        const fs::path file = dir / "asha.lock";
        fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw environment_error("cannot open ASHA's lock file: " + std::string(std::strerror(errno)), Location(file.string()));
        struct flock lock {};
        lock.l_type = F_WRLCK;
        lock.l_whence = SEEK_SET;
        while (::fcntl(fd_, F_SETLKW, &lock) != 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            ::close(fd_);
            throw environment_error("cannot lock ASHA's record: " + std::string(std::strerror(error)), Location(file.string()));
        }
    }
    ~BoardLock() { ::close(fd_); }  // closing releases the lock
    BoardLock(const BoardLock&) = delete;
    BoardLock& operator=(const BoardLock&) = delete;

private:
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
    std::lock_guard<std::mutex> guard_;
    int fd_ = -1;
};

struct Record {
    std::map<int, std::map<std::string, double>> rungs;  // rung epoch → trial → value
    std::map<std::string, int> stopped;                  // trial → rung epoch
};

Record read_record(const fs::path& file) {
    Record record;
    if (!fs::exists(file)) return record;
    try {
        const nlohmann::json saved = read_json_file(file);
        for (const auto& [rung, trials] : saved.at("rungs").items())
            for (const auto& [trial, value] : trials.items()) record.rungs[std::stoi(rung)][trial] = value.get<double>();
        for (const auto& [trial, epoch] : saved.at("stopped").items()) record.stopped[trial] = epoch.get<int>();
    } catch (const std::exception& e) {
        throw Error(std::string("damaged ASHA record (delete it to start ASHA over): ") + e.what(), Location(file.string()));
    }
    return record;
}

}  // namespace

int asha_rung(int epochs, const AshaSettings& settings) {
    int rung = -1;
    for (double at = settings.min_epochs; std::lround(at) <= epochs; at *= settings.reduction) ++rung;
    return rung;
}

AshaBoard::AshaBoard(fs::path sweep_dir, AshaSettings settings) : dir_(std::move(sweep_dir)), settings_(std::move(settings)) {}

AshaBoard::Decision AshaBoard::record(const std::string& trial, const std::map<int, double>& curve, bool may_stop,
                                     int last_epoch) {
    Decision decision;
    if (curve.empty()) return decision;
    const BoardLock lock(dir_);
    const fs::path file = dir_ / "asha.json";
    Record record = read_record(file);
    if (const auto it = record.stopped.find(trial); it != record.stopped.end()) {  // stopped before
        auto& rung = record.rungs[it->second];
        return {it->second, rung.count(trial) ? rung[trial] : 0, rung.size()};
    }
    bool changed = false;
    for (double rung = settings_.min_epochs; rung <= curve.rbegin()->first; rung *= settings_.reduction) {
        const int epoch = static_cast<int>(std::lround(rung));
        const auto at = curve.find(epoch);
        if (at == curve.end() || record.rungs[epoch].count(trial)) continue;
        record.rungs[epoch][trial] = at->second;
        changed = true;
        if (!may_stop || (last_epoch > 0 && epoch >= last_epoch) ||
            asha_promoted(record.rungs[epoch], at->second, settings_))
            continue;
        record.stopped[trial] = epoch;
        decision = {epoch, at->second, record.rungs[epoch].size()};
        break;
    }
    if (!changed) return decision;
    nlohmann::json rungs = nlohmann::json::object(), stopped = nlohmann::json::object();
    for (const auto& [rung, trials] : record.rungs)
        for (const auto& [id, value] : trials) rungs[std::to_string(rung)][id] = value;
    for (const auto& [id, epoch] : record.stopped) stopped[id] = epoch;
    write_file_atomic(file, nlohmann::json{{"min_epochs", settings_.min_epochs},
                                           {"reduction_factor", settings_.reduction},
                                           {"rungs", rungs},
                                           {"stopped", stopped}}
                                    .dump(2) +
                                "\n");
    return decision;
}

std::map<std::string, int> AshaBoard::stopped() const {
    const BoardLock lock(dir_);
    return read_record(dir_ / "asha.json").stopped;
}

}  // namespace mer
