// The sweeper (see sweeper.hpp): the spec from the `sweep:` block and
// --grid, and its expansion into trials.
#include "core/sweep/sweeper.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/error.hpp"
#include "core/eval/metrics.hpp"
#include "core/graph/grid.hpp"
#include "core/graph/schema.hpp"

namespace mer {

using ojson = nlohmann::ordered_json;

std::vector<std::string> Trial::overrides() const {
    std::vector<std::string> out;
    for (const auto& [key, value] : params.items()) out.push_back(key + "=" + value.dump());
    return out;
}

std::string Trial::params_text() const {
    std::vector<std::string> parts;
    for (const auto& [key, value] : params.items()) parts.push_back(key + "=" + value.dump());
    return fmt::format("{}", fmt::join(parts, " "));
}

namespace {

// A YAML scalar or flow value from the command line, as JSON.
ojson parse_value(const std::string& text, const std::string& argument) {
    try {
        SourceMap map("--grid");
        return ojson(yaml_to_json(YAML::Load(text), map));
    } catch (const YAML::Exception& e) {
        throw Error("--grid " + argument + ": '" + text + "' is not a YAML value: " + yaml_error_text(e));
    }
}

// A uniform double in [0, 1) from the engine's bits (the standard fixes
// mt19937_64's output, not its distributions').
double unit(std::mt19937_64& random) {
    return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

ojson draw(const ojson& values, std::mt19937_64& random) {
    if (values.is_array()) return values[random() % values.size()];
    const double low = values.at("low").get<double>(), high = values.at("high").get<double>();
    const bool log = values.value("log", false);
    const double u = unit(random);
    const double x = log ? std::exp(std::log(low) + u * (std::log(high) - std::log(low))) : low + u * (high - low);
    if (values.value("integer", false)) return static_cast<long long>(std::llround(x));
    return x;
}

// Zipped keys need as many values each, and a key is swept in one way only.
void check_keys(const SweepSpec& spec) {
    std::size_t zip_length = 0;
    std::string zip_first;
    for (const auto& [key, values] : spec.zip.items()) {
        if (zip_first.empty()) zip_first = key, zip_length = values.size();
        if (values.size() != zip_length)
            throw Error(
                fmt::format("sweep.zip: '{}' has {} values and '{}' {}; zipped keys move together and need "
                            "as many values each",
                            zip_first, zip_length, key, values.size()));
    }
    for (const auto& [key, _] : spec.zip.items())
        if (spec.grid.contains(key) || spec.random.contains(key))
            throw Error("sweep: '" + key + "' is swept twice (in zip and in grid or random); keep it in one");
    for (const auto& [key, _] : spec.random.items())
        if (spec.grid.contains(key)) throw Error("sweep: '" + key + "' is in both grid and random; keep it in one");
    if (!spec.random.empty() && spec.samples < 1) throw Error("sweep.random: samples must be at least 1");
}

// --grid KEY=V1,V2 (values parsed as YAML): adds KEY to the grid.
void add_grid_argument(SweepSpec& spec, const std::string& argument) {
    const auto equals = argument.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == argument.size())
        throw Error("--grid " + argument + ": expected KEY=VALUE,VALUE… (e.g. nodes.cnn.params.lr=0.001,0.0003)");
    const std::string key = argument.substr(0, equals);
    ojson values = ojson::array();
    const std::string rest = argument.substr(equals + 1);
    for (std::size_t start = 0; start <= rest.size();) {
        const std::size_t comma = std::min(rest.find(',', start), rest.size());
        values.push_back(parse_value(rest.substr(start, comma - start), argument));
        start = comma + 1;
    }
    spec.grid[key] = values;
}

}  // namespace

SweepSpec read_sweep_spec(const nlohmann::json& block, const std::vector<std::string>& grid_arguments) {
    SweepSpec spec;
    if (block.is_object()) {
        spec.grid = ojson(block.value("grid", nlohmann::json::object()));
        spec.zip = ojson(block.value("zip", nlohmann::json::object()));
        if (block.contains("random")) {
            const auto& random = block["random"];
            spec.samples = random.value("samples", 0);
            spec.random_seed = random.value("seed", std::uint64_t{0});
            spec.random = ojson(random.value("params", nlohmann::json::object()));
        }
        for (const auto& s : block.value("seeds", nlohmann::json::array()))
            spec.seeds.push_back(s.get<std::uint64_t>());
        spec.metric = block.value("metric", "");
        spec.on_failure = block.value("on_failure", "continue");
        const std::string metric_name = spec.metric.substr(spec.metric.rfind('.') + 1);
        spec.mode = block.value("mode", spec.metric.empty() || higher_is_better(metric_name) ? "max" : "min");
        if (block.contains("scheduler")) {
            const auto& scheduler = block["scheduler"];
            spec.scheduler = scheduler.value("type", "asha");
            spec.asha_min_epochs = scheduler.value("min_epochs", 1);
            spec.asha_reduction = scheduler.value("reduction_factor", 2.0);
            if (spec.metric.empty())
                throw Error(
                    "sweep.scheduler: asha compares the trials' curves of sweep.metric; give a metric "
                    "(NODE.TARGET.METRIC)");
        }
    }
    for (const auto& argument : grid_arguments) add_grid_argument(spec, argument);
    check_keys(spec);
    return spec;
}

std::vector<Trial> expand_trials(const SweepSpec& spec) {
    std::vector<ojson> combos = grid_combinations(ojson::object(), spec.grid);
    if (!spec.zip.empty()) {
        std::vector<ojson> next;
        const std::size_t length = spec.zip.begin()->size();
        for (const auto& c : combos)
            for (std::size_t i = 0; i < length; ++i) {
                ojson with = c;
                for (const auto& [key, values] : spec.zip.items()) with[key] = values[i];
                next.push_back(with);
            }
        combos = std::move(next);
    }
    if (!spec.random.empty()) {
        std::mt19937_64 random(spec.random_seed);
        std::vector<ojson> next;
        for (const auto& c : combos)
            for (int s = 0; s < spec.samples; ++s) {
                ojson with = c;
                for (const auto& [key, values] : spec.random.items()) with[key] = draw(values, random);
                next.push_back(with);
            }
        combos = std::move(next);
    }
    std::vector<Trial> trials;
    for (const auto& c : combos) {
        if (spec.seeds.empty()) {
            trials.push_back({"", c});
            continue;
        }
        for (std::uint64_t seed : spec.seeds) {
            ojson with = c;
            with["seed"] = seed;
            trials.push_back({"", with});
        }
    }
    for (std::size_t t = 0; t < trials.size(); ++t) trials[t].id = fmt::format("trial-{:04d}", t);
    return trials;
}

std::uint64_t count_trials(const SweepSpec& spec, std::string* factors) {
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t count = 1;
    std::vector<std::string> parts, grid;
    auto times = [&](std::uint64_t n) { count = n != 0 && count > kMax / n ? kMax : count * n; };
    for (const auto& [key, values] : spec.grid.items()) {
        times(values.size());
        grid.push_back(std::to_string(values.size()));
    }
    if (!grid.empty()) parts.push_back("grid " + fmt::format("{}", fmt::join(grid, " × ")));
    if (!spec.zip.empty()) {
        times(spec.zip.begin()->size());
        parts.push_back(fmt::format("zip {}", spec.zip.begin()->size()));
    }
    if (!spec.random.empty()) {
        times(static_cast<std::uint64_t>(std::max(0, spec.samples)));
        parts.push_back(fmt::format("random {} samples", spec.samples));
    }
    if (!spec.seeds.empty()) {
        times(spec.seeds.size());
        parts.push_back(fmt::format("{} seeds", spec.seeds.size()));
    }
    if (factors) *factors = fmt::format("{}", fmt::join(parts, ", "));
    return count;
}

}  // namespace mer
