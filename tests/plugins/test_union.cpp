// dataset.union over synthetic corpora in the DEAM (1-9), PMEmo (0-1) and
// EmoMusic (1-9, its 2 Hz ratings -1..1) layouts: every label lands on the
// common scale exactly, static and 2 Hz alike, and the same synthetic song
// gets the same rating from every corpus; ids are unique, each naming its
// source.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/data/csv.hpp"
#include "core/data/sources.hpp"
#include "core/plugin/capabilities.hpp"
#include "core/plugin/dataset.hpp"
#include "core/plugin/registry.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kLayouts{"deam", "pmemo", "emomusic"};
constexpr int kSongs = 7;

// The three corpora, the same seven synthetic songs each, in cwd/<layout>/.
void synth_all(const fs::path& cwd) {
    for (const auto& layout : kLayouts) {
        const auto r = run_mer({"synth", "--out", layout, "--layout", layout, "--songs", std::to_string(kSongs),
                                "--seconds", "17", "--seed", "3", "--threads", "1"},
                               cwd);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
}

mer::PluginContext quiet_context() {
    mer::PluginContext ctx;
    ctx.node = "all";
    ctx.log = [](const std::string&) {};
    ctx.skip = [](const std::string& song, const std::string&, const std::string& reason) {
        FAIL("song " << song << " skipped: " << reason);
    };
    return ctx;
}

struct Loaded {
    std::string node;
    mer::SongTable table;
    json range;
};

Loaded load(const std::string& layout, const fs::path& root) {
    const std::string plugin = "dataset." + layout;
    const auto dataset = registry().create<mer::DatasetPlugin>(
        plugin, with_defaults(plugin, {{"root", root.string()}, {"dynamic", true}}));
    return {layout, dataset->load(quiet_context()), dataset->query(mer::capability::kLabelRange)};
}

// x on [low, high] at the same place on [to_low, to_high], written out here
// independently of the plugin.
double on_scale(double x, const json& range, double to_low, double to_high) {
    const double low = range[0].get<double>(), high = range[1].get<double>();
    return to_low + (to_high - to_low) * (x - low) / (high - low);
}

}  // namespace

TEST_CASE("dataset.union maps DEAM, PMEmo and EmoMusic onto one scale with unique ids per source",
          "[dataset.union][synth]") {
    TempDir dir;
    synth_all(dir.path());
    std::vector<Loaded> corpora;
    for (const auto& layout : kLayouts) corpora.push_back(load(layout, dir / layout));
    // The corpora really are on different scales: the positive control of the mapping.
    CHECK(corpora[0].range["valence"] == json{1, 9});
    CHECK(corpora[1].range["valence"] == json{0, 1});

    for (const auto& [scale, low, high] :
         {std::tuple{json{-1, 1}, -1.0, 1.0}, std::tuple{json("nine_point"), 1.0, 9.0}}) {
        INFO("scale " << scale.dump());
        const auto stacker = registry().create<mer::CombiningDataset>(
            "dataset.union", with_defaults("dataset.union", {{"scale", scale}}));
        std::vector<mer::DatasetInput> inputs;
        for (const auto& c : corpora) inputs.push_back({c.node, &c.table, c.range});
        const mer::SongTable u = stacker->combine(inputs, quiet_context());
        u.check_shapes("union");
        CHECK(stacker->query(mer::capability::kLabelRange) == json{{"valence", {low, high}}, {"arousal", {low, high}}});
        REQUIRE(u.size() == 3 * kSongs);
        CHECK(std::set<std::string>(u.song_ids.begin(), u.song_ids.end()).size() == u.size());
        const std::vector<std::string> sources = mer::song_sources(u, true);
        REQUIRE(u.dynamic.size() == u.size());
        std::size_t row = 0;
        for (const auto& c : corpora) {
            for (std::size_t s = 0; s < c.table.size(); ++s, ++row) {
                INFO(c.node << " song " << c.table.song_ids[s]);
                CHECK(u.song_ids[row] == c.node + "/" + c.table.song_ids[s]);
                CHECK(sources[row] == c.node);
                CHECK(u.groups[row] == c.node + "/" + c.table.groups[s]);
                CHECK(u.audio_paths[row] == c.table.audio_paths[s]);
                for (Eigen::Index t = 0; t < 2; ++t) {
                    const std::string& target = u.target_names[static_cast<std::size_t>(t)];
                    const Eigen::Index ct = c.table.target_index(target);
                    const double expected =
                        on_scale(c.table.targets(static_cast<Eigen::Index>(s), ct), c.range[target], low, high);
                    CHECK(u.targets(static_cast<Eigen::Index>(row), t) == Approx(expected).margin(1e-12));
                    CHECK(u.targets(static_cast<Eigen::Index>(row), t) >= low);
                    CHECK(u.targets(static_cast<Eigen::Index>(row), t) <= high);
                    const auto& d = c.table.dynamic[s].values;
                    REQUIRE(u.dynamic[row].values.rows() == d.rows());
                    for (Eigen::Index f = 0; f < d.rows(); ++f)
                        CHECK(u.dynamic[row].values(f, t) ==
                              Approx(on_scale(d(f, ct), c.range[target], low, high)).margin(1e-12));
                }
            }
        }
        // The same synthetic song from each corpus: one rating on the common scale (up to each
        // release's rounding: EmoMusic writes one decimal on 1-9).
        for (int s = 0; s < kSongs; ++s)
            for (Eigen::Index t = 0; t < 2; ++t) {
                INFO("song " << s + 1 << " target " << t);
                const double deam = u.targets(s, t), pmemo = u.targets(kSongs + s, t),
                             emomusic = u.targets(2 * kSongs + s, t);
                CHECK(pmemo == Approx(deam).margin(0.01 * (high - low)));
                CHECK(emomusic == Approx(deam).margin(0.01 * (high - low)));
            }
    }
}
