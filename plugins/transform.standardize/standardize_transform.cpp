// transform.standardize: zero mean and unit variance per feature, with the
// mean and (population) standard deviation of the training songs only, as
// scikit-learn's StandardScaler. Constant features are only centred.
#include "core/data/scaler.hpp"
#include "core/plugin/transform.hpp"

namespace mer::plugins {

class Standardize : public SingleInputTransform {
public:
    explicit Standardize(const nlohmann::json& p) : with_std_(p.at("with_std").get<bool>()) {}
    void save(const std::string& dir) const override { scaler_.save(dir); }
    void load(const std::string& dir) override { scaler_.load(dir); }

protected:
    void fit(const SongTable& train, const PluginContext&) override { scaler_.fit(train.features, with_std_); }

    SongTable apply(const SongTable& songs) const override {
        SongTable out = songs;
        out.features = scaler_.apply(songs.features);
        return out;
    }

private:
    bool with_std_;
    FeatureScaler scaler_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::Standardize, "transform.standardize", "1.0.0",
           "Standardise features with the training songs' mean and standard deviation")
