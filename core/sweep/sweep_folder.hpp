// The sweep folder, runs/<name>/sweep-<timestamp>/ (docs/sweeps.md#the-sweep-folder):
// sweep.json, what the sweep is, written once by `mer-run sweep` and read
// by everything after it (a rerun, --status, each trial process); sweep.log,
// what happened; and finding the folder of the same sweep again.
#pragma once

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/sweep/sweeper.hpp"

namespace mer {

class ProgressSink;

// sweep.json: the base experiment and its overrides, the feature cache,
// the spec and the trials.
struct SweepManifest {
    std::string key;                          // what makes two sweeps the same sweep (experiment text, --set, --grid)
    std::string experiment;                   // the experiment file, absolute
    std::vector<std::string> overrides;       // --set and --unset (as ~KEY), in order, for every trial
    std::vector<std::string> grid_arguments;  // --grid (recorded, not read back)
    std::string cache_dir;
    std::string command_line;  // recorded, not read back
    SweepSpec spec;            // read back: metric, mode, on_failure and the scheduler's settings
    std::vector<Trial> trials;
};

// SWEEP_DIR/sweep.json; a damaged file is an error naming it.
SweepManifest read_sweep_manifest(const std::filesystem::path& sweep_dir);
void write_sweep_manifest(const std::filesystem::path& sweep_dir, const SweepManifest& manifest);

struct SweepFolder {
    std::filesystem::path dir;
    bool resumed = false;              // an unfinished folder of the same sweep, continued
    std::vector<std::string> ignored;  // sibling folders skipped because their sweep.json could not be read, and why
};
// The latest sweep-* folder in `parent` whose sweep.json has `key`, else a
// new sweep-<UTC timestamp>/ with its trials/ folder.
SweepFolder open_sweep_folder(const std::filesystem::path& parent, const std::string& key);

// sweep.log: "[hh:mm:ss] line", appended, and the same line to `console`
// unless `echo` is false (none: the log alone). A line that cannot be
// written to sweep.log is not dropped in silence: the first such failure is
// a warning on `console`, echo or not, naming the file. Thread-safe.
class SweepLog {
public:
    SweepLog(std::filesystem::path folder, ProgressSink* console, bool echo = true)
        : folder_(std::move(folder)), console_(console), echo_(echo) {}
    void operator()(const std::string& line);
    // The line once per `key` (a problem met at every rewrite of trials.csv is said once).
    void once(const std::string& key, const std::string& line);

private:
    void append(const std::string& stamped);  // to sweep.log; warns once when it fails

    std::filesystem::path folder_;
    ProgressSink* console_;
    bool echo_;
    bool write_failed_ = false;
    std::mutex mutex_;
    std::set<std::string> said_;
};

}  // namespace mer
