// .npy files: both readers share one header parser, round-trip what the
// writers write, and refuse damaged or unsupported files naming the file.
#include <catch2/catch.hpp>

#include "core/data/npy.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;

TEST_CASE(".npy files round-trip and damaged ones are refused with the file named", "[npy]") {
    TempDir dir;
    Eigen::MatrixXd m(2, 3);
    m << 1, 2, 3, 4, 5, 6;
    mer::write_npy(dir / "m.npy", m);
    CHECK(mer::read_npy(dir / "m.npy") == m);
    const std::vector<float> chunks{1, 2, 3, 4, 5, 6, 7, 8};
    mer::write_npy(dir / "t.npy", chunks.data(), {2, 1, 2, 2});
    std::vector<std::size_t> shape;
    CHECK(mer::read_npy_float32(dir / "t.npy", shape) == chunks);
    CHECK(shape == std::vector<std::size_t>{2, 1, 2, 2});

    // A 4-D tensor is not a matrix; a float64 matrix is not a float32 tensor.
    CHECK_THROWS_WITH(mer::read_npy(dir / "t.npy"), Catch::Contains("t.npy") && Catch::Contains("only 1-D and 2-D"));
    CHECK_THROWS_WITH(mer::read_npy_float32(dir / "m.npy", shape), Catch::Contains("expected little-endian float32"));
    // Cut inside the header, and inside the data.
    const std::string bytes = read_file(dir / "t.npy");
    write_file(dir / "header.npy", bytes.substr(0, 40));
    write_file(dir / "data.npy", bytes.substr(0, bytes.size() - 4));
    CHECK_THROWS_WITH(mer::read_npy(dir / "header.npy"), Catch::Contains("truncated header"));
    CHECK_THROWS_WITH(mer::read_npy_float32(dir / "header.npy", shape), Catch::Contains("truncated header"));
    CHECK_THROWS_WITH(mer::read_npy_float32(dir / "data.npy", shape), Catch::Contains("data size does not match"));
    write_file(dir / "text.npy", "not an array at all");
    CHECK_THROWS_WITH(mer::read_npy(dir / "text.npy"),
                      Catch::Contains("text.npy") && Catch::Contains("no NUMPY magic"));
}

TEST_CASE(".npy shapes that overflow or hold nothing are handled (found by fuzzing)", "[npy][hardening]") {
    TempDir dir;
    // An empty tensor: read back empty (memcpy into its null data was UB).
    mer::write_npy(dir / "empty.npy", static_cast<const float*>(nullptr), {0, 1, 2, 2});
    std::vector<std::size_t> shape;
    CHECK(mer::read_npy_float32(dir / "empty.npy", shape).empty());
    CHECK(shape == std::vector<std::size_t>{0, 1, 2, 2});
    // 2^32 · 2^32 elements wrap around to 0: refused, not read as an empty array.
    std::string bytes = read_file(dir / "empty.npy");
    const std::size_t at = bytes.find("(0, 1, 2, 2)");
    REQUIRE(at != std::string::npos);
    bytes.replace(at, 12, "(4294967296, 4294967296)");
    write_file(dir / "wrap.npy", bytes);
    CHECK_THROWS_WITH(mer::read_npy_float32(dir / "wrap.npy", shape),
                      Catch::Contains("the shape promises more values than the file holds"));
    CHECK_THROWS_WITH(mer::read_npy(dir / "wrap.npy"), Catch::Contains("the shape promises more values"));
}
