// The table of capabilities (capabilities.hpp) and the checks that read it.
#include "core/plugin/capabilities.hpp"

#include <algorithm>

#include "core/plugin/regressor.hpp"

namespace mer::capability {

using json = nlohmann::json;

const std::vector<Info>& table() {
    // clang-format off
    static const std::vector<Info> capabilities{
        {kDevice, {"regressor", "features"}, Value::flag,
         R"(trains or runs a network on a device, `cpu`, `cuda:N` or `auto` (its `device` parameter, else the experiment's); `mer-run validate` refuses CUDA for such a node on a CPU-only build)"},
        {kChunks, {"regressor"}, Value::flag,
         R"(predicts per chunk, a song being the mean of its chunks, through the extension interface `ChunkPredictions` (`predict_chunks`, [regressor.hpp](../core/plugin/regressor.hpp)); `mer-run predict --per-chunk` rates every chunk and refuses other models)"},
        {kConcurrentFit, {"regressor"}, Value::boolean,
         R"(several instances may not fit at once in one process (their `fit` uses process-wide state: LibTorch's global generator and thread count), so grid search fits its candidates one after another, each with every thread. Missing: `true`)"},
        {kFingerprint, {}, Value::parameters,
         R"(external files whose content enters the node's cache key instead of their name (a weights file): checked to exist at validation (the error quotes the parameter's description), hashed (SHA-256), recorded with the absolute path in the model bundle; `predict` refuses a file whose content changed. `features.panns_cnn14`: `["checkpoint"]`)"},
        {kOutputShape, {"features"}, Value::instance,
         R"(`query` returns the tensor each song's chunk holds: `{"shape": [1, 128, 128], "axes": ["channels", "mels", "frames"], "params": [null, "n_mels", "frames"]}`, with for each axis the parameter that sets it (`null`: fixed); or `null` where the instance cannot know it before it runs (a model file that does not declare its width))"},
        {kInputShape, {"regressor"}, Value::instance,
         R"(`query` returns the chunk tensor the model reads, same form without `params`; a `null` axis accepts any size. `mer-run validate` compares it with the `output_shape` of the features node that feeds the model (through transforms))"},
        {kWholeTable, {"transform"}, Value::flag,
         R"(describes its input rather than changing it (`transform.tsne`): fitted once on every song of its input, outside the folds (`PluginContext::fold` = −1), as soon as the input is computed; inside folds it must pass its input through)"},
        {kStaged, {"regressor"}, Value::instance,
         R"(fitted with parameter P = n, it predicts from its first m ≤ n stages exactly what it would fitted with P = m, through the extension interface `StagedPredictions` (`predict_stages(songs, m)`); `query("staged")` names P, or `null` where that does not hold for the instance's parameters (XGBoost with `early_stopping_rounds`). A grid search over P fits the largest value once per inner fold and scores the others from it. `regressor.xgboost` and `regressor.gradient_boosting` (P = `n_estimators`) declare it)"},
        {kEarlyStopping, {"regressor"}, Value::flag,
         R"(keeps the epoch best on the validation songs `fit` is given (early stopping, best-epoch weights): the host decides which songs those are (`evaluation.early_stopping.on`: a held-out share of the training songs by default, or the scored fold), [experiments.md](experiments.md#early-stopping-without-peeking). Each `EpochReport` says the epoch kept so far (`kept_epoch`, with `kept_score` by the model's own criterion): the last report's is the fold's kept epoch, which `metrics.csv`'s `best` column, `summary.json`'s `best_epoch` and the report show; a model that leaves it 0 gets the host's pick (the first epoch with the highest song-level R², mean over targets). A holdout the model draws itself from its training songs is seeded by `PluginContext::split_seed` (the repetition's seed and the fold, not the node), so every node of an experiment holds out the same songs. Every model on the shared LibTorch loop declares it. Missing: the model picks nothing on them, and gets the scored fold only to report per-epoch scores)"},
        {kSequence, {"regressor"}, Value::flag,
         R"(rates a song over time: learns from its annotations over time (`SongTable::dynamic`) aligned to the windows of its input tensor (`chunk_timing`); `ChunkPredictions::predict_chunks()` gives one row per window, whose mean is the song's `predict()` row (the host scores songs from them); the host scores them per frame and writes `curves.csv`, `predict --dynamic` rates with it; declared with `chunks` ([dynamic.md](dynamic.md)))"},
        {kIndependentTargets, {"regressor"}, Value::flag,
         R"(learns each target on its own, sharing nothing between them (one booster, one linear model per target): fitted on one target at a time it gives each target the model it would get beside the others. Lets the host fit its pipeline per target ([below](#fitting-per-target)) and tune each target's candidate on its own (`grid_search.by: target`, its default, [experiments.md](experiments.md#grid-search)); missing, the targets are learnt, and tuned, jointly. The tree ensembles, `ridge`, `lasso`, `svr` and `mean` declare it)"},
        {kPerTarget, {"transform"}, Value::instance,
         R"(what it learns depends on the target (a selection per target): `query` answers a boolean for the instance's parameters (`transform.select_pearson` and `transform.select_shap`: true unless `across_targets: union`). See [below](#fitting-per-target))"},
        {kLabelRange, {"dataset"}, Value::instance,
         R"(`query` returns the scale each target's labels are on, `{"valence": [1, 9], …}` for the instance's parameters (the questionnaire's ends, not the range the songs happen to cover; `null`: not known). The host records it in the model bundle (`model.json`'s `label_range`); `mer-run predict` splits quadrants at its midpoint and flags ratings outside it ([predict.md](predict.md)). Missing: predict uses the training labels' range. `dataset.deam`, `dataset.pmemo`, `dataset.emomusic` and `dataset.manifest` declare it; `dataset.union` maps its inputs' labels by it and answers with its common scale)"},
        {kCheckData, {"dataset"}, Value::instance,
         R"(`query` reads the dataset's rows before anything runs and returns every problem as `[{"file", "line", "column", "message", "warning"}]` (empty: none); `mer-run validate`, and `mer-run run` before it creates the run folder, print them as `FILE:LINE: nodes.<id> (<plugin>): <message>` and exit 2; a problem with `"warning": true` (what the run copes with, e.g. a missing audio file the run skips) is printed as `warning: …` and does not stop anything. `dataset.manifest` declares it (columns, numbers, labels within `label_range`; missing audio files as warnings))"},
        {kCrop, {"features"}, Value::flag,
         R"(reads audio and takes the excerpt parameters of [`core/audio/crop.schema.json`](../core/audio/crop.schema.json), `offset_seconds` and `duration_seconds` (`mer_add_plugin(… SCHEMA params.schema.json ${MER_AUDIO_CROP_SCHEMA})` adds them to its schema; the registry refuses the declaration when either is missing): `mer-run predict --offset`, `--duration` and `--excerpts` set them on the model's features nodes that declare it, and `mer-run validate` refuses an offset under a sequence model, whose windows must keep the song's times. The four audio features plugins declare it)"},
        {kWindows, {"features"}, Value::instance,
         R"(cuts each song into windows over time (`SongTable::chunk_timing`): `query` returns `{"seconds": 1.0, "hop_seconds": 0.5}` for the instance's parameters; where it cuts none, `null`, or the parameters that would make it cut them, which `mer-run validate` suggests: `{"set": [["window_seconds", 1.0], ["window_hop_seconds", 0.5]], "why": "one window per 2 Hz annotation frame"}` (`features.handcrafted` with `window_seconds: 0`); `mer-run validate` refuses a sequence model whose features node declares it and cuts none. Missing: not checked. The four audio features plugins declare it)"},
        {kBudget, {"regressor"}, Value::parameter,
         R"(the integer parameter counting the model's epochs or boosting rounds (`"epochs"`, `"n_estimators"`): an ASHA sweep takes its value as the trial's last epoch and never stops a trial there ([sweeps.md](sweeps.md#asha-stopping-hopeless-trials-early)). Every model on the shared LibTorch loop, `regressor.emotion_mlp`, `regressor.xgboost` and `regressor.gradient_boosting` declare it. Missing: the last epoch is not known)"},
    };
    // clang-format on
    return capabilities;
}
const Info* find(std::string_view name) {
    for (const auto& info : table())
        if (name == info.name) return &info;
    return nullptr;
}

namespace {

std::string kinds_text(const Info& info) {
    if (info.kinds.empty()) return "any";
    std::string out;
    for (const auto& kind : info.kinds) out += (out.empty() ? "" : ", ") + kind;
    return out;
}

const char* value_text(Value value) {
    switch (value) {
        case Value::flag:
            return "`true`";
        case Value::boolean:
            return "`true` or `false`";
        case Value::instance:
            return "`true` (`query`)";
        case Value::parameters:
            return "list of parameter names";
        case Value::parameter:
            return "a parameter name";
    }
    return "";
}

std::string parameter_problem(const std::string& name, const json& parameter, const json& schema) {
    if (!parameter.is_string()) return "capability '" + name + "' lists " + parameter.dump() + ", not a parameter name";
    if (!schema.value("properties", json::object()).contains(parameter.get<std::string>()))
        return "capability '" + name + "' names the parameter '" + parameter.get<std::string>() +
               "', which is not in the plugin's schema";
    return "";
}

// Whether `instance` implements the extension interface of a capability that has one.
struct Extension {
    const char* capability;
    const char* interface_name;
    bool (*implemented_by)(const PluginBase&);
};
const Extension kExtensions[] = {
    {kChunks, "mer::ChunkPredictions", [](const PluginBase& p) { return extension<ChunkPredictions>(p) != nullptr; }},
    {kStaged, "mer::StagedPredictions", [](const PluginBase& p) { return extension<StagedPredictions>(p) != nullptr; }},
};

}  // namespace

std::string declaration_problem(const std::string& kind, const std::string& name, const json& value,
                                const json& schema) {
    const Info* info = find(name);
    if (!info) return "unknown capability '" + name + "'";
    if (!info->kinds.empty() && std::find(info->kinds.begin(), info->kinds.end(), kind) == info->kinds.end())
        return "capability '" + name + "' is for " + kinds_text(*info) + " plugins, not " + kind;
    const std::string wrong = "capability '" + name + "' must be " + value_text(info->value) + ", not " + value.dump();
    if (name == kCrop)
        for (const char* parameter : {"offset_seconds", "duration_seconds"})
            if (std::string problem = parameter_problem(name, parameter, schema); !problem.empty()) return problem;
    switch (info->value) {
        case Value::flag:
        case Value::instance:
            return value == true ? "" : wrong;
        case Value::boolean:
            return value.is_boolean() ? "" : wrong;
        case Value::parameter:
            return value.is_string() ? parameter_problem(name, value, schema) : wrong;
        case Value::parameters:
            if (!value.is_array()) return wrong;
            for (const auto& parameter : value)
                if (std::string problem = parameter_problem(name, parameter, schema); !problem.empty()) return problem;
            return "";
    }
    return "";
}

std::string extension_problem(const PluginBase& instance, const json& declared) {
    for (const auto& e : kExtensions) {
        if (declared.contains(e.capability) && !e.implemented_by(instance))
            return std::string("it declares the capability '") + e.capability + "' but does not implement " +
                   e.interface_name + " (core/plugin/regressor.hpp)";
    }
    return "";
}

std::string markdown_table() {
    std::string out = "| name | kinds | value | meaning |\n|---|---|---|---|\n";
    for (const auto& info : table())
        out += std::string("| `") + info.name + "` | " + kinds_text(info) + " | " + value_text(info.value) + " | " +
               info.meaning + " |\n";
    return out;
}

}  // namespace mer::capability
