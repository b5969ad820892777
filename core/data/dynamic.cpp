// Alignment of 2 Hz annotations to windows (dynamic.hpp).
#include "core/data/dynamic.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "core/error.hpp"

namespace mer {

double window_centre_seconds(const ChunkTiming& timing, std::size_t window) {
    return static_cast<double>(window) * timing.chunk_hop_seconds + timing.chunk_seconds / 2;
}

Eigen::MatrixXd window_labels(const DynamicLabels& labels, const ChunkTiming& timing, std::size_t windows,
                              std::size_t* unreached) {
    if (timing.chunk_hop_seconds <= 0 || timing.chunk_seconds <= 0)
        throw Error(
            "the features node says nothing about where its windows lie in time (chunk_seconds, "
            "chunk_hop_seconds); a sequence model needs windows such as features.handcrafted's "
            "window_seconds, features.logmel_chunks' or features.panns_cnn14's chunks");
    const Eigen::Index targets = labels.values.cols();
    Eigen::MatrixXd out = Eigen::MatrixXd::Constant(static_cast<Eigen::Index>(windows), targets,
                                                    std::numeric_limits<double>::quiet_NaN());
    const Eigen::Index frames = labels.values.rows();
    if (frames == 0 || labels.step_seconds <= 0) return out;
    std::vector<bool> reached(static_cast<std::size_t>(frames), false);
    for (std::size_t w = 0; w < windows; ++w) {
        const double position = (window_centre_seconds(timing, w) - labels.start_seconds) / labels.step_seconds;
        const double k = std::round(position);
        if (std::abs(position - k) > 0.25 || k < 0 || k >= static_cast<double>(frames)) continue;
        const auto frame = static_cast<Eigen::Index>(k);
        out.row(static_cast<Eigen::Index>(w)) = labels.values.row(frame);
        reached[static_cast<std::size_t>(frame)] = true;
    }
    if (unreached)
        for (Eigen::Index k = 0; k < frames; ++k)
            if (!reached[static_cast<std::size_t>(k)] && labels.values.row(k).array().isFinite().any()) ++*unreached;
    return out;
}

std::vector<Eigen::MatrixXd> songs_window_labels(const SongTable& songs, const std::vector<Eigen::Index>& windows,
                                                 const std::string& who, const Location& where,
                                                 std::size_t* unreached) {
    if (songs.dynamic.size() != songs.size())
        throw Error(who +
                        " rates music over time and learns from each song's annotations over time, and these songs "
                        "have none: set dynamic: true on dataset.deam (docs/dynamic.md)",
                    where);
    std::vector<Eigen::MatrixXd> out;
    for (std::size_t s = 0; s < songs.size(); ++s) {
        DynamicLabels d = songs.dynamic[s];
        if (d.values.size() == 0) d.values.resize(0, songs.targets.cols());
        if (d.values.cols() != songs.targets.cols())
            throw Error(fmt::format("song '{}' has {} targets over time and {} song-level targets", songs.song_ids[s],
                                    d.values.cols(), songs.targets.cols()),
                        where);
        out.push_back(window_labels(d, songs.chunk_timing, static_cast<std::size_t>(windows.at(s)), unreached));
    }
    return out;
}

AnnotatedRows annotated_rows(const std::vector<Eigen::MatrixXd>& labels, const std::vector<Eigen::MatrixXd>& values) {
    AnnotatedRows out;
    if (labels.empty()) return out;
    Eigen::Index rows = 0;
    for (const auto& song : labels)
        for (Eigen::Index r = 0; r < song.rows(); ++r) rows += song.row(r).allFinite();
    out.labels.resize(rows, labels.front().cols());
    out.values.resize(rows, values.front().cols());
    Eigen::Index at = 0;
    for (std::size_t s = 0; s < labels.size(); ++s)
        for (Eigen::Index r = 0; r < labels[s].rows(); ++r)
            if (labels[s].row(r).allFinite()) {
                out.labels.row(at) = labels[s].row(r);
                out.values.row(at++) = values[s].row(r);
            }
    return out;
}

Eigen::MatrixXd window_means(const std::vector<Eigen::MatrixXd>& per_window) {
    Eigen::MatrixXd out(static_cast<Eigen::Index>(per_window.size()),
                        per_window.empty() ? 0 : per_window.front().cols());
    for (std::size_t s = 0; s < per_window.size(); ++s)
        out.row(static_cast<Eigen::Index>(s)) = per_window[s].colwise().mean();
    return out;
}

}  // namespace mer
