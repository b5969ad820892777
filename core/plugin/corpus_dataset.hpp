// The common part of the loaders of released corpora (dataset.deam,
// dataset.pmemo, dataset.emomusic): the parameters they share (root,
// annotations_dir, audio_dir, targets, labels, dynamic, check_audio,
// label_range and label_scale), the label_range capability, and finding the
// annotations and audio folders. What differs — file names, columns, the
// folders a release ships — is each loader's own.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/data/corpus_files.hpp"
#include "core/error.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"

namespace mer {

class CorpusDataset : public DatasetPlugin {
public:
    static constexpr const char* kCapabilities = R"({"label_range": true})";

    // `native_scale` names the release's scale for label_range's messages ("[1, 9] in DEAM").
    CorpusDataset(const nlohmann::json& p, const std::string& native_scale)
        : root_(p.at("root").get<std::string>()),
          annotations_dir_(p.at("annotations_dir").get<std::string>()),
          audio_dir_(p.at("audio_dir").get<std::string>()),
          targets_(p.at("targets").get<std::vector<std::string>>()),
          labels_(p.at("labels").get<std::string>()),
          dynamic_(p.at("dynamic").get<bool>()),
          check_audio_(p.at("check_audio").get<bool>()),
          scale_(p, native_scale) {}

    // The scale of the labels this instance gives: label_range mapped by label_scale.
    nlohmann::json query(const std::string& capability) const override {
        if (capability != capability::kLabelRange) return nullptr;
        return corpus::label_ranges(targets_, scale_);
    }

protected:
    // annotations_dir / audio_dir when given (empty when not a folder), else
    // the first of the release's usual places that is one.
    std::filesystem::path annotations_folder() const { return folder(annotations_dir_, annotation_places()); }
    std::filesystem::path audio_folder() const { return folder(audio_dir_, audio_places()); }

    // Both folders, or an error naming what is missing (the audio folder by
    // `audio_name`) with the release's layout.
    std::pair<std::filesystem::path, std::filesystem::path> folders(const std::string& layout,
                                                                    const std::string& audio_name) const {
        const std::filesystem::path annotations = annotations_folder(), audio = audio_folder();
        if (annotations.empty()) throw Error("no annotations folder found; " + layout, Location(root_));
        if (audio.empty()) throw Error("no " + audio_name + " folder found; " + layout, Location(root_));
        return {annotations, audio};
    }

    // The annotation file `name` below `annotations`, or an error saying it is missing, with the release's layout.
    static std::filesystem::path annotation_file(const std::filesystem::path& annotations, const std::string& name,
                                                 const std::string& layout) {
        const std::filesystem::path file = corpus::find_file(annotations, name);
        if (file.empty())
            throw Error("no " + name + " below the annotations folder; " + layout, Location(annotations.string()));
        return file;
    }

    // Where the release keeps them, below root_, in order of preference.
    virtual std::vector<std::filesystem::path> annotation_places() const = 0;
    virtual std::vector<std::filesystem::path> audio_places() const = 0;

    std::string root_, annotations_dir_, audio_dir_;
    std::vector<std::string> targets_;
    std::string labels_;
    bool dynamic_, check_audio_;
    corpus::LabelScale scale_;  // label_range (the release's scale) and label_scale

private:
    static std::filesystem::path folder(const std::string& given, const std::vector<std::filesystem::path>& places) {
        if (!given.empty()) return std::filesystem::is_directory(given) ? std::filesystem::path(given) : "";
        return corpus::first_folder(places);
    }
};

}  // namespace mer
