#!/usr/bin/python3
"""Export CLAP's audio encoder (laion/clap-htsat-unfused) for features.torchscript.

    python3 scripts/export/clap_audio.py laion/clap-htsat-unfused models/clap-audio.pt

Run where Hugging Face `transformers` and `torchaudio` are installed and can
download the model; mer itself needs neither.

CLAP's feature extractor computes its log-mel spectrogram in numpy, outside
the network; here the same front end is written in torch and exported with
the encoder, so the file takes 48 kHz waveforms: STFT 1024 / hop 480 with a
periodic Hann window, centred with reflection, power, 64 Slaney mel bands
50 Hz - 14 kHz with Slaney normalisation (what the unfused model's
extractor uses; the fused one uses HTK bands), dB = 10 log10(max(power,
1e-10)), (batch, 1, frames, 64).
The script compares it with ClapFeatureExtractor on a 10-s noise input and
stops if they differ by more than 1e-3 dB. The forward returns the projected
audio embedding (batch, 512), what CLAP compares with text; `output` is
not needed. Chunks of 10 s match CLAP's training (chunk_seconds: 10).
The weights are Apache-2.0 (the model card on Hugging Face).
"""
import json
import sys

import torch
import torchaudio


class ClapAudio(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=48000, n_fft=1024, win_length=1024, hop_length=480, f_min=50.0, f_max=14000.0, n_mels=64,
            power=2.0, center=True, pad_mode='reflect', norm='slaney', mel_scale='slaney')

    def forward(self, waveforms):
        db = 10.0 * torch.log10(torch.clamp(self.mel(waveforms), min=1e-10))
        features = db.transpose(1, 2).unsqueeze(1)          # (batch, 1, frames, 64)
        return self.model.get_audio_features(input_features=features)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    from transformers import ClapFeatureExtractor, ClapModel
    name, out = sys.argv[1], sys.argv[2]
    model = ClapModel.from_pretrained(name).eval()
    extractor = ClapFeatureExtractor.from_pretrained(name)
    wrapped = ClapAudio(model).eval()
    x = torch.randn(1, 480000) * 0.1
    theirs = extractor(x[0].numpy(), sampling_rate=48000, return_tensors='pt', truncation='rand_trunc',
                       padding='repeatpad')['input_features']
    with torch.no_grad():
        mine = 10.0 * torch.log10(torch.clamp(wrapped.mel(x), min=1e-10)).transpose(1, 2).unsqueeze(1)
    frames = min(mine.shape[2], theirs.shape[2])
    diff = (mine[..., :frames, :] - theirs[..., :frames, :]).abs().max().item()
    if diff > 1e-3:
        sys.exit(f'the torch front end differs from ClapFeatureExtractor by {diff:.3g} dB; not exported')
    with torch.no_grad():
        traced = torch.jit.trace(wrapped, x)
        width = int(wrapped(x).shape[-1])
    about = {'sample_rate': 48000, 'width': width, 'frames': False, 'source': name}
    traced.save(out, _extra_files={'mer.json': json.dumps(about)})
    print(f'{out}: front end within {diff:.2e} dB of ClapFeatureExtractor, {width}-d embeddings')


if __name__ == '__main__':
    main()
