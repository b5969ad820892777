// regressor.svr: epsilon-support-vector regression on libsvm (the library
// scikit-learn's SVR wraps), one model per target. libsvm is wrapped here and
// only here; put transform.standardize before it, as with scikit-learn.
#include <fmt/format.h>
#include <libsvm/svm.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/data/state.hpp"
#include "core/error.hpp"
#include "core/plugin/regressor.hpp"

namespace mer::plugins {

namespace {
void quiet(const char*) {}
struct ModelDeleter {
    void operator()(svm_model* m) const { svm_free_and_destroy_model(&m); }
};
}  // namespace

class SvrRegressor : public RegressorPlugin {
public:
    static constexpr const char* kCapabilities = R"({"independent_targets": true})";

    explicit SvrRegressor(const nlohmann::json& p)
        : rbf_(p.at("kernel").get<std::string>() == "rbf"),
          c_(p.at("C").get<double>()),
          epsilon_(p.at("epsilon").get<double>()),
          gamma_(p.at("gamma")),
          tol_(p.at("tol").get<double>()),
          cache_mb_(p.at("cache_mb").get<double>()) {}

    void fit(const SongTable& train, const SongTable*, const EpochCallback&, const PluginContext& ctx) override {
        svm_set_print_string_function(&quiet);
        const Eigen::MatrixXd& x = train.features;
        nodes_ = to_nodes(x);
        rows_.clear();
        for (Eigen::Index r = 0; r < x.rows(); ++r) rows_.push_back(nodes_.data() + r * (x.cols() + 1));

        svm_parameter param{};
        param.svm_type = EPSILON_SVR;
        param.kernel_type = rbf_ ? RBF : LINEAR;
        param.gamma = gamma(x);
        param.C = c_;
        param.p = epsilon_;
        param.eps = tol_;
        param.cache_size = cache_mb_;
        param.shrinking = 1;
        models_.clear();
        for (Eigen::Index t = 0; t < train.targets.cols(); ++t) {
            Eigen::VectorXd y = train.targets.col(t);
            svm_problem problem{static_cast<int>(x.rows()), y.data(), rows_.data()};
            if (const char* problem_text = svm_check_parameter(&problem, &param))
                throw Error(std::string("libsvm refused the parameters: ") + problem_text, Location::of_node(ctx.node));
            // libsvm keeps pointers to the training rows (support vectors): nodes_ outlives the models.
            models_.emplace_back(svm_train(&problem, &param));
            if (!models_.back()) throw Error("libsvm could not train the model", Location::of_node(ctx.node));
        }
        features_ = x.cols();
        ctx.info(fmt::format("fold {}: gamma {:.3g}, {} support vectors (first target)", ctx.fold, param.gamma,
                             svm_get_nr_sv(models_.front().get())));
    }

    Eigen::MatrixXd predict(const SongTable& songs) const override {
        if (songs.features.cols() != features_)
            throw Error("the model was fitted on " + std::to_string(features_) + " feature columns, the input has " +
                        std::to_string(songs.features.cols()));
        const std::vector<svm_node> nodes = to_nodes(songs.features);
        const Eigen::Index stride = songs.features.cols() + 1;
        Eigen::MatrixXd out(songs.features.rows(), static_cast<Eigen::Index>(models_.size()));
        for (std::size_t t = 0; t < models_.size(); ++t)
            for (Eigen::Index r = 0; r < songs.features.rows(); ++r)
                out(r, static_cast<Eigen::Index>(t)) = svm_predict(models_[t].get(), nodes.data() + r * stride);
        return out;
    }

    // libsvm's own model files keep 8 digits of each support vector, so
    // the exact values go to .npy instead: support vectors, coefficients,
    // offset and kernel parameters per target.
    void save(const std::string& dir) const override {
        nlohmann::json meta = nlohmann::json::array();
        for (std::size_t t = 0; t < models_.size(); ++t) {
            const svm_model* m = models_[t].get();
            Eigen::MatrixXd sv = Eigen::MatrixXd::Zero(m->l, features_);
            Eigen::MatrixXd coef(m->l, 1);
            for (int i = 0; i < m->l; ++i) {
                for (const svm_node* n = m->SV[i]; n->index != -1; ++n) sv(i, n->index - 1) = n->value;
                coef(i, 0) = m->sv_coef[0][i];
            }
            save_matrix(dir, "target" + std::to_string(t) + "_support_vectors", sv);
            save_matrix(dir, "target" + std::to_string(t) + "_coefficients", coef);
            meta.push_back({{"rho", m->rho[0]}, {"gamma", m->param.gamma}, {"kernel", m->param.kernel_type}});
        }
        save_json(dir, "svr", {{"features", features_}, {"targets", meta}});
    }
    void load(const std::string& dir) override {
        const nlohmann::json meta = load_json(dir, "svr");
        features_ = meta.at("features").get<Eigen::Index>();
        if (features_ < 1 || meta.at("targets").empty())
            throw Error("damaged model bundle: no features or no targets", Location(dir + "/svr.json"));
        models_.clear();
        loaded_nodes_.clear();
        for (std::size_t t = 0; t < meta.at("targets").size(); ++t) {
            const Eigen::MatrixXd sv =
                load_matrix(dir, "target" + std::to_string(t) + "_support_vectors", kAnySize, features_);
            const Eigen::MatrixXd coef = load_matrix(dir, "target" + std::to_string(t) + "_coefficients", sv.rows(), 1);
            const int kernel = meta["targets"][t].at("kernel").get<int>();
            if (kernel != LINEAR && kernel != POLY && kernel != RBF && kernel != SIGMOID)
                throw Error("damaged model bundle: unknown kernel " + std::to_string(kernel), Location(dir + "/svr.json"));
            loaded_nodes_.push_back(to_nodes(sv));
            auto* m = static_cast<svm_model*>(std::calloc(1, sizeof(svm_model)));
            m->param.svm_type = EPSILON_SVR;
            m->param.kernel_type = kernel;
            m->param.gamma = meta["targets"][t].at("gamma").get<double>();
            m->nr_class = 2;
            m->l = static_cast<int>(sv.rows());
            m->SV =
                static_cast<svm_node**>(std::malloc(sizeof(svm_node*) * static_cast<std::size_t>(std::max(1, m->l))));
            for (int i = 0; i < m->l; ++i) m->SV[i] = loaded_nodes_.back().data() + i * (sv.cols() + 1);
            m->sv_coef = static_cast<double**>(std::malloc(sizeof(double*)));
            m->sv_coef[0] =
                static_cast<double*>(std::malloc(sizeof(double) * static_cast<std::size_t>(std::max(1, m->l))));
            for (int i = 0; i < m->l; ++i) m->sv_coef[0][i] = coef(i, 0);
            m->rho = static_cast<double*>(std::malloc(sizeof(double)));
            m->rho[0] = meta["targets"][t].at("rho").get<double>();
            m->free_sv = 0;  // the nodes belong to loaded_nodes_
            models_.emplace_back(m);
        }
    }

private:
    // Dense rows as libsvm's sparse nodes (index from 1, terminated by -1).
    static std::vector<svm_node> to_nodes(const Eigen::MatrixXd& x) {
        std::vector<svm_node> nodes;
        nodes.reserve(static_cast<std::size_t>(x.rows() * (x.cols() + 1)));
        for (Eigen::Index r = 0; r < x.rows(); ++r) {
            for (Eigen::Index c = 0; c < x.cols(); ++c) nodes.push_back({static_cast<int>(c + 1), x(r, c)});
            nodes.push_back({-1, 0.0});
        }
        return nodes;
    }

    double gamma(const Eigen::MatrixXd& x) const {
        if (gamma_.is_number()) return gamma_.get<double>();
        const double n_features = static_cast<double>(x.cols());
        if (gamma_ == "auto") return 1.0 / n_features;
        const double mean = x.mean();
        const double variance = (x.array() - mean).square().mean();
        return variance > 0 ? 1.0 / (n_features * variance) : 1.0;  // scikit-learn's 'scale'
    }

    bool rbf_;
    double c_, epsilon_;
    nlohmann::json gamma_;
    double tol_, cache_mb_;
    std::vector<svm_node> nodes_;
    std::vector<svm_node*> rows_;
    std::vector<std::vector<svm_node>> loaded_nodes_;  // support vectors of loaded models
    Eigen::Index features_ = 0;
    std::vector<std::unique_ptr<svm_model, ModelDeleter>> models_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::SvrRegressor, "regressor.svr", "1.0.0",
           "Epsilon-SVR (libsvm) with RBF or linear kernel, one model per target")
