// Node cache files: <dir>/<key[0:2]>/<key>.table plus a readable <key>.json
// saying which node made it.
#include "core/data/node_cache.hpp"

#include <cstring>

#include "core/base/files.hpp"
#include "core/error.hpp"

namespace mer {

namespace fs = std::filesystem;

static const char kMagic[8] = {'M', 'E', 'R', 'T', 'B', 'L', '5', '\n'};

namespace {
class Writer {
public:
    void u64(std::uint64_t v) { raw(&v, sizeof v); }
    void str(const std::string& s) {
        u64(s.size());
        raw(s.data(), s.size());
    }
    void strings(const std::vector<std::string>& v) {
        u64(v.size());
        for (const auto& s : v) str(s);
    }
    void matrix(const Eigen::MatrixXd& m) {
        u64(static_cast<std::uint64_t>(m.rows()));
        u64(static_cast<std::uint64_t>(m.cols()));
        raw(m.data(), sizeof(double) * static_cast<std::size_t>(m.size()));
    }
    void raw(const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }
    std::string out;
};

class Reader {
public:
    explicit Reader(const std::string& bytes) : bytes_(bytes) {}
    std::uint64_t u64() {
        std::uint64_t v;
        raw(&v, sizeof v);
        return v;
    }
    std::string str() {
        const std::uint64_t n = u64();
        need(n);
        std::string s = bytes_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    std::vector<std::string> strings() {
        const std::uint64_t n = u64();
        if (n > (bytes_.size() - pos_) / 8) throw Error("corrupt cache file: too many strings");
        std::vector<std::string> v;
        for (std::uint64_t i = 0; i < n; ++i) v.push_back(str());
        return v;
    }
    Eigen::MatrixXd matrix() {
        const std::uint64_t rows = u64(), cols = u64();
        const std::uint64_t most = bytes_.size();  // no dimension can exceed the file, even with the other 0
        if (rows > most || cols > most || (cols != 0 && rows > (bytes_.size() - pos_) / 8 / cols))
            throw Error("corrupt cache file: matrix too large");
        Eigen::MatrixXd m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
        raw(m.data(), sizeof(double) * rows * cols);
        return m;
    }
    void raw(void* p, std::size_t n) {
        need(n);
        if (n == 0) return;  // an empty matrix has no data pointer
        std::memcpy(p, bytes_.data() + pos_, n);
        pos_ += n;
    }
    bool done() const { return pos_ == bytes_.size(); }

private:
    void need(std::uint64_t n) const {
        if (n > bytes_.size() - pos_) throw Error("corrupt cache file: truncated");
    }
    const std::string& bytes_;
    std::size_t pos_ = 0;
};
}  // namespace

std::string serialize_song_table(const SongTable& t) {
    Writer w;
    w.raw(kMagic, sizeof kMagic);
    w.strings(t.song_ids);
    w.strings(t.groups);
    w.strings(t.audio_paths);
    w.strings(t.feature_names);
    w.matrix(t.features);
    w.strings(t.target_names);
    w.matrix(t.targets);
    w.u64(t.dynamic.size());
    for (const auto& d : t.dynamic) {
        w.raw(&d.start_seconds, sizeof d.start_seconds);
        w.raw(&d.step_seconds, sizeof d.step_seconds);
        w.matrix(d.values);
    }
    w.strings(t.assigned_split);
    w.strings(t.tensor_paths);
    w.raw(&t.chunk_timing, sizeof t.chunk_timing);
    return std::move(w.out);
}

SongTable deserialize_song_table(const std::string& bytes) {
    Reader r(bytes);
    char magic[8];
    r.raw(magic, sizeof magic);
    if (std::memcmp(magic, kMagic, sizeof magic) != 0) throw Error("not a mer table file");
    SongTable t;
    t.song_ids = r.strings();
    t.groups = r.strings();
    t.audio_paths = r.strings();
    t.feature_names = r.strings();
    t.features = r.matrix();
    t.target_names = r.strings();
    t.targets = r.matrix();
    const std::uint64_t dynamic = r.u64();
    if (dynamic > t.song_ids.size()) throw Error("corrupt cache file: too many dynamic label sets");
    t.dynamic.resize(dynamic);
    for (auto& d : t.dynamic) {
        r.raw(&d.start_seconds, sizeof d.start_seconds);
        r.raw(&d.step_seconds, sizeof d.step_seconds);
        d.values = r.matrix();
    }
    t.assigned_split = r.strings();
    t.tensor_paths = r.strings();
    r.raw(&t.chunk_timing, sizeof t.chunk_timing);
    if (!r.done()) throw Error("corrupt cache file: trailing bytes");
    t.check_shapes("the cache");
    return t;
}

std::string NodeCache::key(const nlohmann::json& description) {
    return sha256_hex(description.dump());
}

fs::path NodeCache::path_of(const std::string& key) const {
    return dir_ / key.substr(0, 2) / (key + ".table");
}

std::optional<CachedNode> NodeCache::load(const std::string& key, std::string& damage) const {
    damage.clear();
    const fs::path path = path_of(key);
    const fs::path sidecar = fs::path(path).replace_extension(".json");
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) || !fs::is_regular_file(sidecar, ec)) return std::nullopt;
    try {
        const nlohmann::json about = read_json_file(sidecar);
        const std::string bytes = read_text_file(path);
        if (!about.contains("sha256") || about.at("sha256").get<std::string>() != sha256_hex(bytes))
            throw Error("its content does not match the checksum stored beside it");
        CachedNode node;
        node.table = deserialize_song_table(bytes);
        for (const auto& s : about.at("skipped"))
            node.skipped.push_back(
                {s.at(0).get<std::string>(), s.at(1).get<std::string>(), s.at(2).get<std::string>()});
        return node;
    } catch (const std::exception& e) {
        damage = path.string() + ": " + as_error(e).message();  // recomputed and overwritten
        return std::nullopt;
    }
}

void NodeCache::store(const std::string& key, const CachedNode& node, const nlohmann::json& description) const {
    const fs::path path = path_of(key);
    create_folder(path.parent_path(), "cache folder");
    const std::string bytes = serialize_song_table(node.table);
    nlohmann::json sidecar = description;
    sidecar["sha256"] = sha256_hex(bytes);
    sidecar["skipped"] = nlohmann::json::array();
    for (const auto& s : node.skipped) sidecar["skipped"].push_back({s.song_id, s.path, s.reason});
    write_file_atomic(path, bytes);
    // The sidecar goes last: an entry counts only when both files exist and
    // the table's bytes match the checksum the sidecar holds.
    write_file_atomic(fs::path(path).replace_extension(".json"), sidecar.dump(2) + "\n");
}

}  // namespace mer
