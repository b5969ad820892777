// dataset.manifest: any corpus that is not DEAM (PMEmo, EmoMusic, a lab's own
// songs) described by one CSV: path, valence, arousal, and optionally
// song_id, split (train / validation / test) and group (artist, album...).
#include <fmt/format.h>

#include <set>

#include "core/audio/audio.hpp"
#include "core/data/csv.hpp"
#include "core/plugin/dataset.hpp"
#include "core/run/files.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;

class ManifestDataset : public DatasetPlugin {
public:
    explicit ManifestDataset(const nlohmann::json& p)
        : path_(p.at("path").get<std::string>()),
          targets_(p.at("targets").get<std::vector<std::string>>()),
          check_audio_(p.at("check_audio").get<bool>()) {}

    std::string content_fingerprint() const override {
        std::string listing;
        try {
            listing = sha256_file(path_);
            const CsvTable csv = read_csv(path_);
            const int path_column = csv.column("path");
            std::error_code ec;
            for (const auto& row : csv.rows) {
                if (path_column < 0) break;
                const fs::path audio = resolve(row[path_column]);
                listing += "|" + std::to_string(fs::file_size(audio, ec)) + ":" +
                           std::to_string(fs::last_write_time(audio, ec).time_since_epoch().count());
            }
        } catch (const Error&) {
            listing += "unreadable";  // load() reports why
        }
        return sha256_hex(listing);
    }

    SongTable load(const PluginContext& ctx) override {
        if (!fs::exists(path_))
            throw Error(
                "the manifest does not exist (a CSV with columns path, valence, arousal[, song_id, split, group])",
                Location(path_));
        const CsvTable csv = read_csv(path_);
        const int path_column = csv.require_column("path");
        const int id_column = csv.column("song_id");
        const int split_column = csv.column("split");
        const int group_column = csv.column("group");
        std::vector<int> target_columns;
        for (const auto& t : targets_) target_columns.push_back(csv.require_column(t));

        SongTable table;
        table.target_names = targets_;
        std::vector<std::vector<double>> labels;
        std::set<std::string> seen;
        for (std::size_t r = 0; r < csv.rows.size(); ++r) {
            const auto& row = csv.rows[r];
            if (row[path_column].empty()) throw Error("empty path", csv.at(r));
            const fs::path audio = resolve(row[path_column]);
            const std::string song = id_column >= 0 && !row[id_column].empty()
                                         ? row[id_column]
                                         : fs::path(row[path_column]).replace_extension().string();
            if (!seen.insert(song).second) throw Error("song id '" + song + "' appears twice", csv.at(r));
            std::string split;
            if (split_column >= 0) {
                split = row[split_column];
                if (split != "train" && split != "validation" && split != "test" && !split.empty())
                    throw Error("split '" + split + "' must be train, validation, test or empty", csv.at(r));
            }
            std::vector<double> values;
            for (int c : target_columns) {
                Location where = csv.at(r);
                where.song = song;
                values.push_back(parse_csv_number(row[c], where, csv.header[c]));
            }
            if (const std::string why = audio_problem(audio, check_audio_); !why.empty()) {
                ctx.skip_song(song, audio.string(), why);
                continue;
            }
            table.song_ids.push_back(song);
            table.groups.push_back(group_column >= 0 && !row[group_column].empty() ? row[group_column] : song);
            table.audio_paths.push_back(audio.string());
            if (split_column >= 0) table.assigned_split.push_back(split.empty() ? "train" : split);
            labels.push_back(values);
        }
        table.targets = rows_to_matrix(labels, targets_.size());
        table.features.resize(table.targets.rows(), 0);
        ctx.info(fmt::format("{} songs from {}", table.size(), path_));
        return table;
    }

private:
    fs::path resolve(const std::string& relative) const {
        const fs::path p(relative);
        return p.is_absolute() ? p : fs::path(path_).parent_path() / p;
    }

    std::string path_;
    std::vector<std::string> targets_;
    bool check_audio_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::ManifestDataset, "dataset.manifest", "1.0.0",
           "Any corpus from one CSV: path, valence, arousal [, song_id, split, group]")
