// The per-song tensor cache (see tensor_cache.hpp).
#include "core/data/tensor_cache.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/base/files.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"

namespace mer {

namespace fs = std::filesystem;

fs::path song_tensor_file(const fs::path& folder, const std::string& audio, const std::string& version,
                          const nlohmann::json& params, const std::string& content) {
    const auto f = file_fingerprint(audio);
    if (!f) throw Error("audio file missing");
    std::string text = fmt::format("{}|{}|{}.{}|{}|{}", version, f->size, f->mtime_seconds, f->mtime_nanoseconds,
                                   params.dump(), f->head_sha256);
    if (!content.empty()) text += "|" + content;
    const std::string key = sha256_hex(text);
    return folder / key.substr(0, 2) / (key + ".npy");
}

static fs::path sidecar_of(const fs::path& file) {
    return fs::path(file).replace_extension(".json");
}

std::optional<std::string> cached_tensor_problem(const fs::path& file, const std::vector<std::size_t>& tail) {
    const fs::path sidecar = sidecar_of(file);
    std::error_code ec;
    if (!fs::is_regular_file(sidecar, ec) || !fs::is_regular_file(file, ec)) return std::nullopt;
    try {
        const nlohmann::json about = read_json_file(sidecar);
        if (!about.contains("sha256")) return std::string("no checksum beside it");
        if (!about.contains("shape")) return std::string("no shape beside it");
        if (sha256_file(file) != about.at("sha256").get<std::string>()) return std::string("its checksum does not match");
        const auto shape = about.at("shape").get<std::vector<std::size_t>>();
        bool fits = shape.size() == tail.size() + 1 && shape[0] > 0;
        for (std::size_t a = 0; fits && a < tail.size(); ++a) fits = tail[a] == 0 || shape[a + 1] == tail[a];
        if (!fits) {
            std::vector<std::string> want{"chunks"};
            for (std::size_t d : tail) want.push_back(d ? std::to_string(d) : "any");
            return fmt::format("its recorded shape {} is not ({})", nlohmann::json(shape).dump(), fmt::join(want, ", "));
        }
        return std::string();
    } catch (const std::exception& e) {
        return as_error(e).message();
    }
}

void write_cached_tensor(const fs::path& file, const float* values, const std::vector<std::size_t>& shape,
                         nlohmann::json about) {
    create_folder(file.parent_path(), "cache folder");
    write_npy(file, values, shape);
    seal_cached_file(file, shape, std::move(about));
}

void seal_cached_file(const fs::path& file, const std::vector<std::size_t>& shape, nlohmann::json about) {
    about["sha256"] = sha256_file(file);
    about["shape"] = shape;
    write_file_atomic(sidecar_of(file), about.dump(2) + "\n");
}

}  // namespace mer
