// Every experiment shipped in experiments/ validates against the schema and
// the plugins of this build.
#include <catch2/catch.hpp>

#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;

TEST_CASE("every file in experiments/ is a valid experiment", "[experiments][cli][torch]") {
    int count = 0;
    for (const auto& entry : fs::directory_iterator(source_dir() / "experiments")) {
        if (entry.path().extension() != ".yaml") continue;
        INFO(entry.path());
        const auto r = run_mer({"validate", entry.path().string()}, source_dir());
        CHECK(r.exit_code == 0);
        CHECK(r.err.find("valid") != std::string::npos);
        // The header comment says what the experiment is for and how long it takes.
        const std::string text = read_file(entry.path());
        CHECK(text.rfind("# yaml-language-server: $schema=../schemas/experiment.schema.json", 0) == 0);
        ++count;
    }
    CHECK(count >= 2);
}
