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
#include "core/plugin/corpus_dataset.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;
using namespace mer::corpus;

namespace {

const char* kLayout =
    "expected the EmoMusic (1000 songs) layout: ROOT/annotations/static_annotations.csv and songs_info.csv, "
    "ROOT/clips_45seconds/<song_id>.mp3 (or clips_45sec/clips_45seconds/); set root, or annotations_dir / "
    "audio_dir";

}  // namespace

// label_range is the static ratings' scale; the 2 Hz ratings, on [−1, 1], are mapped onto it.
class EmomusicDataset : public CorpusDataset {
public:
    explicit EmomusicDataset(const nlohmann::json& p) : CorpusDataset(p, "[1, 9] in EmoMusic") {}

    std::string content_fingerprint() const override {
        return folders_fingerprint({annotations_folder(), audio_folder(), songs_info_file()});
    }

    SongTable load(const PluginContext& ctx) override {
        const auto found = folders(kLayout, "clips_45seconds");  // (not a structured binding: the lambdas below capture them)
        const fs::path &annotations = found.first, &audio = found.second;
        const fs::path file = annotation_file(annotations, "static_annotations.csv", kLayout);

        SongTable table;
        table.target_names = targets_;
        std::vector<std::vector<double>> labels;
        std::set<std::string> seen;
        std::vector<std::string> columns;
        for (const auto& t : targets_) columns.push_back("mean_" + t);
        auto audio_of = [&](const std::string& song) {
            return usable_audio(audio / (song + ".mp3"), song, check_audio_, ctx);
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
    std::vector<fs::path> annotation_places() const override {
        return {fs::path(root_) / "annotations", fs::path(root_)};
    }
    std::vector<fs::path> audio_places() const override {
        const fs::path root(root_);
        return {root / "clips_45seconds", root / "clips_45sec" / "clips_45seconds", root / "clips_45sec"};
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

};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::EmomusicDataset, "dataset.emomusic", "1.0.0",
           "EmoMusic (1000 songs, MediaEval 2013): song-level 1-9 and 2 Hz valence/arousal, 45-s clips, "
           "its development/evaluation split")
