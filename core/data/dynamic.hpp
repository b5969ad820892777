// Emotion over time (DEAM's 2 Hz annotations, the MediaEval "Emotion in
// Music" task): a song's annotations aligned to the windows a features node
// cut from its audio (ChunkTiming). The task's metrics of predicted curves
// are eval/metrics.hpp's curve_metrics.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/data/song_table.hpp"
#include "core/error.hpp"

namespace mer {

// The time window `window` of a song's tensor stands for: its centre, in seconds.
double window_centre_seconds(const ChunkTiming& timing, std::size_t window);

// One row per window (`windows` × the labels' targets): the annotation made at
// the window's centre, NaN where there is none. An annotation counts as made
// at a centre when it lies within a quarter of the annotation step of it, so
// 1-s windows every 0.5 s meet DEAM's frames (15.0 s, 15.5 s, …) exactly and
// windows between two frames (a finer hop) get no label. Audio and
// annotations that disagree in length by a frame or two (DEAM has such
// songs) are scored on the frames both have; `unreached`, when given, is
// increased by the annotated frames no window reaches.
Eigen::MatrixXd window_labels(const DynamicLabels& labels, const ChunkTiming& timing, std::size_t windows,
                              std::size_t* unreached = nullptr);

// window_labels for every song of `songs`, song s having `windows[s]`
// windows; throws, naming `who` at `where`, when the songs carry no
// annotations over time (a dataset loaded without dynamic: true).
std::vector<Eigen::MatrixXd> songs_window_labels(const SongTable& songs, const std::vector<Eigen::Index>& windows,
                                                 const std::string& who, const Location& where,
                                                 std::size_t* unreached = nullptr);

// The windows where every target is annotated, stacked over songs: their
// labels, and the same rows of `values` (each song's predictions, or its
// windows' features).
struct AnnotatedRows {
    Eigen::MatrixXd labels, values;
};
AnnotatedRows annotated_rows(const std::vector<Eigen::MatrixXd>& labels, const std::vector<Eigen::MatrixXd>& values);

// Each song's rating from its windows' ratings: their mean (songs × targets).
Eigen::MatrixXd window_means(const std::vector<Eigen::MatrixXd>& per_window);

}  // namespace mer
