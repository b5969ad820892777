// What flows between the nodes of an experiment graph: one row per song with
// its id, the group it must stay with when data is split (the song itself
// unless a dataset says otherwise), where its audio lives, its named feature
// columns and its named targets (NaN where a label is missing).
#pragma once

#include <Eigen/Core>
#include <functional>
#include <string>
#include <vector>

namespace mer {

using SongId = std::string;

// Labels over time within one song (DEAM's 2 Hz annotations): row i holds the
// targets at start_seconds + i * step_seconds; NaN where no annotation exists.
struct DynamicLabels {
    double start_seconds = 0;
    double step_seconds = 0;
    Eigen::MatrixXd values;  // frames × target_names; empty when the song has none
};

// A song a plugin could not use, and why (one row of the run's skipped.csv).
struct SkippedSong {
    SongId song_id;
    std::string path;
    std::string reason;
};

// Where the chunks of a song's tensor sit in time, in seconds (0: unknown):
// chunk i starts at i · chunk_hop_seconds and lasts chunk_seconds; frame f of
// a chunk is centred f · frame_hop_seconds after the chunk's start. Set by
// the features plugin that writes the tensors, read by models and predict.
struct ChunkTiming {
    double chunk_seconds = 0;
    double chunk_hop_seconds = 0;
    double frame_hop_seconds = 0;
};

struct SongTable {
    std::vector<SongId> song_ids;
    std::vector<std::string> groups;       // same length as song_ids
    std::vector<std::string> audio_paths;  // empty, or same length as song_ids
    // Per-song tensors too large for a table (log-mel chunks): the path of a
    // float32 .npy of shape chunks × 1 × mels × frames. Empty, or one per song.
    std::vector<std::string> tensor_paths;
    ChunkTiming chunk_timing;  // of the tensors at tensor_paths

    std::vector<std::string> feature_names;
    Eigen::MatrixXd features;  // songs × feature_names

    std::vector<std::string> target_names;
    Eigen::MatrixXd targets;  // songs × target_names, NaN = no label

    std::vector<DynamicLabels> dynamic;  // empty, or one per song (same target names)

    // A split fixed by the dataset ("train", "validation"; "test" counts as
    // validation), used by evaluation.split.kind: predefined. Empty, or one per song.
    std::vector<std::string> assigned_split;

    std::size_t size() const { return song_ids.size(); }

    // The rows at `rows`, in that order; every column kept.
    SongTable rows(const std::vector<std::size_t>& rows) const;

    // Only the feature columns at `columns`, in that order; everything else kept.
    SongTable feature_columns(const std::vector<Eigen::Index>& columns) const;

    // Only the target columns at `columns`, in that order (the dynamic labels
    // alike); everything else kept.
    SongTable target_columns(const std::vector<Eigen::Index>& columns) const;

    // Index of a target or feature column, or -1.
    int target_index(const std::string& name) const;
    int feature_index(const std::string& name) const;

    // Throws mer::Error when the columns and rows disagree in size.
    void check_shapes(const std::string& who) const;

    // The rows whose features a model can take, in order; for every other
    // row, `unusable` gets the row and why: the first feature that is NaN,
    // infinite or beyond ±kLargestValue, named.
    std::vector<std::size_t> usable_rows(
        const std::function<void(std::size_t row, const std::string& problem)>& unusable) const;
};

// Larger magnitudes are no rating and no feature of real music: audio with
// samples far beyond full scale makes them, and they overflow the squares
// every metric and scaler computes.
constexpr double kLargestValue = 1e15;

// Per-song rows of values (as datasets collect them) as a songs × columns matrix.
Eigen::MatrixXd rows_to_matrix(const std::vector<std::vector<double>>& rows, std::size_t columns);

// Indices of the k largest scores, largest first (ties keep column order):
// what the feature selections keep.
std::vector<Eigen::Index> largest_scores(const Eigen::VectorXd& scores, std::size_t k);

}  // namespace mer
