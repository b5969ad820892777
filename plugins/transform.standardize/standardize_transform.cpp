// transform.standardize: zero mean and unit variance per feature, with the
// mean and (population) standard deviation of the training songs only, as
// scikit-learn's StandardScaler. Constant features are only centred.
#include "core/plugin/state.hpp"
#include "core/plugin/transform.hpp"

namespace mer::plugins {

class Standardize : public SingleInputTransform {
public:
    explicit Standardize(const nlohmann::json& p) : with_std_(p.at("with_std").get<bool>()) {}
    void save(const std::string& dir) const override {
        save_matrix(dir, "mean", mean_);
        save_matrix(dir, "scale", scale_);
    }
    void load(const std::string& dir) override {
        mean_ = load_matrix(dir, "mean");
        scale_ = load_matrix(dir, "scale");
    }

protected:
    void fit(const SongTable& train, const PluginContext&) override {
        const auto n = static_cast<double>(std::max<Eigen::Index>(1, train.features.rows()));
        mean_ = train.features.colwise().mean();
        scale_ = Eigen::RowVectorXd::Ones(train.features.cols());
        if (with_std_) {
            scale_ = ((train.features.rowwise() - mean_).array().square().colwise().sum() / n).sqrt();
            scale_ = (scale_.array() > 0).select(scale_, 1.0);
        }
    }

    SongTable apply(const SongTable& songs) const override {
        SongTable out = songs;
        out.features = (songs.features.rowwise() - mean_).array().rowwise() / scale_.array();
        return out;
    }

private:
    bool with_std_;
    Eigen::RowVectorXd mean_, scale_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::Standardize, "transform.standardize", "1.0.0",
           "Standardise features with the training songs' mean and standard deviation")
