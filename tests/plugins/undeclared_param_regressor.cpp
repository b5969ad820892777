// regressor.undeclared — a plugin whose code reads a parameter its schema
// does not declare (params.at("k") with an empty schema): what
// `mer-run plugins check` must catch before any run trips over it.
#include "core/plugin/regressor.hpp"

namespace mer::testing {

class UndeclaredParamRegressor : public RegressorPlugin {
public:
    explicit UndeclaredParamRegressor(const nlohmann::json& params) : k_(params.at("k").get<int>()) {}
    void fit(const SongTable&, const SongTable*, const EpochCallback&, const PluginContext&) override {}
    Eigen::MatrixXd predict(const SongTable& songs) const override {
        return Eigen::MatrixXd::Constant(static_cast<Eigen::Index>(songs.size()), 2, k_);
    }
    void save(const std::string&) const override {}
    void load(const std::string&) override {}

private:
    int k_;
};

}  // namespace mer::testing

MER_PLUGIN(mer::testing::UndeclaredParamRegressor, "regressor.undeclared", "1.0.0",
           "test plugin: reads a parameter its schema lacks")
