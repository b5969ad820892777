// Fuzz target: model bundles as `mer-run predict` reads them. The input is a
// bundle folder packed as text (run.sh packs real bundles so): each file is a
// line "--- PATH" (relative, no "..") followed by its bytes; the newline
// before the next "--- " line or at the end is not part of the file.
//
// The bundle goes through predict_files (model.json, plugins and versions,
// targets), then, as predict_files does with the songs it decoded, every fold
// is loaded (one pipeline per target when it was fitted so) and its
// transforms and regressor rate a small synthetic table
// (the one run.sh trains the seed bundles on). Refusals are mer::Error.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench/fuzz/fuzz_support.hpp"
#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/exec/predict.hpp"
#include "core/exec/target_pipelines.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/dataset.hpp"
#include "core/synth/synthetic_table.hpp"

namespace {

namespace fs = std::filesystem;

// Writes each packed file under `dir`; false when a path could leave it or
// cannot be made (too long, a file where a folder should be).
bool unpack(const std::string& packed, const fs::path& dir) try {
    const std::string marker = "--- ";
    if (packed.rfind(marker, 0) != 0) return false;
    for (std::size_t at = 0; at < packed.size();) {
        const std::size_t eol = packed.find('\n', at);
        if (eol == std::string::npos) return false;
        const fs::path path = packed.substr(at + marker.size(), eol - at - marker.size());
        const std::size_t next = packed.find("\n" + marker, eol);
        const std::size_t end = next == std::string::npos ? packed.size() : next;
        std::string content = packed.substr(eol + 1, end > eol ? end - eol - 1 : 0);
        if (next == std::string::npos && !content.empty() && content.back() == '\n') content.pop_back();
        at = next == std::string::npos ? packed.size() : next + 1;

        if (path.empty() || path.is_absolute() || path.filename().empty()) return false;
        for (const auto& part : path)
            if (part == "..") return false;
        fs::create_directories((dir / path).parent_path());
        std::ofstream(dir / path, std::ios::binary) << content;
    }
    return true;
} catch (const fs::filesystem_error&) {
    return false;
}

// The songs the seed bundles learnt from: what run.sh's `mer-run synth-table`
// writes with the default seed and noise columns.
mer::SongTable synthetic_songs() {
    mer::SyntheticTableSpec spec;
    spec.songs = 6;
    const std::string csv = mer::synthetic_table_csv(spec);
    const auto file =
        mer::fuzz::write_scratch("songs.csv", reinterpret_cast<const std::uint8_t*>(csv.data()), csv.size());
    const mer::PluginRegistry& registry = mer::fuzz::plugins();
    const auto params =
        mer::SchemaValidator(registry.get("dataset.table").schema).with_defaults({{"path", file.string()}});
    return registry.create<mer::DatasetPlugin>("dataset.table", params)->load(mer::PluginContext{});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    mer::fuzz::plugins();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const mer::SongTable songs = synthetic_songs();
    const fs::path bundle = mer::fuzz::scratch_dir() / "bundle";
    fs::remove_all(bundle);
    fs::create_directories(bundle);
    if (!unpack(std::string(reinterpret_cast<const char*>(data), size), bundle)) return -1;  // not a bundle: skip

    mer::PredictOptions options;
    options.cache_dir = (mer::fuzz::scratch_dir() / "cache").string();
    options.threads = 1;
    try {
        mer::predict_files(bundle, {}, mer::fuzz::plugins(), options);
        const auto manifest = mer::read_json_file(bundle / "model.json");
        const int folds = manifest.at("folds").get<int>();
        std::vector<std::string> targets;
        for (const auto& target : manifest.at("targets")) targets.push_back(target.at("name").get<std::string>());
        for (int fold = 0; fold < folds && fs::is_directory(bundle / ("fold" + std::to_string(fold))); ++fold) {
            mer::TargetPipelines pipelines(mer::PipelineSpec::from_json(manifest), mer::fuzz::plugins(), targets);
            pipelines.load(bundle / ("fold" + std::to_string(fold)));
            pipelines.predict(songs);
        }
    } catch (const mer::Error&) {
    }
    return 0;
}
