// Row selection and shape checks for SongTable.
#include "core/data/song_table.hpp"

#include <algorithm>

#include "core/base/files.hpp"  // format_number
#include "core/error.hpp"

namespace mer {

SongTable SongTable::rows(const std::vector<std::size_t>& rows) const {
    SongTable out;
    out.feature_names = feature_names;
    out.target_names = target_names;
    out.chunk_timing = chunk_timing;
    out.features.resize(static_cast<Eigen::Index>(rows.size()), features.cols());
    out.targets.resize(static_cast<Eigen::Index>(rows.size()), targets.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::size_t r = rows[i];
        out.song_ids.push_back(song_ids.at(r));
        out.groups.push_back(groups.at(r));
        if (!audio_paths.empty()) out.audio_paths.push_back(audio_paths.at(r));
        if (!tensor_paths.empty()) out.tensor_paths.push_back(tensor_paths.at(r));
        if (!dynamic.empty()) out.dynamic.push_back(dynamic.at(r));
        if (!assigned_split.empty()) out.assigned_split.push_back(assigned_split.at(r));
        const auto ri = static_cast<Eigen::Index>(r), ii = static_cast<Eigen::Index>(i);
        if (features.cols() > 0) out.features.row(ii) = features.row(ri);
        if (targets.cols() > 0) out.targets.row(ii) = targets.row(ri);
    }
    return out;
}

std::vector<std::size_t> SongTable::usable_rows(
    const std::function<void(std::size_t row, const std::string& problem)>& unusable) const {
    std::vector<std::size_t> usable;
    for (std::size_t r = 0; r < size(); ++r) {
        const auto row = features.row(static_cast<Eigen::Index>(r));
        Eigen::Index c = 0;
        while (c < row.size() && std::fabs(row(c)) <= kLargestValue) ++c;
        if (c == row.size())
            usable.push_back(r);
        else
            unusable(r, "feature '" + feature_names[static_cast<std::size_t>(c)] + "' is " + format_number(row(c)) +
                            " (NaN, infinite or beyond ±1e15; is the audio far louder than full scale?)");
    }
    return usable;
}

SongTable SongTable::feature_columns(const std::vector<Eigen::Index>& columns) const {
    SongTable out = *this;
    out.feature_names.clear();
    out.features.resize(features.rows(), static_cast<Eigen::Index>(columns.size()));
    for (std::size_t j = 0; j < columns.size(); ++j) {
        if (columns[j] < 0 || columns[j] >= features.cols())
            throw Error("feature column " + std::to_string(columns[j]) + " asked for; the input has " +
                        std::to_string(features.cols()) + " (a model bundle from other features?)");
        out.feature_names.push_back(feature_names.at(static_cast<std::size_t>(columns[j])));
        out.features.col(static_cast<Eigen::Index>(j)) = features.col(columns[j]);
    }
    return out;
}

SongTable SongTable::target_columns(const std::vector<Eigen::Index>& columns) const {
    SongTable out = *this;
    out.target_names.clear();
    out.targets.resize(targets.rows(), static_cast<Eigen::Index>(columns.size()));
    for (auto& song : out.dynamic) song.values.resize(song.values.rows(), static_cast<Eigen::Index>(columns.size()));
    for (std::size_t j = 0; j < columns.size(); ++j) {
        if (columns[j] < 0 || columns[j] >= targets.cols())
            throw Error("target column " + std::to_string(columns[j]) + " asked for; the table has " +
                        std::to_string(targets.cols()));
        const auto to = static_cast<Eigen::Index>(j);
        out.target_names.push_back(target_names.at(static_cast<std::size_t>(columns[j])));
        out.targets.col(to) = targets.col(columns[j]);
        for (std::size_t s = 0; s < dynamic.size(); ++s)
            if (dynamic[s].values.size() > 0) out.dynamic[s].values.col(to) = dynamic[s].values.col(columns[j]);
    }
    return out;
}

Eigen::MatrixXd rows_to_matrix(const std::vector<std::vector<double>>& rows, std::size_t columns) {
    Eigen::MatrixXd m(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(columns));
    for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::size_t c = 0; c < columns; ++c)
            m(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = rows[r].at(c);
    return m;
}

std::vector<Eigen::Index> largest_scores(const Eigen::VectorXd& scores, std::size_t k) {
    std::vector<Eigen::Index> order(static_cast<std::size_t>(scores.size()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Eigen::Index>(i);
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return scores(a) > scores(b); });
    order.resize(std::min(order.size(), k));
    return order;
}

static int index_of(const std::vector<std::string>& names, const std::string& name) {
    auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

int SongTable::target_index(const std::string& name) const {
    return index_of(target_names, name);
}
int SongTable::feature_index(const std::string& name) const {
    return index_of(feature_names, name);
}

void SongTable::check_shapes(const std::string& who) const {
    const auto n = static_cast<Eigen::Index>(song_ids.size());
    auto fail = [&who](const std::string& what) { throw Error(who + " produced an inconsistent song table: " + what); };
    if (groups.size() != song_ids.size()) fail("groups and song ids differ in length");
    if (!audio_paths.empty() && audio_paths.size() != song_ids.size())
        fail("audio paths and song ids differ in length");
    if (!tensor_paths.empty() && tensor_paths.size() != song_ids.size())
        fail("tensor paths and song ids differ in length");
    if (!assigned_split.empty() && assigned_split.size() != song_ids.size())
        fail("assigned splits and song ids differ in length");
    if (!dynamic.empty() && dynamic.size() != song_ids.size()) fail("dynamic labels and song ids differ in length");
    if (features.rows() != n && !(features.size() == 0 && feature_names.empty()))
        fail("feature matrix has " + std::to_string(features.rows()) + " rows for " + std::to_string(n) + " songs");
    if (features.cols() != static_cast<Eigen::Index>(feature_names.size()))
        fail("feature matrix has " + std::to_string(features.cols()) + " columns for " +
             std::to_string(feature_names.size()) + " names");
    if (targets.rows() != n && !(targets.size() == 0 && target_names.empty()))
        fail("target matrix has " + std::to_string(targets.rows()) + " rows for " + std::to_string(n) + " songs");
    if (targets.cols() != static_cast<Eigen::Index>(target_names.size()))
        fail("target matrix has " + std::to_string(targets.cols()) + " columns for " +
             std::to_string(target_names.size()) + " names");
}

}  // namespace mer
