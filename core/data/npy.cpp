// Minimal .npy writer and reader: a header dict, then raw C-order data.
#include "core/data/npy.hpp"

#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>

#include "core/error.hpp"
#include "core/run/files.hpp"

namespace mer {

// Magic, version, header length and the header dict, padded with spaces to a
// multiple of 64 bytes and ended by a newline (format 1.0).
static std::string header_for(const char* descr, const std::vector<std::size_t>& shape) {
    std::string dims;
    for (std::size_t d : shape) dims += std::to_string(d) + ", ";
    if (shape.size() > 1)
        dims.erase(dims.size() - 2);
    else if (shape.size() == 1)
        dims.erase(dims.size() - 1);
    std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
    const std::size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    const auto length = static_cast<std::uint16_t>(header.size());
    out += static_cast<char>(length & 0xff);
    out += static_cast<char>(length >> 8);
    return out + header;
}

namespace {

template <class Scalar>
std::string npy_bytes(const Scalar* data, Eigen::Index rows, Eigen::Index cols, bool one_dimensional) {
    const char* descr = sizeof(Scalar) == 4 ? "<f4" : "<f8";
    std::vector<std::size_t> shape{static_cast<std::size_t>(rows)};
    if (!one_dimensional) shape.push_back(static_cast<std::size_t>(cols));
    std::string out = header_for(descr, shape);
    // C order: row by row.
    for (Eigen::Index r = 0; r < rows; ++r)
        for (Eigen::Index c = 0; c < cols; ++c) {
            const Scalar v = data[c * rows + r];  // Eigen stores column-major
            out.append(reinterpret_cast<const char*>(&v), sizeof v);
        }
    return out;
}

}  // namespace

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<std::size_t>& shape) {
    std::size_t count = 1;
    for (std::size_t d : shape) count *= d;
    std::string out = header_for("<f4", shape);
    out.append(reinterpret_cast<const char*>(data), count * sizeof(float));
    write_file_atomic(path, out);
}

std::vector<float> read_npy_float32(const std::filesystem::path& path, std::vector<std::size_t>& shape) {
    const std::string bytes = read_text_file(path);
    auto fail = [&path](const std::string& why) {
        return Error("not a readable .npy array: " + why, Location(path.string()));
    };
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw fail("no NUMPY magic");
    const std::size_t header_length =
        static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    const std::string header = bytes.substr(10, header_length);
    if (header.find("'descr': '<f4'") == std::string::npos) throw fail("expected little-endian float32");
    if (header.find("'fortran_order': False") == std::string::npos) throw fail("Fortran order is not supported");
    const auto open = header.find("'shape': ("), close = header.find(')', open);
    if (open == std::string::npos || close == std::string::npos) throw fail("no shape");
    shape.clear();
    std::size_t count = 1;
    std::string dims = header.substr(open + 10, close - open - 10);
    for (std::size_t at = 0; at < dims.size();) {
        const std::size_t comma = std::min(dims.find(',', at), dims.size());
        const std::string part = dims.substr(at, comma - at);
        if (part.find_first_of("0123456789") != std::string::npos) {
            char* end = nullptr;
            const std::size_t first = part.find_first_of("0123456789");
            shape.push_back(std::strtoull(part.c_str() + first, &end, 10));
            count *= shape.back();
        }
        at = comma + 1;
    }
    const std::size_t offset = 10 + header_length;
    if (bytes.size() != offset + count * sizeof(float)) throw fail("data size does not match the shape");
    std::vector<float> out(count);
    std::memcpy(out.data(), bytes.data() + offset, count * sizeof(float));
    return out;
}

void write_npy(const std::filesystem::path& path, const Eigen::MatrixXf& m) {
    write_file_atomic(path, npy_bytes(m.data(), m.rows(), m.cols(), false));
}

void write_npy(const std::filesystem::path& path, const Eigen::MatrixXd& m) {
    write_file_atomic(path, npy_bytes(m.data(), m.rows(), m.cols(), false));
}

void write_npy(const std::filesystem::path& path, const Eigen::VectorXd& v) {
    write_file_atomic(path, npy_bytes(v.data(), v.size(), 1, true));
}

Eigen::MatrixXd read_npy(const std::filesystem::path& path) {
    const std::string bytes = read_text_file(path);
    auto fail = [&path](const std::string& why) {
        return Error("not a readable .npy array: " + why, Location(path.string()));
    };
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw fail("no NUMPY magic");
    const std::size_t header_length =
        static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    if (bytes.size() < 10 + header_length) throw fail("truncated header");
    const std::string header = bytes.substr(10, header_length);
    static const std::regex descr(R"('descr':\s*'<f([48])')"), shape(R"('shape':\s*\((\d+),\s*(\d*)\))");
    std::smatch d, s;
    if (!std::regex_search(header, d, descr)) throw fail("only little-endian float32/float64 arrays are read");
    if (header.find("'fortran_order': False") == std::string::npos) throw fail("Fortran order is not supported");
    if (!std::regex_search(header, s, shape)) throw fail("only 1-D and 2-D arrays are read");
    const auto rows = static_cast<Eigen::Index>(std::stoll(s[1]));
    const auto cols = s[2].str().empty() ? Eigen::Index(1) : static_cast<Eigen::Index>(std::stoll(s[2]));
    const std::size_t item = d[1] == "4" ? 4 : 8;
    const std::size_t offset = 10 + header_length;
    if (bytes.size() != offset + item * static_cast<std::size_t>(rows * cols))
        throw fail("data size does not match the shape");
    Eigen::MatrixXd m(rows, cols);
    const char* p = bytes.data() + offset;
    for (Eigen::Index r = 0; r < rows; ++r)
        for (Eigen::Index c = 0; c < cols; ++c, p += item) {
            if (item == 4) {
                float v;
                std::memcpy(&v, p, 4);
                m(r, c) = v;
            } else {
                double v;
                std::memcpy(&v, p, 8);
                m(r, c) = v;
            }
        }
    return m;
}

}  // namespace mer
