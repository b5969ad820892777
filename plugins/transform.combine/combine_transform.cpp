// transform.combine: the union or intersection of the features two
// selection nodes kept (the paper's "Union (SHAP + Pearson)" and
// "Intersection Only" rows). Both inputs are fitted on the same training
// songs first; columns keep the first input's order, then the second's.
#include <fmt/format.h>

#include <algorithm>

#include "core/data/state.hpp"
#include "core/plugin/transform.hpp"

namespace mer::plugins {

class Combine : public TransformPlugin {
public:
    static constexpr int kInputs = 2;
    explicit Combine(const nlohmann::json& p) : intersection_(p.at("mode").get<std::string>() == "intersection") {}

    void fit(const std::vector<const SongTable*>& train, const PluginContext& ctx) override {
        check(train);
        const auto& a = train[0]->feature_names;
        const auto& b = train[1]->feature_names;
        auto in = [](const std::vector<std::string>& v, const std::string& s) {
            return std::find(v.begin(), v.end(), s) != v.end();
        };
        names_.clear();
        for (const auto& f : a)
            if (!intersection_ || in(b, f)) names_.push_back(f);
        if (!intersection_)
            for (const auto& f : b)
                if (!in(a, f)) names_.push_back(f);
        if (names_.empty())
            throw Error("the two selections share no feature, so their intersection is empty",
                        Location::of_node(ctx.node));
        ctx.info(fmt::format("fold {}: {} of {} + {} features ({})", ctx.fold, names_.size(), a.size(), b.size(),
                             intersection_ ? "intersection" : "union"));
    }

    SongTable apply(const std::vector<const SongTable*>& inputs) const override {
        check(inputs);
        SongTable out = *inputs[0];
        out.feature_names = names_;
        out.features.resize(inputs[0]->features.rows(), static_cast<Eigen::Index>(names_.size()));
        for (std::size_t j = 0; j < names_.size(); ++j) {
            const SongTable* from = inputs[0]->feature_index(names_[j]) >= 0 ? inputs[0] : inputs[1];
            if (from->feature_index(names_[j]) < 0)
                throw Error("transform.combine was fitted with feature '" + names_[j] +
                            "', which neither input has (a model bundle from other features?)");
            out.features.col(static_cast<Eigen::Index>(j)) = from->features.col(from->feature_index(names_[j]));
        }
        return out;
    }

    void save(const std::string& dir) const override { save_json(dir, "columns", names_); }
    void load(const std::string& dir) override { names_ = load_json(dir, "columns").get<std::vector<std::string>>(); }

private:
    static void check(const std::vector<const SongTable*>& inputs) {
        if (inputs.size() != 2) throw Error("transform.combine takes two inputs, got " + std::to_string(inputs.size()));
        if (inputs[0]->song_ids != inputs[1]->song_ids)
            throw Error(
                "transform.combine: its two inputs hold different songs; both must come from the same data node");
    }

    bool intersection_;
    std::vector<std::string> names_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::Combine, "transform.combine", "1.0.0",
           "Union or intersection of the features kept by two selection nodes")
