#!/usr/bin/python3
"""Write a seeded test checkpoint with the layout of PANNs CNN14.

    /usr/bin/python3 tests/panns/make_checkpoint.py OUT.pth [--seed N] [--variant V]

Needs only Debian's python3-torch and python3-numpy (not the PANNs code). The
state dict has the 84 keys, shapes, dtypes and order of the official
Cnn14(sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50,
fmax=14000, classes_num=527), and the file is written as the official training
script writes it: torch.save({'iteration', 'model', 'sampler'}) in the default
zip format, with numpy arrays inside 'sampler'.

Values come from numpy.random.default_rng(seed), one draw per key in key order,
so a given seed always gives the same tensors. They are chosen so that a port
which skips BatchNorm or the biases gives clearly different outputs: conv and
linear weights ~ N(0, 2/fan_in); biases ~ N(0, 0.1^2); every BatchNorm gets
weight U(0.5, 1.5), bias and running_mean N(0, 0.1^2), running_var U(0.5, 2),
num_batches_tracked 1234. bn0 sees log-mel values in dB (-100 .. +20), so its
running_mean is U(-70, -30) and running_var U(100, 600).

The front end is not random. STFT kernels: numpy DFT matrix times a periodic
Hann window in float64, cast to float32, computed as torchlibrosa 0.0.9 does
with scipy's window formula (bit-identical to the official construction).
melW: librosa's Slaney mel filterbank (htk=False, norm='slaney') in float64,
cast to float32.

Variants, for the loader's tests:
  normal      the checkpoint above (about 327 MB)
  missing     without conv_block3.bn1.running_var
  extra       plus 'fc_extra.weight' [4, 4]
  misshaped   fc1.bias has shape [2047]
  nonfinite   a NaN in conv_block2.conv1.weight, an infinity in fc1.bias
  plain_dict  'model' is a plain dict instead of an OrderedDict
  model_only  the top level is just {'model': OrderedDict}
  legacy      a small checkpoint in the legacy (non-zip) torch.save format
  evil_model  a small zip checkpoint whose pickle, inside 'model', calls
  evil_extra  os.system (pickled as posix.system) / the same inside 'sampler'.
              NEVER torch.load these: loading runs `touch /tmp/mer-pwned`.
"""
import argparse
import collections
import os
import sys
import time

import numpy as np
import torch

SR, N_FFT, N_MELS, FMIN, FMAX = 32000, 1024, 64, 50.0, 14000.0
CHANNELS = [1, 64, 128, 256, 512, 1024, 2048]
VARIANTS = ['normal', 'missing', 'extra', 'misshaped', 'nonfinite', 'plain_dict', 'model_only',
            'legacy', 'evil_model', 'evil_extra']


def stft_kernels():
    """(conv_real, conv_imag), each (513, 1, 1024) float32, as torchlibrosa builds them."""
    fac = np.linspace(-np.pi, np.pi, N_FFT + 1)        # scipy get_window('hann', fftbins=True)
    w = np.zeros(N_FFT + 1)
    w += 0.5 * np.cos(0 * fac)
    w += 0.5 * np.cos(1 * fac)
    w = w[:-1]                                         # = 0.5 - 0.5 cos(2 pi n / 1024)
    x, y = np.meshgrid(np.arange(N_FFT), np.arange(N_FFT))
    W = np.power(np.exp(-2 * np.pi * 1j / N_FFT), x * y)   # DFT matrix, W[n, k]
    K = (W[:, :N_FFT // 2 + 1] * w[:, None]).T              # (513, 1024)
    return (np.real(K).astype(np.float32)[:, None, :],
            np.imag(K).astype(np.float32)[:, None, :])


def hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    mels = f / (200.0 / 3)
    log_t = f >= 1000.0
    mels[log_t] = 1000.0 / (200.0 / 3) + np.log(f[log_t] / 1000.0) / (np.log(6.4) / 27.0)
    return mels


def mel_to_hz(m):
    freqs = (200.0 / 3) * m
    log_t = m >= 1000.0 / (200.0 / 3)
    freqs[log_t] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m[log_t] - 1000.0 / (200.0 / 3)))
    return freqs


def mel_filterbank():
    """melW (513, 64) float32 = librosa.filters.mel(sr=32000, n_fft=1024, n_mels=64, fmin=50, fmax=14000).T."""
    fftfreqs = np.linspace(0, SR / 2, N_FFT // 2 + 1)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(np.array([FMIN]))[0], hz_to_mel(np.array([FMAX]))[0], N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((N_MELS, N_FFT // 2 + 1))
    for i in range(N_MELS):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.T.astype(np.float32)


def structure():
    """[(key, shape, kind)] in the official state-dict order."""
    def bn(p, n):
        return [(p + s, [n], s) for s in ('weight', 'bias', 'running_mean', 'running_var')] + \
               [(p + 'num_batches_tracked', [], 'num_batches_tracked')]
    s = [('spectrogram_extractor.stft.conv_real.weight', [513, 1, 1024], 'real'),
         ('spectrogram_extractor.stft.conv_imag.weight', [513, 1, 1024], 'imag'),
         ('logmel_extractor.melW', [513, 64], 'melW')] + bn('bn0.', 64)
    for b in range(1, 7):
        ci, co = CHANNELS[b - 1], CHANNELS[b]
        s += [('conv_block%d.conv1.weight' % b, [co, ci, 3, 3], 'w'),
              ('conv_block%d.conv2.weight' % b, [co, co, 3, 3], 'w')]
        s += bn('conv_block%d.bn1.' % b, co) + bn('conv_block%d.bn2.' % b, co)
    s += [('fc1.weight', [2048, 2048], 'w'), ('fc1.bias', [2048], 'b'),
          ('fc_audioset.weight', [527, 2048], 'w'), ('fc_audioset.bias', [527], 'b')]
    return s


def state_dict(seed, only=None):
    """The 84-entry OrderedDict; `only` (a set of keys) limits it, still drawing every key."""
    rng = np.random.default_rng(seed)
    real, imag = stft_kernels() if only is None else (None, None)
    sd = collections.OrderedDict()
    for key, shape, kind in structure():
        if kind == 'w':                      # conv / linear weight, He-normal
            fan_in = int(np.prod(shape[1:]))
            a = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        elif kind in ('b', 'bias', 'running_mean'):
            a = rng.standard_normal(shape) * 0.1
        elif kind == 'weight':
            a = rng.uniform(0.5, 1.5, shape)
        elif kind == 'running_var':
            a = rng.uniform(0.5, 2.0, shape)
        elif kind == 'num_batches_tracked':
            a = np.array(1234, dtype=np.int64)
        elif kind in ('real', 'imag'):
            a = real if kind == 'real' else imag
        else:
            a = mel_filterbank() if only is None else None
        if key.startswith('bn0.') and kind == 'running_mean':
            a = rng.uniform(-70.0, -30.0, shape)
        if key.startswith('bn0.') and kind == 'running_var':
            a = rng.uniform(100.0, 600.0, shape)
        if only is None or key in only:
            sd[key] = torch.from_numpy(np.asarray(a, dtype=np.int64 if a.dtype == np.int64 else np.float32)).contiguous()
    return sd


class Evil:
    """Pickles as a call of os.system. Written, never loaded."""
    def __reduce__(self):
        return (os.system, ('touch /tmp/mer-pwned',))


def sampler():
    return {'indexes_per_class': [np.array([3, 1, 4, 1, 5], dtype=np.int64), np.array([9, 2, 6], dtype=np.int64)],
            'queue': [], 'pointers_of_classes': [0, 0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out')
    ap.add_argument('--seed', type=int, default=20261201)
    ap.add_argument('--variant', default='normal', choices=VARIANTS)
    args = ap.parse_args()
    v = args.variant
    t0 = time.time()
    small = {'bn0.weight', 'bn0.bias', 'bn0.running_mean', 'bn0.running_var', 'bn0.num_batches_tracked',
             'fc_audioset.bias'}
    sd = state_dict(args.seed, only=small if v in ('legacy', 'evil_model', 'evil_extra') else None)
    ckpt = {'iteration': 1234, 'model': sd, 'sampler': sampler()}
    kwargs = {}
    if v == 'missing':
        del sd['conv_block3.bn1.running_var']
    elif v == 'extra':
        sd['fc_extra.weight'] = torch.zeros(4, 4)
    elif v == 'misshaped':
        sd['fc1.bias'] = sd['fc1.bias'][:2047].clone()
    elif v == 'nonfinite':
        sd['conv_block2.conv1.weight'][0, 0, 0, 0] = float('nan')
        sd['fc1.bias'][3] = float('inf')
    elif v == 'plain_dict':
        ckpt['model'] = dict(sd)
    elif v == 'model_only':
        ckpt = {'model': sd}
    elif v == 'legacy':
        kwargs['_use_new_zipfile_serialization'] = False
    elif v == 'evil_model':
        sd['evil'] = Evil()
    elif v == 'evil_extra':
        ckpt['sampler']['queue'] = [Evil()]
    torch.save(ckpt, args.out, **kwargs)
    print('%s: variant %s, seed %d, %d entries, %.1f MB, %.1f s' % (
        args.out, v, args.seed, len(sd), os.path.getsize(args.out) / 1e6, time.time() - t0))


if __name__ == '__main__':
    sys.exit(main())
