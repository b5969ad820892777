// run.json: the manifest of a run folder, rewritten atomically whenever a
// file is added, so it is true even for a run that was killed.
#include "core/exec/run_writer.hpp"

#include <algorithm>

#include <mutex>

#include "core/base/files.hpp"
#include "core/base/names.hpp"
#include "core/error.hpp"

namespace mer {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr int kManifestFormat = 1;

json to_json(const ArtifactEntry& e) {
    return json{{"file", e.file}, {"kind", e.kind}, {"node", e.node}, {"columns", e.columns}, {"meaning", e.meaning}};
}

}  // namespace

RunWriter::RunWriter(RunFolder& folder, std::string experiment, bool resuming)
    : folder_(folder), experiment_(std::move(experiment)) {
    if (resuming && fs::exists(folder_.path() / "run.json")) artifacts_ = read_manifest(folder_.path()).entries;
}

void RunWriter::write(const ArtifactEntry& entry, const std::string& content) {
    folder_.write(entry.file, content);
    record(entry);
}

void RunWriter::record(const ArtifactEntry& entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& existing : artifacts_)
        if (existing.file == entry.file) {
            if (to_json(existing) == to_json(entry)) return;  // rewritten content, same entry
            existing = entry;
            return save_manifest();
        }
    artifacts_.push_back(entry);
    save_manifest();
}

void RunWriter::forget(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto before = artifacts_.size();
    artifacts_.erase(std::remove_if(artifacts_.begin(), artifacts_.end(),
                                    [&](const ArtifactEntry& e) { return e.file.rfind(prefix, 0) == 0; }),
                     artifacts_.end());
    if (artifacts_.size() != before) save_manifest();
}

void RunWriter::write_plugin_artifact(const std::string& node, const Artifact& artifact, const std::string& content) {
    if (!is_file_safe_name(artifact.kind) || (!artifact.part.empty() && !is_file_safe_name(artifact.part)))
        throw Error("the plugin named an artifact '" + artifact.kind + "' / '" + artifact.part +
                        "'; kind and part must hold only " + kFileSafeNameRule,
                    Location::of_node(node));
    const std::string file = artifact.kind + "_" + node + (artifact.part.empty() ? "" : "_" + artifact.part) + ".csv";
    {
        // No two artifacts share a name: a file this run already holds under
        // other columns or meaning (a target named "values" beside the SHAP
        // values) is refused, not overwritten.
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& existing : artifacts_)
            if (existing.file == file && (existing.columns != artifact.columns || existing.meaning != artifact.meaning))
                throw Error(file + " would hold two things: '" + existing.meaning + "' and '" + artifact.meaning +
                                "' (a target or part named like another file of node '" + node + "'; rename it)",
                            Location::of_node(node));
    }
    const std::string first_line = content.substr(0, content.find('\n'));
    if (first_line != csv_row(artifact.columns))
        throw Error("the plugin wrote " + file + " with the header '" + first_line.substr(0, 200) +
                        "' but declared the columns '" + csv_row(artifact.columns).substr(0, 200) + "'",
                    Location::of_node(node));
    write({file, artifact.kind, node, artifact.columns, artifact.meaning}, content);
}

void RunWriter::save_manifest() const {
    json artifacts = json::array();
    for (const auto& a : artifacts_) artifacts.push_back(to_json(a));
    const json manifest{{"format", kManifestFormat}, {"experiment", experiment_}, {"artifacts", artifacts}};
    folder_.write("run.json", manifest.dump(2) + "\n");
}

}  // namespace mer
