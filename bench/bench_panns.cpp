// CNN14 embedding throughput: mer's inference copy (batch norm folded, the
// conv blocks in oneDNN's layout: what features.panns_cnn14 runs) and the
// module as PyTorch runs it, on batches of 15
// three-second chunks (one 45-s DEAM excerpt), then the official PyTorch
// code on the same machine and thread count when given its checkouts:
//
//   build/bin/mer-bench-panns --checkpoint CKPT [--threads 2] [--batches 5] [--batch 15]
//       [--device cpu|cuda:N] [--official DIR/pytorch --torchlibrosa DIR]
//
// CKPT: the official Cnn14_mAP=0.431.pth, or the test checkpoint
// (python3 tests/panns/make_checkpoint.py /tmp/cnn14.pth): the speed does
// not depend on the values. Prints seconds per batch, × real time (and per
// thread) and songs per second.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/torch/chunk_regressor.hpp"
#include "core/torch/cnn14.hpp"

namespace {

double median_seconds(int batches, const std::function<void()>& pass) {
    pass();  // warm-up
    std::vector<double> times;
    for (int b = 0; b < batches; ++b) {
        const auto start = std::chrono::steady_clock::now();
        pass();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

void report(const char* what, double seconds, int64_t batch, int threads) {
    const double audio = 3.0 * static_cast<double>(batch);
    fmt::print("{:<34} {:7.3f} s per batch  {:6.1f}× real time  {:5.1f}× per thread  {:5.2f} songs/s (45 s)\n", what,
               seconds, audio / seconds, audio / seconds / threads, audio / seconds / 45.0);
}

}  // namespace

int main(int argc, char** argv) {
    std::string checkpoint, official, torchlibrosa, device = "cpu";
    int threads = 2, batches = 5;
    int64_t batch = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--checkpoint")) checkpoint = argv[i + 1];
        if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--batches")) batches = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
        if (!std::strcmp(argv[i], "--device")) device = argv[i + 1];
        if (!std::strcmp(argv[i], "--official")) official = argv[i + 1];
        if (!std::strcmp(argv[i], "--torchlibrosa")) torchlibrosa = argv[i + 1];
    }
    if (checkpoint.empty()) {
        fmt::print(stderr, "usage: mer-bench-panns --checkpoint CKPT [--threads 2] [--batches 5] [--batch 15] "
                           "[--device cpu|cuda:N] [--official DIR/pytorch --torchlibrosa DIR]\n");
        return 2;
    }
    try {
        at::set_num_threads(threads);
        mer::torchx::Cnn14 model;
        mer::torchx::load_state_dict(*model, mer::torchx::read_torch_checkpoint(checkpoint), checkpoint);
        model->eval();
        const torch::Device where = mer::torchx::resolve_device(device);
        mer::torchx::Cnn14Inference fused(*model);
        fused.to(where);
        const torch::Tensor x = (torch::randn({batch, 96000}) * 0.1).to(where);
        auto sync = [&] {
            if (where.is_cuda()) torch::cuda::synchronize();
        };
        fmt::print("CNN14, batch {} × 3 s, {} thread{}, device {}, LibTorch {}\n", batch, threads,
                   threads == 1 ? "" : "s", where.str(), TORCH_VERSION);
        report("mer (inference copy)", median_seconds(batches, [&] {
                   fused.run(x);
                   sync();
               }),
               batch, threads);
        if (!where.is_cuda()) {
            torch::NoGradGuard no_grad;
            report("mer, module as PyTorch runs it", median_seconds(batches, [&] { model->forward(x); }), batch,
                   threads);
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "mer-bench-panns: {}\n", e.what());
        return 1;
    }
    if (!official.empty()) {
        const std::string script = std::string(MER_SOURCE_DIR) + "/bench/panns/official_bench.py";
        const std::string command = fmt::format(
            "/usr/bin/python3 '{}' --official '{}' --torchlibrosa '{}' --checkpoint '{}' --threads {} --batches {} "
            "--batch {}",
            script, official, torchlibrosa, checkpoint, threads, batches, batch);
        std::fflush(stdout);
        if (std::system(command.c_str()) != 0) fmt::print(stderr, "the official code did not run: {}\n", command);
    }
    return 0;
}
