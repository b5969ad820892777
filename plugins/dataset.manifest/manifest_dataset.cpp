// dataset.manifest: any corpus that is not DEAM (PMEmo, EmoMusic, a lab's own
// songs) described by one CSV: path, valence, arousal, and optionally
// song_id, split (train / validation / test) and group (artist, album...).
// The labels are on whatever scale the corpus uses; label_range declares it.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>

#include "core/audio/audio.hpp"
#include "core/base/files.hpp"
#include "core/data/csv.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;

class ManifestDataset : public DatasetPlugin {
public:
    static constexpr const char* kCapabilities = R"({"label_range": true, "check_data": true})";

    explicit ManifestDataset(const nlohmann::json& p)
        : path_(p.at("path").get<std::string>()),
          targets_(p.at("targets").get<std::vector<std::string>>()),
          check_audio_(p.at("check_audio").get<bool>()),
          label_range_(p.at("label_range").get<std::vector<double>>()) {
        if (!label_range_.empty() && (label_range_.size() != 2 || !(label_range_[0] < label_range_[1])))
            throw Error("label_range must be [low, high] with low < high (the scale of the label columns, e.g. "
                        "[1, 9] or [-10, 10]), or [] when the scale is not known; got " +
                        p.at("label_range").dump());
    }

    nlohmann::json query(const std::string& capability) const override {
        if (capability == capability::kLabelRange) {
            if (label_range_.empty()) return nullptr;
            nlohmann::json ranges = nlohmann::json::object();
            for (const auto& t : targets_) ranges[t] = label_range_;
            return ranges;
        }
        if (capability == capability::kCheckData) {
            nlohmann::json problems = nlohmann::json::array();
            auto record = [&](bool warning) {
                return [&problems, warning](const Location& where, const std::string& column, const std::string& message) {
                    problems.push_back({{"file", where.file}, {"line", where.line}, {"column", column},
                                        {"message", message}, {"warning", warning}});
                };
            };
            read(nullptr, record(false), record(true));
            return problems;
        }
        return nullptr;
    }

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
        SongTable table = read(&ctx, [](const Location& where, const std::string&, const std::string& message) {
            throw Error(message, where);
        });
        ctx.info(fmt::format("{} songs from {}", table.size(), path_));
        return table;
    }

private:
    using Problem = std::function<void(const Location& where, const std::string& column, const std::string& message)>;

    // The one reader of the manifest, for load() (`ctx` set: an audio file
    // that cannot be used is skipped, the first problem throws) and for
    // check_data (no `ctx`: every problem is reported and reading goes on; a
    // missing audio file is a `warning`, not an error: the run skips that
    // song, as it skips any audio it cannot use).
    SongTable read(const PluginContext* ctx, const Problem& problem, const Problem& warning = {}) const {
        SongTable table;
        table.target_names = targets_;
        const std::optional<CsvTable> csv = read_manifest(problem);
        if (!csv) return table;
        const std::optional<Columns> columns = find_columns(*csv, problem);
        if (!columns) return table;

        std::vector<std::vector<double>> labels;
        std::set<std::string> seen;
        for (std::size_t r = 0; r < csv->rows.size(); ++r) {
            const auto& row = csv->rows[r];
            const Location line = csv->at(r);
            if (row[columns->path].empty()) {
                problem(line, "path", "column 'path' is empty: each row names its song's audio file");
                continue;
            }
            const fs::path audio = resolve(row[columns->path]);
            const std::string song = columns->id >= 0 && !row[columns->id].empty()
                                         ? row[columns->id]
                                         : fs::path(row[columns->path]).replace_extension().string();
            bool usable = true;
            if (!seen.insert(song).second) {
                problem(line, columns->id >= 0 ? "song_id" : "path", "song id '" + song + "' appears twice");
                usable = false;
            }
            const std::string split = columns->split >= 0 ? row[columns->split] : std::string();
            if (split != "train" && split != "validation" && split != "test" && !split.empty()) {
                problem(line, "split", "split '" + split + "' must be train, validation, test or empty");
                usable = false;
            }
            std::vector<double> values;
            if (!read_labels(*csv, r, song, *columns, problem, values)) usable = false;
            if (!ctx) {
                warn_if_missing(audio, line, warning);
                continue;
            }
            if (!usable) continue;
            if (const std::string why = audio_problem(audio, check_audio_); !why.empty()) {
                ctx->skip_song(song, audio.string(), why);
                continue;
            }
            table.song_ids.push_back(song);
            table.groups.push_back(columns->group >= 0 && !row[columns->group].empty() ? row[columns->group] : song);
            table.audio_paths.push_back(audio.string());
            if (columns->split >= 0) table.assigned_split.push_back(split.empty() ? "train" : split);
            labels.push_back(values);
        }
        table.targets = rows_to_matrix(labels, targets_.size());
        table.features.resize(table.targets.rows(), 0);
        return table;
    }

    // The manifest's CSV, or none after saying why.
    std::optional<CsvTable> read_manifest(const Problem& problem) const {
        if (!fs::exists(path_)) {
            problem(Location(path_), "",
                    "the manifest does not exist (a CSV with columns path, valence, arousal[, song_id, split, group])");
            return std::nullopt;
        }
        try {
            return read_csv(path_);
        } catch (const Error& e) {
            problem(e.where(), "", e.message());
            return std::nullopt;
        }
    }

    // The manifest's columns: path and one per target, required; song_id,
    // split and group optional (-1 when absent).
    struct Columns {
        int path;
        std::vector<int> targets;
        int id, split, group;
    };

    // The columns, or none after naming each required one that is missing.
    std::optional<Columns> find_columns(const CsvTable& csv, const Problem& problem) const {
        std::string known;
        for (const auto& h : csv.header) known += (known.empty() ? "" : ", ") + h;
        auto required = [&](const std::string& name) {
            const int c = csv.column(name);
            if (c < 0) problem(Location(csv.file, 1), name, "no column '" + name + "' (the header has: " + known + ")");
            return c;
        };
        const int path_column = required("path");
        std::vector<int> target_columns;
        for (const auto& t : targets_) target_columns.push_back(required(t));
        if (path_column < 0 || std::find(target_columns.begin(), target_columns.end(), -1) != target_columns.end())
            return std::nullopt;
        return Columns{path_column, target_columns, csv.column("song_id"), csv.column("split"), csv.column("group")};
    }

    // Row r's labels into `values`, each a number inside label_range; false
    // when one is not (each said to `problem`).
    bool read_labels(const CsvTable& csv, std::size_t r, const std::string& song, const Columns& columns,
                     const Problem& problem, std::vector<double>& values) const {
        const auto& row = csv.rows[r];
        bool usable = true;
        for (int c : columns.targets) {
            Location where = csv.at(r);
            where.song = song;
            try {
                values.push_back(parse_csv_number(row[c], where, csv.header[c]));
            } catch (const Error& e) {
                problem(e.where(), csv.header[c], e.message());
                usable = false;
                continue;
            }
            if (!label_range_.empty() && (values.back() < label_range_[0] || values.back() > label_range_[1])) {
                problem(where, csv.header[c],
                        fmt::format("column '{}': {} lies outside label_range [{}, {}]; fix the label, or "
                                    "declare the scale the labels are on",
                                    csv.header[c], row[c], label_range_[0], label_range_[1]));
                usable = false;
            }
        }
        return usable;
    }

    // Validation: a path that names no file (a typo, a folder moved) is said before the run,
    // which skips that song and counts it in skipped.csv.
    void warn_if_missing(const fs::path& audio, const Location& line, const Problem& warning) const {
        std::error_code ec;
        if (check_audio_ && warning && !fs::exists(audio, ec))
            warning(line, "path",
                    "column 'path': the audio file " + audio.string() +
                        " does not exist (paths are relative to the manifest's folder); the run skips this song");
    }

    fs::path resolve(const std::string& relative) const {
        const fs::path p(relative);
        return p.is_absolute() ? p : fs::path(path_).parent_path() / p;
    }

    std::string path_;
    std::vector<std::string> targets_;
    bool check_audio_;
    std::vector<double> label_range_;  // [low, high], or empty: the scale is not declared
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::ManifestDataset, "dataset.manifest", "1.0.0",
           "Any corpus from one CSV: path, valence, arousal [, song_id, split, group]")
