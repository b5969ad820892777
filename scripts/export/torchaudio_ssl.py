#!/usr/bin/python3
"""Export a torchaudio HuBERT / wav2vec2 / WavLM bundle for features.torchscript.

    /usr/bin/python3 scripts/export/torchaudio_ssl.py HUBERT_BASE models/hubert-base.pt

Run where torchaudio can download the bundle's weights (Debian's
python3-torchaudio does; the weights come from download.pytorch.org and are
cached under ~/.cache/torch/hub). BUNDLE is any name in
torchaudio.pipelines with an `get_model()` returning a Wav2Vec2Model:
HUBERT_BASE, HUBERT_LARGE, WAV2VEC2_BASE, WAV2VEC2_LARGE_LV60K, WAVLM_BASE, ...

The exported forward takes (batch, samples) mono waveforms at the bundle's
rate (16 kHz) and returns the hidden state of every transformer layer, each
(batch, frames, width) — torchaudio's extract_features, the layers probes
read. mer.json inside the file records the rate, the layer count, the width
and whether the bundle normalises waveforms, so `model:` alone is enough:

    emb: {uses: features.torchscript, inputs: [data], params: {model: models/hubert-base.pt, layer: 6}}
"""
import json
import sys
from typing import List

import torch
import torchaudio


class Hidden(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, waveforms: torch.Tensor) -> List[torch.Tensor]:
        layers, _ = self.model.extract_features(waveforms)
        return layers


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    name, out = sys.argv[1], sys.argv[2]
    bundle = getattr(torchaudio.pipelines, name)
    model = bundle.get_model().eval()
    wrapped = Hidden(model).eval()
    with torch.no_grad():
        layers = wrapped(torch.zeros(1, bundle.sample_rate))
    about = {'sample_rate': bundle.sample_rate, 'layers': len(layers), 'width': int(layers[0].shape[-1]), 'frames': True,
             'normalize': bool(getattr(bundle, '_normalize_waveform', False)), 'source': f'torchaudio.pipelines.{name}'}
    scripted = torch.jit.script(wrapped)
    scripted.save(out, _extra_files={'mer.json': json.dumps(about)})
    check = torch.jit.load(out)
    x = torch.randn(2, bundle.sample_rate)
    with torch.no_grad():
        diff = max((a - b).abs().max().item() for a, b in zip(check(x), wrapped(x)))
    print(f'{out}: {about}; exported vs eager max |diff| {diff:.2e}')


if __name__ == '__main__':
    main()
