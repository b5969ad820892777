// The per-song thread pool of the feature extractors.
#include "core/plugin/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/error.hpp"
#include "core/run/heap.hpp"

namespace mer {

std::vector<std::size_t> for_each_song(const SongTable& songs, const PluginContext& ctx,
                                       const std::function<void(std::size_t)>& work) {
    keep_large_blocks_in_heap();  // each song's buffers are the same size as the last one's
    const std::size_t n = songs.size();
    std::vector<std::string> failures(n);
    std::atomic<std::size_t> next{0}, done{0};
    auto worker = [&] {
        for (std::size_t i = next++; i < n; i = next++) {
            try {
                work(i);
            } catch (const Error& e) {
                failures[i] = e.message();
            }
            ctx.report_progress(++done, n);
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::max(1, std::min<int>(ctx.threads, static_cast<int>(n))); ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    std::vector<std::size_t> kept;
    for (std::size_t i = 0; i < n; ++i) {
        if (failures[i].empty())
            kept.push_back(i);
        else
            ctx.skip_song(songs.song_ids[i], songs.audio_paths.empty() ? "" : songs.audio_paths[i], failures[i]);
    }
    return kept;
}

}  // namespace mer
