// Plugins whose capabilities say more than they do, built into
// build/test-plugins/liars/: regressor.claims_chunks declares "chunks" and
// implements no mer::ChunkPredictions (refused when an instance is made);
// regressor.bad_budget names a budget parameter its schema lacks (refused at
// scan). Selected by MER_TEST_CLAIMS_CHUNKS / MER_TEST_BAD_BUDGET.
#include "core/plugin/regressor.hpp"

namespace mer::testing {

class CapabilityLiar : public RegressorPlugin {
public:
#ifdef MER_TEST_CLAIMS_CHUNKS
    static constexpr const char* kCapabilities = R"({"chunks": true})";
#else
    static constexpr const char* kCapabilities = R"({"budget": "rounds"})";
#endif
    explicit CapabilityLiar(const nlohmann::json&) {}
    void fit(const SongTable&, const SongTable*, const EpochCallback&, const PluginContext&) override {}
    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(songs.size()), 2);
    }
    void save(const std::string&) const override {}
    void load(const std::string&) override {}
};

}  // namespace mer::testing

#ifdef MER_TEST_CLAIMS_CHUNKS
MER_PLUGIN(mer::testing::CapabilityLiar, "regressor.claims_chunks", "1.0.0",
           "test plugin: declares chunks without implementing them")
#else
MER_PLUGIN(mer::testing::CapabilityLiar, "regressor.bad_budget", "1.0.0",
           "test plugin: names a budget parameter it does not have")
#endif
