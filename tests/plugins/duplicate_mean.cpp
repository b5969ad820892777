// A second library claiming the name regressor.mean: loading both must be
// reported as a conflict naming both files.
#include "core/plugin/regressor.hpp"

namespace mer::testing {

class DuplicateMean : public RegressorPlugin {
public:
    explicit DuplicateMean(const nlohmann::json&) {}
    void fit(const SongTable&, const SongTable*, const EpochCallback&, const PluginContext&) override {}
    void save(const std::string&) const override {}  // nothing fitted
    void load(const std::string&) override {}
    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(songs.size()), 2);
    }
};

}  // namespace mer::testing

MER_PLUGIN(mer::testing::DuplicateMean, "regressor.mean", "9.9.9", "Test plugin that claims a taken name")
