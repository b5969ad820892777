// transform.pca: principal components of the training songs' features
// (eigen-decomposition of their covariance), by count or by explained
// variance; columns pc_1 … pc_n.
#include <fmt/format.h>

#include <Eigen/Eigenvalues>
#include <cmath>

#include "core/data/scaler.hpp"
#include "core/data/state.hpp"
#include "core/plugin/transform.hpp"

namespace mer::plugins {

class Pca : public SingleInputTransform {
public:
    explicit Pca(const nlohmann::json& p)
        : components_(p.at("components").get<double>()), standardize_(p.at("standardize").get<bool>()) {}

    void save(const std::string& dir) const override {
        scaler_.save(dir);
        save_matrix(dir, "basis", basis_);
    }
    void load(const std::string& dir) override {
        scaler_.load(dir);
        basis_ = load_matrix(dir, "basis", scaler_.mean.cols(), kAnySize);
    }

protected:
    void fit(const SongTable& train, const PluginContext& ctx) override {
        const auto n = static_cast<double>(train.features.rows());
        scaler_.fit(train.features, standardize_);
        const Eigen::MatrixXd z = scaler_.apply(train.features);
        const Eigen::MatrixXd covariance = z.transpose() * z / std::max(1.0, n - 1);
        const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(covariance);
        // Eigen sorts ascending; components go largest first.
        const Eigen::VectorXd values = eigen.eigenvalues().reverse().cwiseMax(0.0);
        const Eigen::MatrixXd vectors = eigen.eigenvectors().rowwise().reverse();
        const double total = values.sum();
        Eigen::Index keep = 0;
        if (components_ >= 1) {
            keep = std::min<Eigen::Index>(static_cast<Eigen::Index>(std::floor(components_)), values.size());
        } else {
            double explained = 0;
            while (keep < values.size() && (total <= 0 || explained / total < components_)) explained += values(keep++);
        }
        keep = std::max<Eigen::Index>(1, keep);
        basis_ = vectors.leftCols(keep);
        // A deterministic sign: the largest loading of each component is positive.
        for (Eigen::Index c = 0; c < keep; ++c) {
            Eigen::Index at;
            basis_.col(c).cwiseAbs().maxCoeff(&at);
            if (basis_(at, c) < 0) basis_.col(c) *= -1;
        }
        ctx.info(fmt::format("fold {}: {} components explain {:.1f}% of the variance", ctx.fold, keep,
                             total > 0 ? 100 * values.head(keep).sum() / total : 0.0));
    }

    SongTable apply(const SongTable& songs) const override {
        SongTable out = songs;
        out.features = scaler_.apply(songs.features) * basis_;
        out.feature_names.clear();
        for (Eigen::Index c = 0; c < basis_.cols(); ++c) out.feature_names.push_back(fmt::format("pc_{}", c + 1));
        return out;
    }

private:
    double components_;
    bool standardize_;
    FeatureScaler scaler_;
    Eigen::MatrixXd basis_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::Pca, "transform.pca", "1.0.0",
           "Principal components of the training songs' features, by count or explained variance")
