// ASHA's shared record: asynchronous successive halving across the trials
// of one sweep, whichever process or machine runs them. Every trial process
// (`mer-run trial`, a local worker or a Slurm array task) records its own
// curve at the rungs and stops itself when it is not promoted; the record is
// SWEEP_DIR/asha.json, read and rewritten only under a POSIX lock of
// SWEEP_DIR/asha.lock (fcntl, which NFS honours), so no server is needed.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace mer {

struct AshaSettings {
    int min_epochs = 1;        // r: the first rung
    double reduction = 2;      // η: rungs at r, r·η, r·η², …; the top 1/η continue
    std::string mode = "max";  // of the ranking metric
};

// Whether `value` is in the top 1/η of the values recorded at a rung (itself
// included): at or past the (1 − 1/η) quantile, linear interpolation, as Ray
// Tune's ASHA cuts.
bool asha_promoted(const std::map<std::string, double>& recorded, double value, const AshaSettings& settings);

// The highest rung (0: the first, at min_epochs; k: at min_epochs·η^k
// epochs, rounded) that `epochs` epochs reach; -1 below the first.
int asha_rung(int epochs, const AshaSettings& settings);

class AshaBoard {
public:
    AshaBoard(std::filesystem::path sweep_dir, AshaSettings settings);

    struct Decision {
        int stopped_at = 0;  // the rung epoch the trial was stopped at; 0: it continues
        double value = 0;    // its metric there
        std::size_t compared = 0;  // trials recorded at that rung, itself included
    };
    // Records `trial`'s value at every rung its curve (epoch → metric) has
    // reached and that holds no value of it yet. With may_stop, the first
    // such rung where it is not promoted stops it: recorded as stopped, and
    // the decision says where. A trial that has ended records its last rungs
    // with may_stop false, for the trials after it to be compared with.
    // A rung at or past last_epoch (the trial's final epoch; 0: unknown)
    // stops nothing: the trial has finished there (as in Ray Tune, max_t is no rung).
    Decision record(const std::string& trial, const std::map<int, double>& curve, bool may_stop, int last_epoch = 0);

    // Trials stopped so far → the rung epoch each was stopped at.
    std::map<std::string, int> stopped() const;
    const AshaSettings& settings() const { return settings_; }

private:
    std::filesystem::path dir_;
    AshaSettings settings_;
};

}  // namespace mer
