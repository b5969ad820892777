// A plugin built as if against another mer: its ABI tag claims ABI 999 and
// another compiler, so the host must refuse it without loading it.
#define MER_PLUGIN_ABI_TAG "mer-abi=999;compiler=GCC 99.1.0;cxx11-abi=1;torch=none;cuda=none;boost=1_74"
#include "core/plugin/regressor.hpp"

namespace mer::testing {

class MismatchedRegressor : public RegressorPlugin {
public:
    explicit MismatchedRegressor(const nlohmann::json&) {}
    void fit(const SongTable&, const SongTable*, const EpochCallback&, const PluginContext&) override {}
    void save(const std::string&) const override {}  // nothing fitted
    void load(const std::string&) override {}
    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(songs.size()), 1);
    }
};

}  // namespace mer::testing

MER_PLUGIN(mer::testing::MismatchedRegressor, "regressor.mismatched", "0.1.0", "Test plugin with a foreign ABI tag")
