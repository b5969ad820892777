// Fuzz target: experiment files. The input is the YAML text of an experiment;
// each of its lines "#set path.to.key=value" (a YAML comment) also becomes a
// --set override. load_experiment checks it against the fuzz build's plugins:
// every mistake must come back as a diagnostic (or a mer::Error).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "bench/fuzz/fuzz_support.hpp"
#include "core/error.hpp"
#include "core/graph/experiment.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    mer::fuzz::plugins();  // dlopen every plugin once, before the first input
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> overrides;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("#set ", 0) == 0) overrides.push_back(line.substr(5));
    const auto file = mer::fuzz::write_scratch("experiment.yaml", data, size);
    try {
        mer::load_experiment(file.string(), overrides, mer::fuzz::plugins());
    } catch (const mer::Error&) {
    }
    return 0;
}
