// regressor.emotion_mlp: the paper's EmotionMLP (Phase 3) as the defaults of
// a general MLP on any feature table — 2048 → 512 → ReLU → Dropout(0.3) →
// 128 → ReLU → 2 on PANNs embeddings, valence and arousal jointly (summed
// MSE), Adam, batch 32, trained by the shared loop (per-epoch metrics, early
// stopping, resume). The input width comes from the input node.
#include <fmt/format.h>

#include "core/base/files.hpp"
#include "core/error.hpp"
#include "core/torch/chunk_regressor.hpp"

namespace mer::plugins {

namespace fs = std::filesystem;

struct MlpNet : torchx::ChunkNet {
    MlpNet(int64_t inputs, const std::vector<int64_t>& hidden, int64_t outputs, double dropout) {
        int64_t width = inputs;
        for (std::size_t h = 0; h < hidden.size(); ++h) {
            layers.push_back(register_module(fmt::format("fc{}", h + 1), torch::nn::Linear(width, hidden[h])));
            drops.push_back(register_module(fmt::format("dropout{}", h + 1), torch::nn::Dropout(dropout)));
            width = hidden[h];
        }
        out = register_module("out", torch::nn::Linear(width, outputs));
    }
    torch::Tensor forward(const torch::Tensor& x) override {
        torch::Tensor h = x.flatten(1);
        for (std::size_t i = 0; i < layers.size(); ++i) {
            h = torch::relu(layers[i]->forward(h));
            if (i + 1 < layers.size()) h = drops[i]->forward(h);  // not after the last hidden layer
        }
        return out->forward(h);
    }
    std::vector<torch::nn::Linear> layers;
    std::vector<torch::nn::Dropout> drops;
    torch::nn::Linear out{nullptr};
};

class EmotionMlpRegressor : public torchx::ChunkRegressor {
public:
    // Reads feature columns or chunk vectors, not log-mel chunks: no input_shape.
    static constexpr const char* kCapabilities = torchx::kLoopCapabilities;

    explicit EmotionMlpRegressor(const nlohmann::json& p)
        : ChunkRegressor(p),
          hidden_(p.at("hidden").get<std::vector<int64_t>>()),
          chunk_rows_(p.at("inputs").get<std::string>() == "chunks") {}

    nlohmann::json query(const std::string&) const override { return nullptr; }

    void save(const std::string& dir) const override {
        ChunkRegressor::save(dir);
        write_file_atomic(fs::path(dir) / "network.json",
                          nlohmann::json{{"input_width", input_width()}, {"hidden", hidden_}}.dump(2) + "\n");
    }
    void load(const std::string& dir) override {
        const fs::path file = fs::path(dir) / "network.json";
        const auto about = read_json_file(file);
        if (!about.contains("input_width") || !about["input_width"].is_number_integer() ||
            about["input_width"].get<int64_t>() < 1 || about["input_width"].get<int64_t>() > (1 << 24))
            throw Error("input_width must be a positive integer", Location(file.string()));
        if (about.value("hidden", nlohmann::json()) != nlohmann::json(hidden_))
            throw Error(fmt::format("the saved network has hidden layers {}, the parameters say {}",
                                    about.value("hidden", nlohmann::json()).dump(), nlohmann::json(hidden_).dump()),
                        Location(file.string()));
        set_input_width(about["input_width"].get<int64_t>());
        ChunkRegressor::load(dir);
    }

protected:
    std::shared_ptr<torchx::ChunkNet> make_network(int64_t outputs, double dropout) const override {
        return std::make_shared<MlpNet>(input_width(), hidden_, outputs, dropout);
    }

    torchx::Chunks load_inputs(const SongTable& songs) const override {
        if (!chunk_rows_) {
            if (songs.features.cols() == 0)
                throw Error("regressor.emotion_mlp reads feature columns, and its input has none (inputs: chunks "
                            "reads the chunk vectors of features.panns_cnn14)");
            return torchx::table_rows(songs);
        }
        if (songs.tensor_paths.size() != songs.size())
            throw Error("regressor.emotion_mlp with inputs: chunks reads the chunk vectors of a features node such as "
                        "features.panns_cnn14, and its input has none");
        return torchx::load_chunk_files(songs, 2, "a chunks × features matrix");
    }

private:
    std::vector<int64_t> hidden_;
    bool chunk_rows_;
};

}  // namespace mer::plugins

MER_PLUGIN(mer::plugins::EmotionMlpRegressor, "regressor.emotion_mlp", "1.0.0",
           "The paper's EmotionMLP: an MLP on feature columns or chunk vectors (2048 → 512 → 128 → outputs)")
