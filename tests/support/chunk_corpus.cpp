#include "tests/support/chunk_corpus.hpp"

#include <random>
#include <string>
#include <vector>

#include "core/data/npy.hpp"

namespace mer::test {

namespace fs = std::filesystem;

mer::SongTable tiny_corpus(const fs::path& dir, int songs, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(0, 1);
    mer::SongTable t;
    fs::create_directories(dir);
    t.targets.resize(songs, 2);
    for (int s = 0; s < songs; ++s) {
        const float a = u(rng), b = u(rng);
        std::vector<float> x(2 * 128 * 128);
        for (int c = 0; c < 2; ++c)
            for (int m = 0; m < 128; ++m)
                for (int f = 0; f < 128; ++f)
                    x[static_cast<std::size_t>((c * 128 + m) * 128 + f)] =
                        -60 + (m > 80 ? 40 * a : 0) + 30 * b * f / 128.0f + 2 * u(rng);
        const fs::path file = dir / ("song" + std::to_string(s) + ".npy");
        mer::write_npy(file, x.data(), {2, 1, 128, 128});
        t.song_ids.push_back("s" + std::to_string(s));
        t.tensor_paths.push_back(file.string());
        t.targets(s, 0) = 1 + 8 * a;
        t.targets(s, 1) = 1 + 8 * b;
    }
    t.groups = t.song_ids;
    t.features.resize(songs, 0);
    t.target_names = {"valence", "arousal"};
    return t;
}

mer::SongTable window_corpus(const fs::path& dir, int songs, unsigned seed) {
    fs::create_directories(dir);
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal;
    mer::SongTable t;
    t.chunk_timing = {1.0, 0.5, 0.0};
    t.target_names = {"valence", "arousal"};
    t.targets.resize(songs, 2);
    for (int s = 0; s < songs; ++s) {
        const int windows = 10 + s % 8;
        Eigen::MatrixXf x(windows, 6);
        mer::DynamicLabels labels;
        labels.start_seconds = 0.5;  // the centre of the first 1-s window
        labels.step_seconds = 0.5;
        labels.values.resize(windows, 2);
        for (int w = 0; w < windows; ++w) {
            for (int c = 0; c < 6; ++c) x(w, c) = static_cast<float>(normal(rng));
            labels.values(w, 0) = 0.5 * x(w, 0) - 0.3 * x(w, 1) + 0.05 * normal(rng);
            labels.values(w, 1) = 0.4 * x(w, 2) + 0.2 * x(w, 3) + 0.05 * normal(rng);
        }
        const std::string id = "s" + std::to_string(s);
        mer::write_npy(dir / (id + ".npy"), x);
        t.song_ids.push_back(id);
        t.groups.push_back(id);
        t.tensor_paths.push_back((dir / (id + ".npy")).string());
        t.targets.row(s) = labels.values.colwise().mean();
        t.dynamic.push_back(labels);
    }
    t.features.resize(songs, 0);
    return t;
}

}  // namespace mer::test
