// transform.tsne: a t-SNE map of the songs for the eye (the paper's Figures
// 17–18: PANNs embeddings coloured by valence and by arousal), written to the
// run folder as tsne_<node>.csv with each song's targets.
//
// A t-SNE embeds only the songs it was fitted on; it has no mapping for a new
// song, so a validation song could only be placed by fitting on it. Its
// coordinates are therefore never a feature: the node passes its input
// through unchanged, and whatever follows it learns exactly what it would
// have learnt without it. It declares `whole_table`: the host fits it once,
// on every song of its input (its features only; the targets just colour
// the file), outside the folds; inside folds, grid-search fits and predict
// it does nothing.
#include <fmt/format.h>

#include <chrono>

#include "core/base/files.hpp"
#include "core/plugin/transform.hpp"
#include "plugins/transform.tsne/tsne.hpp"

namespace mer::plugins {

class Tsne : public SingleInputTransform {
public:
    static constexpr const char* kCapabilities = R"({"whole_table": true})";

    explicit Tsne(const nlohmann::json& p) : settings_(settings(p)) {}

    // Nothing is fitted that predicting needs: the output is the input.
    void save(const std::string&) const override {}
    void load(const std::string&) override {}

protected:
    void fit(const SongTable& train, const PluginContext& ctx) override {
        if (ctx.fold >= 0 || !ctx.keeps_artifacts()) return;
        const auto n = static_cast<Eigen::Index>(train.size());
        const std::string songs = fmt::format("all {} songs", n);
        if (train.features.cols() == 0)
            throw Error(
                "its input has no feature columns to map (chunk tensors are not a feature table); put it "
                "after a features node or dataset.table",
                Location::of_node(ctx.node));
        if (!tsne::perplexity_fits(settings_.perplexity, n))
            throw Error(fmt::format("perplexity {:g} is too large for {}: t-SNE needs perplexity below a third of "
                                    "the songs (here below {:.4g}); lower `perplexity`",
                                    settings_.perplexity, songs, static_cast<double>(n) / 3),
                        Location::of_node(ctx.node));
        const auto start = std::chrono::steady_clock::now();
        tsne::Settings s = settings_;
        s.seed = ctx.seed;
        tsne::Result r;
        try {
            r = tsne::embed(train.features, s,
                            {[&ctx](const std::string& line) { ctx.info(line); },
                             [&ctx](int done, int total) {
                                 ctx.report_progress(static_cast<std::size_t>(done), static_cast<std::size_t>(total),
                                                     "iterations");
                             }});
        } catch (const Error& e) {  // the algorithm knows no node; the researcher needs it
            throw Error(e.message(), Location::of_node(ctx.node), e.kind());
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto features = train.features.cols();
        ctx.info(fmt::format(
            "t-SNE of {} ({}; {} gradient{}; perplexity {:g}, mean sigma {:.4g}; learning rate {:g}; {} iterations): "
            "KL divergence {:.4f} ({:.1f} s)",
            songs,
            r.input_dims < features ? fmt::format("{} features → {} principal components", features, r.input_dims)
                                    : fmt::format("{} features", features),
            r.barnes_hut ? "Barnes–Hut" : "exact", r.barnes_hut ? fmt::format(", theta {:g}", s.theta) : "",
            s.perplexity, r.mean_sigma, r.learning_rate, s.iterations, r.kl_divergence, seconds));
        write_map(train, r.coordinates, songs, ctx);
    }

    SongTable apply(const SongTable& songs) const override { return songs; }

private:
    static tsne::Settings settings(const nlohmann::json& p) {
        tsne::Settings s;
        s.perplexity = p.at("perplexity").get<double>();
        s.iterations = p.at("iterations").get<int>();
        const nlohmann::json& rate = p.at("learning_rate");
        s.learning_rate = rate.is_string() ? 0.0 : rate.get<double>();  // the schema allows only "auto"
        s.early_exaggeration = p.at("early_exaggeration").get<double>();
        s.pca_init = p.at("init").get<std::string>() == "pca";
        s.pca_dims = p.at("pca_dims").get<int>();
        s.theta = p.at("theta").get<double>();
        s.exact_max_points = p.at("exact_max_points").get<int>();
        return s;
    }

    // song_id, x, y, then every target: one file to plot coloured by each.
    static void write_map(const SongTable& songs, const Eigen::MatrixXd& xy, const std::string& which,
                          const PluginContext& ctx) {
        std::vector<std::string> columns{"song_id", "x", "y"};
        columns.insert(columns.end(), songs.target_names.begin(), songs.target_names.end());
        std::string csv = csv_row(columns) + "\n";
        for (Eigen::Index r = 0; r < xy.rows(); ++r) {
            csv += csv_field(songs.song_ids[static_cast<std::size_t>(r)]) + "," + format_number(xy(r, 0)) + "," +
                   format_number(xy(r, 1));
            for (Eigen::Index t = 0; t < songs.targets.cols(); ++t) csv += "," + format_number(songs.targets(r, t));
            csv += "\n";
        }
        ctx.write_artifact({"tsne", "", columns,
                            "t-SNE map (x, y) of " + which +
                                " with their targets, to plot coloured by each; "
                                "for the eye only, never a model's input"},
                           csv);
    }

    tsne::Settings settings_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::Tsne, "transform.tsne", "1.0.0",
           "A t-SNE map of every song written to the run folder; passes its input through unchanged")
