// Songs through a frozen network in batches of chunks (see chunk_embedding.hpp).
#include "core/torch/chunk_embedding.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.hpp"
#include "core/plugin/parallel.hpp"

namespace mer::torchx {

namespace {

// What the decoding thread hands over: a song's chunks or why it cannot be used.
struct Decoded {
    std::size_t row = 0;
    torch::Tensor chunks;
    std::string failure;
    std::optional<Error> fatal;  // the machine's trouble: stops the node
};

// A decoded song waiting for the network: its chunks and how many have gone through.
struct SongWork {
    std::size_t row = 0;
    torch::Tensor chunks;
    torch::Tensor out;  // chunks × …, filled batch by batch
    int64_t sent = 0, done = 0;
};

// The decoding thread: songs in order, at most a few ahead; stopped and
// joined however the caller's loop ends.
class Decoder {
public:
    Decoder(const std::vector<std::size_t>& todo, const std::function<torch::Tensor(std::size_t)>& decode)
        : thread_([this, &todo, &decode] { run(todo, decode); }) {}
    ~Decoder() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }
    Decoded next() {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !ready_.empty(); });
        Decoded d = std::move(ready_.front());
        ready_.pop_front();
        changed_.notify_all();
        return d;
    }

private:
    static constexpr std::size_t kAhead = 4;
    void run(const std::vector<std::size_t>& todo, const std::function<torch::Tensor(std::size_t)>& decode) {
        for (std::size_t row : todo) {
            Decoded d;
            d.row = row;
            try {
                d.chunks = decode(row);
            } catch (const std::exception& e) {
                SongFailure failure = song_failure(e, "decode");
                d.failure = failure.skip;
                d.fatal = std::move(failure.fatal);
            }
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [&] { return stop_ || ready_.size() < kAhead; });
            if (stop_) return;
            ready_.push_back(std::move(d));
            changed_.notify_all();
        }
    }
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Decoded> ready_;
    bool stop_ = false;
    std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace

void embed_songs(const std::vector<std::size_t>& todo, const ChunkEmbedding& job, std::vector<std::string>& failures,
                 const PluginContext& ctx) {
    Decoder decoder(todo, job.decode);
    std::deque<SongWork> working;
    std::size_t received = 0, finished = 0;
    bool went_through = false;  // a batch has gone through the network
    ctx.report_progress(0, todo.size());
    auto finish = [&](SongWork& w) {
        try {
            job.finish(w.row, w.out);
        } catch (const std::exception& e) {
            Error error = as_error(e);
            if (error.kind() != ErrorKind::input) throw error;
            failures[w.row] = error.message();
        }
        ctx.report_progress(++finished, todo.size());
    };
    while (finished < todo.size()) {
        // Take decoded songs until a batch is full (or none are left to come).
        int64_t waiting = 0;
        for (const auto& w : working) waiting += w.chunks.size(0) - w.sent;
        while (received < todo.size() && (job.song_per_batch ? working.empty() : waiting < job.batch_size)) {
            Decoded d = decoder.next();
            ++received;
            if (d.fatal) throw *d.fatal;
            if (!d.failure.empty()) {
                failures[d.row] = d.failure;
                ctx.report_progress(++finished, todo.size());
                continue;
            }
            SongWork w;
            w.row = d.row;
            w.chunks = std::move(d.chunks);
            waiting += w.chunks.size(0);
            working.push_back(std::move(w));
        }
        if (working.empty()) continue;
        // One batch: the next chunks in song order, up to batch_size.
        std::vector<torch::Tensor> parts;
        std::vector<std::pair<SongWork*, int64_t>> from;  // song, chunks taken
        int64_t taken = 0;
        for (auto& w : working) {
            const int64_t k = std::min(w.chunks.size(0) - w.sent, job.batch_size - taken);
            if (k <= 0) continue;
            parts.push_back(w.chunks.slice(0, w.sent, w.sent + k));
            from.emplace_back(&w, k);
            w.sent += k;
            taken += k;
            if (taken >= job.batch_size || job.song_per_batch) break;
        }
        torch::Tensor result;
        try {
            result = job.forward(parts.size() == 1 ? parts.front() : torch::cat(parts, 0));
            went_through = true;
        } catch (const Error& e) {
            if (!job.song_per_batch || !went_through || e.kind() != ErrorKind::input) throw;
            failures[working.front().row] = "the model cannot take this song: " + e.message();
            working.pop_front();
            ctx.report_progress(++finished, todo.size());
            continue;
        }
        int64_t at = 0;
        for (auto& [w, k] : from) {
            if (!w->out.defined()) {
                std::vector<int64_t> shape(result.sizes().begin(), result.sizes().end());
                shape[0] = w->chunks.size(0);
                w->out = torch::empty(shape, torch::kFloat32);
            }
            w->out.slice(0, w->done, w->done + k).copy_(result.slice(0, at, at + k));
            w->done += k;
            at += k;
        }
        while (!working.empty() && working.front().done == working.front().chunks.size(0)) {
            finish(working.front());
            working.pop_front();
        }
    }
}

torch::Tensor cut_chunks(std::vector<float> samples, int64_t chunk, int64_t hop, bool whole) {
    auto length = static_cast<int64_t>(samples.size());
    if (whole) return torch::from_blob(samples.data(), {1, length}, torch::kFloat32).clone();
    if (length < chunk) samples.resize(static_cast<std::size_t>(chunk), 0.0f), length = chunk;  // one padded chunk
    const int64_t count = 1 + (length - chunk) / hop;
    torch::Tensor chunks = torch::empty({count, chunk}, torch::kFloat32);
    for (int64_t c = 0; c < count; ++c)
        std::copy_n(samples.data() + c * hop, chunk, chunks.data_ptr<float>() + c * chunk);
    return chunks;
}

Eigen::RowVectorXd pool_chunks(const Eigen::MatrixXf& chunks, const std::string& pooling) {
    const Eigen::RowVectorXd mean = chunks.cast<double>().colwise().mean();
    const Eigen::RowVectorXd max = chunks.cast<double>().colwise().maxCoeff();
    if (pooling == "mean") return mean;
    if (pooling == "max") return max;
    Eigen::RowVectorXd both(mean.size() * 2);
    both << mean, max;
    return both;
}

std::vector<std::string> pooled_columns(const std::string& stem, int64_t width, const std::string& pooling) {
    std::vector<std::string> names;
    const std::vector<std::string> suffixes =
        pooling == "mean_max" ? std::vector<std::string>{"_mean", "_max"} : std::vector<std::string>{""};
    for (const auto& suffix : suffixes)
        for (int64_t c = 1; c <= width; ++c) names.push_back(fmt::format("{}_{}{}", stem, c, suffix));
    return names;
}

}  // namespace mer::torchx
