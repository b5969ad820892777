// Atomic writes, hashing (OpenSSL EVP) and CSV/number formatting.
#include "core/base/files.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "core/error.hpp"

namespace mer {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, const std::string& content) {
    // A target that is not a regular file (a device such as /dev/null or
    // /dev/stdout, a FIFO, a link to one) is written to as it is: renaming a
    // temporary file over it would replace the device with a file.
    std::error_code status_error;
    const fs::file_status target = fs::status(path, status_error);
    if (!status_error && fs::exists(target) && !fs::is_regular_file(target)) {
        if (fs::is_directory(target)) throw Error("cannot write " + path.string() + ": it is a folder");
        errno = 0;
        std::ofstream out(path, std::ios::binary);
        if (!out) throw environment_error("cannot write " + path.string() + ": " + std::strerror(errno));
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        out.flush();
        if (out.fail()) throw environment_error("cannot write " + path.string() + ": the write failed");
        return;
    }
    std::random_device entropy;
    const fs::path temporary = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(entropy());
    {
        errno = 0;
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw environment_error("cannot write " + path.string() + ": " + std::strerror(errno));
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        out.close();  // flushes: a full disk shows here
        if (out.fail()) {
            const int error = errno;
            std::error_code ignored;
            fs::remove(temporary, ignored);
            throw environment_error("cannot write " + path.string() + ": " +
                                    (error ? std::strerror(error) : "the write failed (disk full?)"));
        }
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) {
        const std::string reason = ec.message();  // before remove() reuses ec
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw environment_error("cannot move " + temporary.string() + " to " + path.string() + ": " + reason);
    }
}

void refuse_link(const fs::path& path) {
    std::error_code ec;
    if (fs::is_symlink(path, ec))
        throw Error(path.string() + " is a symbolic link; mer never writes a run folder's files through links: remove "
                    "it and run again");
}

void create_folder(const fs::path& dir, const std::string& what) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw environment_error("cannot create the " + what + " " + dir.string() + ": " + ec.message());
}

std::string read_text_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

template <class Json>
Json read_json_file(const fs::path& path) {
    const std::string text = read_text_file(path);
    try {
        return Json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("not valid JSON: ") + e.what(), Location(path.string()));
    }
}
template nlohmann::json read_json_file<nlohmann::json>(const fs::path&);
template nlohmann::ordered_json read_json_file<nlohmann::ordered_json>(const fs::path&);

namespace {
struct DigestDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
            throw Error("OpenSSL SHA-256 unavailable");
    }
    void update(const char* data, std::size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
    std::string hex() {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_DigestFinal_ex(ctx_.get(), digest, &length);
        std::string out;
        for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
        return out;
    }

private:
    std::unique_ptr<EVP_MD_CTX, DigestDeleter> ctx_;
};
}  // namespace

std::string sha256_hex(const std::string& bytes) {
    Sha256 h;
    h.update(bytes.data(), bytes.size());
    return h.hex();
}

std::string sha256_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open " + path.string() + " to hash it");
    Sha256 h;
    std::vector<char> buffer(1 << 16);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        h.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
    }
    return h.hex();
}

std::optional<FileFingerprint> file_fingerprint(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    std::string head(1 << 20, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    return FileFingerprint{static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
                           static_cast<long long>(st.st_mtim.tv_nsec), sha256_hex(head)};
}

std::string csv_field(const std::string& text) {
    // A text cell a spreadsheet would run as a formula (= + - @ TAB CR first)
    // gets a ' before it (OWASP's advice), as does one that begins with ' so
    // that read_csv gives back exactly what was written. Numbers ("-0.5",
    // "-inf") are numbers, not formulas.
    std::string guarded = text;
    if (!text.empty() && std::string("=+-@\t\r'").find(text[0]) != std::string::npos) {
        char* end = nullptr;
        const bool number = text[0] != '\'' && text[0] != '=' && text[0] != '@' &&
                            (std::strtod(text.c_str(), &end), end != text.c_str() && *end == '\0');
        if (!number) guarded = "'" + text;
    }
    // Quoted where the reader would otherwise split it or trim its edges.
    const bool blank_edge = !guarded.empty() && (std::string(" \t").find(guarded.front()) != std::string::npos ||
                                                 std::string(" \t").find(guarded.back()) != std::string::npos);
    if (guarded.find_first_of(",\"\n\r") == std::string::npos && !blank_edge) return guarded;
    std::string out = "\"";
    for (char c : guarded) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string csv_row(const std::vector<std::string>& fields) {
    std::string row;
    for (std::size_t i = 0; i < fields.size(); ++i) row += (i ? "," : "") + csv_field(fields[i]);
    return row;
}

std::string format_number(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    return fmt::format("{}", value);
}

}  // namespace mer
