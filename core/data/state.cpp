// Bundle-folder helpers for fitted plugins.
#include "core/data/state.hpp"

#include <filesystem>

#include "core/data/npy.hpp"
#include "core/error.hpp"
#include "core/run/files.hpp"

namespace mer {

namespace fs = std::filesystem;

void save_matrix(const std::string& dir, const std::string& name, const Eigen::MatrixXd& m) {
    fs::create_directories(dir);
    write_npy(fs::path(dir) / (name + ".npy"), m);
}

Eigen::MatrixXd load_matrix(const std::string& dir, const std::string& name) {
    const fs::path file = fs::path(dir) / (name + ".npy");
    if (!fs::exists(file)) throw Error("the model bundle lacks " + name + ".npy", Location(file.string()));
    return read_npy(file);
}

void save_json(const std::string& dir, const std::string& name, const nlohmann::json& j) {
    fs::create_directories(dir);
    write_file_atomic(fs::path(dir) / (name + ".json"), j.dump(2) + "\n");
}

nlohmann::json load_json(const std::string& dir, const std::string& name) {
    const fs::path file = fs::path(dir) / (name + ".json");
    try {
        return nlohmann::json::parse(read_text_file(file));
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("not valid JSON: ") + e.what(), Location(file.string()));
    }
}

}  // namespace mer
