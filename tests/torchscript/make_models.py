#!/usr/bin/python3
"""TorchScript models for the tests of features.torchscript, and what Python computes from them.

    /usr/bin/python3 tests/torchscript/make_models.py models OUT_DIR
    /usr/bin/python3 tests/torchscript/make_models.py expect MODEL WAV LAYER CHUNK_SECONDS OUT.npy
    /usr/bin/python3 tests/torchscript/make_models.py bench OUT_DIR

Needs only Debian's python3-torch, python3-torchaudio and python3-numpy; every
model has random weights from a fixed seed (nothing is downloaded).

`models` writes into OUT_DIR:
  hubert.pt        a HuBERT-shaped torchaudio wav2vec2 model (HuBERT's 7 convolutions at
                   32 channels: 20-ms frames; 3 transformer
                   layers, width 64, 16 kHz) whose forward returns the
                   hidden states, one (batch, frames, 64) tensor per layer
                   (torchaudio's extract_features, wrapped as
                   scripts/export/torchaudio_ssl.py wraps it), with mer.json
                   {sample_rate: 16000, layers: 3, width: 64}
  hubert_plain.pt  the same model without mer.json
  tuple.pt         forward returns (frames, lengths): a tuple, at 8 kHz
  dict.pt          forward returns {"logits": (batch, 5), "embedding": (batch, 12)}
  two_args.pt      forward(x, y) with no default for y
  integers.pt      forward returns an int64 tensor
  rank4.pt         forward returns a (batch, 1, 2, 3) tensor
  nan.pt           forward returns NaN where the chunk's mean is above -0.1
  weights.pt       a torch.save state dict: not TorchScript
`regressors` writes untrained architectures for regressor.torchscript:
  cnn.pt             the paper's CNN (regressor.cnn) from bench/deep/pytorch_deep.py, 2 outputs
  se_temporal.pt     its SE-Temporal CNN (regressor.se_temporal_cnn), 2 outputs
  cnn_gru.pt         its CNN-GRU (regressor.cnn_gru), 2 outputs (the fourth, CNN-GRU with
                     attention, keeps its weights on self in forward: not scriptable as written)
  mlp.pt             Linear(6, 16) → ReLU → Linear(16, 2), on feature columns
  tuple_regressor.pt forward returns (ratings, ratings)
`bench` writes what bench/torchscript/run.sh times:
  hubert-base.pt     torchaudio's hubert_base() architecture (95 M parameters, 12
                     transformer layers of 768) with random weights, wrapped as
                     scripts/export/torchaudio_ssl.py wraps it; mer.json as that script writes it
  cnn-1.pt           the paper's CNN with one output (mer-bench-deep's table has one target)
`expect` runs MODEL on the 16-bit PCM WAV (read with the wave module, at
the model's rate: no resampling), cut into CHUNK_SECONDS chunks (the
remainder dropped, a short song zero-padded), takes LAYER ("mean" or an
index), averages over frames, then over chunks, and writes the float64 vector.
"""
import importlib.util
import json
import os
import sys
import wave
from typing import Dict, List, Tuple

import numpy as np
import torch
import torchaudio


def load(relative, name):
    """A module of this repository by its path (scripts/ and bench/ are not packages)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(name, os.path.join(here, '../..', relative))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hubert_shaped():
    torch.manual_seed(3)
    m = torchaudio.models.wav2vec2_model(
        extractor_mode='group_norm',
        extractor_conv_layer_config=[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2,   # HuBERT's 20-ms frames
        extractor_conv_bias=False, encoder_embed_dim=64, encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=16, encoder_pos_conv_groups=4, encoder_num_layers=3, encoder_num_heads=4,
        encoder_attention_dropout=0.0, encoder_ff_interm_features=128, encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0, encoder_layer_norm_first=False, encoder_layer_drop=0.0, aux_num_out=None)
    return m


class TupleOut(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(80, 16)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        frames = x[:, : (x.shape[1] // 80) * 80].reshape(x.shape[0], -1, 80)
        return torch.tanh(self.proj(frames)), torch.full([x.shape[0]], frames.shape[1])


class DictOut(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(4, 5)
        self.b = torch.nn.Linear(4, 12)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        stats = torch.stack([x.mean(1), x.std(1), x.abs().max(1)[0], (x * x).mean(1)], 1)
        return {"logits": self.a(stats), "embedding": torch.relu(self.b(stats))}


class TwoArgs(torch.nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x[:, :4] + y


class Integers(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, :4] * 100).long()


class Rank4(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :6].reshape(x.shape[0], 1, 2, 3)


class MaybeNan(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x[:, :4] * 0 + 1.0
        return torch.where(x.mean(1, keepdim=True) > -0.1, v * float('nan'), v)


def save(module, path, about=None):
    scripted = torch.jit.script(module.eval())
    extra = {'mer.json': json.dumps(about)} if about is not None else {}
    scripted.save(path, _extra_files=extra)


def models(out):
    # The wrapper the export recipe uses, so the tests run the recipe's own code.
    hubert = load('scripts/export/torchaudio_ssl.py', 'torchaudio_ssl').Hidden(hubert_shaped())
    save(hubert, f'{out}/hubert.pt', {'sample_rate': 16000, 'layers': 3, 'width': 64, 'frames': True})
    save(hubert, f'{out}/hubert_plain.pt')
    torch.manual_seed(4)
    save(TupleOut(), f'{out}/tuple.pt', {'sample_rate': 8000})
    save(DictOut(), f'{out}/dict.pt', {'sample_rate': 8000, 'output': 'embedding', 'width': 12})
    save(TwoArgs(), f'{out}/two_args.pt', {'sample_rate': 8000})
    save(Integers(), f'{out}/integers.pt', {'sample_rate': 8000})
    save(Rank4(), f'{out}/rank4.pt', {'sample_rate': 8000})
    save(MaybeNan(), f'{out}/nan.pt', {'sample_rate': 8000})
    torch.save(DictOut().state_dict(), f'{out}/weights.pt')


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(6, 16)
        self.out = torch.nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(x)))


class TupleRegressor(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.out = torch.nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        y = self.out(x)
        return y, y


class SeqGru(torch.nn.Module):
    """A sequence model: a bidirectional GRU over a song's windows, packed so
    the padding never reaches it, one rating pair per window."""

    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(6, 16, batch_first=True, bidirectional=True)
        self.out = torch.nn.Linear(32, 2)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.gru(packed)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.shape[1])
        return self.out(h)


class SongMean(torch.nn.Module):
    """Returns one rating per song where one per window is asked for."""

    def __init__(self):
        super().__init__()
        self.out = torch.nn.Linear(6, 2)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.out(x.mean(1))


def regressors(out):
    deep = load('bench/deep/pytorch_deep.py', 'pytorch_deep')
    torch.manual_seed(5)
    torch.jit.save(torch.jit.script(deep.Cnn(2, 0.3)), f'{out}/cnn.pt')
    torch.jit.save(torch.jit.script(deep.SeTemporalCnn(2, 0.3)), f'{out}/se_temporal.pt')
    torch.jit.save(torch.jit.script(deep.CnnGru(2, 0.3)), f'{out}/cnn_gru.pt')
    torch.jit.save(torch.jit.script(Mlp()), f'{out}/mlp.pt')
    torch.jit.save(torch.jit.script(TupleRegressor()), f'{out}/tuple_regressor.pt')
    torch.jit.save(torch.jit.script(SeqGru()), f'{out}/seq_gru.pt')
    torch.jit.save(torch.jit.script(SongMean()), f'{out}/song_mean.pt')


def bench(out):
    torch.manual_seed(0)
    hidden = load('scripts/export/torchaudio_ssl.py', 'torchaudio_ssl').Hidden
    model = hidden(torchaudio.models.hubert_base()).eval()
    save(model, f'{out}/hubert-base.pt', {'sample_rate': 16000, 'layers': 12, 'width': 768, 'frames': True,
                                          'normalize': False})
    torch.jit.save(torch.jit.script(load('bench/deep/pytorch_deep.py', 'pytorch_deep').Cnn(1, 0.3)), f'{out}/cnn-1.pt')


def read_wav(path):
    with wave.open(path, 'rb') as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2')
    return rate, pcm.astype(np.float32) / 32768.0


def expect(model_path, wav, layer, chunk_seconds, out):
    extra = {'mer.json': ''}
    model = torch.jit.load(model_path, _extra_files=extra)
    rate = json.loads(extra['mer.json'])['sample_rate']
    file_rate, y = read_wav(wav)
    assert file_rate == rate, (file_rate, rate)
    n = int(round(chunk_seconds * rate))
    if len(y) < n:
        y = np.concatenate([y, np.zeros(n - len(y), np.float32)])
    chunks = np.stack([y[i:i + n] for i in range(0, len(y) - n + 1, n)])
    with torch.no_grad():
        layers = model(torch.from_numpy(chunks))
    per_layer = torch.stack([l.double().mean(1) for l in layers], 1)   # chunks × layers × width
    chosen = per_layer.mean(1) if layer == 'mean' else per_layer[:, int(layer)]
    np.save(out, chosen.mean(0).numpy())


if __name__ == '__main__':
    if sys.argv[1] == 'models':
        models(sys.argv[2])
        regressors(sys.argv[2])
    elif sys.argv[1] == 'bench':
        bench(sys.argv[2])
    elif sys.argv[1] == 'expect':
        expect(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(__doc__)
