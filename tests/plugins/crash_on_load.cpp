// Plugin libraries whose initialisation code (a constructor run when the
// library is loaded) crashes or hangs. Built three ways (tests/CMakeLists.txt):
// hostile_crash always crashes, hostile_hang never returns, and
// regressor.crash_on_load crashes only while the file named by
// MER_TEST_CRASH_MARKER exists — so it can pass discovery and crash when mer
// itself loads it later.
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "core/plugin/regressor.hpp"

namespace {

__attribute__((constructor)) void misbehave_on_load() {
#if defined(MER_TEST_ALWAYS_CRASH)
    std::raise(SIGSEGV);
#elif defined(MER_TEST_HANG)
    for (;;) ::pause();
#else
    const char* marker = std::getenv("MER_TEST_CRASH_MARKER");
    if (marker && ::access(marker, F_OK) == 0) std::raise(SIGSEGV);
#endif
}

}  // namespace

namespace mer::testing {

class CrashOnLoad : public RegressorPlugin {
public:
    explicit CrashOnLoad(const nlohmann::json&) {}
    void fit(const SongTable&, const SongTable*, const EpochCallback&, const PluginContext&) override {}
    void save(const std::string&) const override {}
    void load(const std::string&) override {}
    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(songs.size()), 2);
    }
};

}  // namespace mer::testing

MER_PLUGIN(mer::testing::CrashOnLoad, "regressor.crash_on_load", "1.0.0", "Test plugin whose library crashes when loaded")
