// The per-song tensor cache of the features plugins (features.logmel_chunks,
// features.panns_cnn14, features.torchscript, and the files of
// features.handcrafted's entries): one .npy per song in the plugin's cache
// folder, named by a key made of the audio file's fingerprint and whatever
// else changes the tensor, and beside it a JSON sidecar written after it
// that keeps the tensor's SHA-256 and shape (and, for Python users, its time
// axis). A tensor that does not match its sidecar — cut short, bytes
// flipped, values altered — is recomputed, with a note in the log.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mer {

// The tensor file for the audio file `audio` in `folder`: folder/ab/abcd….npy,
// keyed by the plugin's version, the audio's fingerprint (size, modification
// time, the SHA-256 of its head), the parameters that change the tensor and
// `content` (a weights file's hash; may be empty). Throws an input Error
// "audio file missing" where the audio is not there.
std::filesystem::path song_tensor_file(const std::filesystem::path& folder, const std::string& audio,
                                       const std::string& version, const nlohmann::json& params,
                                       const std::string& content = "");

// Why the cached tensor at `file` cannot be used ("" when it can): no
// sidecar, a checksum that does not match, or a shape whose axes after the
// first (the song's chunks, at least one) differ from `tail`. A tail entry
// of 0 accepts any size. nullopt when the file or its sidecar is not there.
std::optional<std::string> cached_tensor_problem(const std::filesystem::path& file,
                                                 const std::vector<std::size_t>& tail);

// Writes the tensor, then its sidecar: `about` plus "sha256" and "shape".
void write_cached_tensor(const std::filesystem::path& file, const float* values, const std::vector<std::size_t>& shape,
                         nlohmann::json about);
// The sidecar alone, for an .npy file already written (of any dtype).
void seal_cached_file(const std::filesystem::path& file, const std::vector<std::size_t>& shape, nlohmann::json about);

}  // namespace mer
