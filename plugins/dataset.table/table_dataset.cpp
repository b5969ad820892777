// dataset.table: songs, features and labels from one CSV file — the way in
// for feature tables made elsewhere (another toolkit, a spreadsheet).
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/plugin/dataset.hpp"

namespace mer::plugins {

class TableDataset : public DatasetPlugin {
public:
    explicit TableDataset(const nlohmann::json& params)
        : path_(params.at("path").get<std::string>()),
          id_column_(params.at("id_column").get<std::string>()),
          targets_(params.at("targets").get<std::vector<std::string>>()),
          group_column_(params.at("group_column").get<std::string>()),
          feature_columns_(params.at("feature_columns").get<std::vector<std::string>>()) {}

    std::string content_fingerprint() const override {
        try {
            return sha256_file(path_);
        } catch (const Error&) {
            return "missing";  // load() reports the missing file
        }
    }

    SongTable load(const PluginContext& ctx) override {
        if (!std::filesystem::exists(path_))
            throw Error("the table file does not exist (dataset.table reads a CSV with columns " + id_column_ +
                            ", features..., " + fmt::format("{}", fmt::join(targets_, ", ")) + ")",
                        {path_});
        const CsvTable csv = read_csv(path_);
        const int id = csv.require_column(id_column_);
        const int group = group_column_.empty() ? -1 : csv.require_column(group_column_);
        std::vector<int> target_columns;
        for (const auto& t : targets_) target_columns.push_back(csv.require_column(t));

        std::vector<int> feature_columns;
        if (!feature_columns_.empty()) {
            for (const auto& f : feature_columns_) feature_columns.push_back(csv.require_column(f));
        } else {
            std::set<int> taken(target_columns.begin(), target_columns.end());
            taken.insert(id);
            taken.insert(group);
            for (int c = 0; c < static_cast<int>(csv.header.size()); ++c)
                if (!taken.count(c)) feature_columns.push_back(c);
        }

        SongTable table;
        for (int c : feature_columns) table.feature_names.push_back(csv.header[c]);
        table.target_names = targets_;
        const auto rows = static_cast<Eigen::Index>(csv.rows.size());
        table.features.resize(rows, static_cast<Eigen::Index>(feature_columns.size()));
        table.targets.resize(rows, static_cast<Eigen::Index>(target_columns.size()));
        std::set<std::string> seen;
        for (std::size_t r = 0; r < csv.rows.size(); ++r) {
            const auto& row = csv.rows[r];
            const std::string& song = row[id];
            if (song.empty()) throw Error("empty song id in column " + id_column_, csv.at(r));
            if (!seen.insert(song).second) throw Error("song id '" + song + "' appears twice", csv.at(r));
            table.song_ids.push_back(song);
            table.groups.push_back(group >= 0 ? row[group] : song);
            const auto ri = static_cast<Eigen::Index>(r);
            for (std::size_t j = 0; j < feature_columns.size(); ++j) {
                const std::string& cell = row[feature_columns[j]];
                Location where = csv.at(r);
                where.song = song;
                const double v = parse_csv_number(cell, where, csv.header[feature_columns[j]]);
                if (!std::isfinite(v))
                    throw Error("feature '" + csv.header[feature_columns[j]] + "' is empty or not finite", where);
                table.features(ri, static_cast<Eigen::Index>(j)) = v;
            }
            Location where = csv.at(r);
            where.song = song;
            for (std::size_t j = 0; j < target_columns.size(); ++j)
                table.targets(ri, static_cast<Eigen::Index>(j)) =
                    parse_csv_number(row[target_columns[j]], where, csv.header[target_columns[j]]);
        }
        ctx.info(fmt::format("read {} songs × {} features from {}", table.size(), table.feature_names.size(), path_));
        return table;
    }

private:
    std::string path_;
    std::string id_column_;
    std::vector<std::string> targets_;
    std::string group_column_;
    std::vector<std::string> feature_columns_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::TableDataset, "dataset.table", "1.0.0",
           "Songs, features and labels from one CSV file (song_id, feature columns, target columns)")
