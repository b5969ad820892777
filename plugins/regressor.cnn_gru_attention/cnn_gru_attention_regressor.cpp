// regressor.cnn_gru_attention: the paper's CNN-GRU-Attention — as CNN-GRU,
// but attention over every GRU output (Linear → softmax over time → weighted
// mean), then FC 64→128 → output. The validation songs' attention weights
// (one per time step of each chunk) go to attention_<node>_fold<k>.csv so a
// researcher can see which moments mattered.
#include <fmt/format.h>

#include <filesystem>
#include <optional>
#include <utility>

#include "core/base/files.hpp"
#include "core/torch/chunk_regressor.hpp"

namespace mer::plugins {

struct CnnGruAttentionNet : torchx::ChunkNet {
    CnnGruAttentionNet(int64_t outputs, double dropout, int64_t reduction, int64_t hidden)
        : trunk(register_module("trunk", torchx::SeCnnTrunk(reduction))),
          gru(register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(64 * 16, hidden).batch_first(true)))),
          score(register_module("attention", torch::nn::Linear(hidden, 1))),
          fc(register_module("fc", torch::nn::Linear(hidden, 128))),
          drop(register_module("dropout", torch::nn::Dropout(dropout))),
          out(register_module("out", torch::nn::Linear(128, outputs))) {}
    torch::Tensor forward(const torch::Tensor& x) override {
        auto h = trunk->forward(x);
        h = h.permute({0, 3, 1, 2}).flatten(2);                                     // (B, T, C·F)
        const auto steps = std::get<0>(gru->forward(h));                            // (B, T, hidden)
        const auto weights = torch::softmax(score->forward(steps).squeeze(-1), 1);  // (B, T)
        attention_ = weights.detach();
        const auto pooled = (steps * weights.unsqueeze(-1)).sum(1);  // (B, hidden)
        return out->forward(drop->forward(torch::relu(fc->forward(pooled))));
    }
    torch::Tensor last_attention() const override { return attention_; }

    torchx::SeCnnTrunk trunk;
    torch::nn::GRU gru;
    torch::nn::Linear score, fc;
    torch::nn::Dropout drop;
    torch::nn::Linear out;
    torch::Tensor attention_;
};

class CnnGruAttentionRegressor : public torchx::ChunkRegressor {
public:
    explicit CnnGruAttentionRegressor(const nlohmann::json& p)
        : ChunkRegressor(p), reduction_(p.at("se_reduction").get<int>()), hidden_(p.at("gru_hidden").get<int>()) {}

    void fit(const SongTable& train, const SongTable* validation, const EpochCallback& on_epoch,
             const PluginContext& ctx) override {
        ChunkRegressor::fit(train, validation, on_epoch, ctx);
        if (validation && ctx.keeps_artifacts()) write_attention(*validation, ctx);
    }

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double dropout) const override {
        return std::make_shared<CnnGruAttentionNet>(outputs, dropout, reduction_, hidden_);
    }

private:
    // song_id, chunk, step, seconds (the step's centre from the song's
    // start, from the chunks' timing; empty when the features did not say),
    // weight.
    void write_attention(const SongTable& songs, const PluginContext& ctx) const {
        const torchx::Chunks chunks = torchx::load_chunks(songs);
        const std::vector<std::string> columns{"song_id", "chunk", "step", "seconds", "weight"};
        std::string csv = csv_row(columns) + "\n";
        std::vector<int> chunk_in_song(songs.size(), 0);
        const ChunkTiming& timing = songs.chunk_timing;
        const bool timed = timing.chunk_hop_seconds > 0 && timing.frame_hop_seconds > 0;
        const int64_t batch = 64;
        for (int64_t start = 0; start < chunks.x.size(0); start += batch) {
            const auto rows = chunks.x.slice(0, start, std::min(chunks.x.size(0), start + batch));
            predict_chunks(torchx::Chunks{rows, std::vector<int64_t>(static_cast<std::size_t>(rows.size(0)), 0), 1});
            const torch::Tensor w = network()->last_attention().to(torch::kCPU);
            const int64_t steps = w.size(1);
            const double frames_per_step = static_cast<double>(chunks.x.size(3)) / static_cast<double>(steps);
            for (int64_t r = 0; r < w.size(0); ++r) {
                const auto song = static_cast<std::size_t>(chunks.song_of_chunk[static_cast<std::size_t>(start + r)]);
                const int chunk = chunk_in_song[song]++;
                for (int64_t s = 0; s < steps; ++s) {
                    const double step_centre_frames = (static_cast<double>(s) + 0.5) * frames_per_step;
                    const std::string seconds =
                        timed ? fmt::format("{:.3f}", chunk * timing.chunk_hop_seconds +
                                                          step_centre_frames * timing.frame_hop_seconds)
                              : std::string();
                    csv += fmt::format("{},{},{},{},{}\n", csv_field(songs.song_ids[song]), chunk, s, seconds,
                                       format_number(w[r][s].item<float>()));
                }
            }
        }
        ctx.write_artifact({"attention", "fold" + std::to_string(ctx.fold), columns,
                            "attention weight of each GRU step of each validation chunk (seconds: the step's centre "
                            "from the song's start)"},
                           csv);
    }

    int reduction_, hidden_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::CnnGruAttentionRegressor, "regressor.cnn_gru_attention", "1.0.0",
           "CNN-GRU with attention over time on 3-s log-mel chunks; attention weights saved")
