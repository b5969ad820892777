#!/usr/bin/python3
"""PANNs CNN14 written layer for layer in plain PyTorch, exported as TorchScript.

    /usr/bin/python3 tests/torchscript/cnn14.py CHECKPOINT OUT.pt

For the parity test of features.torchscript against features.panns_cnn14:
the official model's forward (audioset_tagging_cnn/pytorch/models.py,
Cnn14, with torchlibrosa's front end) in eval mode, its module and parameter
names unchanged so the official-layout checkpoint tests/panns/make_checkpoint.py
writes loads with strict=True. The front end: the STFT as two convolutions
(reflect padding of 512, hop 320) whose kernels come from the checkpoint,
power, the checkpoint's mel filterbank, 10 log10(max(x, 1e-10)); bn0 over the
64 mel bins; six conv blocks (3 × 3 conv, batch norm, ReLU, twice; 2 × 2
average pooling, 1 × 1 for the last); the mean over mel bins; max + mean
over time; relu(fc1): the 2048-d embedding the file's forward returns.
mer.json: 32 kHz, width 2048.
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch import nn


class Stft(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_real = nn.Conv1d(1, 513, 1024, stride=320, bias=False)
        self.conv_imag = nn.Conv1d(1, 513, 1024, stride=320, bias=False)


class Spectrogram(nn.Module):
    def __init__(self):
        super().__init__()
        self.stft = Stft()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x[:, None, :], (512, 512), mode='reflect')
        real, imag = self.stft.conv_real(x), self.stft.conv_imag(x)             # (B, 513, T)
        return (real ** 2 + imag ** 2).transpose(1, 2)[:, None, :, :]           # (B, 1, T, 513)


class Logmel(nn.Module):
    def __init__(self):
        super().__init__()
        self.melW = nn.Parameter(torch.zeros(513, 64), requires_grad=False)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10(torch.clamp(torch.matmul(power, self.melW), min=1e-10))


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, kernel_size=pool)


class Cnn14(nn.Module):
    def __init__(self):
        super().__init__()
        self.spectrogram_extractor = Spectrogram()
        self.logmel_extractor = Logmel()
        self.bn0 = nn.BatchNorm2d(64)
        self.conv_block1 = ConvBlock(1, 64)
        self.conv_block2 = ConvBlock(64, 128)
        self.conv_block3 = ConvBlock(128, 256)
        self.conv_block4 = ConvBlock(256, 512)
        self.conv_block5 = ConvBlock(512, 1024)
        self.conv_block6 = ConvBlock(1024, 2048)
        self.fc1 = nn.Linear(2048, 2048)
        self.fc_audioset = nn.Linear(2048, 527)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        x = self.logmel_extractor(self.spectrogram_extractor(waveforms))      # (B, 1, T, 64)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        x = self.conv_block1(x, 2)
        x = self.conv_block2(x, 2)
        x = self.conv_block3(x, 2)
        x = self.conv_block4(x, 2)
        x = self.conv_block5(x, 2)
        x = self.conv_block6(x, 1)
        x = torch.mean(x, dim=3)
        x = torch.max(x, dim=2)[0] + torch.mean(x, dim=2)
        return F.relu(self.fc1(x))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model = Cnn14()
    model.load_state_dict(torch.load(sys.argv[1], map_location='cpu')['model'], strict=True)
    scripted = torch.jit.script(model.eval())
    scripted.save(sys.argv[2], _extra_files={'mer.json': json.dumps({'sample_rate': 32000, 'width': 2048, 'frames': False})})


if __name__ == '__main__':
    main()
