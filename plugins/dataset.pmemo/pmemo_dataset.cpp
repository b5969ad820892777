// dataset.pmemo: PMEmo 2019 (Zhang et al., ICMR 2018) as released — chorus
// excerpts chorus/<musicId>.mp3 (named by metadata.csv's fileName), static
// ratings annotations/static_annotations.csv and 2 Hz ratings from 15 s
// annotations/dynamic_annotations.csv (one row per song and frame), every
// rating on 0–1 with arousal before valence. A song's label is its static
// rating, or the mean over time of its dynamic ones.
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "core/audio/audio.hpp"
#include "core/data/corpus_files.hpp"
#include "core/plugin/corpus_dataset.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;
using namespace mer::corpus;

namespace {

const char* kLayout =
    "expected the PMEmo 2019 layout: ROOT/annotations/static_annotations.csv, ROOT/chorus/<musicId>.mp3 and "
    "ROOT/metadata.csv (or the same below ROOT/PMEmo2019/); set root, or annotations_dir / audio_dir";

constexpr double kFrameSeconds = 0.5;  // 2 Hz

// PMEmo's column for a target: Valence(mean), Arousal(mean).
std::string mean_column(const std::string& target) {
    return std::string(1, static_cast<char>(std::toupper(target[0]))) + target.substr(1) + "(mean)";
}

}  // namespace

class PmemoDataset : public CorpusDataset {
public:
    explicit PmemoDataset(const nlohmann::json& p) : CorpusDataset(p, "[0, 1] in PMEmo") {}

    std::string content_fingerprint() const override {
        return folders_fingerprint({annotations_folder(), audio_folder(), metadata_file()});
    }

    SongTable load(const PluginContext& ctx) override {
        const auto found = folders(kLayout, "chorus");  // (not a structured binding: the lambdas below capture them)
        const fs::path &annotations = found.first, &audio = found.second;
        const fs::path file = annotation_file(annotations, "static_annotations.csv", kLayout);
        const std::map<std::string, std::string> file_names = chorus_file_names();

        SongTable table;
        table.target_names = targets_;
        std::vector<std::vector<double>> labels;
        std::set<std::string> seen;
        std::vector<std::string> columns;
        for (const auto& t : targets_) columns.push_back(mean_column(t));
        auto audio_of = [&](const std::string& song) {
            const auto named = file_names.find(song);
            return usable_audio(audio / (named != file_names.end() ? named->second : song + ".mp3"), song,
                                check_audio_, ctx);
        };
        read_static_labels(read_csv(file), "musicId", columns, scale_, audio_of, seen, table, labels);
        table.targets = rows_to_matrix(labels, targets_.size());
        table.features.resize(table.targets.rows(), 0);
        if (!file_names.empty())
            ctx.info(fmt::format("metadata.csv lists {} songs, {} of them with static annotations", file_names.size(),
                                 seen.size()));
        if (dynamic_ || labels_ == "dynamic_mean") load_dynamic(annotations, table);
        if (labels_ == "dynamic_mean") {
            const std::size_t missing = label_with_dynamic_means(table);
            if (!dynamic_) table.dynamic.clear();
            ctx.info(
                fmt::format("labels: the mean of each song's dynamic annotations; {} of {} songs have none for "
                            "some target, which is then missing",
                            missing, table.size()));
        }
        ctx.info(fmt::format("{} songs with labels and audio (PMEmo, {} scale of its 0-1 ratings) from {}",
                             table.size(), scale_.mapping(), annotations.string()));
        return table;
    }

private:
    std::vector<fs::path> annotation_places() const override {
        return {fs::path(root_) / "annotations", fs::path(root_) / "PMEmo2019" / "annotations"};
    }
    std::vector<fs::path> audio_places() const override {
        return {fs::path(root_) / "chorus", fs::path(root_) / "PMEmo2019" / "chorus"};
    }

    // metadata.csv beside the annotations folder or in the root; empty when there is none.
    fs::path metadata_file() const {
        const fs::path annotations = annotations_folder();
        const fs::path root(root_);
        for (const fs::path& candidate : {annotations.empty() ? fs::path() : annotations.parent_path() / "metadata.csv",
                                          root / "metadata.csv", root / "PMEmo2019" / "metadata.csv"})
            if (!candidate.empty() && fs::is_regular_file(candidate)) return candidate;
        return {};
    }

    // musicId → the chorus file metadata.csv names (fileName); empty without metadata.csv,
    // and then each song's file is <musicId>.mp3.
    std::map<std::string, std::string> chorus_file_names() const {
        std::map<std::string, std::string> names;
        const fs::path file = metadata_file();
        if (file.empty()) return names;
        const CsvTable csv = read_csv(file);
        const int id = csv.require_column("musicId"), name = csv.require_column("fileName");
        for (std::size_t r = 0; r < csv.rows.size(); ++r)
            if (!csv.rows[r][name].empty()) names[song_id_text(csv.rows[r][id], csv.at(r))] = csv.rows[r][name];
        return names;
    }

    // dynamic_annotations.csv has one row per song and frame (musicId,
    // frameTime, Arousal(mean), Valence(mean)), frames every 0.5 s from 15 s.
    // A song's frames start at its first frameTime; frames it lacks are NaN.
    void load_dynamic(const fs::path& annotations, SongTable& table) const {
        const fs::path file = find_file(annotations, "dynamic_annotations.csv");
        if (file.empty())
            throw Error(std::string(dynamic_ ? "dynamic: true" : "labels: dynamic_mean") +
                            ", but no dynamic_annotations.csv below the annotations folder",
                        Location(annotations.string()));
        const CsvTable csv = read_csv(file);
        const int id = csv.require_column("musicId"), time = csv.require_column("frameTime");
        std::vector<int> columns;
        for (const auto& t : targets_) columns.push_back(csv.require_column(mean_column(t)));

        struct Frame {
            std::size_t row;  // of the CSV
            double seconds;
            std::vector<double> values;
        };
        const auto row_of = rows_by_song(table);
        std::vector<std::vector<Frame>> frames(table.size());
        for (std::size_t r = 0; r < csv.rows.size(); ++r) {
            Location where = csv.at(r);
            where.song = song_id_text(csv.rows[r][id], where);
            const auto song = row_of.find(where.song);
            if (song == row_of.end()) continue;
            Frame frame{r, parse_csv_number(csv.rows[r][time], where, "frameTime"), {}};
            if (!std::isfinite(frame.seconds)) throw Error("column 'frameTime' is empty", where);
            for (int c : columns) {
                const double v = parse_csv_number(csv.rows[r][c], where, csv.header[c]);
                if (v < scale_.low() || v > scale_.high())
                    throw Error(fmt::format("column '{}': {} lies outside label_range [{}, {}]", csv.header[c],
                                            csv.rows[r][c], scale_.low(), scale_.high()),
                                where);
                frame.values.push_back(std::isfinite(v) ? scale_.from_native(v) : v);
            }
            frames[song->second].push_back(std::move(frame));
        }

        table.dynamic.assign(table.size(), DynamicLabels{15.0, kFrameSeconds, Eigen::MatrixXd()});
        for (std::size_t s = 0; s < table.size(); ++s) {
            if (frames[s].empty()) continue;
            double start = frames[s].front().seconds;
            for (const auto& f : frames[s]) start = std::min(start, f.seconds);
            DynamicLabels& d = table.dynamic[s];
            d.start_seconds = start;
            std::vector<long> index;
            long count = 0;
            for (const auto& f : frames[s]) {
                const double k = (f.seconds - start) / kFrameSeconds;
                if (std::abs(k - std::round(k)) > 1e-6)
                    throw Error(fmt::format("frameTime {} is off the 2 Hz grid of song {}, whose frames start at {} s",
                                            csv.rows[f.row][time], table.song_ids[s], start),
                                csv.at(f.row));
                index.push_back(std::lround(k));
                count = std::max(count, index.back() + 1);
            }
            d.values = Eigen::MatrixXd::Constant(count, static_cast<Eigen::Index>(targets_.size()),
                                                 std::numeric_limits<double>::quiet_NaN());
            std::vector<bool> filled(static_cast<std::size_t>(count), false);
            for (std::size_t i = 0; i < frames[s].size(); ++i) {
                if (filled[static_cast<std::size_t>(index[i])])
                    throw Error(fmt::format("song {} has a second row for frameTime {}", table.song_ids[s],
                                            csv.rows[frames[s][i].row][time]),
                                csv.at(frames[s][i].row));
                filled[static_cast<std::size_t>(index[i])] = true;
                for (std::size_t t = 0; t < targets_.size(); ++t)
                    d.values(index[i], static_cast<Eigen::Index>(t)) = frames[s][i].values[t];
            }
        }
    }
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::PmemoDataset, "dataset.pmemo", "1.0.0",
           "PMEmo 2019: song-level and 2 Hz valence/arousal on 0-1 with its chorus MP3s")
