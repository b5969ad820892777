// dataset.emomusic: the Emotion in Music Database ("1000 songs", MediaEval
// 2013; Soleymani, Caro, Schmidt, Sha, Yang) as released — 45-s clips
// clips_45seconds/<song_id>.mp3, static ratings on 1–9
// (annotations/static_annotations.csv: mean_arousal, mean_valence, …), 2 Hz
// ratings on [−1, 1] from 15 s ({arousal,valence}_cont_average.csv), and
// songs_info.csv, whose "Mediaeval 2013 set" column splits the 744 songs
// into 619 development and 125 evaluation songs: the table's split.
#include <fmt/format.h>

#include <set>

#include "core/audio/audio.hpp"
#include "core/data/corpus_files.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;
using namespace mer::corpus;

namespace {

const char* kLayout =
    "expected the EmoMusic (1000 songs) layout: ROOT/annotations/static_annotations.csv and songs_info.csv, "
    "ROOT/clips_45seconds/<song_id>.mp3 (or clips_45sec/clips_45seconds/); set root, or annotations_dir / "
    "audio_dir";

}  // namespace

class EmomusicDataset : public DatasetPlugin {
public:
    static constexpr const char* kCapabilities = R"({"label_range": true})";

    explicit EmomusicDataset(const nlohmann::json& p)
        : root_(p.at("root").get<std::string>()),
          annotations_dir_(p.at("annotations_dir").get<std::string>()),
          audio_dir_(p.at("audio_dir").get<std::string>()),
          targets_(p.at("targets").get<std::vector<std::string>>()),
          labels_(p.at("labels").get<std::string>()),
          dynamic_(p.at("dynamic").get<bool>()),
          check_audio_(p.at("check_audio").get<bool>()),
          scale_(p, "[1, 9] in EmoMusic") {}

    // The scale of the labels this instance gives: label_range mapped by
    // label_scale (the 2 Hz ratings, on [−1, 1], are mapped onto it).
    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kLabelRange) return nullptr;
        return label_ranges(targets_, scale_);
    }

    std::string content_fingerprint() const override {
        return folders_fingerprint({annotations_folder(), audio_folder(), songs_info_file()});
    }

    SongTable load(const PluginContext& ctx) override {
        const fs::path annotations = annotations_folder();
        const fs::path audio = audio_folder();
        if (annotations.empty()) throw Error(std::string("no annotations folder found; ") + kLayout, Location(root_));
        if (audio.empty()) throw Error(std::string("no clips_45seconds folder found; ") + kLayout, Location(root_));
        const fs::path file = find_file(annotations, "static_annotations.csv");
        if (file.empty())
            throw Error(std::string("no static_annotations.csv below the annotations folder; ") + kLayout,
                        Location(annotations.string()));

        SongTable table;
        table.target_names = targets_;
        std::vector<std::vector<double>> labels;
        std::set<std::string> seen;
        std::vector<std::string> columns;
        for (const auto& t : targets_) columns.push_back("mean_" + t);
        auto audio_of = [&](const std::string& song) {
            const fs::path path = audio / (song + ".mp3");
            if (const std::string why = audio_problem(path, check_audio_); !why.empty()) {
                ctx.skip_song(song, path.string(), why);
                return std::string();
            }
            return path.string();
        };
        read_static_labels(read_csv(file), "song_id", columns, scale_, audio_of, seen, table, labels);
        table.targets = rows_to_matrix(labels, targets_.size());
        table.features.resize(table.targets.rows(), 0);
        assign_split(file, table);
        if (dynamic_ || labels_ == "dynamic_mean") load_dynamic(annotations, table);
        if (labels_ == "dynamic_mean") {
            const std::size_t missing = label_with_dynamic_means(table);
            if (!dynamic_) table.dynamic.clear();
            ctx.info(
                fmt::format("labels: the mean of each song's dynamic annotations; {} of {} songs have none for "
                            "some target, which is then missing",
                            missing, table.size()));
        }
        const auto development = std::count(table.assigned_split.begin(), table.assigned_split.end(), "train");
        ctx.info(
            fmt::format("{} songs with labels and audio (EmoMusic: {} development, {} evaluation; {} scale) "
                        "from {}",
                        table.size(), development, static_cast<long>(table.size()) - development, scale_.mapping(),
                        annotations.string()));
        return table;
    }

private:
    fs::path annotations_folder() const {
        if (!annotations_dir_.empty())
            return fs::is_directory(annotations_dir_) ? fs::path(annotations_dir_) : fs::path();
        const fs::path root(root_);
        return first_folder({root / "annotations", root});
    }

    fs::path audio_folder() const {
        if (!audio_dir_.empty()) return fs::is_directory(audio_dir_) ? fs::path(audio_dir_) : fs::path();
        const fs::path root(root_);
        return first_folder({root / "clips_45seconds", root / "clips_45sec" / "clips_45seconds", root / "clips_45sec"});
    }

    // songs_info.csv: below the annotations folder, else anywhere below the root.
    fs::path songs_info_file() const {
        const fs::path annotations = annotations_folder();
        const fs::path in_annotations = annotations.empty() ? fs::path() : find_file(annotations, "songs_info.csv");
        return in_annotations.empty() ? find_file(root_, "songs_info.csv") : in_annotations;
    }

    // Every song's "Mediaeval 2013 set": development → train, evaluation → test.
    void assign_split(const fs::path& static_file, SongTable& table) const {
        const fs::path file = songs_info_file();
        if (file.empty())
            throw Error(std::string("no songs_info.csv (it holds the development / evaluation split) below the "
                                    "annotations folder or the root; ") +
                            kLayout,
                        Location(root_));
        const CsvTable csv = read_csv(file);
        const int id = csv.require_column("song_id"), set = csv.require_column("Mediaeval 2013 set");
        std::map<std::string, std::string> split_of;
        for (std::size_t r = 0; r < csv.rows.size(); ++r) {
            Location where = csv.at(r);
            where.song = song_id_text(csv.rows[r][id], where);
            const std::string& value = csv.rows[r][set];
            if (value != "development" && value != "evaluation")
                throw Error("column 'Mediaeval 2013 set': '" + value + "' must be development or evaluation", where);
            split_of[where.song] = value == "development" ? "train" : "test";
        }
        for (const auto& song : table.song_ids) {
            const auto it = split_of.find(song);
            if (it == split_of.end())
                throw Error("song " + song + " of " + static_file.filename().string() +
                                " has no row in songs_info.csv, which holds the development / evaluation split",
                            Location(file.string(), 0, 0, {}, song));
            table.assigned_split.push_back(it->second);
        }
    }

    // The 2 Hz ratings are on [−1, 1], one wide file per target.
    void load_dynamic(const fs::path& annotations, SongTable& table) const {
        table.dynamic.assign(table.size(), DynamicLabels{15.0, 0.5, Eigen::MatrixXd()});
        const auto row_of = rows_by_song(table);
        for (std::size_t t = 0; t < targets_.size(); ++t) {
            const std::string name = targets_[t] + "_cont_average.csv";
            const fs::path file = find_file(annotations, name);
            if (file.empty())
                throw Error(std::string(dynamic_ ? "dynamic: true" : "labels: dynamic_mean") + ", but no " + name +
                                " below the annotations folder",
                            Location(annotations.string()));
            read_wide_dynamic(
                file, t, targets_.size(), row_of, [this](double x) { return scale_.from_signed(x); }, table.dynamic);
        }
        drop_unannotated_tail(table.dynamic);
    }

    std::string root_, annotations_dir_, audio_dir_;
    std::vector<std::string> targets_;
    std::string labels_;
    bool dynamic_, check_audio_;
    LabelScale scale_;  // label_range ([1, 9] in EmoMusic) and label_scale
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::EmomusicDataset, "dataset.emomusic", "1.0.0",
           "EmoMusic (1000 songs, MediaEval 2013): song-level 1-9 and 2 Hz valence/arousal, 45-s clips, "
           "its development/evaluation split")
