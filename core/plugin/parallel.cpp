// The per-song thread pool of the feature extractors.
#include "core/plugin/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "core/base/heap.hpp"
#include "core/error.hpp"

namespace mer {

std::vector<std::size_t> for_each_song(const SongTable& songs, const PluginContext& ctx,
                                       const std::function<void(std::size_t)>& work) {
    keep_large_blocks_in_heap();  // each song's buffers are the same size as the last one's
    const std::size_t n = songs.size();
    std::vector<std::string> failures(n);
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex fatal_mutex;
    std::optional<Error> fatal;  // the machine's trouble, not the song's: it fails the node
    auto worker = [&] {
        for (std::size_t i = next++; i < n; i = next++) {
            try {
                work(i);
            } catch (const std::exception& e) {
                SongFailure failure = song_failure(e, "process");
                if (failure.fatal) {
                    std::lock_guard<std::mutex> lock(fatal_mutex);
                    if (!fatal) fatal = std::move(failure.fatal);
                    next = n;  // the other songs would meet the same trouble
                } else {
                    failures[i] = failure.skip;
                }
            } catch (...) {
                failures[i] = "an unknown error occurred while processing this song";
            }
            ctx.report_progress(++done, n);
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::max(1, std::min<int>(ctx.threads, static_cast<int>(n))); ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (fatal) throw *fatal;
    std::vector<std::size_t> kept;
    for (std::size_t i = 0; i < n; ++i) {
        if (failures[i].empty())
            kept.push_back(i);
        else
            ctx.skip_song(songs.song_ids[i], songs.audio_paths.empty() ? "" : songs.audio_paths[i], failures[i]);
    }
    return kept;
}

SongFailure song_failure(const std::exception& e, const std::string& doing) {
    if (dynamic_cast<const std::bad_alloc*>(&e)) return {"not enough memory to " + doing + " this song", std::nullopt};
    Error error = as_error(e);
    if (error.kind() == ErrorKind::input && !dynamic_cast<const std::filesystem::filesystem_error*>(&e))
        return {error.message(), std::nullopt};
    return {"", std::move(error)};
}

}  // namespace mer
