// mer._mer: the host library as Python sees it. Thin on purpose: every
// function here calls what mer-run calls (the plugin registry, the features
// plugins, the Predictor and predict's CSV writer, load_experiment and
// run_experiment, the run index's row) and hands back plain values or JSON
// text; mer/__init__.py turns them into DataFrames. Errors leave as
// NativeError carrying the mer::Error's message, location and kind as JSON.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <sndfile.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/eval/run_reader.hpp"
#include "core/exec/executor.hpp"
#include "core/exec/predict.hpp"
#include "core/exec/predict_format.hpp"
#include "core/exec/run_index.hpp"
#include "core/graph/experiment.hpp"
#include "core/graph/schema.hpp"
#include "core/plugin/abi.hpp"
#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/run/progress.hpp"

namespace py = pybind11;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Raised for every mer::Error (and foreign exception, as_error converts it):
// its one argument is JSON {message, file, line, column, node, song, kind}.
struct NativeError {};

json located(const mer::Location& where) {
    return {{"file", where.file}, {"line", where.line}, {"column", where.column}, {"node", where.node}, {"song", where.song}};
}

std::string error_json(const mer::Error& e) {
    json out = located(e.where());
    out["message"] = e.message();
    out["kind"] = e.kind() == mer::ErrorKind::environment ? "environment" : "input";
    return out.dump();
}

// The plugins of this build (the folder beside the extension's build, where
// mer-run finds them too), then each folder of MER_PLUGIN_PATH; scanned once.
const mer::PluginRegistry& registry() {
    static const mer::PluginRegistry scanned = [] {
        std::vector<fs::path> folders{MER_BUILD_PLUGIN_DIR};
        std::set<fs::path> seen;
        std::error_code ec;
        seen.insert(fs::weakly_canonical(folders.front(), ec));
        for (const auto& f : mer::PluginRegistry::default_folders())
            if (seen.insert(fs::weakly_canonical(f, ec)).second) folders.push_back(f);
        mer::PluginRegistry r;
        r.scan(folders);
        return r;
    }();
    return scanned;
}

std::string plugins_json() {
    json out{{"host_abi", mer::host_abi_tag()}, {"plugins", json::array()}, {"refused", json::array()}};
    for (const auto& p : registry().plugins())
        out["plugins"].push_back({{"name", p.name},
                                  {"kind", p.kind},
                                  {"version", p.version},
                                  {"description", p.description},
                                  {"file", p.file},
                                  {"abi", p.abi_tag},
                                  {"capabilities", p.capabilities}});
    for (const auto& r : registry().refused()) out["refused"].push_back({{"file", r.file}, {"reason", r.reason}});
    return out.dump();
}

std::string describe_json(const std::string& name) {
    const auto& p = registry().get(name);
    return json{{"name", p.name}, {"kind", p.kind}, {"schema", p.schema}}.dump();
}

// The progress bars and log lines of a call, handed to Python (mer._display
// writes them to sys.stderr, which a notebook shows in the cell running the
// call; the process's own stderr it does not show). Worker threads report
// too: each call takes the GIL, which the long calls below have released.
class PythonSink : public mer::ProgressSink {
public:
    void progress(const std::string& bar, bool finished) override { show("progress", bar, finished); }
    void line(const std::string& text) override { show("line", text); }

private:
    template <class... Args>
    static void show(const char* what, const Args&... args) {
        py::gil_scoped_acquire gil;
        try {
            py::module_::import("mer").attr("_display").attr(what)(args...);
        } catch (py::error_already_set& e) {  // a display that fails must not stop the run
            e.discard_as_unraisable(what);
        }
    }
};

// Shows the progress of the call it lives through, unless quiet.
class Shown {
public:
    explicit Shown(bool quiet) : on_(!quiet) {
        if (on_) mer::set_progress_sink(&sink_);
    }
    ~Shown() {
        if (on_) mer::set_progress_sink(nullptr);
    }
    Shown(const Shown&) = delete;
    Shown& operator=(const Shown&) = delete;

private:
    PythonSink sink_;
    bool on_;
};

// A plugin's parameters checked against its schema and completed with its
// defaults, as a node's would be; errors name the parameter.
json checked_params(const std::string& plugin, const json& params) {
    mer::SchemaValidator validator(registry().get(plugin).schema);
    const mer::Diagnostics problems = validator.validate(params, mer::SourceMap());
    if (!problems.empty()) {
        std::string text;
        for (const auto& d : problems) text += (text.empty() ? "" : "; ") + d.message;
        throw mer::Error(plugin + " parameters: " + text);
    }
    return validator.with_defaults(params);
}

// One mono float32 WAV holding `samples` exactly (no 16-bit rounding).
void write_float_wav(const fs::path& path, const py::array_t<float, py::array::c_style | py::array::forcecast>& samples,
                     int sample_rate) {
    if (samples.ndim() != 1) throw mer::Error("audio arrays must be 1-D (mono samples)");
    SF_INFO info{};
    info.samplerate = sample_rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!file) throw mer::environment_error(std::string("cannot write ") + path.string() + ": " + sf_strerror(nullptr));
    const auto n = static_cast<sf_count_t>(samples.shape(0));
    const sf_count_t written = sf_write_float(file, samples.data(), n);
    sf_close(file);
    if (written != n) throw mer::environment_error("cannot write " + path.string() + " (disk full?)");
}

struct Extracted {
    std::vector<std::string> song_ids;
    std::vector<std::string> feature_names;
    Eigen::MatrixXd features;
    std::vector<std::string> tensor_paths;
    std::vector<std::tuple<std::string, std::string, std::string>> skipped;  // song, path, reason
};

Extracted extract(const std::string& plugin, const std::vector<std::string>& paths, const std::string& params_json,
                  const std::string& cache_dir, int threads, bool quiet) {
    const json params = checked_params(plugin, json::parse(params_json));
    const auto features = registry().create<mer::FeaturesPlugin>(plugin, params);
    const mer::SongTable table = mer::audio_songs(paths);
    Extracted out;
    mer::PluginContext ctx;
    ctx.node = plugin;
    ctx.threads = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    ctx.cache_dir = cache_dir.empty() ? std::string() : (fs::path(cache_dir) / plugin).string();
    ctx.skip = [&](const std::string& song, const std::string& path, const std::string& reason) {
        out.skipped.emplace_back(song, path, reason);
    };
    auto progress = std::make_shared<mer::ProgressReporter>("extract: " + plugin, nullptr, false);
    ctx.progress = [progress](std::size_t done, std::size_t total, const char* unit) { (*progress)(done, total, unit); };
    mer::SongTable result;
    {
        const Shown shown(quiet);
        py::gil_scoped_release unlocked;  // the plugin's own threads run; Python may too
        result = features->extract(table, ctx);
    }
    out.song_ids = result.song_ids;
    out.feature_names = result.feature_names;
    out.features = result.features;
    out.tensor_paths = result.tensor_paths;
    return out;
}

// A model loaded once (mer.Model keeps one): each call rates files with the
// pipelines already in memory.
std::unique_ptr<mer::Predictor> load_model(const std::string& model, const std::vector<std::string>& nodes) {
    py::gil_scoped_release unlocked;
    return std::make_unique<mer::Predictor>(model, nodes, registry());
}

std::string predict_csv(const mer::Predictor& predictor, const std::vector<std::string>& inputs,
                        const std::string& cache_dir, int threads, bool per_chunk, bool dynamic, bool clip,
                        double offset, double duration, int excerpts, bool quiet) {
    mer::PredictOptions options;
    options.cache_dir = cache_dir;
    options.threads = threads;
    options.per_chunk = per_chunk;
    options.dynamic = dynamic;
    options.clip = clip;
    options.offset_seconds = offset;
    options.duration_seconds = duration;
    options.excerpts = excerpts;
    if (excerpts > 0 && offset > 0)
        throw mer::Error("excerpts places its excerpts itself; give duration for their length, not offset");
    mer::Ratings ratings;
    {
        const Shown shown(quiet);
        py::gil_scoped_release unlocked;
        ratings = predictor.rate(inputs, options);
    }
    return dynamic ? mer::dynamic_csv(ratings) : mer::ratings_csv(ratings, per_chunk);
}

json diagnostics_json(const mer::Diagnostics& list) {
    json out = json::array();
    for (const auto& d : list) {
        json entry = located(d.where);
        entry["message"] = d.message;
        out.push_back(entry);
    }
    return out;
}

// What `mer-run validate` checks, {errors, warnings, nodes}; the experiment
// itself in `loaded` (valid when errors is empty).
json checked_experiment(const std::string& file, const std::vector<std::string>& overrides,
                        mer::LoadedExperiment& loaded) {
    loaded = mer::load_experiment(file, overrides, registry());
    json out{{"errors", diagnostics_json(loaded.errors)}, {"warnings", json::array()}, {"nodes", 0}};
    if (!loaded.errors.empty()) return out;
    mer::Diagnostics warnings;
    mer::Diagnostics missing = mer::check_data_paths(loaded.experiment);
    if (missing.empty()) missing = mer::check_dataset_rows(loaded.experiment, registry(), &warnings);
    out["errors"] = diagnostics_json(missing);
    out["warnings"] = diagnostics_json(warnings);
    out["nodes"] = loaded.experiment.nodes.size();
    return out;
}

std::string validate_json(const std::string& file, const std::vector<std::string>& overrides) {
    mer::LoadedExperiment loaded;
    return checked_experiment(file, overrides, loaded).dump();
}

// `mer-run run FILE --set …`: {folder, ok, failed_node, reason, kind}, or
// {errors} when the experiment is refused before anything ran.
std::string run_json(const std::string& file, const std::vector<std::string>& overrides, const std::string& out,
                     const std::string& cache, bool quiet) {
    mer::LoadedExperiment loaded;
    if (const json checked = checked_experiment(file, overrides, loaded); !checked["errors"].empty()) return checked.dump();
    mer::RunOptions options;
    options.runs_root = out;
    options.cache_dir = cache;
    options.quiet = quiet;
    options.command_line = {"mer.run", "run", file};
    for (const auto& o : overrides) {
        const bool unset = !o.empty() && o[0] == '~';
        options.command_line.push_back(unset ? "--unset" : "--set");
        options.command_line.push_back(unset ? o.substr(1) : o);
    }
    mer::RunOutcome outcome;
    {
        const Shown shown(quiet);
        py::gil_scoped_release unlocked;
        outcome = mer::run_experiment(loaded.experiment, registry(), options);
    }
    return json{{"folder", outcome.folder.string()},
                {"ok", outcome.ok},
                {"failed_node", outcome.failed_node},
                {"reason", outcome.reason},
                {"kind", outcome.kind == mer::ErrorKind::environment ? "environment" : "input"}}
        .dump();
}

// A run folder's run.json, summary.json and environment.json as the report
// and the sweep read them (core/eval/run_reader): {experiment, artifacts,
// summary, environment}.
std::string run_files_json(const std::string& folder) {
    const mer::RunManifest manifest = mer::read_manifest(folder);
    json artifacts = json::array();
    for (const auto& a : manifest.entries)
        artifacts.push_back({{"file", a.file}, {"kind", a.kind}, {"node", a.node}, {"columns", a.columns}, {"meaning", a.meaning}});
    nlohmann::ordered_json out{{"experiment", manifest.experiment}, {"artifacts", artifacts}};
    out["summary"] = mer::read_summary(folder);
    out["environment"] = mer::read_environment(folder);
    return out.dump();
}

// A YAML file (a run's config.yaml) as JSON text.
std::string yaml_file_json(const std::string& path) {
    mer::SourceMap map;
    return mer::yaml_to_json(YAML::LoadFile(path), map).dump();
}

}  // namespace

PYBIND11_MODULE(_mer, m) {
    m.doc() = "mer's host library (use the mer package, not this module)";
    static py::exception<NativeError> native(m, "NativeError");
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const mer::Error& e) {
            PyErr_SetString(native.ptr(), error_json(e).c_str());
        } catch (const py::error_already_set&) {
            throw;
        } catch (const py::builtin_exception&) {
            throw;
        } catch (const YAML::Exception& e) {
            PyErr_SetString(native.ptr(), error_json(mer::Error(e.what())).c_str());
        } catch (const std::exception& e) {
            PyErr_SetString(native.ptr(), error_json(mer::as_error(e)).c_str());
        }
    });
    m.attr("version") = MER_VERSION;
    m.attr("abi") = mer::host_abi_tag();
    m.attr("plugin_dir") = MER_BUILD_PLUGIN_DIR;
    m.def("plugins_json", &plugins_json);
    m.def("describe_json", &describe_json);
    m.def("write_float_wav", [](const std::string& path, const py::array_t<float, py::array::c_style | py::array::forcecast>& samples,
                                int sample_rate) { write_float_wav(path, samples, sample_rate); });
    py::class_<Extracted>(m, "Extracted")
        .def_readonly("song_ids", &Extracted::song_ids)
        .def_readonly("feature_names", &Extracted::feature_names)
        .def_readonly("features", &Extracted::features)
        .def_readonly("tensor_paths", &Extracted::tensor_paths)
        .def_readonly("skipped", &Extracted::skipped);
    m.def("extract", &extract);
    py::class_<mer::Predictor>(m, "Predictor").def("targets", &mer::Predictor::targets);
    m.def("load_model", &load_model);
    m.def("predict_csv", &predict_csv);
    m.def("validate_json", &validate_json);
    m.def("run_json", &run_json);
    m.def("run_row", [](const std::string& folder) { return mer::run_row(folder); });
    m.def("yaml_file_json", &yaml_file_json);
    m.def("run_files_json", &run_files_json);
}
