// Bundle-folder helpers for fitted plugins.
#include "core/data/state.hpp"

#include <filesystem>

#include "core/base/files.hpp"
#include "core/data/npy.hpp"
#include "core/error.hpp"

namespace mer {

namespace fs = std::filesystem;

void save_matrix(const std::string& dir, const std::string& name, const Eigen::MatrixXd& m) {
    fs::create_directories(dir);
    write_npy(fs::path(dir) / (name + ".npy"), m);
}

Eigen::MatrixXd load_matrix(const std::string& dir, const std::string& name, Eigen::Index rows, Eigen::Index cols) {
    const fs::path file = fs::path(dir) / (name + ".npy");
    if (!fs::exists(file)) throw Error("the model bundle lacks " + name + ".npy", Location(file.string()));
    Eigen::MatrixXd m = read_npy(file);
    auto dimension = [](Eigen::Index n) { return n == kAnySize ? std::string("any") : std::to_string(n); };
    if (m.rows() == 0 || m.cols() == 0 || (rows != kAnySize && m.rows() != rows) ||
        (cols != kAnySize && m.cols() != cols))
        throw Error("damaged model bundle: shape (" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) +
                        "), expected (" + dimension(rows) + ", " + dimension(cols) + ") with no empty dimension",
                    Location(file.string()));
    if (!m.allFinite()) throw Error("damaged model bundle: holds NaN or infinite values", Location(file.string()));
    return m;
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
