// Helpers for a fitted plugin's save()/load(): named matrices as .npy files
// and a small JSON document in the plugin's bundle folder, so a bundle can be
// read from Python too.
#pragma once

#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <string>

namespace mer {

void save_matrix(const std::string& dir, const std::string& name, const Eigen::MatrixXd& m);
Eigen::MatrixXd load_matrix(const std::string& dir, const std::string& name);  // throws naming the file
void save_json(const std::string& dir, const std::string& name, const nlohmann::json& j);
nlohmann::json load_json(const std::string& dir, const std::string& name);

}  // namespace mer
