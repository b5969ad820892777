// Plugin discovery against real shared libraries: good ones load, broken ones
// are refused with the reason and never stop the scan or the host.
#include <elf.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstring>
#include <functional>
#include <set>

#include "core/plugin/features.hpp"
#include "core/plugin/registry.hpp"
#include "core/plugin/regressor.hpp"
#include "tests/support/test_support.hpp"

using namespace mer::test;
namespace fs = std::filesystem;

namespace {
std::string refusal_of(const mer::PluginRegistry& r, const std::string& file_name) {
    for (const auto& f : r.refused())
        if (std::filesystem::path(f.file).filename() == file_name) return f.reason;
    return "(not refused)";
}
}  // namespace

TEST_CASE("the build's plugins are found with complete metadata", "[plugins]") {
    mer::PluginRegistry r;
    r.scan({plugin_dir()});
    CHECK(r.refused().empty());
    for (const char* name :
         {"dataset.table", "dataset.deam", "dataset.manifest", "regressor.ridge", "regressor.mean"}) {
        const mer::PluginRecord* p = r.find(name);
        REQUIRE(p != nullptr);
        CHECK(mer::abi_mismatch(p->abi_tag, mer::host_abi_tag()).empty());
        CHECK_THAT(p->abi_tag, Catch::Contains(";torch=none;"));  // no LibTorch: loads with any
        CHECK(std::filesystem::path(p->file).filename() == std::string(name) + ".so");
    }
    CHECK_THAT(mer::abi_mismatch("mer-abi=11;torch=9.9.9;cuda=none", mer::host_abi_tag()),
               Catch::Contains("torch is 9.9.9 in the plugin"));
    CHECK_THROWS_WITH(r.get("regressor.ridg"), Catch::Contains("did you mean 'regressor.ridge'?"));
}

TEST_CASE("a LibTorch plugin's tag names the build's LibTorch, as the host's does", "[plugins][torch]") {
    CHECK(registry().get("regressor.cnn").abi_tag == mer::host_abi_tag());
}

TEST_CASE("broken plugin files are refused with reasons and the host keeps working", "[plugins]") {
    TempDir junk;
    write_file(junk / "notes.so", "this is a text file named .so\n");
    write_file(junk / "empty.so", "");
    mer::PluginRegistry r;
    r.scan({junk.path(), test_plugin_dir("bad"), plugin_dir()});

    CHECK_THAT(refusal_of(r, "notes.so"), Catch::Contains("not a plugin: not an ELF shared library"));
    CHECK_THAT(refusal_of(r, "empty.so"), Catch::Contains("not a plugin"));
    const std::string mismatch = refusal_of(r, "regressor.mismatched.so");
    CHECK_THAT(
        mismatch,
        Catch::Contains("ABI mismatch") &&
            Catch::Contains("mer-abi is 999 in the plugin but " MER_ABI_STRINGIFY(MER_PLUGIN_ABI) " in mer-run") &&
            Catch::Contains("compiler is GCC 99.1.0 in the plugin") && Catch::Contains("rebuild this plugin"));
    CHECK_THAT(refusal_of(r, "no_factory.so"), Catch::Contains("missing symbol mer_plugin_metadata"));
    CHECK(r.find("regressor.mismatched") == nullptr);

    // The good plugins scanned after the bad ones still work.
    auto ridge = r.create<mer::RegressorPlugin>("regressor.ridge", {{"alpha", 1.0}});
    mer::SongTable t;
    t.song_ids = {"a", "b", "c"};
    t.groups = t.song_ids;
    t.feature_names = {"x"};
    t.features = Eigen::MatrixXd(3, 1);
    t.features << 1, 2, 3;
    t.target_names = {"y"};
    t.targets = Eigen::MatrixXd(3, 1);
    t.targets << 2, 4, 6;
    ridge->fit(t, nullptr, {}, {});
    CHECK(ridge->predict(t)(1, 0) == Approx(4.0));
}

TEST_CASE("a plugin library that crashes or hangs while loading is refused by name, and mer goes on",
          "[plugins][hardening]") {
    // Discovery loads an unknown library in a probe process: its crash or hang is that process's.
    TempDir cwd;
    write_synthetic_table(cwd.path(), 20);
    write_file(cwd / "exp.yaml", "name: unrelated\nnodes:\n  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
                                 "  ridge: {uses: regressor.ridge, inputs: [songs]}\n"
                                 "evaluation: {split: {kind: kfold, k: 2}}\n");
    const std::string shell = "export MER_PLUGIN_LOAD_TIMEOUT=2 MER_PLUGIN_INDEX=off;";
    const auto listing = run_mer({"plugins"}, cwd.path(), test_plugin_dir("hostile").string(), shell);
    INFO(listing.err);
    CHECK(listing.exit_code == 0);
    CHECK_THAT(listing.out, Catch::Contains("regressor.ridge  1.0.0  (regressor)"));
    CHECK_THAT(listing.out, Catch::Contains("hostile_crash.so\n    crashed while loading (signal 11"));
    CHECK_THAT(listing.out, Catch::Contains("hostile_hang.so\n    did not finish loading within 2 s"));
    const auto validated = run_mer({"validate", "exp.yaml"}, cwd.path(), test_plugin_dir("hostile").string(), shell);
    INFO(validated.err);
    CHECK(validated.exit_code == 0);
}

TEST_CASE("a library that passed discovery and crashes when mer loads it is named before mer dies",
          "[plugins][hardening]") {
    TempDir cwd;
    write_synthetic_table(cwd.path(), 20);
    write_file(cwd / "exp.yaml", "name: crash\nnodes:\n  songs: {uses: dataset.table, params: {path: songs.csv}}\n"
                                 "  model: {uses: regressor.crash_on_load, inputs: [songs]}\n"
                                 "evaluation: {split: {kind: kfold, k: 2}}\n");
    const std::string shell = "export MER_PLUGIN_INDEX=" + (cwd / "index.json").string() +
                              " MER_TEST_CRASH_MARKER=" + (cwd / "crash-now").string() + ";";
    const std::string path = test_plugin_dir("crash_later").string();
    const auto listing = run_mer({"plugins"}, cwd.path(), path, shell);  // probed, indexed: not loaded
    INFO(listing.err);
    REQUIRE_THAT(listing.out, Catch::Contains("regressor.crash_on_load  1.0.0"));
    write_file(cwd / "crash-now", "");
    const auto crashed = run_mer({"run", "exp.yaml", "--quiet"}, cwd.path(), path, shell);
    CHECK(crashed.exit_code != 0);
    CHECK_THAT(crashed.err, Catch::Contains("mer: crashed while loading the plugin library") &&
                                Catch::Contains("regressor.crash_on_load.so"));
}

TEST_CASE("two files claiming one plugin name are an error naming both", "[plugins]") {
    mer::PluginRegistry r;
    r.scan({plugin_dir(), test_plugin_dir("duplicate")});
    CHECK_THAT(refusal_of(r, "duplicate_mean.so"),
               Catch::Contains("already claimed by") && Catch::Contains("regressor.mean.so"));
    CHECK_THROWS_WITH(r.find("regressor.mean"), Catch::Contains("two plugin files claim the name 'regressor.mean'") &&
                                                    Catch::Contains("duplicate_mean.so") &&
                                                    Catch::Contains("plugins/regressor.mean.so"));
}

TEST_CASE("a plugin object keeps working after its registry is gone", "[plugins]") {
    std::shared_ptr<mer::RegressorPlugin> mean;
    {
        mer::PluginRegistry r;
        r.scan({plugin_dir()});
        mean = r.create<mer::RegressorPlugin>("regressor.mean", nlohmann::json::object());
    }
    mer::SongTable t;
    t.song_ids = {"a", "b"};
    t.groups = t.song_ids;
    t.feature_names = {"x"};
    t.features = Eigen::MatrixXd::Zero(2, 1);
    t.target_names = {"y"};
    t.targets = Eigen::MatrixXd(2, 1);
    t.targets << 1, 3;
    mean->fit(t, nullptr, {}, {});
    CHECK(mean->predict(t)(0, 0) == 2.0);
}

TEST_CASE("mer-run plugins lists found and refused files", "[plugins][cli]") {
    TempDir cwd;
    write_file(cwd / "junk" / "fake.so", "not a library");
    const auto listing =
        run_mer({"plugins"}, cwd.path(), (cwd / "junk").string() + ":" + test_plugin_dir("bad").string());
    CHECK(listing.exit_code == 0);
    CHECK_THAT(listing.out, Catch::Contains("regressor.ridge  1.0.0  (regressor)"));
    CHECK_THAT(listing.out, Catch::Contains("fake.so\n    not a plugin"));
    CHECK_THAT(listing.out, Catch::Contains("regressor.mismatched.so\n    ABI mismatch"));

    const auto as_json = run_mer({"plugins", "--json"}, cwd.path());
    const auto j = nlohmann::json::parse(as_json.out);
    std::set<std::string> names;
    for (const auto& p : j["plugins"]) {
        names.insert(p["name"].get<std::string>());
        CHECK(mer::abi_mismatch(p["abi"].get<std::string>(), mer::host_abi_tag()).empty());
    }
    for (const char* expected :
         {"dataset.table", "dataset.deam", "dataset.manifest", "regressor.ridge", "regressor.mean"})
        CHECK(names.count(expected) == 1);

    const auto describe = run_mer({"plugins", "describe", "regressor.ridge"}, cwd.path());
    CHECK(describe.exit_code == 0);
    CHECK_THAT(describe.out, Catch::Contains("alpha\n    type: a number\n    default: 1.0\n    range: [0, inf)"));
    // --json, for tools: the schema as the plugin carries it, and what the registry knows.
    const auto described = run_mer({"plugins", "describe", "regressor.ridge", "--json"}, cwd.path());
    REQUIRE(described.exit_code == 0);
    const auto about = nlohmann::json::parse(described.out);
    CHECK(about["kind"] == "regressor");
    CHECK(about["params_schema"]["properties"]["alpha"]["default"] == 1.0);
    CHECK(about["capabilities"].contains("independent_targets"));
    CHECK_THAT(about["file"].get<std::string>(), Catch::EndsWith("regressor.ridge.so"));

    const auto tmpl = run_mer({"plugins", "template", "dataset.table"}, cwd.path());
    CHECK_THAT(tmpl.out, Catch::Contains("uses: dataset.table") && Catch::Contains("path: REQUIRED"));
    const auto unknown = run_mer({"plugins", "describe", "regressor.ridg"}, cwd.path());
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("did you mean 'regressor.ridge'?"));
}

TEST_CASE("capabilities are declared in the metadata and asked for by name", "[plugins][capabilities][torch]") {
    const mer::PluginRegistry& r = registry();
    // The chunk models declare what the host used to guess; the others do not.
    std::set<std::string> chunk_models;
    std::set<std::string> sequence_models;
    for (const auto* p : r.with_capability("chunks")) (p->has("sequence") ? sequence_models : chunk_models).insert(p->name);
    CHECK(chunk_models == std::set<std::string>{"regressor.cnn", "regressor.cnn_gru", "regressor.cnn_gru_attention",
                                                "regressor.panns_finetune", "regressor.se_temporal_cnn",
                                                "regressor.tiny_chunk", "regressor.torchscript"});
    // The dynamic task's models rate every window of a song.
    CHECK(sequence_models == std::set<std::string>{"regressor.cnn_gru_seq", "regressor.frame_mlp",
                                                   "regressor.frame_ridge", "regressor.seq_gru",
                                                   "regressor.torchscript_sequence"});
    CHECK(r.get("features.panns_cnn14").capability("fingerprint") == nlohmann::json::array({"checkpoint"}));
    CHECK(r.get("features.torchscript").capability("fingerprint") == nlohmann::json::array({"model"}));
    CHECK(r.get("features.panns_cnn14").has("device"));  // validate refuses cuda on a CPU-only build for it too
    CHECK(r.get("transform.tsne").has("whole_table"));
    CHECK(r.get("regressor.cnn").has("device"));
    CHECK(r.get("regressor.cnn").capability("concurrent_fit") == false);
    CHECK_FALSE(r.get("regressor.ridge").has("device"));
    CHECK(r.get("regressor.ridge").capability("concurrent_fit", true) == true);  // missing: the old behaviour
    CHECK(r.get("features.logmel_chunks").has("output_shape"));

    // Values that depend on parameters come from an instance.
    const auto chunks = r.create<mer::FeaturesPlugin>("features.logmel_chunks",
                                                      with_defaults("features.logmel_chunks", {{"n_mels", 96}}));
    CHECK(chunks->query("output_shape")["shape"] == nlohmann::json({1, 96, 128}));
    const auto cnn = r.create<mer::RegressorPlugin>("regressor.cnn", with_defaults("regressor.cnn"));
    CHECK(cnn->query("input_shape")["shape"] == nlohmann::json({1, 128, 128}));
    CHECK(cnn->query("no_such_capability").is_null());
}

TEST_CASE("crafted ELF files, pipes, folders and symlink loops named *.so are refused, never read out of bounds",
          "[plugins][hardening]") {
    TempDir junk;
    const std::string real = read_file(plugin_dir() / "regressor.mean.so");
    Elf64_Ehdr header;
    std::memcpy(&header, real.data(), sizeof header);
    auto patched = [&](const std::string& name, const std::function<void(std::string&)>& patch) {
        std::string bytes = real;
        patch(bytes);
        write_file(junk / name, bytes);
    };
    auto put64 = [](std::string& bytes, std::size_t at, std::uint64_t v) { std::memcpy(&bytes[at], &v, 8); };
    const std::size_t names_header = header.e_shoff + std::size_t{header.e_shstrndx} * sizeof(Elf64_Shdr);
    patched("far_sections.so", [&](std::string& b) { put64(b, offsetof(Elf64_Ehdr, e_shoff), 1ull << 62); });
    patched("far_names.so", [&](std::string& b) { put64(b, names_header + offsetof(Elf64_Shdr, sh_offset), 1ull << 40); });
    patched("long_names.so", [&](std::string& b) { put64(b, names_header + offsetof(Elf64_Shdr, sh_size), ~0ull); });
    patched("cut.so", [&](std::string& b) { b.resize(header.e_shoff + 100); });
    REQUIRE(::mkfifo((junk / "pipe.so").c_str(), 0600) == 0);
    fs::create_directory(junk / "folder.so");
    fs::create_symlink(junk / "loop.so", junk / "loop.so");

    mer::PluginRegistry r;
    r.scan({junk.path(), plugin_dir()});
    CHECK_THAT(refusal_of(r, "far_sections.so"), Catch::Contains("damaged ELF file"));
    CHECK_THAT(refusal_of(r, "far_names.so"), Catch::Contains("damaged ELF file"));
    CHECK_THAT(refusal_of(r, "long_names.so"), Catch::Contains("damaged ELF file"));
    CHECK_THAT(refusal_of(r, "cut.so"), Catch::Contains("damaged ELF file"));
    CHECK_THAT(refusal_of(r, "pipe.so"), Catch::Contains("is not a regular file"));
    CHECK_THAT(refusal_of(r, "folder.so"), Catch::Contains("is a folder"));
    CHECK_THAT(refusal_of(r, "loop.so"), Catch::Contains("symbolic link loop"));
    CHECK(r.find("regressor.mean") != nullptr);  // the real plugins still load
}

TEST_CASE("a dangling plugin symlink is refused as one, naming its missing target", "[plugins][hardening]") {
    TempDir junk;
    fs::create_symlink(junk / "build" / "regressor.gone.so", junk / "regressor.gone.so");

    mer::PluginRegistry r;
    r.scan({junk.path()});
    const std::string refusal = refusal_of(r, "regressor.gone.so");
    CHECK_THAT(refusal, Catch::Contains("dangling symbolic link") &&
                            Catch::Contains((junk / "build" / "regressor.gone.so").string() + "' does not exist"));
    CHECK_THAT(refusal, !Catch::Contains("pipe"));
}

TEST_CASE("the plugin index lists plugins without loading them, a library loads at its first instance",
          "[plugins][index]") {
    TempDir dir;
    const fs::path index = dir / "plugin-index.json";
    ::setenv("MER_PLUGIN_INDEX", index.c_str(), 1);
    struct Restore {
        ~Restore() { ::unsetenv("MER_PLUGIN_INDEX"); }
    } restore;
    const fs::path copy = dir / "plugins";
    fs::create_directories(copy);
    for (const char* name : {"regressor.ridge.so", "regressor.mean.so"})
        fs::copy_file(plugin_dir() / name, copy / name);

    // No index yet: every library probed in a child process (not loaded into this one), the index written.
    mer::PluginRegistry first;
    first.scan({copy});
    REQUIRE(first.plugins().size() == 2);
    for (const auto& p : first.plugins()) CHECK_FALSE(p.loaded());
    REQUIRE(fs::exists(index));

    mer::PluginRegistry second;  // from the index: the same metadata, nothing loaded
    second.scan({copy});
    REQUIRE(second.plugins().size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK_FALSE(second.plugins()[i].loaded());
        CHECK(second.plugins()[i].name == first.plugins()[i].name);
        CHECK(second.plugins()[i].schema == first.plugins()[i].schema);
        CHECK(second.plugins()[i].capabilities == first.plugins()[i].capabilities);
    }
    auto ridge = second.create<mer::RegressorPlugin>("regressor.ridge", with_defaults("regressor.ridge"));
    CHECK(second.get("regressor.ridge").loaded());
    CHECK_FALSE(second.get("regressor.mean").loaded());

    // A changed file is loaded and checked again: here it is no plugin any more.
    fs::remove(copy / "regressor.mean.so");  // a new file: the loaded one stays mapped
    write_file(copy / "regressor.mean.so", "not a library");
    mer::PluginRegistry third;
    third.scan({copy});
    CHECK(third.plugins().size() == 1);
    CHECK(refusal_of(third, "regressor.mean.so") != "(not refused)");

    // An edited index (alpha's minimum dropped) lists, but cannot run: loading
    // the library finds the disagreement before any instance is made.
    nlohmann::json edited = nlohmann::json::parse(read_file(index));
    bool dropped = false;
    for (auto& [file, entry] : edited["files"].items())
        if (entry.value("name", "") == "regressor.ridge") {
            entry["schema"]["properties"]["alpha"].erase("minimum");
            dropped = true;
        }
    REQUIRE(dropped);
    write_file(index, edited.dump());
    mer::PluginRegistry poisoned;
    poisoned.scan({copy});
    REQUIRE(poisoned.find("regressor.ridge") != nullptr);
    CHECK_FALSE(poisoned.get("regressor.ridge").loaded());  // it did come from the index
    CHECK_THROWS_WITH(poisoned.create<mer::RegressorPlugin>("regressor.ridge", with_defaults("regressor.ridge")),
                      Catch::Contains("disagrees with") && Catch::Contains("parameter schema") &&
                          Catch::Contains("delete it"));
}
