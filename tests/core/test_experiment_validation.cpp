// Whole-file validation of experiments with the real plugins: each kind of
// mistake gives an error at the right line and column, and all of a file's
// mistakes are reported together.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "core/audio/audio.hpp"
#include "core/graph/experiment.hpp"
#include "core/plugin/registry.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;

namespace {

const char* kValid = R"(name: ok
seed: 3
nodes:
  songs:
    uses: dataset.table
    params: {path: songs.csv}
  ridge:
    uses: regressor.ridge
    inputs: [songs]
    params: {alpha: 2}
evaluation:
  split: {kind: kfold, k: 3}
)";

// Validates `yaml` (written to a file) and returns all errors, one per line.
std::string errors_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
    TempDir dir;
    write_file(dir / "exp.yaml", yaml);
    const auto loaded = mer::load_experiment((dir / "exp.yaml").string(), overrides, registry());
    std::string all;
    for (const auto& d : loaded.errors) {
        std::string line = d.str();
        const std::string prefix = (dir / "exp.yaml").string();
        if (line.rfind(prefix, 0) == 0) line = "exp.yaml" + line.substr(prefix.size());
        all += line + "\n";
    }
    return all;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a valid experiment has no errors and resolves defaults", "[validate]") {
    TempDir dir;
    write_file(dir / "exp.yaml", kValid);
    const auto loaded = mer::load_experiment((dir / "exp.yaml").string(), {}, registry());
    REQUIRE(loaded.errors.empty());
    const mer::Experiment& e = loaded.experiment;
    CHECK(e.seed == 3);
    CHECK(e.evaluation.split.k == 3);
    CHECK(e.evaluation.split.stratify == "none");
    REQUIRE(e.nodes.size() == 2);
    CHECK(e.nodes[0].id == "songs");
    CHECK(e.node("songs").params["id_column"] == "song_id");  // default filled in
    CHECK(e.node("ridge").params["alpha"] == 2);
}

TEST_CASE("bad experiment files: each mistake is named with line and column", "[validate]") {
    SECTION("YAML syntax") {
        CHECK_THAT(errors_of("name: x\nnodes: [a, b\n"), Catch::Contains("exp.yaml:3:1: YAML syntax error"));
    }
    SECTION("unknown top-level key with a suggestion") {
        const auto e = errors_of(replace(kValid, "seed: 3", "sed: 3"));
        CHECK_THAT(e, Catch::Contains("exp.yaml:2:1: unknown key 'sed' in (top level)") &&
                          Catch::Contains("did you mean 'seed'?"));
    }
    SECTION("wrong type") {
        CHECK_THAT(errors_of(replace(kValid, "seed: 3", "seed: three")),
                   Catch::Contains("exp.yaml:2:7: seed must be an integer, not the string \"three\""));
    }
    SECTION("a node's label or grid_search of the wrong type: located, not a library's message") {
        const auto e = errors_of(replace(kValid, "    params: {alpha: 2}\n",
                                         "    params: {alpha: 2}\n    label: 5\n    grid: {alpha: [1, 2]}\n"
                                         "    grid_search: {metric: 5, folds: two}\n"));
        CHECK_THAT(e, Catch::Contains("exp.yaml:11:12: nodes.ridge.label must be a string, not the integer 5"));
        CHECK_THAT(e, Catch::Contains("exp.yaml:13:27: nodes.ridge.grid_search.metric must be one of"));
        CHECK_THAT(e, Catch::Contains("exp.yaml:13:37: nodes.ridge.grid_search.folds must be an integer"));
        CHECK_THAT(e, !Catch::Contains("json.exception"));
    }
    SECTION("missing required key") {
        CHECK_THAT(errors_of(replace(kValid, "name: ok\n", "")),
                   Catch::Contains("(top level) is missing the required key 'name'"));
    }
    SECTION("unknown plugin with the nearest name") {
        CHECK_THAT(errors_of(replace(kValid, "regressor.ridge", "regressor.rige")),
                   Catch::Contains("exp.yaml:8:11: nodes.ridge.uses: unknown plugin 'regressor.rige'") &&
                       Catch::Contains("did you mean 'regressor.ridge'?"));
    }
    SECTION("unknown input node") {
        CHECK_THAT(errors_of(replace(kValid, "inputs: [songs]", "inputs: [song]")),
                   Catch::Contains("exp.yaml:9:14: nodes.ridge.inputs: 'song' is not a node of this experiment") &&
                       Catch::Contains("did you mean 'songs'?"));
    }
    SECTION("a cycle") {
        const auto e = errors_of(replace(kValid, "    params: {path: songs.csv}",
                                         "    params: {path: songs.csv}\n"
                                         "  t1: {uses: regressor.mean, inputs: [t2]}\n"
                                         "  t2: {uses: regressor.mean, inputs: [t1]}"));
        CHECK_THAT(e, Catch::Contains("exp.yaml:7:3: the inputs of these nodes form a cycle: t1 → t2 → t1"));
    }
    SECTION("plugin parameter: unknown key lists the accepted ones") {
        CHECK_THAT(errors_of(replace(kValid, "{alpha: 2}", "{aplha: 2}")),
                   Catch::Contains("exp.yaml:10:14: unknown key 'aplha' in nodes.ridge.params; accepted keys: alpha "
                                   "(did you mean 'alpha'?)") &&
                       Catch::Contains("regressor.ridge parameters"));
    }
    SECTION("plugin parameter out of range") {
        CHECK_THAT(errors_of(replace(kValid, "{alpha: 2}", "{alpha: -1}")),
                   Catch::Contains("exp.yaml:10:21: nodes.ridge.params.alpha = -1 is out of range: it must be ≥ 0"));
    }
    SECTION("plugin parameter of the wrong type") {
        CHECK_THAT(errors_of(replace(kValid, "{alpha: 2}", "{alpha: big}")),
                   Catch::Contains("nodes.ridge.params.alpha must be a number, not the string \"big\""));
    }
    SECTION("missing plugin parameter") {
        CHECK_THAT(errors_of(replace(kValid, "params: {path: songs.csv}", "params: {}")),
                   Catch::Contains("exp.yaml:6:13: nodes.songs.params is missing the required key 'path'"));
    }
    SECTION("enum value") {
        CHECK_THAT(errors_of(replace(kValid, "kind: kfold", "kind: loo")),
                   Catch::Contains("evaluation.split.kind must be one of \"holdout\", \"kfold\", \"predefined\", "
                                   "\"by_source\", \"leave_one_source_out\", not \"loo\""));
    }
    SECTION("a stratified predefined split names the key") {
        CHECK_THAT(errors_of(replace(kValid, "kind: kfold, k: 3", "kind: predefined, stratify: quadrant")),
                   Catch::Contains("exp.yaml:12:39: evaluation.split.stratify: quadrant cannot apply to kind "
                                   "predefined"));
        CHECK(errors_of(replace(kValid, "kind: kfold, k: 3", "kind: predefined, stratify: none")).empty());
        CHECK_THAT(errors_of(replace(kValid, "k: 3", "k: 3, stratify: bins, bins: 1")),
                   Catch::Contains("evaluation.split.bins = 1 is out of range"));
    }
    SECTION("wrong kind of input") {
        CHECK_THAT(errors_of(replace(kValid, "    params: {path: songs.csv}",
                                     "    params: {path: songs.csv}\n    inputs: [ridge]")),
                   Catch::Contains("a dataset node cannot take input from 'ridge', a regressor node"));
    }
    SECTION("a regressor without input") {
        CHECK_THAT(errors_of(replace(kValid, "    inputs: [songs]\n", "")),
                   Catch::Contains("exp.yaml:7:3: nodes.ridge: regressor.ridge takes exactly 1 input, got 0"));
    }
    SECTION("targets on a node that does not learn") {
        CHECK_THAT(errors_of(replace(kValid, "    params: {path: songs.csv}",
                                     "    params: {path: songs.csv}\n    targets: [valence]")),
                   Catch::Contains("only regressor nodes learn targets"));
    }
    SECTION("a setting only the plugin itself can refuse, caught before anything runs") {
        const auto e = errors_of(replace(kValid, "    params: {alpha: 2}",
                                         "    params: {alpha: 2}\n"
                                         "  feats:\n"
                                         "    uses: features.handcrafted\n"
                                         "    inputs: [songs]\n"
                                         "    params: {n_mfcc: 40, n_mels: 20}"));
        CHECK_THAT(e, Catch::Contains("exp.yaml:14:5: nodes.feats.params: n_mfcc (40) cannot exceed n_mels (20) "
                                      "[features.handcrafted]"));
        CHECK_THAT(errors_of(replace(kValid, "    params: {alpha: 2}",
                                     "    params: {alpha: 2}\n"
                                     "  feats: {uses: features.handcrafted, inputs: [songs], "
                                     "params: {sample_rate_hz: 11025}}")),
                   Catch::Contains("sample_rate_hz 11025 is too low for the contrast group"));
    }
    SECTION("a bad --set override") {
        CHECK_THAT(errors_of(kValid, {"seed"}), Catch::Contains("--set seed: expected path.to.key=value"));
        CHECK_THAT(errors_of(kValid, {"nodes.ridge.params.alpha=-5"}),
                   Catch::Contains("--set nodes.ridge.params.alpha=-5: nodes.ridge.params.alpha = -5 is out of range"));
        // Errors inside a --set value (its list items, its number) name the --set, not FILE:1:1.
        CHECK_THAT(errors_of(kValid, {"seeds=[1.5]"}),
                   Catch::Contains("--set seeds=[1.5]: seeds[0] must be an integer"));
        CHECK_THAT(errors_of(kValid, {"nodes.ridge.params.alpha=1e999"}),
                   Catch::Contains("--set nodes.ridge.params.alpha=1e999: nodes.ridge.params.alpha = 1e999 is beyond"));
        CHECK_THAT(errors_of(kValid, {"nodes.ridge.targets=[1]"}),
                   Catch::Contains("--set nodes.ridge.targets=[1]: nodes.ridge.targets[0] must be a string"));
        CHECK_THAT(errors_of(kValid, {"nodes.ridge.inputs=[ridge]"}),
                   Catch::Contains("--set nodes.ridge.inputs=[ridge]: nodes.ridge lists itself as an input"));
    }
}

TEST_CASE("a GPU asked of a build whose LibTorch has none is named with line and column", "[validate][torch]") {
    if (!mer::build_has_cuda()) {
        const std::string deep = replace(kValid, "    params: {alpha: 2}",
                                         "    params: {alpha: 2}\n"
                                         "  cnn: {uses: regressor.cnn, inputs: [songs], params: {device: \"cuda:1\"}}");
        CHECK_THAT(errors_of(deep), Catch::Contains("exp.yaml:11:64: nodes.cnn: device 'cuda:1' needs mer built "
                                                    "against a CUDA LibTorch"));
        CHECK_THAT(errors_of(replace(deep, "\"cuda:1\"", "\"\""), {"device=cuda:0"}),
                   Catch::Contains("--set device=cuda:0: nodes.cnn: device 'cuda:0' needs"));
        CHECK(errors_of(replace(deep, "\"cuda:1\"", "\"\""), {"device=auto"}).empty());
        CHECK(errors_of(kValid, {"device=cuda:0"}).empty());  // no model that uses a device
    }
}

TEST_CASE("every mistake in a file is reported at once", "[validate]") {
    std::string yaml = replace(kValid, "seed: 3", "seed: -1");
    yaml = replace(yaml, "regressor.ridge", "regressor.nope");
    yaml = replace(yaml, "kind: kfold", "kind: folds");
    yaml += "extra: 1\n";
    const auto e = errors_of(yaml);
    INFO(e);
    CHECK(count_lines(e) == 4);
    CHECK_THAT(e, Catch::Contains("exp.yaml:2:7: seed = -1 is out of range"));
    CHECK_THAT(e, Catch::Contains("unknown plugin 'regressor.nope'"));
    CHECK_THAT(e, Catch::Contains("evaluation.split.kind must be one of"));
    CHECK_THAT(e, Catch::Contains("exp.yaml:13:1: unknown key 'extra'"));
}

TEST_CASE("overrides change the experiment before validation", "[validate]") {
    TempDir dir;
    write_file(dir / "exp.yaml", kValid);
    const auto loaded =
        mer::load_experiment((dir / "exp.yaml").string(), {"nodes.ridge.params.alpha=7.5", "seed=11"}, registry());
    REQUIRE(loaded.errors.empty());
    CHECK(loaded.experiment.seed == 11);
    CHECK(loaded.experiment.node("ridge").params["alpha"] == 7.5);
    CHECK(loaded.experiment.resolved["nodes"]["ridge"]["params"]["alpha"].as<double>() == 7.5);

    // A mistyped node id in --set points at --set with the nearest id, not at a line of the file.
    const auto typo = mer::load_experiment((dir / "exp.yaml").string(), {"nodes.ridg.params.alpha=3"}, registry());
    REQUIRE(typo.errors.size() == 1);
    CHECK_THAT(typo.errors[0].str(), Catch::StartsWith("--set nodes.ridg.params.alpha=3: there is no node 'ridg' "
                                                       "(did you mean 'ridge'?)"));
    // A new node given its plugin first is fine.
    const auto added = mer::load_experiment(
        (dir / "exp.yaml").string(), {"nodes.other.uses=regressor.mean", "nodes.other.inputs=[songs]"}, registry());
    CHECK(added.errors.empty());
}

TEST_CASE("hostile experiment files are refused with a located reason, never hang or exhaust memory",
          "[validate][hardening]") {
    SECTION("a top-level key twice: both lines named, not last-one-wins") {
        CHECK_THAT(errors_of(replace(kValid, "seed: 3\n", "seed: 3\nseed: 4\n")),
                   Catch::Contains("exp.yaml:3:1: seed appears twice in the same mapping (first at line 2)"));
    }
    SECTION("a parameter twice") {
        CHECK_THAT(errors_of(replace(kValid, "{alpha: 2}", "{alpha: 2, alpha: 5}")),
                   Catch::Contains("exp.yaml:10:24: nodes.ridge.params.alpha appears twice in the same mapping "
                                   "(first at line 10)"));
    }
    SECTION("a node id twice (this looped forever)") {
        CHECK_THAT(
            errors_of(replace(kValid, "evaluation:", "  ridge: {uses: regressor.mean, inputs: [songs]}\nevaluation:")),
            Catch::Contains("exp.yaml:11:3: nodes.ridge appears twice in the same mapping (first at line 7)"));
    }
    SECTION("aliases that expand to billions of values") {
        std::string bomb = "name: bomb\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
        for (int i = 1; i < 10; ++i) {
            const std::string previous = "*a" + std::to_string(i - 1);
            bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + previous;
            for (int copy = 1; copy < 10; ++copy) bomb += ", " + previous;
            bomb += "]\n";
        }
        CHECK(bomb.size() < 1000);
        CHECK_THAT(errors_of(bomb), Catch::Contains("the experiment expands to more than 100000 values"));
    }
    SECTION("nesting deeper than any experiment") {
        CHECK_THAT(errors_of("name: deep\nx: " + std::string(200, '[') + std::string(200, ']') + "\n"),
                   Catch::Contains("is nested more than 64 levels deep"));
    }
    SECTION("a number beyond double's range is located, not a stod error") {
        CHECK_THAT(errors_of(replace(kValid, "{alpha: 2}", "{alpha: 1e999}")),
                   Catch::Contains("exp.yaml:10:21: nodes.ridge.params.alpha = 1e999 is beyond the range of a number"));
        CHECK_THAT(errors_of(replace(kValid, "seed: 3", "seed: 99999999999999999999999")),
                   Catch::Contains("exp.yaml:2:7: seed must be an integer, not the number 9.999999999999999e+22"));
    }
    SECTION("text that is not UTF-8 (found by fuzzing: it escaped as a JSON exception)") {
        CHECK_THAT(errors_of(replace(kValid, "name: ok", "name: \"ok\xff\"")),
                   Catch::Contains("exp.yaml:1:7: name is not valid UTF-8 text"));
        CHECK_THAT(errors_of(kValid + std::string("k\xc3: 1\n")),
                   Catch::Contains("exp.yaml:13:1: a key is not valid UTF-8"));
    }
    SECTION("a folder given as the experiment") {
        TempDir dir;
        const auto loaded = mer::load_experiment(dir.path().string(), {}, registry());
        REQUIRE(loaded.errors.size() == 1);
        CHECK_THAT(loaded.errors[0].str(), Catch::Contains("is a folder; expected an experiment YAML file"));
    }
}

TEST_CASE("YAML that yaml-cpp misreads or drops is refused with its line and column", "[validate][hardening]") {
    SECTION("nesting past yaml-cpp's own depth guard (it said only 'bad file')") {
        for (const int depth : {500, 5000}) {
            const std::string e =
                errors_of("name: deep\nx: " + std::string(depth, '[') + std::string(depth, ']') + "\n");
            INFO(e);
            CHECK_THAT(e, Catch::StartsWith("exp.yaml:2:") &&
                              Catch::Contains("YAML syntax error: mappings and lists are nested more than 64 levels "
                                              "deep here; an experiment needs far fewer"));
            CHECK_THAT(e, !Catch::Contains("bad file"));
        }
        std::string block = "name: deep\n";
        for (int level = 0; level < 600; ++level) block += std::string(static_cast<std::size_t>(level), ' ') + "k:\n";
        CHECK_THAT(errors_of(block), Catch::Contains("nested more than 64 levels deep"));
    }
    SECTION("a second document is refused where it starts, not silently ignored") {
        CHECK(errors_of(kValid).empty());
        CHECK_THAT(errors_of(kValid + std::string("---\nname: other\n")),
                   Catch::Contains("exp.yaml:13:1: a second YAML document starts here (after a '---' line); an "
                                   "experiment file holds one document"));
        CHECK_THAT(errors_of("---\n" + std::string(kValid) + "---\nseed: [broken\n"),
                   Catch::Contains("exp.yaml:14:1: a second YAML document starts here"));
        CHECK(errors_of("---\n" + std::string(kValid)).empty());  // one document with its marker is fine
    }
    SECTION("a NUL byte is named as one (it said 'unknown escape character')") {
        const std::string e = errors_of(replace(kValid, "seed: 3", std::string("seed: 3\0", 8)));
        CHECK_THAT(e, Catch::Contains("exp.yaml:2:8: the file holds a NUL byte (a binary file, or text saved as "
                                      "UTF-16?); an experiment is UTF-8 YAML text"));
        CHECK_THAT(e, !Catch::Contains("escape"));
        // First in the file, yaml-cpp took it for UTF-16 and read garbage.
        CHECK_THAT(errors_of(std::string(1, '\0') + kValid),
                   Catch::Contains("exp.yaml:1:1: the file holds a NUL byte"));
    }
}

TEST_CASE("a name too long for a run folder is refused by validate, not by the run", "[validate][hardening]") {
    CHECK(errors_of(replace(kValid, "name: ok", "name: " + std::string(128, 'n'))).empty());
    CHECK_THAT(errors_of(replace(kValid, "name: ok", "name: " + std::string(300, 'n'))),
               Catch::Contains("exp.yaml:1:7: name is 300 characters long, more than the 128 it may have: Names the "
                               "run folder runs/<name>/"));
}

TEST_CASE("a sweep's metric and random ranges are checked before any trial runs", "[validate][sweep][hardening]") {
    auto with_sweep = [](const std::string& block) { return std::string(kValid) + "sweep:\n" + block; };
    SECTION("a metric naming a node, a target or a score no trial reports") {
        CHECK(errors_of(with_sweep("  grid: {nodes.ridge.params.alpha: [1, 2]}\n  metric: ridge.arousal.rmse\n"))
                  .empty());
        CHECK_THAT(errors_of(with_sweep("  grid: {nodes.ridge.params.alpha: [1, 2]}\n  metric: rdige.valence.r2\n")),
                   Catch::Contains("exp.yaml:15:11: sweep.metric 'rdige.valence.r2': there is no node 'rdige'; the "
                                   "metric is NODE.TARGET.METRIC of a regressor node, and the regressor nodes are: "
                                   "ridge (did you mean 'ridge'?)"));
        CHECK_THAT(errors_of(with_sweep("  metric: songs.valence.r2\n")),
                   Catch::Contains("sweep.metric 'songs.valence.r2': not a regressor node: 'songs'"));
        CHECK_THAT(errors_of(with_sweep("  metric: ridge.tempo.r2\n")),
                   Catch::Contains("exp.yaml:14:11: sweep.metric 'ridge.tempo.r2': node 'ridge' learns no target "
                                   "'tempo'; its targets: valence, arousal"));
        CHECK_THAT(errors_of(with_sweep("  metric: ridge.valence.ccc\n")),
                   Catch::Contains("sweep.metric 'ridge.valence.ccc': ccc is not among evaluation.metrics (r2, rmse, "
                                   "mae), so no trial would report it"));
    }
    SECTION("a range upside down, or a log range from 0") {
        CHECK_THAT(errors_of(with_sweep("  random:\n    samples: 3\n    params:\n      nodes.ridge.params.alpha: "
                                        "{low: 10, high: 1}\n")),
                   Catch::Contains("exp.yaml:17:39: sweep.random.params.nodes.ridge.params.alpha: low 10 is above "
                                   "high 1; a range goes from low up to high (swap them)"));
        CHECK_THAT(errors_of(with_sweep("  random:\n    samples: 3\n    params:\n      nodes.ridge.params.alpha: "
                                        "{low: 0, high: 1, log: true}\n")),
                   Catch::Contains("exp.yaml:17:39: sweep.random.params.nodes.ridge.params.alpha: a log-scale range "
                                   "needs low > 0 (a logarithm of 0 does not exist)"));
        CHECK(errors_of(with_sweep("  random:\n    samples: 3\n    params:\n      nodes.ridge.params.alpha: "
                                   "{low: 0.01, high: 100, log: true}\n"))
                  .empty());
    }
}

TEST_CASE("parameters are typed by their schema, so a run's own config.yaml gives the same cache keys",
          "[validate][cache][hardening]") {
    const std::string chunks =
        replace(kValid, "    params: {alpha: 2}",
                "    params: {alpha: 2}\n  mel: {uses: features.logmel_chunks, inputs: [songs], params: "
                "{chunk_seconds: 3.0, hop_seconds: 1.5}}");
    TempDir dir;
    write_file(dir / "float.yaml", chunks);
    write_file(dir / "int.yaml", replace(chunks, "chunk_seconds: 3.0", "chunk_seconds: 3"));
    const auto as_float = mer::load_experiment((dir / "float.yaml").string(), {}, registry());
    const auto as_int = mer::load_experiment((dir / "int.yaml").string(), {}, registry());
    REQUIRE(as_float.errors.empty());
    REQUIRE(as_int.errors.empty());
    // The run writes config.yaml from `resolved`, which prints 3.0 as 3.
    YAML::Emitter config;
    config << as_float.experiment.resolved;
    write_file(dir / "config.yaml", config.c_str());
    const auto again = mer::load_experiment((dir / "config.yaml").string(), {}, registry());
    REQUIRE(again.errors.empty());
    const std::string key = as_float.experiment.node("mel").params.dump();
    CHECK_THAT(key, Catch::Contains("\"chunk_seconds\":3.0"));
    CHECK(as_int.experiment.node("mel").params.dump() == key);
    CHECK(again.experiment.node("mel").params.dump() == key);
    CHECK(again.experiment.node("ridge").params.dump() == as_float.experiment.node("ridge").params.dump());
}

TEST_CASE("validate and run read a manifest's rows before any run folder exists", "[validate][cli][dataset.manifest]") {
    TempDir dir;
    fs::create_directories(dir / "audio");
    std::vector<float> tone(22050);
    for (std::size_t i = 0; i < tone.size(); ++i) tone[i] = static_cast<float>(0.3 * std::sin(0.06 * i));
    mer::write_audio(dir / "audio" / "a.wav", tone, 22050);
    write_file(dir / "songs.csv",
               "path,valence,arousal\n"
               "audio/a.wav,5,5\n"
               "audio/gone.wav,5,5\n"
               "audio/a.wav,x,5\n");
    write_file(dir / "exp.yaml",
               "name: rows\nnodes:\n"
               "  songs: {uses: dataset.manifest, params: {path: songs.csv, label_range: [1, 9]}}\n"
               "  features: {uses: features.handcrafted, inputs: [songs], params: {groups: [mfcc]}}\n"
               "  ridge: {uses: regressor.ridge, inputs: [features]}\n");
    for (const std::string command : {"validate", "run"}) {
        const auto r = run_mer({command, "exp.yaml"}, dir.path());
        INFO(command << ": " << r.err);
        CHECK(r.exit_code == 2);  // refused before anything ran, as any validation error
        // A missing audio file is a warning: the run skips that song and counts it, as any unusable audio.
        CHECK_THAT(r.err,
                   Catch::Contains("warning: ") &&
                       Catch::Contains("songs.csv:3: nodes.songs (dataset.manifest): column 'path': the audio file") &&
                       Catch::Contains("gone.wav does not exist") && Catch::Contains("the run skips this song"));
        CHECK_THAT(r.err,
                   Catch::Contains("songs.csv:4: nodes.songs (dataset.manifest): song id 'audio/a' appears twice"));
        CHECK_THAT(r.err, Catch::Contains("songs.csv:4: nodes.songs (dataset.manifest): column 'valence': 'x' is not a "
                                          "number"));
        CHECK_THAT(r.err, Catch::Contains("2 errors in exp.yaml"));
        CHECK_FALSE(fs::exists(dir / "runs"));  // no failed run folder left behind
    }
    // Only the missing file left: valid, with its warning; the run goes on without that song.
    write_file(dir / "songs.csv", "path,valence,arousal\naudio/a.wav,5,5\naudio/gone.wav,5,5\n");
    const auto fixed = run_mer({"validate", "exp.yaml"}, dir.path());
    INFO(fixed.err);
    CHECK(fixed.exit_code == 0);
    CHECK_THAT(fixed.err, Catch::Contains("warning: ") && Catch::Contains("gone.wav does not exist"));
}
