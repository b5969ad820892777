// NumPy .npy files (format 1.0, little-endian, C order) for float32 and
// float64 matrices, so cached features open with numpy.load().
#pragma once

#include <Eigen/Core>
#include <filesystem>
#include <vector>

namespace mer {

// Writes atomically. A matrix is stored with shape (rows, cols).
void write_npy(const std::filesystem::path& path, const Eigen::MatrixXf& m);
void write_npy(const std::filesystem::path& path, const Eigen::MatrixXd& m);
void write_npy(const std::filesystem::path& path, const Eigen::VectorXd& v);  // shape (n,)

// Any shape of float32 values in C order (e.g. chunks × 1 × mels × frames).
void write_npy(const std::filesystem::path& path, const float* data, const std::vector<std::size_t>& shape);
// Reads a float32 array of any shape; `shape` receives its dimensions.
std::vector<float> read_npy_float32(const std::filesystem::path& path, std::vector<std::size_t>& shape);

// Reads a float64 or float32 array of one or two dimensions (1-D as a column).
// Throws mer::Error naming the file when it is not such an array.
Eigen::MatrixXd read_npy(const std::filesystem::path& path);

}  // namespace mer
