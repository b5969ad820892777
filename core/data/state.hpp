// Helpers for a fitted plugin's save()/load(): named matrices as .npy files
// and a small JSON document in the plugin's bundle folder, so a bundle can be
// read from Python too.
#pragma once

#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <string>

namespace mer {

void save_matrix(const std::string& dir, const std::string& name, const Eigen::MatrixXd& m);
// A bundle's matrix, refused (naming the file) unless it has the shape the
// model expects — `rows` × `cols`, kAnySize for a dimension the bundle sets —
// with no empty dimension and only finite values: a damaged or edited bundle
// never reaches a matrix product.
constexpr Eigen::Index kAnySize = -1;
Eigen::MatrixXd load_matrix(const std::string& dir, const std::string& name, Eigen::Index rows, Eigen::Index cols);
void save_json(const std::string& dir, const std::string& name, const nlohmann::json& j);
nlohmann::json load_json(const std::string& dir, const std::string& name);

}  // namespace mer
