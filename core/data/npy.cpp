// Minimal .npy writer and reader: a header dict, then raw C-order data.
#include "core/data/npy.hpp"

#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>

#include "core/base/files.hpp"
#include "core/error.hpp"

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

Error npy_error(const std::filesystem::path& path, const std::string& why) {
    return Error("not a readable .npy array: " + why, Location(path.string()));
}

struct NpyHeader {
    std::string dict;                // the header's Python dict literal
    std::size_t data_offset = 0;     // where the array's bytes start
    std::vector<std::size_t> shape;  // () gives none
    std::size_t count = 1;           // elements: the product of the shape
};

// Magic, header length and dict of a .npy file's bytes (format 1.0), C order
// required, with the shape parsed (never throwing on odd digits).
NpyHeader parse_header(const std::string& bytes, const std::filesystem::path& path) {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw npy_error(path, "no NUMPY magic");
    const std::size_t length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    if (bytes.size() < 10 + length) throw npy_error(path, "truncated header");
    NpyHeader header{bytes.substr(10, length), 10 + length, {}};
    if (header.dict.find("'fortran_order': False") == std::string::npos)
        throw npy_error(path, "Fortran order is not supported");
    const auto open = header.dict.find("'shape': ("), close = header.dict.find(')', open);
    if (open == std::string::npos || close == std::string::npos) throw npy_error(path, "no shape");
    const std::string dims = header.dict.substr(open + 10, close - open - 10);
    for (std::size_t at = 0; at < dims.size();) {
        const std::size_t comma = std::min(dims.find(',', at), dims.size());
        const std::string part = dims.substr(at, comma - at);
        const std::size_t first = part.find_first_of("0123456789");
        if (first != std::string::npos) header.shape.push_back(std::strtoull(part.c_str() + first, nullptr, 10));
        at = comma + 1;
    }
    // No element is smaller than a byte: a shape promising more elements
    // than the file has bytes is refused before its product can overflow.
    for (std::size_t d : header.shape) {
        if (d > bytes.size() || (d != 0 && header.count > bytes.size() / d))
            throw npy_error(path, "the shape promises more values than the file holds");
        header.count *= d;
    }
    return header;
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
    const NpyHeader header = parse_header(bytes, path);
    if (header.dict.find("'descr': '<f4'") == std::string::npos)
        throw npy_error(path, "expected little-endian float32");
    shape = header.shape;
    if (bytes.size() != header.data_offset + header.count * sizeof(float))
        throw npy_error(path, "data size does not match the shape");
    std::vector<float> out(header.count);
    if (header.count > 0) std::memcpy(out.data(), bytes.data() + header.data_offset, header.count * sizeof(float));
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
    const NpyHeader header = parse_header(bytes, path);
    static const std::regex descr(R"('descr':\s*'<f([48])')");
    std::smatch d;
    if (!std::regex_search(header.dict, d, descr))
        throw npy_error(path, "only little-endian float32/float64 arrays are read");
    if (header.shape.empty() || header.shape.size() > 2) throw npy_error(path, "only 1-D and 2-D arrays are read");
    const auto rows = static_cast<Eigen::Index>(header.shape[0]);
    const auto cols = header.shape.size() == 1 ? Eigen::Index(1) : static_cast<Eigen::Index>(header.shape[1]);
    const std::size_t item = d[1] == "4" ? 4 : 8;
    const std::size_t offset = header.data_offset;
    if (bytes.size() != offset + item * header.count)
        throw npy_error(path, "data size does not match the shape");
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
