#!/usr/bin/python3
"""mer's four log-mel chunk models written in PyTorch, timed as mer-bench-deep times mer's.

    /usr/bin/python3 bench/deep/pytorch_deep.py [--songs 32] [--threads 2|0] [--batch 32]
        [--epochs 1] [--heap default|mer] [--models regressor.cnn,...] [--mer-models DIR]

Debian's python3-torch (not the `python3` first on PATH, which has no torch);
a benchmark only, never part of mer. bench/deep/run.sh runs it beside
mer-bench-deep and prints both side by side.

The models are mer's layer for layer (plugins/regressor.*, core/torch/blocks.hpp,
with the schemas' defaults: SE reduction 8, GRU hidden 64, Conv1D kernel 3,
flatten head, dropout 0.3) and their modules carry mer's names, so the
parameter names and shapes can be checked against models mer saved
(--mer-models DIR, the folder `mer-bench-deep --keep DIR` fills). The data
and the loop are mer's (core/torch/chunk_regressor.cpp): SONGS songs × 15
chunks of 1 × 128 × 128 random values (N(-40, 10), one target), one .npy file
per song; normalised once, by one mean and std over all training chunks
("dataset"), in the fit's set-up; each epoch the chunks in a shuffled order
in batches of BATCH, the summed per-target MSE,
Adam (lr 1e-3, weight decay 1e-4, per-parameter loop as LibTorch's), gradient
norm clipped at 5; then the evaluation pass mer-bench-deep's fit makes (it
passes no validation songs): every training chunk in eval mode without
gradients, in batches of 4 × BATCH, chunk predictions to float64 and song means.

What it counts, per model and epoch, as mer-bench-deep does:
  train  from the start of the fit (reading the .npy files, normalising them,
         building the network and Adam; the first epoch only) to
         the end of the last training batch;
  eval   the evaluation pass over the training chunks that follows it.
chunks/s is SONGS × 15 over each. cpu is process CPU time ÷ wall time (how
many cores were busy). --threads 0 leaves PyTorch's own thread count (1 on
the 2-core development machine).

--heap mer makes glibc keep freed blocks in the heap as mer does (mallopt in
core/base/heap.cpp; MALLOC_MMAP_THRESHOLD_=536870912
MALLOC_TRIM_THRESHOLD_=1073741824 in the environment does the same); the
default is glibc's own: every activation over 32 MiB (a batch's first conv
output) is mmapped and unmapped, and each of its pages faults on first use.
On the 2-core machine that alone makes PyTorch 2-5× slower to train and 3-10×
slower to evaluate than mer (5 million page faults, 40 s of system time for
the four models); with --heap mer, mer ÷ PyTorch is 1.0-1.1 for training and
1.0-1.3 for evaluation (issue 14).
"""
import argparse
import ctypes
import os
import tempfile
import time

import numpy as np
import torch
from torch import nn

CHUNKS_PER_SONG = 15
NAMES = ["regressor.cnn", "regressor.cnn_gru", "regressor.cnn_gru_attention", "regressor.se_temporal_cnn"]  # mer's order


class ConvBlock(nn.Module):
    """Conv2D(3×3, padding 1) → BatchNorm → ReLU → MaxPool(2)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.max_pool2d(torch.relu(self.norm(self.conv(x))), 2)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction):
        super().__init__()
        self.squeeze = nn.Linear(channels, max(1, channels // reduction))
        self.excite = nn.Linear(max(1, channels // reduction), channels)

    def forward(self, x):
        w = torch.sigmoid(self.excite(torch.relu(self.squeeze(x.mean((2, 3))))))
        return x * w.unsqueeze(-1).unsqueeze(-1)


class SeCnnTrunk(nn.Module):
    """(B, 1, 128, 128) → (B, 64, 16, 16)."""

    def __init__(self, reduction):
        super().__init__()
        self.block1, self.se1 = ConvBlock(1, 16), SqueezeExcitation(16, reduction)
        self.block2, self.se2 = ConvBlock(16, 32), SqueezeExcitation(32, reduction)
        self.block3, self.se3 = ConvBlock(32, 64), SqueezeExcitation(64, reduction)

    def forward(self, x):
        return self.se3(self.block3(self.se2(self.block2(self.se1(self.block1(x))))))


class Cnn(nn.Module):  # regressor.cnn
    def __init__(self, outputs, dropout):
        super().__init__()
        self.block1, self.block2, self.block3 = ConvBlock(1, 16), ConvBlock(16, 32), ConvBlock(32, 64)
        self.fc = nn.Linear(64 * 16 * 16, 128)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(128, outputs)

    def forward(self, x):
        h = self.block3(self.block2(self.block1(x))).flatten(1)
        return self.out(self.dropout(torch.relu(self.fc(h))))


class SeTemporalCnn(nn.Module):  # regressor.se_temporal_cnn, head: flatten
    def __init__(self, outputs, dropout, reduction=8, kernel=3):
        super().__init__()
        self.trunk = SeCnnTrunk(reduction)
        self.temporal = nn.Conv1d(64, 64, kernel, padding=kernel // 2)
        self.fc = nn.Linear(64 * 16 * 16, 128)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(128, outputs)

    def forward(self, x):
        h = torch.relu(self.temporal(self.trunk(x).flatten(2))).flatten(1)
        return self.out(self.dropout(torch.relu(self.fc(h))))


class CnnGru(nn.Module):  # regressor.cnn_gru
    def __init__(self, outputs, dropout, reduction=8, hidden=64):
        super().__init__()
        self.trunk = SeCnnTrunk(reduction)
        self.gru = nn.GRU(64 * 16, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 128)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(128, outputs)

    def forward(self, x):
        h = self.trunk(x).permute(0, 3, 1, 2).flatten(2)  # (B, T, C·F)
        last = self.gru(h)[1].squeeze(0)
        return self.out(self.dropout(torch.relu(self.fc(last))))


class CnnGruAttention(nn.Module):  # regressor.cnn_gru_attention
    def __init__(self, outputs, dropout, reduction=8, hidden=64):
        super().__init__()
        self.trunk = SeCnnTrunk(reduction)
        self.gru = nn.GRU(64 * 16, hidden, batch_first=True)
        self.attention = nn.Linear(hidden, 1)
        self.fc = nn.Linear(hidden, 128)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(128, outputs)

    def forward(self, x):
        h = self.trunk(x).permute(0, 3, 1, 2).flatten(2)
        steps = self.gru(h)[0]  # (B, T, hidden)
        weights = torch.softmax(self.attention(steps).squeeze(-1), 1)
        self.last_attention = weights.detach()
        pooled = (steps * weights.unsqueeze(-1)).sum(1)
        return self.out(self.dropout(torch.relu(self.fc(pooled))))


BUILD = {"regressor.cnn": Cnn, "regressor.se_temporal_cnn": SeTemporalCnn, "regressor.cnn_gru": CnnGru,
         "regressor.cnn_gru_attention": CnnGruAttention}


def keep_large_blocks_in_heap():
    """What mer's keep_large_blocks_in_heap() does; returns mallopt's answers (1: accepted)."""
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return libc.mallopt(M_MMAP_THRESHOLD, 512 << 20), libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)


def write_songs(folder, songs, seed):
    rng = np.random.default_rng(seed)
    paths = []
    for s in range(songs):
        path = os.path.join(folder, f"song{s}.npy")
        np.save(path, rng.normal(-40, 10, (CHUNKS_PER_SONG, 1, 128, 128)).astype(np.float32))
        paths.append(path)
    targets = (5 + rng.normal(-40, 10, (songs, 1)) / 10).astype(np.float32)
    return paths, targets


def cpu_seconds():
    return time.process_time()


def mer_parameters(folder, name):
    """(name, shape) of every parameter of the model mer saved there, in order; None if unreadable."""
    path = os.path.join(folder, name, "model.pt")
    if not os.path.exists(path):
        return None
    saved = torch.jit.load(path, map_location="cpu")
    return [(n, tuple(p.shape)) for n, p in saved.named_parameters()]


def run_model(name, paths, song_targets, args):
    n = len(paths) * CHUNKS_PER_SONG
    bs = args.batch
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    wall0, cpu0 = time.perf_counter(), cpu_seconds()

    # The fit's set-up, as mer's: read every song's chunks, normalise them
    # all, build the network and Adam.
    x = torch.cat([torch.from_numpy(np.load(p)) for p in paths], 0)
    y = torch.from_numpy(np.repeat(song_targets, CHUNKS_PER_SONG, axis=0))
    mean = x.mean().item()
    scale = max(1e-6, x.std().item())
    x = (x - mean) / scale
    net = BUILD[name](song_targets.shape[1], args.dropout)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4, foreach=False)

    results = []
    for epoch in range(1, args.epochs + 1):
        if epoch > 1:
            wall0, cpu0 = time.perf_counter(), cpu_seconds()
        net.train()
        order = torch.randperm(n, generator=gen)
        loss_sum = 0.0
        for start in range(0, n, bs):
            index = order[start:start + bs].clone()
            xb = x.index_select(0, index)
            yb = y.index_select(0, index)
            loss = (net(xb) - yb).pow(2).mean(0).sum()
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            optimiser.step()
            loss_sum += loss.item() * index.numel()
        wall1, cpu1 = time.perf_counter(), cpu_seconds()

        # The evaluation pass mer's fit makes each epoch: every training chunk.
        with torch.no_grad():
            net.eval()
            outputs = [net(x[start:start + 4 * bs]) for start in range(0, n, 4 * bs)]
            chunk_predictions = torch.cat(outputs, 0).to(torch.float64).numpy()
            song_predictions = chunk_predictions.reshape(len(paths), CHUNKS_PER_SONG, -1).mean(1)
        wall2, cpu2 = time.perf_counter(), cpu_seconds()
        assert np.isfinite(song_predictions).all()
        results.append((wall1 - wall0, (cpu1 - cpu0) / (wall1 - wall0), wall2 - wall1, (cpu2 - cpu1) / (wall2 - wall1)))
    return net, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--songs", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="0: PyTorch's own default")
    ap.add_argument("--batch", type=int, default=32, help="mer's batch_size default")
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--epochs", type=int, default=1, help="epochs per model (each printed; the first includes set-up)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--heap", choices=["default", "mer"], default="default",
                    help="mer: keep freed blocks in the heap (mallopt) as mer does")
    ap.add_argument("--models", default=",".join(NAMES))
    ap.add_argument("--mer-models", metavar="DIR", help="compare parameter names and shapes with DIR/<model>/model.pt")
    args = ap.parse_args()

    heap = "glibc defaults"
    if args.heap == "mer":
        heap = "mer's mallopt (mmap threshold %s, trim threshold %s)" % tuple(
            "accepted" if r == 1 else "refused" for r in keep_large_blocks_in_heap())
    default_threads = torch.get_num_threads()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(f"PyTorch {torch.__version__} ({torch.__file__}): {torch.get_num_threads()} threads "
          f"(default here {default_threads}), oneDNN {'on' if torch.backends.mkldnn.enabled and torch.backends.mkldnn.is_available() else 'off'}, "
          f"heap: {heap}")
    print(f"{args.songs} songs × {CHUNKS_PER_SONG} chunks, batch {args.batch}, {args.epochs} epoch(s): "
          "train = set-up + training batches, eval = evaluation pass over the training chunks")

    with tempfile.TemporaryDirectory(prefix="pytorch-deep-") as folder:
        paths, targets = write_songs(folder, args.songs, args.seed)
        n = args.songs * CHUNKS_PER_SONG
        for name in args.models.split(","):
            net, results = run_model(name, paths, targets, args)
            count = sum(p.numel() for p in net.parameters())
            check = ""
            if args.mer_models:
                mer = mer_parameters(args.mer_models, name)
                ours = [(k, tuple(p.shape)) for k, p in net.named_parameters()]
                if mer is None:
                    check = "; mer's model.pt: not found"
                else:
                    check = f"; mer's model.pt: {sum(int(np.prod(s)) for _, s in mer)} parameters, " + (
                        "same names and shapes" if sorted(mer) == sorted(ours) else f"DIFFERENT: mer {mer} here {ours}")
            print(f"{name:28s} {count} parameters{check}")
            for epoch, (train_s, train_cpu, eval_s, eval_cpu) in enumerate(results, 1):
                print(f"{name:28s} epoch {epoch} train {train_s:.2f} s {n / train_s:.1f} chunks/s (cpu {train_cpu:.2f})"
                      f"  eval {eval_s:.2f} s {n / eval_s:.1f} chunks/s (cpu {eval_cpu:.2f})")


if __name__ == "__main__":
    main()
